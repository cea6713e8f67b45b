"""The explorer as it was before the compact store: the comparison peer of checker_throughput.

Every state a nested NamedTuple kept alive (sub-values interned), every edge in a networkx
DiGraph written through its adjacency dicts. Kept only so that one benchmark run prints the
old and the new figures side by side on the same machine under the same load.
"""

from __future__ import annotations

from array import array
from typing import Any

import networkx as nx

from noloss.model_check.explore import CheckableModel, Watch


def explore_into_networkx(model: CheckableModel[Any, Any]) -> tuple[int, int]:
    """(states, transitions) of a full BFS with every invariant checked on every state."""
    watch = Watch(model)
    graph = nx.DiGraph()
    ids: dict[Any, int] = {}
    states: list[Any] = []
    action_ids: dict[Any, int] = {}
    parent = array("l")
    parent_action = array("l")
    successors_of, predecessors_of, node_attributes = graph._succ, graph._pred, graph._node
    no_attributes: dict[str, object] = {}
    labels: list[dict[str, int]] = []
    parts: dict[object, object] = {}

    def discover(state: Any, parent_id: int, action_id: int) -> int:
        node = len(states)
        state = type(state)._make(tuple(parts.setdefault(part, part) for part in state))
        ids[state] = node
        states.append(state)
        parent.append(parent_id)
        parent_action.append(action_id)
        node_attributes[node] = no_attributes
        successors_of[node] = {}
        predecessors_of[node] = {}
        watch.see(node, state)
        return node

    frontier = [discover(state, -1, -1) for state in model.init_states()]
    transitions = 0
    while frontier:
        following: list[int] = []
        for node in frontier:
            state = states[node]
            out = successors_of[node]
            for action in model.actions(state):
                successor = model.next_state(state, action)
                transitions += 1
                action_id = action_ids.get(action)
                if action_id is None:
                    action_id = action_ids[action] = len(labels)
                    labels.append({"a": action_id})
                target = ids.get(successor)
                if target is None:
                    target = discover(successor, node, action_id)
                    following.append(target)
                if target not in out:
                    out[target] = predecessors_of[target][node] = labels[action_id]
        frontier = following
    return len(states), transitions
