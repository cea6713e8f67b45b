"""The guarantee matrix: every (preset, scenario) cell checked, in parallel processes.

Each cell is a full `check` of its own model: the verdicts come from exploration only.
Cells run largest-first in a process pool so that the slowest ones start early. Rows are a
protocol's presets or configurations of the user's own; columns its fault scenarios.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from noloss.model_check.check import CheckResult, check
from noloss.model_check.progress import wanted
from noloss.model_check.protocol import Protocol

ModelKey = tuple[Hashable, str]  # (the protocol's model_key of a configuration, scenario): one exploration


@dataclass(frozen=True, slots=True)
class Cell:
    preset: str
    scenario: str
    result: CheckResult


@dataclass(frozen=True, slots=True)
class Matrix:
    protocol: Protocol
    cells: tuple[Cell, ...]
    seconds: float  # wall time of the whole matrix
    jobs: int
    messages: int
    explored: int  # distinct models explored (cells of one model share its exploration)


Task = tuple[Protocol, Any, str, int | None]  # (protocol, configuration, scenario, max_states): one exploration


def _config(protocol: Protocol, preset_name: str, messages: int, own: Mapping[str, Any]) -> Any:
    base = own[preset_name] if preset_name in own else protocol.preset(preset_name)
    if protocol.size_knob is None:
        return base
    return protocol.configure(base, {protocol.size_knob: str(messages)})


def _check_cell(task: Task) -> CheckResult:
    protocol, config, scenario_name, max_states = task
    return check(protocol, config, protocol.faults.scenario(scenario_name), max_states=max_states)


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the parent, which stops them: no traceback from each worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Above this many thousand states a scenario takes minutes: say so before it starts.
LARGE = 1_000


def expected_size(protocol: Protocol, scenario_name: str) -> int:
    """Thousands of states the scenario's cell has (a rough guide, from the protocol's
    measured `scenario_states`; 0 where it measured none).

    Two faults `a+b` are estimated as a + b + a*b/none: the runs with each fault alone, and
    for each state after the first fault, the second fault's growth over no fault at all.
    A combination of three or more, or an unknown name, counts as the largest known.
    """
    sizes = protocol.scenario_states
    if not sizes:
        return 0
    known = sizes.get(scenario_name)
    if known is not None:
        return known // 1000
    kinds = scenario_name.split("+")
    if len(kinds) == 2 and all(kind in sizes for kind in kinds) and "none" in sizes:
        first, second = (sizes[kind] for kind in kinds)
        return (first + second + first * second // sizes["none"]) // 1000
    return max(sizes.values()) // 1000


def _expected_cost(task: Task) -> int:
    """A rough size order, largest first: by scenario, then by the protocol's cost of the configuration."""
    protocol, config, scenario_name, _ = task
    return expected_size(protocol, scenario_name) * protocol.cost(config)


def run_matrix(
    protocol: Protocol,
    presets: list[str],
    scenarios: list[str],
    messages: int = 2,
    jobs: int | None = None,
    progress: bool = False,
    own: Mapping[str, Any] | None = None,
    max_states: int | None = None,
) -> Matrix:
    """Check every cell; names are validated before any work starts (ValueError, one line).

    `presets` are row names: a preset's, or one of `own` (a configuration of the user's own,
    from their files). `messages` sets the protocol's size knob, if it has one. `max_states`
    bounds each cell (an unfinished cell is incomplete).
    """
    own = own or {}
    progress = wanted(progress)  # a terminal only: logs and pipes get no carriage returns
    for name in presets:
        if name not in own:
            protocol.preset(name)
    for name in scenarios:
        protocol.faults.scenario(name)
    jobs = jobs or os.cpu_count() or 1
    cells = [(p, s) for p in presets for s in scenarios]
    # Rows that are the same model (equal model_key) share one exploration per scenario.
    tasks: dict[ModelKey, Task] = {}
    key_of: list[ModelKey] = []
    for preset_name, scenario_name in cells:
        config = _config(protocol, preset_name, messages, own)
        key = (protocol.model_key(config), scenario_name)
        tasks.setdefault(key, (protocol, config, scenario_name, max_states))
        key_of.append(key)
    order = sorted(tasks, key=lambda key: -_expected_cost(tasks[key]))
    started = time.perf_counter()
    done: dict[ModelKey, CheckResult] = {}
    if jobs == 1:
        for key in order:
            done[key] = _check_cell(tasks[key])
            _report(progress, len(done), len(tasks), started)
    else:
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_interrupt)
        try:
            futures = {pool.submit(_check_cell, tasks[key]): key for key in order}
            # Counted as they finish (largest first is only the order they start in).
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                _report(progress, len(done), len(tasks), started)
        except BaseException:
            # Ctrl-C (or a failed cell): stop the workers now rather than after their cells.
            pool.shutdown(wait=False, cancel_futures=True)
            for worker in multiprocessing.active_children():
                worker.terminate()
            raise
        pool.shutdown()
    if progress:
        print(file=sys.stderr)
    results = tuple(
        Cell(p, s, dataclasses.replace(done[key], config=_config(protocol, p, messages, own)))
        for (p, s), key in zip(cells, key_of)
    )
    return Matrix(protocol, results, time.perf_counter() - started, jobs, messages, explored=len(tasks))


def _report(progress: bool, finished: int, total: int, started: float) -> None:
    if progress:
        elapsed = time.perf_counter() - started
        print(f"\rmatrix: {finished}/{total} models checked  {elapsed:.1f} s", end="", file=sys.stderr)
