"""The reductions change the state count, never a verdict: cells explored both ways.

Each cell is checked with the reductions (the default model) and without them
(`reduce=False`: a separate pull, every flush, persist, commit and slave offset sync an
action of its own), and every property must get the same verdict. The ratio of state
counts is printed (`pytest -s`). Where the unreduced space of the default two messages is
too large to close in a test (strict, commit-before-process and async-flush-sync-master
under a fault: from 600,000 states on, unfinished), the cell runs with one message, both
ways.
"""

from __future__ import annotations

import pytest

from noloss.model_check.check import check
from noloss.spec.rocketmq.actions import Action, Attempt, QueueOffset
from noloss.spec.rocketmq.config import preset
from noloss.spec.rocketmq.faults import FAULTS, FAULT_KINDS
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.state import MAIN
from noloss.spec.rocketmq.protocol import ROCKETMQ

NONE = "none"
THREE_FAULTS = ("master-crash", "consumer-crash", "master-power-loss")

# (preset, fault kind or NONE, messages)
SLOW_CELLS = [
    *(("rocketmq-default", kind, 2) for kind in (NONE, *FAULT_KINDS)),
    ("strict", NONE, 2),
    *(("strict", kind, 1) for kind in (NONE, *FAULT_KINDS)),
    *(("no-status-check", kind, 2) for kind in THREE_FAULTS),
    *((name, kind, 1) for name in ("commit-before-process", "async-flush-sync-master") for kind in THREE_FAULTS),
]
FAST_CELLS = [("rocketmq-default", NONE, 2), ("rocketmq-default", "master-power-loss", 2), ("strict", "slave-disk-loss", 1)]

# (preset, fault kind, messages, settings): the release knobs, each where its behaviour shows
# (a 5.3 slave serving pulls shows only flushed entries; the checked HA handshake and its
# reconnect; 4.9.3's offset correction to the start).
RELEASE_CELLS = [
    ("rocketmq5-default", "master-crash", 2, ()),
    ("rocketmq5-sync-master", "master-power-loss", 1, ()),
    *(("rocketmq5-quorum", kind, 1, ("slaveReadEnable=true",)) for kind in ("master-crash", "master-disk-loss", "slave-power-loss", "both-power-loss")),
    ("rocketmq5-quorum", "master-power-loss", 1, ("slaveReadEnable=true", "readUnCommitted=true")),
    *((name, "master-power-loss", 1, ("haTrustSlaveOffset=false",)) for name in ("strict", "async-flush-sync-master")),
    *(("rocketmq-default", kind, 2, ("rocketmqVersion=4.9.3",)) for kind in ("master-power-loss", "master-disk-loss")),
]


def compare(name: str, kind: str, messages: int, settings: tuple[str, ...] = ()) -> None:
    config = preset(name).with_settings({"messages": str(messages), **dict(setting.split("=") for setting in settings)})
    faults = FAULTS.none() if kind == NONE else FAULTS.of([kind], 1)
    reduced = check(ROCKETMQ, config, faults)
    unreduced = check(ROCKETMQ, config, faults, reduce=False)
    assert reduced.stats.complete and unreduced.stats.complete
    ratio = unreduced.stats.states / reduced.stats.states
    print(f"{name} {' '.join(settings)} / {kind} / {messages} message(s): {reduced.stats.states:,} -> {unreduced.stats.states:,} states unreduced ({ratio:.1f}x)")
    assert [(v.name, v.status) for v in unreduced.verdicts] == [(v.name, v.status) for v in reduced.verdicts]
    assert unreduced.stats.states > reduced.stats.states


@pytest.mark.parametrize(("name", "kind", "messages"), FAST_CELLS)
def test_reductions_keep_every_verdict(name: str, kind: str, messages: int) -> None:
    compare(name, kind, messages)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind", "messages"), [cell for cell in SLOW_CELLS if cell not in FAST_CELLS])
def test_reductions_keep_every_verdict_in_more_cells(name: str, kind: str, messages: int) -> None:
    compare(name, kind, messages)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kind", "messages", "settings"), RELEASE_CELLS)
def test_reductions_keep_every_verdict_across_releases(name: str, kind: str, messages: int, settings: tuple[str, ...]) -> None:
    compare(name, kind, messages, settings)


def _run(model: Model, actions: list[Action]) -> list[list[tuple[Action, object]]]:
    state = model.init_states()[0]
    taken = []
    for action in actions:
        assert action in model.actions(state), f"{action} is not enabled"
        steps = model.steps(state, action)
        assert steps[0][0] == action and steps[-1][1] == model.next_state(state, action)
        taken.append(list(steps))
        state = steps[-1][1]
    return taken


def test_the_silent_steps_are_the_unreduced_models_actions() -> None:
    """What the reduced model does in one step, the unreduced one does in the listed steps."""
    config, faults = preset("rocketmq-default"), FAULTS.of(["master-crash"], 1)
    script = [Action("producer", "send", 0), Action("master", "receive", 0, Attempt(1)), Action("consumer", "consume", 0, QueueOffset(MAIN, 0))]
    reduced = _run(Model(config, faults), script)
    silent = [str(action) for steps in reduced for action, _ in steps[1:]]
    # ASYNC_FLUSH with no power loss possible: on disk at once; no consumer crash: committed at
    # once, and the commit reaches the slave since the master can go down.
    assert silent == ["master flush", "consumer commit m0 (topic@0)", "slave sync-offsets"]
    unreduced = Model(config, faults, reduce=False)
    taken = [action for steps in reduced for action, _ in steps]
    expanded = [a for a in taken if a.verb != "consume"]
    expanded[2:2] = [Action("consumer", "pull", 0, QueueOffset(MAIN, 0)), Action("consumer", "process", 0)]
    steps = _run(unreduced, expanded)
    assert all(len(step) == 1 for step in steps)
    assert steps[-1][-1][1] == reduced[-1][-1][1]
