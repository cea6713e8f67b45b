"""Hypothesis state machines that run the spec and the reference broker in lockstep.

One rule per kind of spec action (`producer_send`, `master_flush`, `net_drop`, ...); its
precondition is the spec's guard (some action of that kind is enabled) and `pick` chooses
among the enabled ones. Each rule takes the action in the spec and the same action on the
broker (reference.world.Lockstep); after every step `agrees` asserts that the abstraction
of the broker (reference.abstraction.abstract) equals the spec's state.

A failure prints a shrunk program such as

    state = Strict()
    state.producer_send(pick=0)
    state.master_receive(pick=0)
    ...

which replays with `from tests.mbt.machines import *` (the `note` lines name the actions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import note
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from noloss.spec.rocketmq.describe import fields
from noloss.conformance.rocketmq.abstraction import abstract
from noloss.conformance.rocketmq.world import Lockstep
from noloss.spec.rocketmq import broker, consumer, producer
from noloss.spec.rocketmq.actions import Action
from noloss.reference.presets import PRESETS as CLUSTER_PRESETS
from noloss.spec.rocketmq.config import PRESETS, Config
from noloss.spec.rocketmq.environment import EFFECTS as FAULT_EFFECTS
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model

SLAVE_SIDE_FAULTS = ("slave-crash", "slave-power-loss", "slave-disk-loss", "consumer-crash", "net-drop", "net-dup")
"""Faults under which the consumer never reads the slave: the broker runs as it is."""
ALL_FAULTS = SLAVE_SIDE_FAULTS + ("master-crash", "master-power-loss", "master-disk-loss", "both-power-loss")
MAX_FAULTS = 2

KINDS: tuple[tuple[str, str], ...] = (
    *((producer.ACTOR, verb) for verb in producer.EFFECTS),
    *((broker.MASTER, verb) for verb in broker.MASTER_EFFECTS),
    *((broker.SLAVE, verb) for verb in broker.SLAVE_EFFECTS),
    *((consumer.ACTOR, verb) for verb in consumer.EFFECTS),
)
"""Every kind of non-fault action: one rule each."""
FAULT_KINDS = tuple(FAULTS.by_action[action] for action in FAULT_EFFECTS)
"""Faults share one rule, `fault(kind, pick)`, so that a run is not mostly faults."""


class Mismatch(AssertionError):
    """The broker's abstraction differs from the spec's state."""


def mismatch_text(expected: dict[str, str], got: dict[str, str]) -> str:
    paths = dict.fromkeys([*expected, *got])
    return "\n".join(f"  {path}: spec {expected.get(path, '-')}  broker {got.get(path, '-')}" for path in paths if expected.get(path) != got.get(path))


class LockstepMachine(RuleBasedStateMachine):
    """Spec and broker side by side; subclasses fix the configuration and fault model."""

    model: Model

    def __init__(self) -> None:
        super().__init__()
        self.lockstep = Lockstep(self.model)
        self.steps = 0
        self._cached: tuple[object, list[Action]] | None = None

    def enabled(self, actor: str, verb: str) -> list[Action]:
        return [a for a in self.actions() if (a.actor, a.verb) == (actor, verb)]

    def actions(self) -> list[Action]:
        """The spec's enabled actions now (cached: every rule's precondition asks)."""
        state = self.lockstep.state
        if self._cached is None or self._cached[0] is not state:
            self._cached = (state, self.lockstep.actions())
        return self._cached[1]

    @precondition(lambda self: any(self.model.is_fault(a) for a in self.actions()))
    @rule(kind=st.sampled_from(FAULT_KINDS), pick=st.integers(0, 3))
    def fault(self, kind: str, pick: int) -> None:
        """A fault of `kind` if the spec allows one now, else one of those it allows."""
        actor, verb = kind.split("-", 1)
        if not self.enabled(actor, verb):
            faults = sorted({(a.actor, a.verb) for a in self.actions() if self.model.is_fault(a)})
            actor, verb = faults[pick % len(faults)]
        self.take(actor, verb, pick)

    @precondition(lambda self: not self.actions())
    @rule()
    def nothing_enabled(self) -> None:
        """The run is over (every message sent and consumed, no fault left): stay."""

    def take(self, actor: str, verb: str, pick: int) -> None:
        actions = self.enabled(actor, verb)
        action = actions[pick % len(actions)]
        taken = self.lockstep.step(action)
        self.steps += 1
        try:
            note("# spec: " + " ; ".join(str(a) for a in taken))
        except InvalidArgument:  # replayed outside Hypothesis: nothing to annotate
            pass

    @invariant()
    def agrees(self) -> None:
        """The broker is in the spec's state (so every property judges both alike)."""
        expected = self.lockstep.state
        got = abstract(self.model, self.lockstep.world)
        if got != expected:
            raise Mismatch("broker and spec disagree after the last step:\n" + mismatch_text(fields(expected), fields(got)))


