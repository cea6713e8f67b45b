"""The master and the slave: storing, flushing, replicating, answering sends.

The master appends every request to its commit log in the page cache, then (if the
configuration asks) holds the reply until the group-commit fsync (`SYNC_FLUSH`) and the
slave's report (`SYNC_MASTER`); the two run in parallel and either may time out. The slave
pulls everything the master has beyond its own log and reports it stored once it is in its
page cache, before its own flush. Flushing writes the whole page-cache tail at once: since
entries are appended in order, flushing at different times reaches every prefix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from spec.actions import Action, Effect, add_packet, distinct, in_sync, remove_packet, settle, up
from spec.config import ONEWAY_SEND
from spec.state import (
    DOWN,
    MAIN,
    MET,
    NOT_AVAILABLE,
    REPLY,
    REQUEST,
    TIMED_OUT,
    UP,
    WAITING,
    Entry,
    Node,
    Packet,
    Pending,
    State,
)
from spec.status import send_status

if TYPE_CHECKING:
    from spec.model import Model

MASTER = "master"
SLAVE = "slave"


def enabled(model: Model, state: State) -> Iterator[Action]:
    master, slave = state.master, state.slave
    if up(master):
        for packet in distinct(state.network):
            if packet.kind == REQUEST:
                yield Action(MASTER, "receive", packet.msg, (packet.attempt,))
        if master.flushed < len(master.log):
            yield Action(MASTER, "flush", None)
        for held in state.pending:
            if held.flush == WAITING:
                yield Action(MASTER, "flush-timeout", held.msg, (held.position,))
            if held.replication == WAITING:
                yield Action(MASTER, "slave-timeout", held.msg, (held.position,))
    if in_sync(master, slave) and len(slave.log) < len(master.log):
        yield Action(SLAVE, "replicate", None)
    if up(slave) and slave.flushed < len(slave.log):
        yield Action(SLAVE, "flush", None)
    for name, node in ((MASTER, master), (SLAVE, slave)):
        if up(node) and node.offsets != node.offsets_disk:
            yield Action(name, "persist-offsets", None)
        if node.status == DOWN:
            yield Action(name, "restart", None)


def _node(state: State, name: str) -> Node:
    return state.master if name == MASTER else state.slave


def _with_node(state: State, name: str, node: Node) -> State:
    return state._replace(master=node) if name == MASTER else state._replace(slave=node)


def append_to_master(model: Model, state: State, entry: Entry) -> Node:
    """The master appends an entry to its page cache (on disk at once if nothing can tell)."""
    master = state.master
    log = master.log + (entry,)
    flushed = master.flushed if model.observed_in(state).master_flush else len(log)
    return master._replace(log=log, flushed=flushed)


def master_receive(model: Model, state: State, action: Action) -> State:
    """The master stores a request and answers now, or holds the answer for flush and/or slave."""
    assert action.message is not None
    (attempt,) = action.arg
    config = model.config
    master = state.master
    position = len(master.log)
    master = append_to_master(model, state, Entry(MAIN, action.message, 0))
    network = remove_packet(state.network, Packet(REQUEST, action.message, attempt, 0))
    state = state._replace(master=master, network=network)
    if config.sendMode == ONEWAY_SEND:
        return state
    flush = WAITING if config.waits_for_flush else MET
    replication = MET
    if config.waits_for_slave:
        # 4.x isSlaveOK: no connected slave in sync means SLAVE_NOT_AVAILABLE, without waiting.
        replication = WAITING if in_sync(master, state.slave) else NOT_AVAILABLE
    if flush != WAITING and replication != WAITING:
        reply = Packet(REPLY, action.message, attempt, send_status(flush, replication))
        return state._replace(network=add_packet(state.network, reply))
    held = Pending(action.message, attempt, position, flush, replication)
    return state._replace(pending=state.pending + (held,))


def master_flush(model: Model, state: State, action: Action) -> State:
    """The flush service (group commit under SYNC_FLUSH) fsyncs the whole page-cache tail."""
    size = len(state.master.log)
    state = state._replace(master=state.master._replace(flushed=size))
    pending = tuple(
        held._replace(flush=MET) if held.flush == WAITING and held.position < size else held
        for held in state.pending
    )
    return settle(state, pending)


def slave_replicate(model: Model, state: State, action: Action) -> State:
    """The slave pulls what the master has beyond its log and reports the offset (page cache only)."""
    size = len(state.master.log)
    flushed = state.slave.flushed if model.observed_in(state).slave_flush else size
    state = state._replace(slave=state.slave._replace(log=state.master.log, flushed=flushed))
    pending = tuple(
        held._replace(replication=MET) if held.replication == WAITING and held.position < size else held
        for held in state.pending
    )
    return settle(state, pending)


def _time_out(state: State, action: Action, flush: bool) -> State:
    (position,) = action.arg
    pending = tuple(
        (held._replace(flush=TIMED_OUT) if flush else held._replace(replication=TIMED_OUT))
        if held.position == position
        else held
        for held in state.pending
    )
    return settle(state, pending)


def flush_timeout(model: Model, state: State, action: Action) -> State:
    """syncFlushTimeout expires before the group commit: FLUSH_DISK_TIMEOUT unless replication fails too."""
    return _time_out(state, action, flush=True)


def slave_timeout(model: Model, state: State, action: Action) -> State:
    """slaveTimeout expires before the slave's report: FLUSH_SLAVE_TIMEOUT."""
    return _time_out(state, action, flush=False)


def slave_flush(model: Model, state: State, action: Action) -> State:
    """The slave's own flush service writes its page-cache tail (soon or late: its flushDiskType)."""
    return state._replace(slave=state.slave._replace(flushed=len(state.slave.log)))


def persist_offsets(model: Model, state: State, action: Action) -> State:
    """The broker persists its consumer offsets (flushConsumerOffsetInterval)."""
    node = _node(state, action.actor)
    return _with_node(state, action.actor, node._replace(offsets_disk=node.offsets))


def restart(model: Model, state: State, action: Action) -> State:
    """A down node starts again with what it kept (disk, and page cache after a mere crash)."""
    node = _node(state, action.actor)
    return _with_node(state, action.actor, node._replace(status=UP))


MASTER_EFFECTS: dict[str, Effect] = {
    "receive": master_receive,
    "flush": master_flush,
    "flush-timeout": flush_timeout,
    "slave-timeout": slave_timeout,
    "persist-offsets": persist_offsets,
    "restart": restart,
}
SLAVE_EFFECTS: dict[str, Effect] = {
    "replicate": slave_replicate,
    "flush": slave_flush,
    "persist-offsets": persist_offsets,
    "restart": restart,
}
