"""The model: configuration + fault model -> initial state, enabled actions, next state, properties.

Shaped as Stateright's Model: the object holds only configuration; `actions(state)` runs the
guards (in a fixed order: producer, master/slave, consumer, environment) and
`next_state(state, action)` the effects. Both are pure. The state-space reductions are
applied in one place, `next_state`, by `reductions.reduce` (off with `reduce=False`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from noloss.spec.rocketmq import broker, consumer, environment, producer
from noloss.spec.rocketmq.actions import Action, Effect
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.faults import FAULT_KINDS, FAULTS, FaultModel
from noloss.spec.rocketmq.environment import still_possible
from noloss.spec.rocketmq.properties import Property, properties
from noloss.spec.rocketmq.reductions import Observed, reduce
from noloss.spec.rocketmq.state import CONSUMED_QUEUES, UP, Consumer, Node, Producer, State

_EFFECTS: dict[tuple[str, str], Effect] = {
    **{(producer.ACTOR, verb): effect for verb, effect in producer.EFFECTS.items()},
    **{(broker.MASTER, verb): effect for verb, effect in broker.MASTER_EFFECTS.items()},
    **{(broker.SLAVE, verb): effect for verb, effect in broker.SLAVE_EFFECTS.items()},
    **{(consumer.ACTOR, verb): effect for verb, effect in consumer.EFFECTS.items()},
    **environment.EFFECTS,
}


Guards = Callable[["Model", State], Iterable[Action]]  # an actor's `enabled`
PartOf = Callable[[State], Hashable]  # an actor's `enabled_reads`
_KNOWN_PARTS = 1 << 14  # cached parts per actor: bounded, so memory does not grow with the states


class Model:
    """The RocketMQ no-loss protocol under one configuration and one fault model."""

    def __init__(self, config: Config, faults: FaultModel, reduce: bool = True) -> None:
        self.config = config
        self.faults = faults
        self.reduce = reduce  # take the silent steps of spec/rocketmq/reductions.py at once
        self.observed = Observed.of(config, frozenset(faults.enabled_kinds()))
        self._observed_after: dict[tuple[int, ...], Observed] = {}
        self._possible_after: dict[tuple[int, ...], frozenset[str]] = {}
        # Each actor's guards read a part of the state only (its module's `enabled_reads`):
        # their actions are kept per value of that part, which recurs across many states.
        self._guards: tuple[tuple[Guards, PartOf, dict[Hashable, tuple[Action, ...]]], ...] = tuple(
            (module.enabled, module.enabled_reads, {}) for module in (producer, broker, consumer, environment)
        )

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
                processed=(0,) * count,
                effects=(0,) * count,
                faults=(0,) * len(FAULT_KINDS),
                failures=0,
            )
        ]

    def actions(self, state: State) -> list[Action]:
        """Every action enabled in `state`, in a deterministic order."""
        enabled: list[Action] = []
        for guards, reads, known in self._guards:
            part = reads(state)
            found = known.get(part)
            if found is None:
                if len(known) >= _KNOWN_PARTS:  # the parts met lately recur most: start afresh
                    known.clear()
                found = known[part] = tuple(guards(self, state))
            enabled.extend(found)
        return enabled

    def enabled_unshared(self, state: State) -> list[Action]:
        """`actions(state)` from the guards alone, without the per-part cache (tests compare the two)."""
        return [action for module in (producer, broker, consumer, environment) for action in module.enabled(self, state)]

    def next_state(self, state: State, action: Action) -> State:
        """The state after `action` (which must be enabled in `state`) and the reductions' silent steps."""
        after = _EFFECTS[(action.actor, action.verb)](self, state, action)
        return reduce(self, state, action, after) if self.reduce else after

    def steps(self, state: State, action: Action) -> list[tuple[Action, State]]:
        """`action` and each silent step the reductions take after it, with the state each leads to.

        The last state is `next_state(state, action)`; a harness that follows the spec takes
        every one of these steps, so it never needs to know about the reductions.
        """
        after = _EFFECTS[(action.actor, action.verb)](self, state, action)
        taken = [(action, after)]
        if self.reduce:
            reduce(self, state, action, after, taken)
        return taken

    def effect(self, state: State, action: Action) -> State:
        """The unreduced successor: `action`'s effect alone."""
        return _EFFECTS[(action.actor, action.verb)](self, state, action)

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
        return (action.actor, action.verb) in FAULTS.by_action
