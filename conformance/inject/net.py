"""The TCP proxies of a conformance run: one `FaultyProxy` (conformance/inject/netproxy.py) on each
link the target dials through its route, and the network faults injected on them.

The spec's network faults are between the producer and the master: one request or reply
lost (`net-drop`) or delivered twice (`net-dup`), silent in a trace. So that is where they
are injected: the next chunk on the producer->master link, in a direction picked at random
(a chunk is what one socket read returned; a dropped or repeated part of a frame makes the
receiver close the connection, which the spec sees as the request or reply lost). The
consumer and replication links go through proxies too (their addresses are the proxies'),
untouched by these two faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from noloss.conformance.inject.netproxy import Direction, FaultyProxy
from noloss.reference.client import parse_address

PRODUCER_LINK = "producer->master"
REPLICATION_LINK = "slave->master"


class ProxyNet:
    """Proxies by link name, created on first use; `inject` is the scheduler's NetFaults."""

    def __init__(self, seed: int = 0) -> None:
        self._proxies: dict[str, FaultyProxy] = {}
        self._rng = random.Random(seed)

    def route(self, link: str, address: str) -> str:
        """The address to dial for `link`: its proxy's (one proxy per link). When the link's
        end has moved (a failover), the proxy's next connections go to `address`."""
        proxy = self._proxies.get(link)
        if proxy is None:
            proxy = self._proxies[link] = FaultyProxy(parse_address(address), name=link)
            proxy.start()
        proxy.upstream = parse_address(address)
        host, port = proxy.address
        return f"{host}:{port}"

    def inject(self, kind: str) -> None:
        """`drop` or `dup` the next chunk on the producer's link."""
        proxy = self._proxies[PRODUCER_LINK]
        direction = self._rng.choice((Direction.TO_UPSTREAM, Direction.TO_CLIENT))
        if kind == "drop":
            proxy.drop_next_chunk(direction)
        elif kind == "dup":
            proxy.duplicate_next_chunk(direction)
        else:
            raise ValueError(f"unknown network fault {kind!r}")

    def lose(self, node: str) -> None:
        """`node`'s machine is gone for good: reset every connection on a link to or from it
        (links are named `a->b`), dropping what is in flight, and refuse new connections to
        it, as a dead address does (the client then sends nothing)."""
        for link, proxy in self._proxies.items():
            source, destination = link.split("->")
            if destination == node:
                proxy.refuse()
            if node in (source, destination):
                proxy.cut()

    def slow_replication(self, each_s: float) -> None:
        """Hold every chunk the master pushes to its slave `each_s` seconds, for good: a slow
        replication link, so that the slave's copy lags what the master has stored."""
        self._proxies[REPLICATION_LINK].delay(Direction.TO_CLIENT, each_s, float("inf"))

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()


def proxies(seed: int = 0) -> tuple[Callable[[str, str], str], ProxyNet, Callable[[], None]]:
    """A new set of proxies for one run: (route, fault switch, close), as run.py takes them."""
    net = ProxyNet(seed)
    return net.route, net, net.close
