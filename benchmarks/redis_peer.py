"""A private Redis to measure the broker against: our own redis-server on a free
loopback port with its own data directory, every write fsynced before the reply
(`appendonly yes`, `appendfsync always`), driven with XADD by the same kind of asyncio
clients as the broker. The system's Redis (port 6379) is never touched.

Needs `redis-server` on PATH (Debian: redis-server) and redis-py (the `bench` extra).
`redis-benchmark` (same package), when present, drives the same XADDs from C: the rate
Redis reaches when its clients cost next to nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio

from noloss.conformance.inject.ports import free_port

STREAM = "TopicTest"


@contextmanager
def private_redis(directory: str) -> Iterator[tuple[int, int]]:
    """Run our own redis-server in `directory`; yield (port, pid); stop it by its pid."""
    os.makedirs(directory, exist_ok=True)
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes"]
    argv += ["--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", os.path.join(directory, "redis.log")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port} (see {directory}/redis.log)") from None
                time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def drive_xadd(port: int, clients: int, body: bytes, seconds: float) -> tuple[int, list[float]]:
    """`clients` connections each doing XADD after XADD for `seconds`; return the count
    and every latency."""
    connections = [redis.asyncio.Redis(host="127.0.0.1", port=port, single_connection_client=True) for _ in range(clients)]
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def sender(connection: redis.asyncio.Redis) -> None:
        while time.perf_counter() < stop:
            began = time.perf_counter()
            await connection.xadd(STREAM, {"body": body})
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(sender(c) for c in connections))
    for connection in connections:
        await connection.aclose()
    return len(latencies), latencies


def has_c_client() -> bool:
    """Whether `redis-benchmark` is installed."""
    return shutil.which("redis-benchmark") is not None


def c_client_xadd(port: int, clients: int, body: bytes, requests: int) -> int:
    """`requests` XADDs from `redis-benchmark` (C) over `clients` connections; return
    how many were sent."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients), "-n", str(requests), "-q"]
    subprocess.run([*argv, "XADD", STREAM, "*", "body", body.decode()], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return requests
