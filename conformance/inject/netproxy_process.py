"""The faulty TCP proxy in a child process: the same commands and records as `FaultyProxy`.

The harness's clients are Python too: a proxy on a thread of their process shares its
interpreter lock with them, and measured round trips through it vary several-fold from
run to run (benchmarks/netproxy_latency.py); in a child process they stay steady and the
proxy gets the second core. Records keep `time.monotonic()` stamps, one clock for every
process on the machine.

    with ProxyProcess(("127.0.0.1", 9876), name="master->slave") as proxy:
        proxy.address; proxy.drop(Direction.TO_CLIENT, 1.0); proxy.records()

Run as `python -m <package>.netproxy_process HOST PORT NAME LISTEN_PORT` by `ProxyProcess`.
"""

from __future__ import annotations

import dataclasses
import sys
from types import TracebackType
from typing import Any

from .child import JsonChild, serve
from .netproxy import Direction, FaultRecord, FaultyProxy

START_TIMEOUT = 10.0


class ProxyProcess:
    """A `FaultyProxy` from 127.0.0.1:<free port> to `upstream`, run in a child process."""

    def __init__(self, upstream: tuple[str, int], *, name: str = "proxy", port: int = 0) -> None:
        self.upstream = upstream
        self.name = name
        self._port = port
        self._child: JsonChild | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self._port)

    def start(self) -> None:
        if self._child is not None:
            raise RuntimeError("already started")
        host, port = self.upstream
        self._child = JsonChild("netproxy_process", [host, str(port), self.name, str(self._port)])
        self._port = int(self._child.reply(timeout=START_TIMEOUT)["port"])

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()

    def __enter__(self) -> ProxyProcess:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def drop(self, direction: Direction, seconds: float) -> FaultRecord:
        return self._command("drop", direction=direction.value, seconds=seconds)

    def drop_next_chunk(self, direction: Direction) -> FaultRecord:
        return self._command("drop_next_chunk", direction=direction.value)

    def duplicate_next_chunk(self, direction: Direction) -> FaultRecord:
        return self._command("duplicate_next_chunk", direction=direction.value)

    def delay(self, direction: Direction, each: float, seconds: float) -> FaultRecord:
        return self._command("delay", direction=direction.value, each=each, seconds=seconds)

    def cut(self) -> FaultRecord:
        return self._command("cut")

    def refuse(self, seconds: float | None = None) -> FaultRecord:
        return self._command("refuse", seconds=seconds)

    def accept(self) -> FaultRecord:
        return self._command("accept")

    def heal(self) -> FaultRecord:
        return self._command("heal")

    def records(self) -> list[FaultRecord]:
        return [FaultRecord(**record) for record in self._running().request("records")["records"]]

    def _command(self, op: str, **arguments: Any) -> FaultRecord:
        return FaultRecord(**self._running().request(op, **arguments)["record"])

    def _running(self) -> JsonChild:
        if self._child is None:
            raise RuntimeError("proxy not started")
        return self._child


def _handlers(proxy: FaultyProxy) -> dict[str, Any]:
    def record(made: FaultRecord) -> dict[str, Any]:
        return {"record": dataclasses.asdict(made)}

    def direction(command: dict[str, Any]) -> Direction:
        return Direction(command["direction"])

    return {
        "drop": lambda c: record(proxy.drop(direction(c), c["seconds"])),
        "drop_next_chunk": lambda c: record(proxy.drop_next_chunk(direction(c))),
        "duplicate_next_chunk": lambda c: record(proxy.duplicate_next_chunk(direction(c))),
        "delay": lambda c: record(proxy.delay(direction(c), c["each"], c["seconds"])),
        "cut": lambda c: record(proxy.cut()),
        "refuse": lambda c: record(proxy.refuse(c["seconds"])),
        "accept": lambda c: record(proxy.accept()),
        "heal": lambda c: record(proxy.heal()),
        "records": lambda c: {"records": [dataclasses.asdict(r) for r in proxy.records()]},
    }


def main(argv: list[str]) -> int:
    host, port, name, listen_port = argv[0], int(argv[1]), argv[2], int(argv[3])
    with FaultyProxy((host, port), name=name, port=listen_port) as proxy:
        serve({"port": proxy.address[1]}, _handlers(proxy))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
