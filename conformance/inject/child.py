"""A fault injector in its own process, driven by JSON lines over its stdin and stdout.

Both sides of that channel live here. The parent runs `JsonChild(module, args)` (the
module is one of this package's, run with `python -m`); the child calls `serve(handlers)`.

    parent -> child   {"op": NAME, ...arguments}
    child  -> parent  {"ok": true, ...results}  or  {"ok": false, "error": "one line"}

The child's first line is its readiness reply; `quit` or the end of stdin (the parent has
gone away) ends `serve`. The child's stderr goes to a temporary file whose last line
explains a child that died.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]
STOP_TIMEOUT = 10.0


class ChildFailed(RuntimeError):
    """The child process is gone or did not answer in time; the message says why, in one line."""


class JsonChild:
    """A child process running `python -m <this package>.<module> ARGS...`."""

    def __init__(self, module: str, args: list[str]) -> None:
        self._stderr: IO[str] = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"{__package__}.{module}", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=_environment(),
        )

    def reply(self, timeout: float | None = None) -> dict[str, Any]:
        """The next reply (the first one is the readiness line)."""
        stdout = self.process.stdout
        assert stdout is not None
        if timeout is not None and not select.select([stdout], [], [], timeout)[0]:
            raise ChildFailed(f"no answer within {timeout:.0f} s")
        line = stdout.readline()
        if not line:
            raise ChildFailed(self.last_error())
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(str(answer.get("error")))
        return answer

    def request(self, op: str, **arguments: Any) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise ChildFailed(self.last_error()) from None
        return self.reply()

    def stop(self) -> None:
        """Ask the child to quit, wait for it (kill it if it hangs), release the pipes."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def last_error(self) -> str:
        """The child's last line on stderr (killing it first if it still runs)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr if line.strip()]
        return lines[-1] if lines else f"exit status {self.process.returncode}"


def serve(ready: dict[str, Any], handlers: dict[str, Handler]) -> None:
    """The child's side: announce `ready`, then answer commands until quit or end of input."""
    _send({"ok": True, **ready})
    for line in sys.stdin:
        try:
            command = json.loads(line)
            op = command.pop("op")
            if op == "quit":
                return
            handler = handlers.get(op)
            if handler is None:
                _send({"ok": False, "error": f"unknown op {op!r}"})
                continue
            _send({"ok": True, **handler(command)})
        except Exception as error:  # one bad command must not end the fault injector
            _send({"ok": False, "error": f"{type(error).__name__}: {error}"})


def _send(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _environment() -> dict[str, str]:
    """This process's environment, with the folder holding our top package on the path."""
    depth = len((__package__ or "").split("."))
    # The package may be reached through a link (noloss/conformance -> ../conformance):
    # the unresolved location is where its top package really is.
    here = Path(os.path.abspath(__file__)).parents[depth]
    paths = [str(here), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
