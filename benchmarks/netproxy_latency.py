"""Round trips through the faulty TCP proxy: in the caller's process or in a child process.

    python benchmarks/netproxy_latency.py [--round-trips 5000] [--clients 4]

An echo server on loopback; `--clients` threads each do sequential 100-byte round trips
(the shape of sync sends). Rows: straight to the server, through a `FaultyProxy` running
on a thread of this process, through a `ProxyProcess` (the same in a child process). Prints round trips per second (all clients together) and the median latency.
"""

from __future__ import annotations

import argparse
import os
import socket
import socketserver
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from noloss.conformance.inject.netproxy import FaultyProxy  # noqa: E402
from noloss.conformance.inject.netproxy_process import ProxyProcess  # noqa: E402

MESSAGE = b"m" * 100


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def _client(address: tuple[str, int], count: int, latencies: list[float]) -> None:
    with socket.create_connection(address) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(MESSAGE)
            received = 0
            while received < len(MESSAGE):
                received += len(sock.recv(65536))
            latencies.append(time.perf_counter() - started)


def measure(address: tuple[str, int], count: int, clients: int) -> tuple[float, float]:
    latencies: list[float] = []
    threads = [threading.Thread(target=_client, args=(address, count, latencies)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return count * clients / elapsed, statistics.median(latencies) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=5000, help="per client")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    load_before = ", ".join(f"{load:.2f}" for load in os.getloadavg())

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    upstream = (str(server.server_address[0]), int(server.server_address[1]))

    rows = [("direct", measure(upstream, args.round_trips, args.clients))]
    with FaultyProxy(upstream) as proxy:
        rows.append(("proxy on a thread of this process", measure(proxy.address, args.round_trips, args.clients)))
    with ProxyProcess(upstream) as child:
        rows.append(("proxy in a child process", measure(child.address, args.round_trips, args.clients)))
    server.shutdown()

    print(f"load average (1, 5, 15 min) before: {load_before}")
    print(f"{'path':<36} {'round trips/s':>14} {'median latency µs':>18}")
    for label, (rate, latency) in rows:
        print(f"{label:<36} {rate:>14,.0f} {latency:>18,.0f}")
    after = ", ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"{args.clients} clients x {args.round_trips} round trips of {len(MESSAGE)} bytes; cores: {os.cpu_count()}; load after: {after}")


if __name__ == "__main__":
    main()
