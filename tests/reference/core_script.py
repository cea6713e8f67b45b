"""What the interaction scripts in tests/reference/testdata/ can say, and how a core's Ready
batches are printed for them.

A script drives a simulated master/slave pair (reference/sim.py) as etcd-io/raft's
interaction tests drive raft nodes: each command steps a core or lets time pass, and its
output is every non-empty Ready batch the cores handed their shells meanwhile, in order, plus
what the command itself reports (a recovery, a log). Commands:

    cluster role=SYNC_MASTER flush=SYNC_FLUSH [slave-flush=ASYNC_FLUSH] [NodeConfig field=value ...]
        a fresh pair, unlinked; other keys set NodeConfig fields on both nodes
        (`ha-trust-slave-offset=false`, `rocketmq-version=5.3`, `slave-timeout-ms=300`)
    send [id=1] [key=k1] [body=m1] [topic=TopicTest] [oneway]     a producer's send to the master
    pull node=slave offset=0 [id=9] [topic=TopicTest]             a consumer's pull
    tick NODE [count=1]             let count ticks pass on NODE
    flush NODE                      the fsync NODE asked for finishes
    link / unlink                   the slave connects to the master (and frames flow) / the link breaks
    pump [only=HaData,HaReport]     deliver the queued replication frames (only those kinds)
    crash NODE                      the process dies and restarts: the page cache survives
    power-loss NODE [torn=0]        the machine loses power and restarts: unflushed bytes are gone
                                    (bar `torn` bytes of a torn write)
    log NODE                        the commit log: its records and how much of it is durable

The printer belongs here, not in the broker: it is how a test reads a batch, and what it
shows is chosen for a reviewer (records decoded, connections named), not for a shell.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Any

from datadriven import Command, ScriptError

from noloss.reference import log
from noloss.reference import messages as m
from noloss.reference.core import FlushType, NodeConfig, Ready, Received, Role
from noloss.reference.node import carry_out
from noloss.reference.sim import SimCluster, SimNode

CLIENT = 1
"""The connection producers and consumers use, on either node."""
_BARE = re.compile(r"[\w%#.:-]+")


class ShownNode(SimNode):
    """A SimNode that prints each Ready batch its core hands over, then carries it out as
    every shell does (node.carry_out)."""

    def __init__(self, config: NodeConfig, out: list[list[str]]) -> None:
        self.name = "slave" if config.role is Role.SLAVE else "master"
        self.out = out
        super().__init__(config)

    def drain(self) -> None:
        while not (ready := self.core.ready()).empty():
            self.out.append(show_ready(self.name, ready, self.file.size()))
            carry_out(self.node, ready, self)


def show_ready(name: str, ready: Ready, log_end: int) -> list[str]:
    """One batch, in the order the shell carries it out (see core.Ready)."""
    lines = [f"{name} ready:"]
    if ready.truncate is not None:
        lines.append(f"  truncate log to {ready.truncate}")
        log_end = ready.truncate
    for chunk in ready.appends:
        lines += [f"  append @{log_end + at} {record}" for at, record in _records(chunk)]
        log_end += len(chunk)
    lines += [f"  write {file} {content.decode()}" for file, content in ready.meta.items()]
    if ready.flush:
        lines.append("  fsync log")
    peer = "slave" if name == "master" else "master"
    lines += [f"  to {_conn(conn, peer)}: {show_message(message)}" for conn, message in ready.frames]
    lines += [f"  close {_conn(conn, peer)}: {reason}" for conn, reason in ready.closes]
    return lines


def _conn(conn: int, peer: str) -> str:
    return peer if conn in (SimCluster.MASTER_SIDE, SimCluster.SLAVE_SIDE) else f"client {conn}"


def _records(data: bytes) -> list[tuple[int, str]]:
    """Each record in `data` with its position there; the rest, from the first byte that
    starts no whole record (a trusting master streams from inside one), as one item."""
    found, pos = [], 0
    while pos < len(data):
        try:
            stored = log.decode_record(data, pos)
        except log.CorruptRecord as error:
            found.append((pos, f"{len(data) - pos} bytes, not a record ({error})"))
            break
        length = log.record_length(data, pos)
        found.append((pos, f"{show_stored(stored)} ({length} bytes)"))
        pos += length
    return found


def show_stored(message: m.Message) -> str:
    retry = f" reconsume={message.reconsume_times} origin={message.origin_topic}" if message.origin_topic else ""
    return f"{message.topic}#{message.queue_offset} key={message.key} body={message.body!r}{retry}"


def show_message(message: m.Wire) -> str:
    """`Type field=value ...`, bytes shown as what they hold."""
    words = [type(message).__name__]
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        if isinstance(message, m.HaData) and field.name == "data":
            shown = "[" + ", ".join(record for _, record in _records(value)) + "]"
        elif isinstance(message, m.ConsumerOffsetsReply) and field.name == "offsets":
            shown = value.decode()
        elif isinstance(message, m.PullReply) and field.name == "messages":
            shown = "[" + ", ".join(show_stored(stored) for stored in value) + "]"
        elif isinstance(value, str) and not _BARE.fullmatch(value):
            shown = repr(value)
        else:
            shown = str(value) if not isinstance(value, bytes) else repr(value)
        words.append(f"{field.name}={shown}")
    return " ".join(words)


def collapsed(batches: list[list[str]]) -> list[str]:
    """The batches' lines, a run of identical batches shown once with its count (a SimNode's
    fsync finishes only when the script says, so ticks ask for it again and again)."""
    lines: list[str] = []
    for batch, run in itertools.groupby(batches):
        head, *rest = batch
        count = len(list(run))
        lines += [f"{head.removesuffix(':')} ({count} times):" if count > 1 else head, *rest]
    return lines


class CoreScript:
    """The state of one script file: a pair of nodes and the batches they printed."""

    def __init__(self) -> None:
        self._cluster: SimCluster | None = None
        self.out: list[list[str]] = []
        """The Ready batches printed during the current command; the nodes append to this very list."""

    def execute(self, command: Command) -> list[str]:
        handler = getattr(self, "do_" + command.name.replace("-", "_"), None)
        if handler is None:
            raise ScriptError(f"{command.where}: unknown command {command.name!r}")
        self.out.clear()
        extra: list[str] = handler(command)
        lines = collapsed(self.out) + extra
        self.out.clear()
        return lines

    # -- helpers -------------------------------------------------------------------------

    @property
    def cluster(self) -> SimCluster:
        if self._cluster is None:
            raise ScriptError("no cluster yet: start the script with `cluster`")
        return self._cluster

    def node(self, command: Command, key: str = "node") -> SimNode:
        name = command.args.get(key) or next(iter(sorted(command.flags & {"master", "slave"})), None)
        if name not in ("master", "slave"):
            raise ScriptError(f"{command.where}: say which node: master or slave")
        return self.cluster.master if name == "master" else self.cluster.slave

    def _restart(self, node: SimNode) -> list[str]:
        broken = ["replication link broken"] if self.cluster.linked else []
        if broken:
            self.cluster.unlink()  # the connection dies with either process
        node.start()
        return [*broken, f"{'slave' if node is self.cluster.slave else 'master'} {node.node.recovery.describe()}"]

    # -- commands ------------------------------------------------------------------------

    def do_cluster(self, command: Command) -> list[str]:
        settings = {key.replace("-", "_"): raw for key, raw in command.args.items() if key not in ("role", "flush", "slave-flush")}
        master = _config(Role(command.take("role")), FlushType(command.take("flush")), settings, command.where)
        slave = _config(Role.SLAVE, FlushType(command.take("slave-flush", FlushType.ASYNC_FLUSH)), settings, command.where)
        self._cluster = SimCluster(master, slave, lambda config: ShownNode(config, self.out))
        return []

    def do_send(self, command: Command) -> list[str]:
        request_id = int(command.take("id", "1"))
        key, body = command.take("key", f"k{request_id}"), command.take("body", f"m{request_id}")
        request = m.SendRequest(request_id, command.take("topic", "TopicTest"), key, body.encode(), "oneway" in command.flags)
        self.cluster.master.step(Received(CLIENT, request))
        return []

    def do_pull(self, command: Command) -> list[str]:
        request = m.PullRequest(int(command.take("id", "9")), command.take("topic", "TopicTest"), int(command.take("offset")), 32, 0)
        self.node(command).step(Received(CLIENT, request))
        return []

    def do_tick(self, command: Command) -> list[str]:
        self.node(command).tick(int(command.take("count", "1")))
        return []

    def do_flush(self, command: Command) -> list[str]:
        return [] if self.node(command).finish_flush() else ["no fsync was asked for"]

    def do_link(self, command: Command) -> list[str]:
        self.cluster.link()
        return []

    def do_unlink(self, command: Command) -> list[str]:
        self.cluster.unlink()
        return []

    def do_pump(self, command: Command) -> list[str]:
        kinds = tuple(getattr(m, kind) for kind in command.args["only"].split(",")) if "only" in command.args else None
        delivered = self.cluster.pump(kinds)
        closed = [f"link closed: {self.cluster.close_reason}"] if not self.cluster.linked else []
        return [f"frames delivered: {delivered}", *closed]

    def do_crash(self, command: Command) -> list[str]:
        return self._restart(self.node(command))

    def do_power_loss(self, command: Command) -> list[str]:
        node = self.node(command)
        node.storage.power_loss(int(command.take("torn", "0")))
        return self._restart(node)

    def do_log(self, command: Command) -> list[str]:
        file = self.node(command).file
        records = [f"  @{at} {record}" for at, record in _records(file.read(0, file.size()))] if file.size() else []
        return [f"{file.size()} bytes, {len(file.durable)} durable, {file.syncs} fsyncs", *records]


def _config(role: Role, flush: FlushType, settings: dict[str, str], where: str) -> NodeConfig:
    """A NodeConfig with `settings` (field name -> text) parsed by each field's default's type."""
    config = NodeConfig(role, flush)
    changes: dict[str, Any] = {}
    for name, raw in settings.items():
        default = getattr(config, name, None)
        if isinstance(default, bool) and raw in ("true", "false"):
            changes[name] = raw == "true"
        elif isinstance(default, int) and not isinstance(default, bool) and raw.isdigit():
            changes[name] = int(raw)
        elif isinstance(default, str):
            changes[name] = raw
        else:
            raise ScriptError(f"{where}: no NodeConfig field {name!r} takes {raw!r}")
    return dataclasses.replace(config, **changes)
