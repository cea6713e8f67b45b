"""Redis Streams as a conformance target: a primary and a replica (`replicaof`) of
`redis-server` on free loopback ports, each with its own data directory, driven by redis-py.

The spec's knobs, as Redis settings (docs/brokers.md has the table):
- flushDiskType / slaveFlushDiskType -> `appendfsync` of the primary / the replica
  (`appendonly yes` always, RDB snapshots off): SYNC_FLUSH is `always` (Redis fsyncs the
  AOF before it replies), ASYNC_FLUSH is `everysec`; `appendfsync no` is asked for with
  `fsync="no"` (it leaves the flush to the kernel);
- brokerRole SYNC_MASTER -> `WAIT 1 <timeout>` after each XADD: 1 is SEND_OK, 0 (the
  replica did not confirm in time) is FLUSH_SLAVE_TIMEOUT, stored but not guaranteed.
  ASYNC_MASTER sends no WAIT (the replica copies in the background). With
  rocketmqVersion=5 the WAIT is sent only when inSyncReplicas >= 2, as 5.x waits;
- retryTimesWhenSendFailed -> the adapter resends an XADD that got no reply (connection
  lost or timed out) that many times, as RocketMQ's synchronous send does;
- a consumer group read with XREADGROUP, XACK after the business step (the commit);
  pending entries of the group's consumer are read again first whenever it (re)connects.

Failover, the fault kind `failover` (what Sentinel does, done by the harness): SIGKILL
the primary, `REPLICAOF NO ONE` on the replica, and from then on every client (producers,
the consumer, on their next connection) dials the promoted node, as a Sentinel-aware
client asks Sentinel for the primary's address. The restarted old primary comes back
`--replicaof` the promoted one (Sentinel reconfigures it so) and resynchronises from it,
dropping whatever it had that the replica did not. The spec has no failover (RocketMQ 4.x
masters do not move; 5.x controller mode is not modelled), so a run with it is judged by
the counts alone. Every other fault keeps the roles: a killed primary restarts on its own
data directory and the replica, still `replicaof` it, resynchronises from it, taking the
primary's data as it is after the restart. While the primary is down the consumer waits:
a replica refuses XREADGROUP (it writes the group's state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from noloss.conformance.targets.base import SEND_TIMEOUT_S, Delivery, Handler, Outcome, Route, SendOutcome, Target, TargetConsumer, TargetProducer, direct
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.nodes import ThreadedConsumer, NodeSet, missing_binary, wait_until
from noloss.conformance.targets.kind import supports
from noloss.conformance.targets.sending import Retrying, send_with_retries
from noloss.spec.rocketmq.config import SYNC_FLUSH, SYNC_MASTER, Config, ConfigError

STREAM = "noloss"
CONSUMER = "noloss-consumer"  # one name: a restarted consumer reads what its predecessor left pending
WAIT_TIMEOUT_MS = 1000
FSYNC = {"always", "everysec", "no"}


def settings_of(config: Config, fsync: str | None = None) -> tuple[str, str, bool]:
    """(primary appendfsync, replica appendfsync, WAIT after each XADD) for `config`."""
    if fsync is not None and fsync not in FSYNC:
        raise ConfigError(f"appendfsync={fsync}: one of {', '.join(sorted(FSYNC))}")
    supports(config)
    primary = fsync or ("always" if config.flushDiskType == SYNC_FLUSH else "everysec")
    replica = "always" if config.slaveFlushDiskType == SYNC_FLUSH else "everysec"
    waits = config.waits_for_slave  # SYNC_MASTER, and in 5.x only with inSyncReplicas >= 2
    return primary, replica, waits


NETWORK_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


def position(entry_id: bytes | str) -> int:
    """A stream entry id `ms-seq` as one increasing integer (the history's offsets are ints)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, seq = text.split("-")
    return int(ms) * 1_000_000 + int(seq)


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


class RedisProducer(TargetProducer):
    """XADD (then WAIT 1 when the replica must confirm) on one connection to the primary.

    As RocketMQ's synchronous send: up to 1 + retries attempts within one send timeout,
    an attempt that cannot connect counts as one, and `on_request` is called only once the
    connection is up (the request is then on the wire)."""

    def __init__(self, primary: Callable[[], str], waits: bool, retries: int) -> None:
        self._primary = primary
        self._address = primary()
        self._connection = self._connect_to(self._address)
        self._waits = waits
        # A ResponseError (LOADING, READONLY, OOM...) is a refusal: the entry was not added.
        self._retrying = Retrying(1 + retries, retry_on=NETWORK_ERRORS, refused=(redis.ResponseError,))

    @staticmethod
    def _connect_to(address: str) -> aredis.Connection:
        host, port = _host_port(address)
        # A bare connection: redis-py's own retries would resend without telling the history.
        return aredis.Connection(host=host, port=port, socket_timeout=SEND_TIMEOUT_S, socket_connect_timeout=SEND_TIMEOUT_S, retry=Retry(NoBackoff(), 0))

    async def _follow_primary(self) -> None:
        """Dial the current primary from the next connection on (it moves on failover)."""
        address = self._primary()
        if address != self._address:
            await self._connection.disconnect()
            self._address, self._connection = address, self._connect_to(address)

    async def _call(self, *command: object) -> object:
        await self._connection.send_command(*command)
        return await self._connection.read_response()

    async def send(self, body: bytes, key: str, on_request: Callable[[], None]) -> SendOutcome:
        return await send_with_retries(self._retrying, self._connect, lambda attempt: self._add(body, key), self.close, on_request)

    async def _connect(self) -> None:
        await self._follow_primary()
        await self._connection.connect()  # type: ignore[no-untyped-call]

    async def _add(self, body: bytes, key: str) -> SendOutcome:
        """XADD, then WAIT 1 when the replica must confirm. The connection's socket timeout
        (the send timeout) bounds each reply, so the attempt's budget is not needed here."""
        entry_id = await self._call("XADD", STREAM, "*", "body", body, "key", key)
        if not isinstance(entry_id, bytes | str):
            raise redis.ResponseError(f"XADD answered {entry_id!r}")
        if not self._waits:
            return SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", position(entry_id))
        confirmed = await self._call("WAIT", 1, WAIT_TIMEOUT_MS)
        if isinstance(confirmed, int) and confirmed >= 1:
            return SendOutcome(Outcome.ACKNOWLEDGED, "SEND_OK", position(entry_id))
        return SendOutcome(Outcome.STORED_NOT_GUARANTEED, "FLUSH_SLAVE_TIMEOUT", position(entry_id), "WAIT 1 returned 0")

    async def close(self) -> None:
        await self._connection.disconnect()


class RedisConsumer(ThreadedConsumer):
    """XREADGROUP from the primary on a thread of its own; XACK after the business step.

    An entry whose XACK got no answer is remembered and acked again after reconnecting,
    never processed twice by the same consumer; a crashed consumer forgets them, so its
    successor gets them again from the group's pending list."""

    def __init__(self, primary: Callable[[], str], group: str, handler: Handler) -> None:
        super().__init__("redis-consumer")
        self._primary = primary
        self._address = primary()
        self._client = self._client_of(self._address)
        self._group = group
        self._handler = handler
        self._done: set[bytes] = set()  # processed by this consumer, XACK not yet confirmed

    @staticmethod
    def _client_of(address: str) -> redis.Redis:
        host, port = _host_port(address)
        return redis.Redis(host=host, port=port, socket_timeout=2.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))

    def _follow_primary(self) -> None:
        """Read from the current primary from the next connection on (it moves on failover)."""
        address = self._primary()
        if address != self._address:
            self._client.close()
            self._address, self._client = address, self._client_of(address)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._client.close()

    def _loop(self) -> None:
        pending_first = True  # after a (re)connection, what was delivered and not acked comes again
        while not self._stopping.is_set():
            try:
                if pending_first:
                    self._follow_primary()
                    self._ensure_group()
                    self._ack_done()
                entries = self._read(pending_first)
                if pending_first and not entries:
                    pending_first = False
                for entry_id, fields in entries:
                    if self._crashed.is_set():
                        return
                    if entry_id not in self._done:
                        self._handler(Delivery(fields[b"body"], "topic", position(entry_id)))
                    if self._crashed.is_set():
                        return  # a killed consumer never commits what it had in hand
                    self._done.add(entry_id)
                    self._ack(entry_id)
            except (*NETWORK_ERRORS, redis.ResponseError):
                pending_first = True
                time.sleep(0.1)

    def _ack(self, entry_id: bytes) -> None:
        self._client.execute_command("XACK", STREAM, self._group, entry_id)  # type: ignore[no-untyped-call]
        self._done.discard(entry_id)

    def _ack_done(self) -> None:
        """XACK again what this consumer processed but the primary did not confirm acking
        (it died first, or lost the XACK to a power cut): a RocketMQ consumer keeps its
        offset in memory the same way, so a broker restart does not redeliver to it."""
        for entry_id in list(self._done):
            self._ack(entry_id)

    def _read(self, pending: bool) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """The group's entries pending for this consumer (`pending`) or new ones: (id, fields)."""
        block = [] if pending else ["BLOCK", 200]
        reply: Any = self._client.execute_command("XREADGROUP", "GROUP", self._group, CONSUMER, "COUNT", 100, *block, "STREAMS", STREAM, "0" if pending else ">")  # type: ignore[no-untyped-call]
        if not reply:
            return []
        streams = reply.items() if isinstance(reply, dict) else reply  # RESP3 answers a map
        entries: list[tuple[bytes, dict[bytes, bytes]]] = []
        for _, stream_entries in streams:
            for entry_id, fields in stream_entries:
                if fields is not None:  # a pending entry deleted since: nothing to deliver
                    entries.append((entry_id, fields if isinstance(fields, dict) else dict(zip(fields[::2], fields[1::2]))))
        return entries

    def _ensure_group(self) -> None:
        try:
            self._client.xgroup_create(STREAM, self._group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


class RedisTarget(Target):
    """A primary ("master") and its replica ("slave") under `root`.

    The node processes keep the names they started with (their data directories and logs
    are root/master and root/slave); `_role` says which of them plays which role now, and
    changes only on failover."""

    nodes = ("master", "slave")
    promotes = True

    def __init__(self, config: Config, root: Path, power_loss: bool = False, fsync: str | None = None, settle: bool = True) -> None:
        self.primary_fsync, self.replica_fsync, self.waits = settings_of(config, fsync)
        self.settle = settle  # fsync the new directories after start-up (NodeSet.settle)
        self.retries = config.retryTimesWhenSendFailed
        self.route: Route = direct
        self._nodes = NodeSet(root, power_loss)
        self._port: dict[str, int] = {}  # by process name
        self._role = {"master": "master", "slave": "slave"}  # role -> process name
        self._rejoining = False  # the old primary's restart after a failover is still to come

    def start(self, route: Route = direct) -> None:
        reason = missing_binary("redis-server")
        if reason is not None:
            raise RuntimeError(reason)
        self.route = route
        self._nodes.prepare(self.nodes)
        self._launch("master", self.primary_fsync, None)
        self._launch("slave", self.replica_fsync, route("slave->master", self.address("master")))
        wait_until(self.replicating, "the replica did not connect to the primary", 30, self._nodes.root / "slave.log")
        if self.settle:
            for node in self.nodes:
                self._nodes.settle(node)

    def _launch(self, node: str, fsync: str, upstream: str | None) -> None:
        self._port[node] = free_port()
        self._nodes.launch(node, self._argv(node, fsync, upstream))
        self._await_up(node)

    def _argv(self, node: str, fsync: str, upstream: str | None) -> list[str]:
        argv = [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self._port[node]), "--dir", str(self._nodes.data_dir(node)),
            "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--daemonize", "no",
            "--protected-mode", "no", "--unixsocket", "",
        ]  # fmt: skip
        if upstream is not None:
            argv += ["--replicaof", *upstream.rsplit(":", 1)]
        return argv

    def failover(self) -> None:
        """As Sentinel on a primary that is down: SIGKILL it, `REPLICAOF NO ONE` on the
        replica, and make the old primary the replica of the promoted one when it restarts
        (each keeps the appendfsync of its new role)."""
        old, new = self._role["master"], self._role["slave"]
        self._nodes.kill(old)
        with redis.Redis(port=self._port[new], socket_timeout=5.0) as client:
            client.execute_command("REPLICAOF", "NO", "ONE")
        self._role = {"master": new, "slave": old}
        self._rejoining = True
        self._nodes.nodes[new].argv = self._argv(new, self.primary_fsync, None)
        self._nodes.nodes[old].argv = self._argv(old, self.replica_fsync, self.route("slave->master", self.address("master")))

    def _await_up(self, node: str) -> None:
        def up() -> bool:
            try:
                with redis.Redis(port=self._port[node], socket_timeout=1.0) as client:
                    return client.ping() is True
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):  # LOADING the AOF: not yet
                return False

        wait_until(up, f"redis {node} did not start", 30, self._nodes.root / f"{node}.log")

    def replicating(self) -> bool:
        """Whether the replica has its link to the primary up."""
        with redis.Redis(port=self._port[self._role["slave"]], socket_timeout=1.0) as client:
            info: dict[str, Any] = client.info("replication")
            return info.get("master_link_status") == "up"

    def address(self, node: str) -> str:
        """Where the node now in role `node` listens."""
        return f"127.0.0.1:{self._port[self._role[node]]}"

    def stop(self, node: str) -> None:
        self._nodes.stop(self._role[node])

    def kill(self, node: str) -> None:
        self._nodes.kill(self._role[node])

    def power_cut(self, node: str, torn_last_write: bool = False) -> None:
        self._nodes.power_cut(self._role[node], torn_last_write)

    def restart(self, node: str) -> None:
        self._nodes.restart(self._role[node])
        self._await_up(self._role[node])
        if node == "slave" and self._rejoining:
            # Sentinel's failover ends once the old primary is reconfigured as a replica;
            # wait for its link so that a next failover finds a synchronised replica (the
            # full resync waits out repl-diskless-sync-delay, 5 s, before it starts).
            wait_until(self.replicating, "the old primary did not replicate the promoted one", 60, self._nodes.root / f"{self._role[node]}.log")
            self._rejoining = False

    def wipe(self, node: str) -> None:
        self._nodes.wipe(self._role[node])

    def _primary(self, link: str) -> Callable[[], str]:
        return lambda: self.route(link, self.address("master"))

    def producer(self) -> TargetProducer:
        return RedisProducer(self._primary("producer->master"), self.waits, self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        return RedisConsumer(self._primary("consumer->master"), group, handler)

    def close(self) -> None:
        self._nodes.close()


def factory(config: Config, fsync: str | None = None, settle: bool = True) -> Callable[[Path, bool], Target]:
    """Make Redis targets of `config` for conformance runs (`fsync` overrides appendfsync;
    `settle=False` leaves the directories Redis created at start-up unsynced)."""
    return lambda root, power_loss: RedisTarget(config, root, power_loss, fsync, settle)
