"""Toy models the checker is tested on before it is trusted on the protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from spec.properties import ALWAYS, SOMETIMES


@dataclass(frozen=True)
class ToyProperty:
    name: str
    kind: str
    predicate: Callable[[Any, Any], bool]


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
