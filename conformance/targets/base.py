"""What `noloss conform` needs of a broker under test: the target adapter interface.

A target is a set of broker nodes running as real processes, plus clients for them. The
harness (conformance/run.py) drives it only through the three small types here, so a new
broker (Redis Streams, NATS JetStream, RabbitMQ, ...) is one module implementing them:

- `Target`: the nodes. Each node is started and stopped as a real process; the harness
  asks for a graceful stop, a SIGKILL, a power cut (the node's data directory sits on the
  power-loss filesystem, conformance/inject/faultfs.py), a restart on the same data directory,
  a wipe of that directory (disk loss), and, where the broker has one, a failover (the
  slave promoted to master: a fault outside the spec, judged by the counts alone).
- `TargetProducer`: `send(body)` with the target's own statuses mapped onto the spec's
  four outcomes (`Outcome`). The target's client may retry on its own; it calls
  `on_request` each time a request for the message goes on the wire, so the history
  numbers attempts as the spec does.
- `TargetConsumer`: pulls, hands each message to the harness's business step (`Handler`)
  and commits after it returns, as the target's own consumer does; `crash` drops it
  without committing what it has in hand. A handler called after its consumer's crash is
  logged raises `ConsumerKilled` instead of returning, and the consumer lets it end its
  loop: nothing the dead process would have done after that point happens.

Names: "acknowledged" is the producer's word (the application believes the message is
stored), "commit" the consumer's (its offset moves past a message), "processed" the
business step's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

# RocketMQ's sendMsgTimeout (3000 ms): a send, with its retries, gives up this long after it
# began; the outcome is then unknown. Every target's producer waits no longer.
SEND_TIMEOUT_S = 3.0


class Outcome(StrEnum):
    """What one `send(body)` told the application, in the spec's terms."""

    ACKNOWLEDGED = "acknowledged"  # stored with every guarantee asked for (RocketMQ: SEND_OK)
    STORED_NOT_GUARANTEED = "stored-but-not-guaranteed"  # stored, a guarantee not met (FLUSH_DISK_TIMEOUT, ...)
    FAILED = "failed"  # refused: certainly not stored
    UNKNOWN = "unknown"  # no answer (timeout, connection lost): may or may not be stored


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """The outcome of one `send(body)` and the target's own status behind it."""

    outcome: Outcome
    status: str | None  # the target's status as the spec names it (SEND_OK, ...), None without a reply
    offset: int | None = None  # where the target says it stored the message (its queue position)
    detail: str = ""  # the target's words for a failure, for the history


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to the business step."""

    body: bytes
    queue: str  # "topic", or "retry" for the group's redelivery queue
    offset: int  # its index in that queue


Handler = Callable[[Delivery], bool]
"""The business step: True when it succeeded (commit), False to have the message redelivered.
It raises `ConsumerKilled` when its consumer has been crashed."""


class ConsumerKilled(BaseException):
    """Raised by the business step of a consumer whose crash the history already shows.

    The harness logs a consumer crash and then stops the consumer's thread, which takes a
    moment; a step running in between must not return, or the consumer would commit a
    message the history says it never processed, and the restarted one would skip it (an
    acknowledged message counted lost: the harness's own fault, not the broker's). Raised
    instead, it ends the consumer's loop before the commit, as the process's death would.
    A BaseException, so that a client's `except Exception` around its listener does not
    take it for RECONSUME_LATER and send the message back."""

Route = Callable[[str, str], str]
"""(link, HOST:PORT to dial) -> the HOST:PORT to dial instead. Links are named
"producer->master", "consumer->master", "consumer->slave", "slave->master"; the harness
puts its TCP proxy on a link by answering with the proxy's address."""


def direct(link: str, address: str) -> str:
    """The route that leaves every link alone."""
    return address


class FaultUnavailable(RuntimeError):
    """A fault this target cannot inject here (the message says why, in one line)."""


