"""Actions as named values, and the small state edits the actors share.

An action is (actor, verb, message, arg): who does what to which message, plus whatever
else makes it unique (a packet's attempt, a queue offset). The same value is enabled by a
guard in `actions(state)` and applied by `next_state(state, action)`, so a counterexample
is a list of actions that replays through the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from spec.state import GONE, REPLY, REQUEST, STATUS_NAMES, TOPIC_NAMES, UP, WAITING, Node, Packet, Pending, Producer, State
from spec.status import send_status

if TYPE_CHECKING:
    from spec.model import Model


class Action(NamedTuple):
    """Who does what: `producer send m0`, `master flush`, `net drop m1 (reply #1)`."""

    actor: str  # producer | master | slave | both | consumer | net
    verb: str  # what the actor does (a fault's kind is f"{actor}-{verb}")
    message: int | None  # the message it concerns, if any
    arg: tuple[int, ...] = ()  # what else identifies it (attempt, queue and offset, packet)

    def __str__(self) -> str:
        text = f"{self.actor} {self.verb}"
        if self.message is not None:
            text += f" m{self.message}"
        if self.arg:
            text += f" ({_arg_text(self)})"
        return text


def _arg_text(action: Action) -> str:
    """The argument in words: `#2` (attempt), `topic@1` (queue offset), `reply #1 SEND_OK`."""
    arg = action.arg
    if action.actor == "producer" and action.verb == "receive":
        return f"#{arg[0]} {STATUS_NAMES[arg[1]]}"
    if action.actor == "net":
        kind, attempt, status = arg
        return f"request #{attempt}" if kind == REQUEST else f"reply #{attempt} {STATUS_NAMES[status]}"
    if action.actor == "master" and action.verb == "receive":
        return f"#{arg[0]}"
    if action.actor == "master":
        return f"entry {arg[0]}"
    if action.actor == "consumer" and len(arg) == 2:
        return f"{TOPIC_NAMES[arg[0]]}@{arg[1]}"
    if action.actor == "consumer":
        return TOPIC_NAMES[arg[0]]
    return ",".join(str(value) for value in arg)


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


def in_sync(master: Node, slave: Node) -> bool:
    """The slave is connected and its log is a prefix of the master's (HA can go on).

    A slave holding entries the master lost cannot resync: RocketMQ's HAClient drops the
    connection when the offsets disagree, so replication stalls until an operator acts.
    """
    size = len(slave.log)
    return slave.status == UP and master.status == UP and master.log[:size] == slave.log


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
    for held in pending:
        if held.flush == WAITING or held.replication == WAITING:
            kept.append(held)
        else:
            status = send_status(held.flush, held.replication)
            network = add_packet(network, Packet(REPLY, held.msg, held.attempt, status))
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
