"""Human-readable states: each field as a short text, and what a step changed.

Used by every report format. A state is flattened to `path -> text` (for example
`master.log -> [m0, m1]`, `network -> [request m1 #2]`) and a step is described by the
paths whose text changed.
"""

from __future__ import annotations

from noloss.spec.rocketmq.faults import FAULT_KINDS
from noloss.spec.rocketmq.state import (
    STAGE_NAMES,
    STATUS_NAMES,
    TOPIC_NAMES,
    MAIN,
    REQUEST,
    Consumer,
    Entry,
    Node,
    Packet,
    Pending,
    State,
)

_NODE_STATUS = ("up", "down", "gone")
_GUARANTEE = ("waiting", "met", "timed out", "not available")


def entry_text(entry: Entry) -> str:
    if entry.topic == MAIN:
        return f"m{entry.msg}"
    return f"{TOPIC_NAMES[entry.topic]}m{entry.msg}#{entry.reconsume}"


def log_text(log: tuple[Entry, ...], flushed: int) -> str:
    """`[m0, m1 | m1]`: entries before the bar are on disk, after it only in the page cache."""
    on_disk = ", ".join(entry_text(entry) for entry in log[:flushed])
    cached = ", ".join(entry_text(entry) for entry in log[flushed:])
    if not cached:
        return f"[{on_disk}]"
    return f"[{on_disk} | {cached}]" if on_disk else f"[| {cached}]"


def packet_text(packet: Packet) -> str:
    if packet.kind == REQUEST:
        return f"request m{packet.msg} #{packet.attempt}"
    return f"reply m{packet.msg} #{packet.attempt} {STATUS_NAMES[packet.status]}"


def pending_text(request: Pending) -> str:
    return (
        f"m{request.msg} #{request.attempt} at {request.position}: flush {_GUARANTEE[request.flush]}, "
        f"slave {_GUARANTEE[request.replication]}"
    )


def _node_fields(name: str, node: Node) -> dict[str, str]:
    return {
        f"{name}.status": _NODE_STATUS[node.status],
        f"{name}.log": log_text(node.log, node.flushed),
        f"{name}.offsets": f"{list(node.offsets)} (persisted {list(node.offsets_disk)})",
    }


def _consumer_fields(consumer: Consumer) -> dict[str, str]:
    work = "none"
    if consumer.work is not None:
        w = consumer.work
        work = f"{entry_text(w.entry)} from {TOPIC_NAMES[w.queue]}@{w.offset}, {STAGE_NAMES[w.stage]}"
    offsets = "not fetched" if consumer.next is None else str(list(consumer.next))
    return {
        "consumer.status": "up" if consumer.up else "down",
        "consumer.offsets": offsets,
        "consumer.work": work,
    }


def _counts(values: tuple[int, ...]) -> str:
    return "[" + ", ".join(f"m{m}:{'2+' if count >= 2 else count}" for m, count in enumerate(values)) + "]"


def fields(state: State) -> dict[str, str]:
    """Every part of `state` as `path -> short text`, in a fixed order."""
    producer = state.producer
    acked = [f"m{m}" for m in range(len(state.processed)) if producer.acked >> m & 1]
    out = {
        "producer.sending": f"m{producer.current}" + (" (awaiting reply)" if producer.waiting else ""),
        "producer.acknowledged": "[" + ", ".join(acked) + "]",
    }
    out.update(_node_fields("master", state.master))
    out["master.held replies"] = "[" + "; ".join(pending_text(request) for request in state.pending) + "]"
    out.update(_node_fields("slave", state.slave))
    out["slave.linked"] = "yes" if state.slave_linked else "no (the slave has not reconnected since a node went down)"
    if state.slave_unread:
        out["slave.offset"] = f"end of the master's first {state.slave_unread} entries (the bytes past its log unreadable)"
    out.update(_consumer_fields(state.consumer))
    out["network"] = "[" + ", ".join(packet_text(packet) for packet in state.network) + "]"
    out["processed"] = _counts(state.processed)
    out["effects"] = _counts(state.effects)
    out["faults"] = ", ".join(f"{kind}×{n}" for kind, n in zip(FAULT_KINDS, state.faults) if n) or "none"
    return out


def changes(before: State, after: State) -> list[str]:
    """What a step changed: `path: old -> new` for each part whose text differs."""
    old, new = fields(before), fields(after)
    return [f"{path}: {old[path]} -> {new[path]}" for path in new if old[path] != new[path]]