class TargetProducer(ABC):
    """One producer client."""

    @abstractmethod
    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        """Send synchronously (wait for the outcome), with the client's own retries, and
        give up after `SEND_TIMEOUT_S`. Call `on_request` once per request that goes on the
        wire (not for a connection that failed first). A lost connection or no answer is an
        outcome (UNKNOWN), not an exception; conformance/targets/sending.py is the loop."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection (waiting for the broker at most `SEND_TIMEOUT_S`)."""


class TargetConsumer(ABC):
    """One consumer of the workload's topic, in one group, running on its own thread."""

    @abstractmethod
    def start(self) -> None:
        """Begin pulling; each message goes to the handler, then is committed."""

    @abstractmethod
    def stop(self) -> None:
        """Stop gracefully: commit what is processed."""

    @abstractmethod
    def crash(self) -> None:
        """Stop as a killed process would: nothing more is committed."""


class Target(ABC):
    """The broker under test: its nodes as processes, and clients for them."""

    nodes: ClassVar[tuple[str, ...]]
    """The nodes by the spec's names ("master", "slave"); those of its `TargetKind`."""
    promotes: ClassVar[bool] = False
    """Whether `failover` is implemented (the run reports the fault unavailable otherwise)."""
    elects: ClassVar[bool] = False
    """Whether the other nodes elect a new master when the master dies (a Raft cluster):
    every master fault is then also a failover, outside the spec."""

    @abstractmethod
    def start(self, route: Route = direct) -> None:
        """Start every node on fresh data directories; node-to-node links dial through `route`,
        and so do the clients made afterwards. FaultUnavailable (before starting anything)
        when power loss was asked for and cannot be had here."""

    @abstractmethod
    def stop(self, node: str) -> None:
        """Stop `node` gracefully."""

    @abstractmethod
    def kill(self, node: str) -> None:
        """SIGKILL `node`: its memory is lost, what it wrote to the page cache is kept."""

    @abstractmethod
    def power_cut(self, node: str, torn_last_write: bool = False) -> None:
        """Kill `node` and drop every byte it wrote but did not fsync; FaultUnavailable when
        its data directory is not on the power-loss filesystem."""

    @abstractmethod
    def restart(self, node: str) -> None:
        """Start `node` again on its data directory (a down node only)."""

    @abstractmethod
    def wipe(self, node: str) -> None:
        """Delete everything in `node`'s data directory (a down node only): disk loss."""

    def failover(self) -> None:
        """Take the master down and promote the slave in its place, as the broker's own
        failover does; clients made before and after dial the new master from then on, and
        `restart("slave")` brings the old master back as its slave."""
        raise FaultUnavailable("this target has no failover")

    def serving(self, group: str, timeout_s: float) -> None:
        """Return once the target serves `group`'s consumer again after the last heal, or
        after `timeout_s`. Most targets serve as soon as their nodes are up; a cluster that
        elects a leader per consumer may need seconds more, and a drain that began before
        would end on a consumer that is waiting for the broker (nats_cluster.py)."""

    def held(self, group: str) -> frozenset[bytes] | None:
        """After the drain, with the consumer stopped: the bodies the target still stores
        where `group`'s consumer would read them next (read from its storage, not through
        the consumer). An acknowledged message never processed is *lost* only if it is not
        among them; if it is, the consumer stalled and the broker kept it (`Counts.undelivered`).
        None when the target cannot tell: every such message is then counted lost."""
        return None

    @abstractmethod
    def producer(self) -> TargetProducer:
        """A new producer client (to the master)."""

    @abstractmethod
    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        """A new consumer in `group`, not started."""

    @abstractmethod
    def close(self) -> None:
        """Kill every node still running and release what the target holds (mounts, ports)."""


TargetFactory = Callable[[Path, bool], Target]
"""(directory, power loss wanted) -> a target not yet started: what a run takes, one target
per run (conformance/run.py)."""
