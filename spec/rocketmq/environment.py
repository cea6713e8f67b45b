"""Faults as actions of the environment, each counted against the fault model.

A fault's kind is named in spec/rocketmq/faults.py with its action `(actor, verb)`. A node that goes down loses its memory:
held replies, connections (requests in flight to it), in-memory consumer offsets (back to
the persisted ones). A crash keeps the page cache; a power loss keeps only what was
flushed; a disk loss keeps nothing and the node never returns.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING

from noloss.spec.rocketmq.actions import Action, Effect, PacketRef, add_packet, alive, arg_of, distinct, remove_packet, up, without_requests
from noloss.spec.rocketmq.faults import FAULT_INDEX, FAULTS, PERMANENT_KINDS
from noloss.spec.rocketmq.state import DOWN, GONE, Consumer, Node, Packet, State

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model


def still_possible(model: Model, state: State, kind: str) -> bool:
    """The fault model still admits one more fault of `kind` in this run."""
    faults = model.faults
    index = FAULT_INDEX[kind]
    if state.faults[index] >= faults.bounds[index] or sum(state.faults) >= faults.max_faults:
        return False
    if kind in PERMANENT_KINDS:
        permanent = sum(state.faults[FAULT_INDEX[name]] for name in PERMANENT_KINDS)
        return permanent < faults.max_permanent
    return True


def _can_lose_power(node: Node) -> bool:
    """Power loss changes something: the node is up, or down with unflushed page cache."""
    return up(node) or (alive(node) and node.flushed < len(node.log))


def enabled_reads(state: State) -> Hashable:
    """All that `enabled` reads of the state (Model.actions keeps its actions per value of it)."""
    return (state.faults, state.master, state.slave, state.consumer.up, state.network)


def enabled(model: Model, state: State) -> Iterator[Action]:
    possible = model.possible_faults(state)
    if not possible:
        return
    master, slave = state.master, state.slave
    for name, node in (("master", master), ("slave", slave)):
        if up(node) and f"{name}-crash" in possible:
            yield Action(name, "crash", None)
        if _can_lose_power(node) and f"{name}-power-loss" in possible:
            yield Action(name, "power-loss", None)
        if alive(node) and f"{name}-disk-loss" in possible:
            yield Action(name, "disk-loss", None)
    if (
        "both-power-loss" in possible
        and alive(master)
        and alive(slave)
        and (_can_lose_power(master) or _can_lose_power(slave))
    ):
        yield Action("both", "power-loss", None)
    if state.consumer.up and "consumer-crash" in possible:
        yield Action("consumer", "crash", None)
    for packet in distinct(state.network):
        arg = PacketRef(packet.kind, packet.attempt, packet.status)
        if "net-drop" in possible:
            yield Action("net", "drop", packet.msg, arg)
        if "net-dup" in possible:
            yield Action("net", "dup", packet.msg, arg)


def _count(state: State, action: Action) -> State:
    index = FAULT_INDEX[FAULTS.by_action[(action.actor, action.verb)]]
    faults = state.faults[:index] + (state.faults[index] + 1,) + state.faults[index + 1 :]
    return state._replace(faults=faults)


def _down(node: Node) -> Node:
    """Memory lost: the consumer offsets go back to the persisted ones."""
    return node._replace(status=DOWN, offsets=node.offsets_disk)


def _power_off(node: Node) -> Node:
    """Page cache lost: the log keeps its flushed prefix."""
    return _down(node)._replace(log=node.log[: node.flushed])


def _lose_disk(node: Node) -> Node:
    empty = (0,) * len(node.offsets)
    return Node(GONE, (), 0, empty, empty)


def _unlink(model: Model, state: State) -> State:
    """The HA connection dies with either node: a restarted master has none until the slave's
    HAClient connects again (`slave reconnect`), nor has a restarted slave. The unreadable bytes
    a trusting master pushed go with the link (a RocketMQ slave keeps them until it restarts,
    see docs/mbt.md)."""
    return state._replace(slave_linked=False, slave_unread=0)


def _master_down(model: Model, state: State, master: Node) -> State:
    """The master's held replies and open connections die with it."""
    state = _unlink(model, state)
    return state._replace(master=master, pending=(), network=without_requests(state.network))


def _slave_down(model: Model, state: State, slave: Node) -> State:
    return _unlink(model, state)._replace(slave=slave)


def master_crash(model: Model, state: State, action: Action) -> State:
    return _count(_master_down(model, state, _down(state.master)), action)


def master_power_loss(model: Model, state: State, action: Action) -> State:
    return _count(_master_down(model, state, _power_off(state.master)), action)


def master_disk_loss(model: Model, state: State, action: Action) -> State:
    return _count(_master_down(model, state, _lose_disk(state.master)), action)


def slave_crash(model: Model, state: State, action: Action) -> State:
    return _count(_slave_down(model, state, _down(state.slave)), action)


def slave_power_loss(model: Model, state: State, action: Action) -> State:
    return _count(_slave_down(model, state, _power_off(state.slave)), action)


def slave_disk_loss(model: Model, state: State, action: Action) -> State:
    return _count(_slave_down(model, state, _lose_disk(state.slave)), action)


def both_power_loss(model: Model, state: State, action: Action) -> State:
    """One power failure takes both machines (same rack, same feed)."""
    state = _master_down(model, state, _power_off(state.master))
    return _count(state._replace(slave=_power_off(state.slave)), action)


def consumer_crash(model: Model, state: State, action: Action) -> State:
    """The consumer dies: the message in hand and its local offsets are gone."""
    return _count(state._replace(consumer=Consumer(False, None, None)), action)


def _packet(action: Action) -> Packet:
    ref = arg_of(action, PacketRef)
    assert action.message is not None
    return Packet(ref.kind, action.message, ref.attempt, ref.status)


def net_drop(model: Model, state: State, action: Action) -> State:
    return _count(state._replace(network=remove_packet(state.network, _packet(action))), action)


def net_dup(model: Model, state: State, action: Action) -> State:
    return _count(state._replace(network=add_packet(state.network, _packet(action))), action)


EFFECTS: dict[tuple[str, str], Effect] = {
    ("master", "crash"): master_crash,
    ("master", "power-loss"): master_power_loss,
    ("master", "disk-loss"): master_disk_loss,
    ("slave", "crash"): slave_crash,
    ("slave", "power-loss"): slave_power_loss,
    ("slave", "disk-loss"): slave_disk_loss,
    ("both", "power-loss"): both_power_loss,
    ("consumer", "crash"): consumer_crash,
    ("net", "drop"): net_drop,
    ("net", "dup"): net_dup,
}
