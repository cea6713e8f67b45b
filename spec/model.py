"""The model: configuration + fault model -> initial state, enabled actions, next state, properties.

Shaped as Stateright's Model: the object holds only configuration; `actions(state)` runs the
guards (in a fixed order: producer, master/slave, consumer, environment) and
`next_state(state, action)` the effects. Both are pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from spec import broker, consumer, environment, producer
from spec.actions import Action, Effect
from spec.config import Config
from spec.faults import (
    BOTH_POWER_LOSS,
    CONSUMER_CRASH,
    FAULT_KINDS,
    MASTER_CRASH,
    MASTER_DISK_LOSS,
    MASTER_POWER_LOSS,
    SLAVE_CRASH,
    SLAVE_POWER_LOSS,
    FaultModel,
)
from spec.environment import still_possible
from spec.properties import Property, properties
from spec.state import CONSUMED_QUEUES, UP, Consumer, Node, Producer, State

_EFFECTS: dict[tuple[str, str], Effect] = {
    **{(producer.ACTOR, verb): effect for verb, effect in producer.EFFECTS.items()},
    **{(broker.MASTER, verb): effect for verb, effect in broker.MASTER_EFFECTS.items()},
    **{(broker.SLAVE, verb): effect for verb, effect in broker.SLAVE_EFFECTS.items()},
    **{(consumer.ACTOR, verb): effect for verb, effect in consumer.EFFECTS.items()},
    **environment.EFFECTS,
}


@dataclass(frozen=True, slots=True)
class Observed:
    """Which hidden variables some enabled fault (or the configuration) can observe.

    A variable nothing can observe follows its source at once instead of lagging behind it:
    the unflushed tail matters only to a power loss, persisted offsets only to a node going
    down with its memory, the slave's offsets only to a consumer that reads the slave while
    the master is down, the gap between processing and committing only to a consumer crash.
    Tracking an unobservable lag would multiply the states and change no
    verdict (TLC's VIEW does the same).
    """

    master_flush: bool  # the master's page-cache tail: power loss, or SYNC_FLUSH's wait for it
    slave_flush: bool  # the slave's page-cache tail: slave or correlated power loss
    master_offsets_disk: bool  # master goes down with memory: crash or power loss
    slave_offsets_disk: bool  # slave goes down with memory: crash or power loss
    slave_offsets: bool  # the consumer can read the slave: the master can go down
    commit_gap: bool  # a consumer crash between CONSUME_SUCCESS and the offset commit

    @staticmethod
    def of(config: Config, kinds: frozenset[str], slave_offsets: bool | None = None) -> Observed:
        """What the fault kinds that can still happen (and the configuration) observe."""
        master_down = {MASTER_CRASH, MASTER_POWER_LOSS, BOTH_POWER_LOSS}
        slave_down = {SLAVE_CRASH, SLAVE_POWER_LOSS, BOTH_POWER_LOSS}
        return Observed(
            master_flush=config.waits_for_flush or bool(kinds & {MASTER_POWER_LOSS, BOTH_POWER_LOSS}),
            slave_flush=bool(kinds & {SLAVE_POWER_LOSS, BOTH_POWER_LOSS}),
            master_offsets_disk=bool(kinds & master_down),
            slave_offsets_disk=bool(kinds & slave_down),
            slave_offsets=bool(kinds & (master_down | {MASTER_DISK_LOSS})) if slave_offsets is None else slave_offsets,
            commit_gap=CONSUMER_CRASH in kinds,
        )


def canonical(model: Model, state: State) -> State:
    """`state` with every lag that no remaining fault can observe closed, as its actions would close it."""
    observed = model.observed_in(state)
    master, slave = state.master, state.slave
    if not observed.master_flush and master.flushed < len(master.log):
        state = broker.master_flush(model, state, Action(broker.MASTER, "flush", None))
    if not observed.slave_flush and slave.flushed < len(slave.log):
        state = state._replace(slave=slave._replace(flushed=len(slave.log)))
    if not observed.master_offsets_disk and state.master.offsets != state.master.offsets_disk:
        state = state._replace(master=state.master._replace(offsets_disk=state.master.offsets))
    if not observed.slave_offsets_disk and state.slave.offsets != state.slave.offsets_disk:
        state = state._replace(slave=state.slave._replace(offsets_disk=state.slave.offsets))
    if not observed.commit_gap:
        state = consumer.commit_if_done(model, state)
    return state


class Model:
    """The RocketMQ no-loss protocol under one configuration and one fault model."""

    def __init__(self, config: Config, faults: FaultModel) -> None:
        self.config = config
        self.faults = faults
        self.observed = Observed.of(config, frozenset(faults.enabled_kinds()))
        self._observed_after: dict[tuple[int, ...], Observed] = {}
        self._possible_after: dict[tuple[int, ...], frozenset[str]] = {}

    def init_states(self) -> list[State]:
        """Nothing sent yet; both nodes up and empty; the consumer up with no offsets fetched."""
        zero_offsets = (0,) * len(CONSUMED_QUEUES)
        empty = Node(UP, (), 0, zero_offsets, zero_offsets)
        count = self.config.messages
        return [
            State(
                producer=Producer(0, False, 0, 0, 0, 0),
                master=empty,
                slave=empty,
                consumer=Consumer(True, None, None),
                network=(),
                pending=(),
                delivered=(0,) * count,
                effects=(0,) * count,
                faults=(0,) * len(FAULT_KINDS),
                failures=0,
            )
        ]

    def actions(self, state: State) -> list[Action]:
        """Every action enabled in `state`, in a deterministic order."""
        enabled = list(producer.enabled(self, state))
        enabled.extend(broker.enabled(self, state))
        enabled.extend(consumer.enabled(self, state))
        enabled.extend(environment.enabled(self, state))
        return enabled

    def next_state(self, state: State, action: Action) -> State:
        """The state after `action` (which must be enabled in `state`)."""
        after = _EFFECTS[(action.actor, action.verb)](self, state, action)
        if self.is_fault(action):
            # What the remaining faults can no longer observe collapses to its source now.
            after = canonical(self, after)
        return after

    def possible_faults(self, state: State) -> frozenset[str]:
        """The fault kinds the fault model still admits in `state` (cached per fault count)."""
        possible = self._possible_after.get(state.faults)
        if possible is None:
            possible = frozenset(kind for kind in self.faults.enabled_kinds() if still_possible(self, state, kind))
            self._possible_after[state.faults] = possible
        return possible

    def observed_in(self, state: State) -> Observed:
        """What the faults still possible in `state` can observe (cached per fault count).

        The slave's offsets stay as the whole run needs them: they are read while the master
        is down, which may be now, after the last fault.
        """
        observed = self._observed_after.get(state.faults)
        if observed is None:
            remaining = self.possible_faults(state)
            observed = Observed.of(self.config, remaining, slave_offsets=self.observed.slave_offsets)
            self._observed_after[state.faults] = observed
        return observed

    def properties(self) -> tuple[Property, ...]:
        return properties(self)

    @staticmethod
    def is_fault(action: Action) -> bool:
        return f"{action.actor}-{action.verb}" in FAULT_KINDS
