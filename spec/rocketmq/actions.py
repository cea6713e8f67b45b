"""Actions as named values, and the small state edits the actors share.

An action is (actor, verb, message, arg): who does what to which message, plus whatever
else makes it unique, typed per kind of action (`Attempt`, `QueueOffset`, `PacketRef`, …). The same value is enabled by a
guard in `actions(state)` and applied by `next_state(state, action)`, so a counterexample
is a list of actions that replays through the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from noloss.spec.rocketmq.state import GONE, REPLY, REQUEST, STATUS_NAMES, TOPIC_NAMES, UP, WAITING, Node, Packet, Pending, Producer, State
from noloss.spec.rocketmq.status import send_status

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model


class Attempt(NamedTuple):
    """Which request of a message the master stores: `#2`."""

    attempt: int

    def __str__(self) -> str:
        return f"#{self.attempt}"


class Reply(NamedTuple):
    """The reply the producer reads: `#1 SEND_OK`."""

    attempt: int
    status: int  # a SendStatus code (STATUS_NAMES)

    def __str__(self) -> str:
        return f"#{self.attempt} {STATUS_NAMES[self.status]}"


class Position(NamedTuple):
    """A held send, by where its entry stands in the master's log: `entry 0`."""

    position: int

    def __str__(self) -> str:
        return f"entry {self.position}"


class QueueOffset(NamedTuple):
    """An entry of a consume queue: `topic@1`, `%RETRY%@0`."""

    queue: int  # MAIN or RETRY
    offset: int

    def __str__(self) -> str:
        return f"{TOPIC_NAMES[self.queue]}@{self.offset}"


class Queue(NamedTuple):
    """A consume queue: `topic`."""

    queue: int  # MAIN or RETRY

    def __str__(self) -> str:
        return TOPIC_NAMES[self.queue]


class PacketRef(NamedTuple):
    """A packet on the wire (its message is the action's): `request #1`, `reply #1 SEND_OK`."""

    kind: int  # REQUEST or REPLY
    attempt: int
    status: int  # REPLY: the SendStatus; REQUEST: 0

    def __str__(self) -> str:
        if self.kind == REQUEST:
            return f"request #{self.attempt}"
        return f"reply #{self.attempt} {STATUS_NAMES[self.status]}"


ActionArg = Attempt | Reply | Position | QueueOffset | Queue | PacketRef
"""What identifies an action beyond actor, verb and message; each kind of action has one type."""
ArgType = TypeVar("ArgType", Attempt, Reply, Position, QueueOffset, Queue, PacketRef)


class Action(NamedTuple):
    """Who does what: `producer send m0`, `master flush`, `net drop m1 (reply #1)`."""

    actor: str  # producer | master | slave | both | consumer | net
    verb: str  # what the actor does (a fault's is in spec/rocketmq/faults.py)
    message: int | None  # the message it concerns, if any
    arg: ActionArg | None = None  # what else identifies it (attempt, queue and offset, packet)

    def __str__(self) -> str:
        text = f"{self.actor} {self.verb}"
        if self.message is not None:
            text += f" m{self.message}"
        if self.arg is not None:
            text += f" ({self.arg})"
        return text


def arg_of(action: Action, kind: type[ArgType]) -> ArgType:
    """`action`'s argument, which must be of `kind` (each kind of action has one type)."""
    arg = action.arg
    assert isinstance(arg, kind), f"{action.actor} {action.verb}: argument {arg!r} is not a {kind.__name__}"
    return arg


Effect = Callable[["Model", State, Action], State]


def add_packet(network: tuple[Packet, ...], packet: Packet) -> tuple[Packet, ...]:
    """The network with one more copy of `packet` (kept sorted: a canonical multiset)."""
    return tuple(sorted(network + (packet,)))


def remove_packet(network: tuple[Packet, ...], packet: Packet) -> tuple[Packet, ...]:
    """The network with one copy of `packet` fewer; the packet must be there."""
    index = network.index(packet)
    return network[:index] + network[index + 1 :]


def without_requests(network: tuple[Packet, ...]) -> tuple[Packet, ...]:
    """Requests to a master that went down die with its connections; replies already sent stay."""
    return tuple(packet for packet in network if packet.kind != REQUEST)


