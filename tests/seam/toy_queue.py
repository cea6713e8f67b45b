"""A second protocol, registered through the same seam as RocketMQ: a one-node toy queue.

A producer sends messages m0, m1, ... in order; the node appends each to its page cache and
flushes it to disk later; a consumer reads flushed entries in order. `ack_after_flush`
decides when the producer is told "stored": after the flush (safe), or at the append (a power
loss then takes acknowledged messages with the page cache). Faults: a power loss (the
unflushed tail is gone, the node restarts) and a consumer crash (nothing lost: it reads on).
Nothing of model_check/ knows this module: it is a Protocol value, as spec/rocketmq's is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from noloss.model_check.faults import FaultKind, FaultModel, FaultTable
from noloss.model_check.kinds import ALWAYS, SOMETIMES
from noloss.model_check.protocol import Protocol


class ToyConfig(NamedTuple):
    messages: int = 2
    ack_after_flush: bool = True


class ToyState(NamedTuple):
    sent: int  # messages sent so far
    acked: frozenset[int]  # acknowledged to the producer
    log: tuple[int, ...]  # the node's log; the first `flushed` entries are on disk
    flushed: int
    consumed: tuple[int, ...]
    faults: tuple[int, ...]  # per fault kind, how many happened


Action = tuple[str, str]  # (actor, verb)

FAULTS = FaultTable(
    (
        FaultKind("node-power-loss", "node", False, "the page cache", "restart on its disk", "power-cut", ("node", "power-loss")),
        FaultKind("consumer-crash", "consumer", False, "nothing: it reads on", "it starts again", "crash", ("consumer", "crash")),
    )
)


@dataclass(frozen=True)
class ToyProperty:
    name: str
    kind: str
    statement: str
    predicate: Callable[[ToyModel, ToyState], bool]


def _no_acked_loss(model: ToyModel, state: ToyState) -> bool:
    return all(m in state.log or m in state.consumed for m in state.acked)


PROPERTIES = (
    ToyProperty("NoAckedLoss", ALWAYS, "every acknowledged message is consumed or in the log", _no_acked_loss),
    ToyProperty("SomeMessageAcked", SOMETIMES, "some run acknowledges a message", lambda model, state: bool(state.acked)),
)


class ToyModel:
    def __init__(self, config: ToyConfig, faults: FaultModel) -> None:
        self.config, self.faults = config, faults

    def init_states(self) -> list[ToyState]:
        return [ToyState(0, frozenset(), (), 0, (), (0,) * len(FAULTS.kinds))]

    def actions(self, state: ToyState) -> list[Action]:
        enabled = []
        if state.sent < self.config.messages:
            enabled.append(("producer", "send"))
        if state.flushed < len(state.log):
            enabled.append(("node", "flush"))
        if len(state.consumed) < state.flushed:
            enabled.append(("consumer", "consume"))
        for kind, bound in zip(FAULTS.names, self.faults.bounds):
            if state.faults[FAULTS.index[kind]] < bound and sum(state.faults) < self.faults.max_faults:
                enabled.append(FAULTS.kind(kind).action)
        return enabled

    def next_state(self, state: ToyState, action: Action) -> ToyState:
        if action in FAULTS.by_action:
            index = FAULTS.index[FAULTS.by_action[action]]
            state = state._replace(faults=state.faults[:index] + (state.faults[index] + 1,) + state.faults[index + 1 :])
        if action == ("producer", "send"):
            acked = state.acked if self.config.ack_after_flush else state.acked | {state.sent}
            return state._replace(sent=state.sent + 1, log=state.log + (state.sent,), acked=acked)
        if action == ("node", "flush"):
            acked = state.acked | set(state.log) if self.config.ack_after_flush else state.acked
            return state._replace(flushed=len(state.log), acked=frozenset(acked))
        if action == ("consumer", "consume"):
            return state._replace(consumed=state.consumed + (state.log[len(state.consumed)],))
        if action == ("node", "power-loss"):
            return state._replace(log=state.log[: state.flushed])
        return state  # a consumer crash: it reads on from where it was

    def properties(self) -> tuple[ToyProperty, ...]:
        return PROPERTIES


def configure(config: ToyConfig, settings: Mapping[str, str]) -> ToyConfig:
    for key, value in settings.items():
        if key == "messages" and value.isdigit() and int(value) > 0:
            config = config._replace(messages=int(value))
        elif key == "ack_after_flush" and value in ("true", "false"):
            config = config._replace(ack_after_flush=value == "true")
        else:
            raise ValueError(f"--set {key}={value}: the toy queue has messages=N and ack_after_flush=true|false")
    return config


def settings(config: ToyConfig) -> dict[str, object]:
    return dict(config._asdict())


def model(config: ToyConfig, faults: FaultModel, reduce: bool) -> ToyModel:
    return ToyModel(config, faults)


def is_fault(action: Action) -> bool:
    return action in FAULTS.by_action


def step_text(action: Action) -> str:
    return " ".join(action)


def changes(before: ToyState, after: ToyState) -> list[str]:
    return [f"{name}: {old} -> {new}" for name, old, new in zip(ToyState._fields, before, after) if old != new]


TOY = Protocol(
    name="toy-queue",
    title="a one-node toy queue (tests only)",
    faults=FAULTS,
    presets={"ack-after-flush": ToyConfig(), "ack-before-flush": ToyConfig(ack_after_flush=False)},
    default_preset="ack-after-flush",
    configure=configure,
    settings=settings,
    model_key=tuple,
    model=model,
    is_fault=is_fault,
    columns=("NoAckedLoss",),
    labels={"NoAckedLoss": "Loss"},
    loss="NoAckedLoss",
    size_knob="messages",
    step_text=step_text,
    changes=changes,
)
