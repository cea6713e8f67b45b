"""The history marks an event that waited for a fault being done: it may have happened first."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from noloss.conformance.history import History, read_history


def test_an_event_logged_while_a_fault_is_being_done_is_marked_raced(tmp_path: Path) -> None:
    history = History(tmp_path / "history.ndjson")
    in_fault, go_on = threading.Event(), threading.Event()

    def fault() -> None:
        in_fault.set()
        go_on.wait(5)

    history.log("send", msg=0, attempt=1)
    faulting = threading.Thread(target=history.log_after, args=(fault, "fault"), kwargs={"node": "master", "kind": "crash"})
    faulting.start()
    in_fault.wait(5)
    client = threading.Thread(target=history.log, args=("deliver",), kwargs={"msg": 0, "queue": "topic", "offset": 0})
    client.start()
    time.sleep(0.5)  # the client reaches the lock the fault holds
    go_on.set()
    faulting.join()
    client.join()
    history.log("consume", msg=0, result="CONSUME_SUCCESS")
    history.close()

    records = read_history(tmp_path / "history.ndjson")
    assert [(r["event"], r.get("raced", False)) for r in records] == [("send", False), ("fault", False), ("deliver", True), ("consume", False)]
