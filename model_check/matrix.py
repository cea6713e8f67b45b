"""The guarantee matrix: every (preset, scenario) cell checked, in parallel processes.

Each cell is a full `check` of its own model: the verdicts come from exploration only.
Cells run largest-first in a process pool so that the slowest ones start early.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from model_check.check import CheckResult, check
from model_check.scenarios import scenario
from spec.config import Config, preset

# The columns a reader of the matrix looks at, in order.
COLUMNS: tuple[str, ...] = (
    "NoAckedLoss",
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


def _config(preset_name: str, messages: int) -> Config:
    return preset(preset_name).with_settings({"messages": str(messages)})


def _check_cell(task: tuple[str, str, int]) -> CheckResult:
    preset_name, scenario_name, messages = task
    return check(_config(preset_name, messages), scenario(scenario_name))


# Relative size of each scenario's state space (thousands of states, measured on seed-strict):
# the pool starts the largest cells first so that none is left running alone at the end.
_SCENARIO_SIZE = {
    "any-2": 100_000, "any-1": 462, "both-power-loss": 142, "net-dup": 123, "master-power-loss": 54,
    "master-crash": 36, "net-drop": 14, "slave-power-loss": 12, "consumer-crash": 11, "slave-crash": 6,
}


def _expected_cost(task: tuple[str, str, int]) -> int:
    """A rough size order, largest first: by scenario, then strict settings before lax ones."""
    preset_name, scenario_name, _ = task
    config = preset(preset_name)
    size = _SCENARIO_SIZE.get(scenario_name, 2)
    return size * (1 + config.waits_for_flush + config.waits_for_slave + config.checkStatus + config.ackBeforeProcess)


def run_matrix(
    presets: list[str], scenarios: list[str], messages: int = 2, jobs: int | None = None, progress: bool = False
) -> Matrix:
    """Check every cell; names are validated before any work starts (ConfigError/FaultSpecError)."""
    for name in presets:
        preset(name)
    for name in scenarios:
        scenario(name)
    jobs = jobs or os.cpu_count() or 1
    cells = [(p, s) for p in presets for s in scenarios]
    # Presets that are the same model (equal model_key) share one exploration per scenario.
    tasks: dict[ModelKey, tuple[str, str, int]] = {}
    key_of: list[ModelKey] = []
    for preset_name, scenario_name in cells:
        key = (_config(preset_name, messages).model_key(), scenario_name)
        tasks.setdefault(key, (preset_name, scenario_name, messages))
        key_of.append(key)
    order = sorted(tasks, key=lambda key: -_expected_cost(tasks[key]))
    started = time.perf_counter()
    done: dict[ModelKey, CheckResult] = {}
    if jobs == 1:
        for key in order:
            done[key] = _check_cell(tasks[key])
            _report(progress, len(done), len(tasks), started)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {key: pool.submit(_check_cell, tasks[key]) for key in order}
            for key in order:
                done[key] = futures[key].result()
                _report(progress, len(done), len(tasks), started)
    if progress:
        print(file=sys.stderr)
    results = tuple(
        Cell(p, s, dataclasses.replace(done[key], config=_config(p, messages)))
        for (p, s), key in zip(cells, key_of)
    )
    return Matrix(results, time.perf_counter() - started, jobs, messages, explored=len(tasks))


def _report(progress: bool, finished: int, total: int, started: float) -> None:
    if progress:
        elapsed = time.perf_counter() - started
        print(f"\rmatrix: {finished}/{total} models checked  {elapsed:.1f} s", end="", file=sys.stderr)
