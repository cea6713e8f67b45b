"""NATS JetStream R3 as a conformance target: three `nats-server -js` nodes clustered on
loopback routes, each with its own store directory (on the power-loss filesystem when
asked for), a file-storage stream with three replicas, driven by nats-py
(docs/brokers.md).

The spec has two nodes; a three-node Raft group is mapped onto them by role, resolved from
the stream's own cluster info at the moment of each fault:
- "master" is the stream's leader, the node whose PubAck the producer gets;
- "slave" is both followers together: the PubAck waits for one of them (a majority of
  three), as a SYNC_MASTER's reply waits for its slave. With both followers down the
  leader cannot commit and the publish gets no PubAck, as a SYNC_MASTER without its slave;
- `both-power-loss` cuts all three nodes at once: the correlated power loss of a rack.
When the stream has no leader at the moment of a fault (it is lost, or no majority is up),
n0 plays the master.
A fault of the leader alone is a failover (the followers elect a new leader and go on), which
the spec does not model: the target `elects`, so such a run is judged by its counts alone.

Settings: as the one-node target (nats_jetstream.py), nats-server 2.9.10 has no sync
setting (ASYNC_FLUSH only); the replicated stream is SYNC_MASTER. Network faults are not
offered: the clients dial any of the three nodes. The producer and the consumer are the
one-node target's, given the three addresses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import nats.errors
import nats.js.errors

from noloss.conformance.targets.base import FaultUnavailable, Handler, Route, Target, TargetConsumer, TargetProducer, direct
from noloss.conformance.targets.nats_client import NETWORK_ERRORS, STREAM, connect
from noloss.conformance.targets.nats_jetstream import NatsConsumer, NatsProducer, create_stream
from noloss.conformance.targets.nats_state import await_serving, held_bodies
from noloss.conformance.inject.ports import free_port
from noloss.conformance.targets.nodes import NodeSet, listening, missing_binary, wait_until
from noloss.conformance.targets.kind import supports
from noloss.spec.rocketmq.config import SYNC_FLUSH, SYNC_MASTER, Config, ConfigError

MEMBERS = ("n0", "n1", "n2")
START_TIMEOUT_S = 120.0


def settings_of(config: Config) -> None:
    """ConfigError for what a JetStream 2.9 R3 stream cannot claim."""
    if config.flushDiskType == SYNC_FLUSH:
        raise ConfigError("flushDiskType=SYNC_FLUSH: nats-server 2.9.10 has no setting that fsyncs before the PubAck (sync_interval arrived later)")
    if config.brokerRole != SYNC_MASTER:
        raise ConfigError("brokerRole=ASYNC_MASTER: an R3 stream's PubAck always waits for a follower; use the one-node target (--target nats)")


class NatsClusterTarget(Target):
    """Three JetStream nodes under `root` and the R3 stream `STREAM`."""

    nodes = ("master", "slave")
    elects = True

    def __init__(self, config: Config, root: Path, power_loss: bool = False) -> None:
        settings_of(config)
        supports(config)
        self.retries = config.retryTimesWhenSendFailed
        self._nodes = NodeSet(root, power_loss)
        self._client_port: dict[str, int] = {}
        self._down: dict[str, tuple[str, ...]] = {}  # role -> the members a fault of it took down

    def start(self, route: Route = direct) -> None:
        reason = missing_binary("nats-server")
        if reason is not None:
            raise RuntimeError(reason)
        # A route that moves an address is the TCP proxy's (network faults were asked for).
        if route("producer->master", "127.0.0.1:1") != "127.0.0.1:1":
            raise FaultUnavailable("network faults: the NATS R3 target's clients dial any of its three nodes")
        self._nodes.prepare(MEMBERS)
        route_port = {member: free_port() for member in MEMBERS}
        routes = ",".join(f"nats-route://127.0.0.1:{port}" for port in route_port.values())
        for member in MEMBERS:
            self._client_port[member] = free_port()
            argv = [
                "nats-server", "-a", "127.0.0.1", "-p", str(self._client_port[member]), "-js",
                "-sd", str(self._nodes.data_dir(member)), "-n", member, "--cluster_name", "noloss",
                "--cluster", f"nats://127.0.0.1:{route_port[member]}", "--routes", routes,
            ]  # fmt: skip
            self._nodes.launch(member, argv)
        for member in MEMBERS:
            self._await_up(member)
        asyncio.run(create_stream(self._addresses(), replicas=3, timeout_s=START_TIMEOUT_S))
        for member in MEMBERS:
            self._nodes.settle(member, files=True)  # as the one-node target: the stream's new files

    def _await_up(self, member: str) -> None:
        port = self._client_port[member]
        wait_until(lambda: listening(port), f"nats-server {member} did not start", 30, self._nodes.root / f"{member}.log")

    def _addresses(self) -> str:
        return ",".join(f"127.0.0.1:{self._client_port[member]}" for member in MEMBERS)

    async def _leader(self, timeout_s: float = 10.0) -> str | None:
        """The stream's leader now, from any node that answers (retried through an election);
        None when there is none within `timeout_s` (the stream is lost or cannot elect)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            try:
                client = await connect(self._addresses())
                try:
                    info = await client.jetstream().stream_info(STREAM)
                finally:
                    await client.close()
                if info.cluster is not None and info.cluster.leader in MEMBERS:
                    return info.cluster.leader
            except (*NETWORK_ERRORS, nats.js.errors.Error, nats.errors.NoRespondersError):
                pass
            await asyncio.sleep(0.2)
        return None

    def _members(self, role: str) -> tuple[str, ...]:
        """The members playing `role` now; with no leader, n0 is the master."""
        leader = asyncio.run(self._leader()) or MEMBERS[0]
        return (leader,) if role == "master" else tuple(m for m in MEMBERS if m != leader)

    def _fault(self, role: str, act: Callable[[str], None]) -> None:
        members = self._members(role)
        for member in members:
            act(member)
        self._down[role] = members

    def stop(self, node: str) -> None:
        self._fault(node, self._nodes.stop)

    def kill(self, node: str) -> None:
        self._fault(node, self._nodes.kill)

    def power_cut(self, node: str, torn_last_write: bool = False) -> None:
        if node == "master" and "slave" in self._down:
            # both-power-loss: the followers are cut already and no leader is left to ask.
            members = tuple(m for m in MEMBERS if m not in self._down["slave"])
            for member in members:
                self._nodes.power_cut(member, torn_last_write)
            self._down[node] = members
            return
        self._fault(node, lambda member: self._nodes.power_cut(member, torn_last_write))

    def restart(self, node: str) -> None:
        for member in self._down.pop(node, ()):
            self._nodes.restart(member)
            self._await_up(member)

    def wipe(self, node: str) -> None:
        for member in self._down.get(node, ()):
            self._nodes.wipe(member)

    def serving(self, group: str, timeout_s: float) -> None:
        asyncio.run(await_serving(self._addresses(), group, timeout_s))

    def held(self, group: str) -> frozenset[bytes] | None:
        return asyncio.run(held_bodies(self._addresses(), group))

    def producer(self) -> TargetProducer:
        return NatsProducer(self._addresses(), self.retries)

    def consumer(self, group: str, handler: Handler) -> TargetConsumer:
        return NatsConsumer(self._addresses(), group, handler)

    def close(self) -> None:
        self._nodes.close()


def factory(config: Config) -> Callable[[Path, bool], Target]:
    """Make NATS R3 targets of `config` for conformance runs."""
    return lambda root, power_loss: NatsClusterTarget(config, root, power_loss)
