"""The master and the slave: storing, flushing, replicating, answering sends.

The master appends every request to its commit log in the page cache, then (if the
configuration asks) holds the reply until the group-commit fsync (`SYNC_FLUSH`) and the
slave's report (`SYNC_MASTER`); the two run in parallel and either may time out. The slave
pulls everything the master has beyond its own log and reports it stored once it is in its
page cache, before its own flush, and copies the master's committed consumer offsets from
time to time (SlaveSynchronize, `sync-offsets`). Flushing writes the whole page-cache tail at once: since
entries are appended in order, flushing at different times reaches every prefix.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING

from noloss.spec.rocketmq.actions import (
    Action,
    Attempt,
    Effect,
    Position,
    add_packet,
    arg_of,
    connected,
    distinct,
    in_sync,
    offsets_to_sync,
    remove_packet,
    settle,
    synced_offsets,
    up,
)
from noloss.spec.rocketmq.reductions import syncs_offsets_at_commit
from noloss.spec.rocketmq.sizes import boundary_at, entries_ending_by, log_bytes
from noloss.spec.rocketmq.state import (
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
from noloss.spec.rocketmq.status import send_status

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model

MASTER = "master"
SLAVE = "slave"


def enabled_reads(state: State) -> Hashable:
    """All that `enabled` reads of the state (Model.actions keeps its actions per value of it)."""
    return (state.master, state.slave, state.network, state.pending, state.slave_linked, state.slave_unread)


def slave_offset(state: State) -> int:
    """The byte offset the slave reports: its log's end, or past it the unreadable bytes it
    took from the master (spec/rocketmq/sizes.py)."""
    if state.slave_unread:
        return log_bytes(state.master.log[: state.slave_unread])
    return log_bytes(state.slave.log)


def enabled(model: Model, state: State) -> Iterator[Action]:
    master, slave = state.master, state.slave
    if up(master):
        for packet in distinct(state.network):
            if packet.kind == REQUEST:
                yield Action(MASTER, "receive", packet.msg, Attempt(packet.attempt))
        if master.flushed < len(master.log):
            yield Action(MASTER, "flush", None)
        for request in state.pending:
            if request.flush == WAITING:
                yield Action(MASTER, "flush-timeout", request.msg, Position(request.position))
            if request.replication == WAITING:
                yield Action(MASTER, "slave-timeout", request.msg, Position(request.position))
    trusts = model.config.haTrustSlaveOffset
    if in_sync(trusts, state) and slave_offset(state) < log_bytes(master.log):
        yield Action(SLAVE, "replicate", None)
    if not state.slave_linked and connected(master, slave):
        yield Action(SLAVE, "reconnect", None)
    if up(slave) and slave.flushed < len(slave.log):
        yield Action(SLAVE, "flush", None)
    if not syncs_offsets_at_commit(model) and up(master) and up(slave) and offsets_to_sync(state):
        yield Action(SLAVE, "sync-offsets", None)
    for name, node in ((MASTER, master), (SLAVE, slave)):
        if up(node) and node.offsets != node.offsets_disk:
            yield Action(name, "persist-offsets", None)
        if node.status == DOWN:
            yield Action(name, "restart", None)


def settle_covered(model: Model, state: State) -> State:
    """Every held send whose entry the counted slave's offset already covers is replicated.

    The master compares the slave's last reported offset with the end of the send's entry
    (4.x GroupTransferService.doWaitTransfer against push2SlaveMaxOffset; 5.x against each
    connection's slaveAckOffset): a slave already past it — one that was ahead of a master
    that lost entries, its offset taken unchecked (apache/rocketmq#3015) — needs no new
    report. So it happens at once: when the send is stored, and when the slave is counted
    again (its `reconnect`). Offsets are bytes: the slave covers the master's entries that end
    by its offset (spec/rocketmq/sizes.py).
    """
    if not state.pending or not in_sync(model.config.haTrustSlaveOffset, state):
        return state
    size = entries_ending_by(slave_offset(state), state.master.log)
    if not any(request.replication == WAITING and request.position < size for request in state.pending):
        return state
    pending = tuple(
        request._replace(replication=MET) if request.replication == WAITING and request.position < size else request
        for request in state.pending
    )
    return settle(state, pending)


def _node(state: State, name: str) -> Node:
    return state.master if name == MASTER else state.slave


def _with_node(state: State, name: str, node: Node) -> State:
    return state._replace(master=node) if name == MASTER else state._replace(slave=node)


def append_to_master(state: State, entry: Entry) -> Node:
    """The master appends an entry to its page cache; the flush service writes it later."""
    return state.master._replace(log=state.master.log + (entry,))


def master_receive(model: Model, state: State, action: Action) -> State:
    """The master stores a request and answers now, or holds the answer for flush and/or slave."""
    assert action.message is not None
    attempt = arg_of(action, Attempt).attempt
    config = model.config
    master = state.master
    position = len(master.log)
    master = append_to_master(state, Entry(MAIN, action.message, 0))
    network = remove_packet(state.network, Packet(REQUEST, action.message, attempt, 0))
    state = state._replace(master=master, network=network)
    if config.sends_oneway:
        return state
    flush = WAITING if config.waits_for_flush else MET
    replication = MET
    if config.waits_for_slave:
        # 4.x isSlaveOK: no connected slave in sync means SLAVE_NOT_AVAILABLE, without waiting.
        # 5.x never asks: it waits, and answers FLUSH_SLAVE_TIMEOUT if no slave reports in time.
        counted = in_sync(config.haTrustSlaveOffset, state)
        replication = WAITING if counted or not config.slave_not_available else NOT_AVAILABLE
    if flush != WAITING and replication != WAITING:
        reply = Packet(REPLY, action.message, attempt, send_status(flush, replication))
        return state._replace(network=add_packet(state.network, reply))
    request = Pending(action.message, attempt, position, flush, replication)
    return settle_covered(model, state._replace(pending=state.pending + (request,)))


def master_flush(model: Model, state: State, action: Action) -> State:
    """The flush service (group commit under SYNC_FLUSH) fsyncs the whole page-cache tail."""
    size = len(state.master.log)
    state = state._replace(master=state.master._replace(flushed=size))
    pending = tuple(
        request._replace(flush=MET) if request.flush == WAITING and request.position < size else request
        for request in state.pending
    )
    return settle(state, pending)


def slave_replicate(model: Model, state: State, action: Action) -> State:
    """The slave pulls what the master has beyond its offset and reports its offset (page cache only).

    The master sends from the slave's byte offset on, and counts every entry below the
    reported offset as replicated: where the slave holds other entries there (it was ahead
    of a master that lost them), they stay, and count (apache/rocketmq#3015). If that offset
    is no record boundary of the master's log (the entries there differ in size), the master
    streams from inside a record: the slave appends bytes it cannot read, and reports the
    master's end all the same (spec/rocketmq/sizes.py). With the checked handshake the slave's log is
    a prefix of the master's and the result is the master's log.
    """
    master_log, slave = state.master.log, state.slave
    start = boundary_at(log_bytes(slave.log), master_log) if not state.slave_unread else None
    if start is None:
        state = state._replace(slave_unread=len(master_log))
    else:
        state = state._replace(slave=slave._replace(log=slave.log + master_log[start:]))
    size = len(master_log)
    pending = tuple(
        request._replace(replication=MET) if request.replication == WAITING and request.position < size else request
        for request in state.pending
    )
    return settle(state, pending)


def slave_reconnect(model: Model, state: State, action: Action) -> State:
    """The slave's HAClient connects again and reports its offset: the master counts it again.

    RocketMQ's HAClient retries every 5 s (4.9.7 HAService.HAClient.run: `waitForRunning(1000 * 5)`
    after a failed connectMaster); until then a 4.x SYNC_MASTER answers SLAVE_NOT_AVAILABLE
    (`isSlaveOK`: no connection) and a 5.x one waits. A trusting master (haTrustSlaveOffset=true,
    every RocketMQ release) takes the slave's log as it is. A checking one (false) has it cut
    back to the longest prefix the two logs share (the master lost entries the slave kept, or
    holds others in their place) first: the verified handshake, as 5.x's controller mode does
    it by epochs (5.3.0 AutoSwitchHAClient.java:433–457, findConsistentPoint then truncate)
    and the reference broker a record at a time (HaHello, HaTruncate)."""
    master, slave = state.master, state.slave
    if not model.config.haTrustSlaveOffset:
        common = 0
        while common < min(len(master.log), len(slave.log)) and master.log[common] == slave.log[common]:
            common += 1
        if common < len(slave.log):
            slave = slave._replace(log=slave.log[:common], flushed=min(slave.flushed, common))
    return settle_covered(model, state._replace(slave=slave, slave_linked=True))


def _time_out(state: State, action: Action, flush: bool) -> State:
    position = arg_of(action, Position).position
    pending = tuple(
        (request._replace(flush=TIMED_OUT) if flush else request._replace(replication=TIMED_OUT))
        if request.position == position
        else request
        for request in state.pending
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


def sync_offsets(model: Model, state: State, action: Action) -> State:
    """SlaveSynchronize: the slave copies the master's committed offsets and persists them."""
    offsets = synced_offsets(state)
    return state._replace(slave=state.slave._replace(offsets=offsets, offsets_disk=offsets))


def restart(model: Model, state: State, action: Action) -> State:
    """A down node starts again with what it kept (disk, and page cache after a mere crash),
    with no HA connection: the slave is counted again at its `reconnect`."""
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
    "reconnect": slave_reconnect,
    "flush": slave_flush,
    "persist-offsets": persist_offsets,
    "sync-offsets": sync_offsets,
    "restart": restart,
}
