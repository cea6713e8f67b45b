"""Toy models the checker is tested on before it is trusted on the protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from noloss.model_check.kinds import ALWAYS, EVENTUALLY, SOMETIMES


@dataclass(frozen=True)
class ToyProperty:
    name: str
    kind: str
    predicate: Callable[[Any, Any], bool]
    statement: str = "a toy's property"


class BinaryClock:
    """Stateright's first example: one bit that ticks between 0 and 1."""

    def init_states(self) -> list[int]:
        return [0]

    def actions(self, state: int) -> list[str]:
        return ["tick"]

    def next_state(self, state: int, action: str) -> int:
        return 1 - state

    def properties(self) -> list[ToyProperty]:
        return [
            ToyProperty("in range", ALWAYS, lambda model, state: state in (0, 1)),
            ToyProperty("reaches 1", SOMETIMES, lambda model, state: state == 1),
        ]


class SmallGraph:
    """An explicit graph: a -> b, c; b -> d; c -> d, e; d -> f; e -> a; f has no successor; g unreachable.

    'never f' is violated; the shortest path to f is a-b-d-f (3 steps) though a-c-d-f is as short
    and a-c-e-a-... loops: BFS must take the first-discovered one, a -> b -> d -> f.
    """

    EDGES = {"a": "bc", "b": "d", "c": "de", "d": "f", "e": "a", "f": "", "g": "a"}

    def init_states(self) -> list[str]:
        return ["a"]

    def actions(self, state: str) -> list[str]:
        return [f"{state}->{target}" for target in self.EDGES[state]]

    def next_state(self, state: str, action: str) -> str:
        return action[-1]

    def properties(self) -> list[ToyProperty]:
        return [
            ToyProperty("never f", ALWAYS, lambda model, state: state != "f"),
            ToyProperty("never g", ALWAYS, lambda model, state: state != "g"),
            ToyProperty("sometimes e", SOMETIMES, lambda model, state: state == "e"),
            ToyProperty("sometimes g", SOMETIMES, lambda model, state: state == "g"),
        ]


class Spinner:
    """Liveness toy: `spin` moves 0 <-> 1; `finish` goes to the goal 2 from 1 (and from 0 too if `eager`).

    With `eager`, finish is enabled all along the 0-1 cycle, so weak fairness forces it: the
    goal is reached. Without it, finish is enabled only at 1, so the cycle is fair and the
    goal can be avoided forever. `stuck` adds a dead end 3 reached by `jam`; `fault_loop` makes
    the 0-1 cycle a fault's, which no suffix without faults can use.
    """

    def __init__(self, eager: bool = False, stuck: bool = False, fault_loop: bool = False) -> None:
        self.eager, self.stuck, self.fault_loop = eager, stuck, fault_loop

    def init_states(self) -> list[int]:
        return [0]

    def actions(self, state: int) -> list[str]:
        spin = "fault-spin" if self.fault_loop else "spin"
        if state == 0:
            return [spin] + (["finish"] if self.eager else []) + (["jam"] if self.stuck else [])
        if state == 1:
            return [spin, "finish"]
        return []

    def next_state(self, state: int, action: str) -> int:
        return {"spin": 1 - state, "fault-spin": 1 - state, "finish": 2, "jam": 3}[action]

    def properties(self) -> list[ToyProperty]:
        return [ToyProperty("reaches 2", EVENTUALLY, lambda model, state: state == 2)]
