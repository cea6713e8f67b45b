"""The guarantee matrix: every (preset, scenario) cell checked, in parallel processes.

Each cell is a full `check` of its own model: the verdicts come from exploration only.
Cells run largest-first in a process pool so that the slowest ones start early.
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
from dataclasses import dataclass

from noloss.model_check.check import CheckResult, check
from noloss.model_check.progress import wanted
from noloss.model_check.scenarios import scenario
from noloss.spec.rocketmq.config import Config, preset

# The columns a reader of the matrix looks at, in order.
COLUMNS: tuple[str, ...] = (
    "NoAckedLoss",
    "NoAckedStranded",
    "AckedEventuallyConsumed",
    "NoConsumeBeforeProcess",
    "NoPhantom",
    "NoDuplicateProcessing",
    "ExactlyOnceEffect",
)


ModelKey = tuple[tuple[object, ...], str]  # (Config.model_key(), scenario): one exploration


@dataclass(frozen=True, slots=True)
class Cell:
    preset: str
    scenario: str
    result: CheckResult


@dataclass(frozen=True, slots=True)
class Matrix:
    cells: tuple[Cell, ...]
    seconds: float  # wall time of the whole matrix
    jobs: int
    messages: int
    explored: int  # distinct models explored (cells of one model share its exploration)


Task = tuple[Config, str, int | None]  # (configuration, scenario, max_states): one exploration


def _config(preset_name: str, messages: int, own: Mapping[str, Config]) -> Config:
    base = own[preset_name] if preset_name in own else preset(preset_name)
    return base.with_settings({"messages": str(messages)})


def _check_cell(task: Task) -> CheckResult:
    config, scenario_name, max_states = task
    return check(config, scenario(scenario_name), max_states=max_states)


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the parent, which stops them: no traceback from each worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# Relative size of each scenario's state space (states of its cell on strict, measured):
# the pool starts the largest cells first so that none is left running alone at the end.
_SCENARIO_STATES = {
    "any-2": 24_527_502, "any-1": 356_954, "none": 1_734, "net-dup": 123_084, "both-power-loss": 85_249,
    "master-power-loss": 37_101, "master-crash": 23_970, "slave-power-loss": 15_005, "consumer-crash": 11_316,
    "slave-crash": 8_329, "net-drop": 4_908, "slave-disk-loss": 2_609, "master-disk-loss": 2_125,
}


# Above this many thousand states (on strict) a scenario takes minutes: say so before it starts.
LARGE = 1_000


def expected_size(scenario_name: str) -> int:
    """Thousands of states the scenario's cell has on strict (a rough guide).

    Two faults `a+b` are estimated as a + b + a*b/none: the runs with each fault alone, and
    for each state after the first fault, the second fault's growth over no fault at all.
    Measured on strict: master-disk-loss+slave-power-loss 38,149 (estimate 35,622),
    master-crash+net-drop 55,649 (97,717), net-dup+master-power-loss 1.71 million (2.79
    million). A combination of three or more, or an unknown name, counts as the largest known.
    """
    known = _SCENARIO_STATES.get(scenario_name)
    if known is not None:
        return known // 1000
    kinds = scenario_name.split("+")
    if len(kinds) == 2 and all(kind in _SCENARIO_STATES for kind in kinds):
        first, second = (_SCENARIO_STATES[kind] for kind in kinds)
        return (first + second + first * second // _SCENARIO_STATES["none"]) // 1000
    return max(_SCENARIO_STATES.values()) // 1000


def _expected_cost(task: Task) -> int:
    """A rough size order, largest first: by scenario, then strict settings before lax ones."""
    config, scenario_name, _ = task
    size = expected_size(scenario_name)
    return size * (1 + config.waits_for_flush + config.waits_for_slave + config.checkStatus + config.commitBeforeProcess)


def run_matrix(
    presets: list[str],
    scenarios: list[str],
    messages: int = 2,
    jobs: int | None = None,
    progress: bool = False,
    own: Mapping[str, Config] | None = None,
    max_states: int | None = None,
) -> Matrix:
    """Check every cell; names are validated before any work starts (ConfigError/FaultSpecError).

    `presets` are row names: a preset's, or one of `own` (a configuration of the user's own,
    from their files). `max_states` bounds each cell (an unfinished cell is incomplete).
    """
    own = own or {}
    progress = wanted(progress)  # a terminal only: logs and pipes get no carriage returns
    for name in presets:
        if name not in own:
            preset(name)
    for name in scenarios:
        scenario(name)
    jobs = jobs or os.cpu_count() or 1
    cells = [(p, s) for p in presets for s in scenarios]
    # Rows that are the same model (equal model_key) share one exploration per scenario.
    tasks: dict[ModelKey, Task] = {}
    key_of: list[ModelKey] = []
    for preset_name, scenario_name in cells:
        config = _config(preset_name, messages, own)
        key = (config.model_key(), scenario_name)
        tasks.setdefault(key, (config, scenario_name, max_states))
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
        Cell(p, s, dataclasses.replace(done[key], config=_config(p, messages, own)))
        for (p, s), key in zip(cells, key_of)
    )
    return Matrix(results, time.perf_counter() - started, jobs, messages, explored=len(tasks))


def _report(progress: bool, finished: int, total: int, started: float) -> None:
    if progress:
        elapsed = time.perf_counter() - started
        print(f"\rmatrix: {finished}/{total} models checked  {elapsed:.1f} s", end="", file=sys.stderr)
