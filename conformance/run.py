"""One conformance run: start the target, run the workload with one kind of fault injected
in turn, stop the faults, drain, and judge the history (counts and trace-check).

The history is kept (with the nodes' data and logs) when the run fails; a passing run's
directory is removed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from noloss.conformance.counts import Counts, count
from noloss.conformance.faults import FAILOVER, FaultScheduler, NetFaults, Schedule, needs_power_loss, needs_proxy
from noloss.conformance.history import History, read_history
from noloss.conformance.judgement import Judgement, Rules
from noloss.conformance.targets.base import FaultUnavailable, Route, Target, TargetFactory
from noloss.conformance.workload import GROUP, Workload, WorkloadSpec, message_of


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What one run does."""

    claimed: str  # the preset the target claims to match
    config: Any  # that preset with the user's --set applied (the protocol's configuration)
    faults: tuple[str, ...]  # the kinds injected in turn
    producers: int
    messages: int
    duration_s: float
    interval_s: float = 2.0
    down_s: float = 0.5
    cycles: int | None = None
    quiet_s: float = 3.0  # the drain ends after this long with nothing new
    replication_delay_s: float = 0.0  # hold each push from master to slave this long (a slow link)
    process_s: float = 0.0  # the consumer's business step takes this long per message
    drain_limit_s: float = 60.0
    rules: Rules = field(kw_only=True)  # the protocol the target is held to: its faults, its judge


@dataclass(frozen=True, slots=True)
class RunResult:
    label: str
    counts: Counts | None
    judgement: Judgement | None
    history: Path | None  # kept only when the run failed
    unavailable: str | None = None  # why the run could not happen at all
    faults_injected: int = 0
    distinct_projections: int = 0
    judge_s: float = 0.0

    @property
    def ok(self) -> bool:
        if self.counts is None or self.judgement is None:
            return self.unavailable is not None
        return self.counts.lost == 0 and self.counts.undelivered == 0 and self.counts.unexpected == 0 and self.judgement.ok


NetFactory = Callable[[], tuple[Route, NetFaults, Callable[[], None]]]
"""() -> a route through a new TCP proxy, its fault switch and how to close it."""


def run(spec: RunSpec, label: str, make_target: TargetFactory, directory: Path, make_net: NetFactory | None = None, progress: bool = True) -> RunResult:
    """One run in `directory` (emptied first: nodes must not start on an earlier run's data); blocking."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    net: NetFaults | None = None
    close_net: Callable[[], None] = lambda: None
    route: Route = lambda link, address: address
    table = spec.rules.faults
    if needs_proxy(table, spec.faults) or spec.replication_delay_s:
        if make_net is None:
            return RunResult(label, None, None, None, "network faults and a slow replication link need the TCP proxy (conformance/inject/netproxy.py)")
        route, net, close_net = make_net()
    target = make_target(directory / "nodes", needs_power_loss(table, spec.faults))
    if FAILOVER in spec.faults and not target.promotes:
        close_net()
        return RunResult(label, None, None, None, "failover unavailable: the target has no failover")
    history_path = directory / "history.ndjson"
    history = History(history_path)
    try:
        try:
            target.start(route)
        except FaultUnavailable as unavailable:
            shutil.rmtree(directory, ignore_errors=True)
            return RunResult(label, None, None, None, str(unavailable))
        if net is not None and spec.replication_delay_s:
            net.slow_replication(spec.replication_delay_s)
        injected = asyncio.run(_drive(spec, target, history, net, label, progress))
        held = target.held(GROUP)  # the consumer is stopped: read before the nodes stop
    finally:
        history.close()
        target.close()
        close_net()
    records = read_history(history_path)
    counts = count(records, spec.rules.resend(spec.config), _numbers(held))
    start = time.monotonic()
    judgement = spec.rules.judge(records, spec.claimed, spec.config)
    elapsed = time.monotonic() - start
    result = RunResult(label, counts, judgement, history_path, None, injected, judgement.projections, elapsed)
    if result.ok:
        shutil.rmtree(directory, ignore_errors=True)
        return dataclasses.replace(result, history=None)
    return result


def _numbers(bodies: frozenset[bytes] | None) -> frozenset[int]:
    """The workload's numbers of the bodies a target still holds (none when it cannot tell)."""
    return frozenset(n for body in bodies or () if (n := message_of(body)) is not None)


async def _drive(spec: RunSpec, target: Target, history: History, net: NetFaults | None, label: str, progress: bool) -> int:
    workload = Workload(target, WorkloadSpec(spec.producers, spec.messages, spec.duration_s, spec.rules.resend(spec.config), spec.process_s), history)
    workload.start_consumer()
    stop = asyncio.Event()
    scheduler = FaultScheduler(target, workload, history, Schedule(spec.faults, spec.interval_s, spec.down_s, spec.cycles), spec.rules.faults, net)
    faults = asyncio.create_task(scheduler.run(stop))
    reporter = asyncio.create_task(_report(label, workload, scheduler, stop)) if progress else None
    try:
        producing = asyncio.create_task(workload.produce(stop))
        done, _ = await asyncio.wait({producing, faults}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await asyncio.gather(producing, faults)
        await asyncio.to_thread(target.serving, GROUP, spec.drain_limit_s)
        await workload.drain(spec.quiet_s, spec.drain_limit_s)
    finally:
        stop.set()
        if reporter is not None:
            await reporter
        await asyncio.to_thread(workload.stop_consumer)
    return len(scheduler.injected)


async def _report(label: str, workload: Workload, scheduler: FaultScheduler, stop: asyncio.Event) -> None:
    start = time.monotonic()
    while not stop.is_set():
        _line(label, workload, scheduler, start)
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    _line(label, workload, scheduler, start)
    sys.stderr.write("\n")


def _line(label: str, workload: Workload, scheduler: FaultScheduler, start: float) -> None:
    sys.stderr.write(f"\rconform {label}: {time.monotonic() - start:5.1f}s, {workload.sent} sent, {len(workload.acknowledged)} acknowledged, {len(workload.processed)} processed, {len(scheduler.injected)} faults ")
    sys.stderr.flush()