def distinct(network: tuple[Packet, ...]) -> tuple[Packet, ...]:
    """One of each packet: copies of a packet enable the same action once."""
    return tuple(dict.fromkeys(network))


def up(node: Node) -> bool:
    return node.status == UP


def alive(node: Node) -> bool:
    """Up, or down but coming back (not permanently lost)."""
    return node.status != GONE


def connected(master: Node, slave: Node) -> bool:
    """Both nodes are up: the slave's HAClient has a connection to the master."""
    return slave.status == UP and master.status == UP


def is_prefix(slave: Node, master: Node) -> bool:
    """The slave's log is a prefix of the master's: it holds nothing the master lost."""
    return master.log[: len(slave.log)] == slave.log


def in_sync(trusts_offsets: bool, state: State) -> bool:
    """The master counts the slave: it waits for its reports and it sends it the log's tail.

    Only over a live HA connection: one whose link broke (either node went down) is counted
    again only after a `slave reconnect` (4.9.7 HAService.isSlaveOK needs connectionCount > 0,
    which an HAConnection raises when the slave's HAClient connects; the HAClient retries
    every 5 s). RocketMQ (haTrustSlaveOffset=true) compares offsets only: the slave's first
    report after it connects is taken unchecked (4.x HAConnection, 5.x DefaultHAConnection),
    whatever its log holds. With the check (false), a slave holding entries the master lost
    is not counted.
    """
    master, slave = state.master, state.slave
    if not connected(master, slave) or not state.slave_linked:
        return False
    return trusts_offsets or is_prefix(slave, master)


def next_message(producer: Producer, acked: bool) -> Producer:
    """The application is done with `current` (acknowledged or given up) and moves on."""
    bit = (1 << producer.current) if acked else 0
    return Producer(producer.current + 1, False, 0, 0, 0, producer.acked | bit)


def bump(counts: tuple[int, ...], index: int, cap: int = 2) -> tuple[int, ...]:
    """`counts` with entry `index` one higher, saturating at `cap` (2 means 'more than once').

    pre: 0 <= index < len(counts)
    pre: all(0 <= count <= cap for count in counts)
    post: len(__return__) == len(counts)
    post: __return__[index] == min(counts[index] + 1, cap)
    post: all(new == old for i, (new, old) in enumerate(zip(__return__, counts)) if i != index)
    """
    value = min(counts[index] + 1, cap)
    return counts[:index] + (value,) + counts[index + 1 :]


def settle(state: State, pending: tuple[Pending, ...]) -> State:
    """Reply to every held request whose flush and replication are both settled."""
    network = state.network
    kept = []
    for request in pending:
        if request.flush == WAITING or request.replication == WAITING:
            kept.append(request)
        else:
            status = send_status(request.flush, request.replication)
            network = add_packet(network, Packet(REPLY, request.msg, request.attempt, status))
    return state._replace(pending=tuple(kept), network=network)


def committed_past(offsets: tuple[int, ...], queue: int, offset: int) -> tuple[int, ...]:
    """`offsets` with `queue`'s moved just past `offset` (a commit); the others unchanged.

    pre: 0 <= queue < len(offsets)
    pre: offset >= 0
    post: len(__return__) == len(offsets)
    post: __return__[queue] == offset + 1
    post: all(new == old for i, (new, old) in enumerate(zip(__return__, offsets)) if i != queue)
    """
    return offsets[:queue] + (offset + 1,) + offsets[queue + 1 :]


def synced_offsets(state: State) -> tuple[int, ...]:
    """The slave's offsets once it has copied the master's: every queue the master has an
    offset for (above 0: a commit always moves past an entry) takes the master's, the others
    keep the slave's. SlaveSynchronize.syncConsumerOffset `putAll`s the master's table into
    the slave's (4.9.7 SlaveSynchronize.java:79–87; 5.3.0 :113–122), so a queue committed
    only at the slave while the master was down keeps its offset there."""
    master, slave = state.master.offsets, state.slave.offsets
    return tuple(theirs if theirs > 0 else ours for theirs, ours in zip(master, slave))


def offsets_to_sync(state: State) -> bool:
    """A `sync-offsets` would change the slave's offsets, in memory or on disk."""
    synced = synced_offsets(state)
    return synced != state.slave.offsets or synced != state.slave.offsets_disk