def _rule(actor: str, verb: str) -> Callable[..., None]:
    def step(self: LockstepMachine, pick: int) -> None:
        self.take(actor, verb, pick)

    step.__name__ = f"{actor}_{verb}".replace("-", "_")
    guarded = precondition(lambda self: bool(self.enabled(actor, verb)))(step)
    return rule(pick=st.integers(0, 3))(guarded)


RULES: dict[str, Any] = {f"{actor}_{verb}".replace("-", "_"): _rule(actor, verb) for actor, verb in KINDS}


FAILING = {"consumerMayFail": "true", "maxReconsumeTimes": "1", "redeliveries": "2"}
"""The listener may fail: retry topic, DLQ and send-back are exercised (no preset does)."""
CHECKED = {"haTrustSlaveOffset": "false"}
# Every preset, with the broker following the preset's release and HA handshake.
CONFIGS: dict[str, Config] = {
    **{name: PRESETS[name] for name in CLUSTER_PRESETS},
    "rocketmq-default-listener-fails": PRESETS["rocketmq-default"].with_settings(FAILING),
    "strict-listener-fails": PRESETS["strict"].with_settings(FAILING),
    "commit-before-process-listener-fails": PRESETS["commit-before-process"].with_settings(FAILING),
    # The checked handshake (haTrustSlaveOffset=false, `noloss broker --no-ha-trust-slave-offset`): the
    # master checks a reconnecting slave's log and cuts a diverged one back. ASYNC_FLUSH lets
    # the slave keep entries its master loses; the failing listener gives records of two sizes.
    "async-flush-sync-master-checked": PRESETS["async-flush-sync-master"].with_settings(CHECKED),
    "strict-listener-fails-checked": PRESETS["strict"].with_settings({**FAILING, **CHECKED}),
}


def machine(name: str, config_name: str, kinds: tuple[str, ...], reduce: bool = True) -> type[LockstepMachine]:
    """A state machine class for one configuration and fault model (of the unreduced model
    if `reduce` is false: every silent step is then a rule of its own)."""
    model = Model(CONFIGS[config_name], FAULTS.of(kinds, MAX_FAULTS), reduce)
    namespace = {**RULES, "model": model, "__module__": __name__}
    return type(name, (LockstepMachine,), namespace)


def class_name(preset_name: str, master_faults: bool) -> str:
    base = "".join(part.capitalize() for part in preset_name.replace("5", "5-").split("-") if part)
    return base + "MasterFaults" if master_faults else base


MACHINES: dict[str, type[LockstepMachine]] = {}
for _name in CONFIGS:
    for _master in (False, True):
        _cls = machine(class_name(_name, _master), _name, ALL_FAULTS if _master else SLAVE_SIDE_FAULTS)
        MACHINES[_cls.__name__] = _cls
        globals()[_cls.__name__] = _cls
for _name in ("strict", "commit-before-process-listener-fails"):
    _cls = machine(class_name(_name, True) + "Unreduced", _name, ALL_FAULTS, reduce=False)
    MACHINES[_cls.__name__] = _cls
    globals()[_cls.__name__] = _cls
