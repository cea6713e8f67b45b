"""Restart time of a broker node against the size of its commit log: a full scan of every
record (what recovery did before the checkpoint, and still does without one) beside
recovery from the checkpoint.

Run: .venv/bin/python benchmarks/restart_time.py [--records 0,100000,500000] [--body-bytes 1024]

For each size it writes a commit log of that many records (one topic, fsynced) and a
checkpoint covering all of them, then measures, side by side:

* `recover`: the recovery call alone, in this process — `full scan` is `log.recover`
  from offset 0 (rebuilds the consume queues record by record); `checkpoint` is
  `recover_node` (one CRC32C pass over the log, queues loaded from their files);
* `process`: `noloss broker` started on the same directory until it prints its
  "listening on" line (Python start-up and imports included) — without the checkpoint
  file (full scan) and with it.

Not a test: figures depend on the machine and on its load (printed with them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from noloss.reference import log
from noloss.reference.checkpoint import CHECKPOINT_FILE, Checkpointer
from noloss.reference.core import FlushType, Role
from noloss.reference.launch import broker_argv, start_broker
from noloss.reference.node import LOG_NAME
from noloss.reference.recovery import recover_node
from noloss.reference.storage import FileStorage

TOPIC = "TopicTest"
WRITE_BATCH = 4096


def write_log(directory: str, records: int, body: bytes) -> int:
    """A fsynced commit log of `records` records and a checkpoint covering it; its size."""
    storage = FileStorage(directory)
    file = storage.open_log(LOG_NAME)
    for first in range(0, records, WRITE_BATCH):
        batch = []
        offset = file.size()
        for queue_offset in range(first, min(records, first + WRITE_BATCH)):
            record = log.encode_record(TOPIC, "", body, offset, queue_offset)
            batch.append(record)
            offset += len(record)
        file.append(b"".join(batch))
    file.sync()
    recovered = recover_node(storage, file, LOG_NAME)
    checkpointer = Checkpointer(storage, file, recovered.checkpoint)
    pending = checkpointer.collect(recovered.recovery.queues, file.size())
    if pending is not None:
        checkpointer.write(pending)
    checkpointer.close()
    size = file.size()
    file.close()
    return size


def time_recovery(directory: str, from_checkpoint: bool) -> float:
    """Seconds one recovery of the log in `directory` takes."""
    storage = FileStorage(directory)
    file = storage.open_log(LOG_NAME)
    began = time.perf_counter()
    if from_checkpoint:
        recover_node(storage, file, LOG_NAME)
    else:
        log.recover(file)
    elapsed = time.perf_counter() - began
    file.close()
    return elapsed


def time_process_start(directory: str) -> float:
    """Seconds from spawning `noloss broker` on `directory` to its listening line."""
    argv = broker_argv(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH, directory)
    began = time.perf_counter()
    broker = start_broker(argv, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - began
    broker.stop()
    return elapsed


def best_of(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="0,100000,500000", help="comma-separated log sizes, in records")
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3, help="best of this many measurements each")
    parser.add_argument("--data-dir", default=None, help="where to write the logs (default: a temp dir)")
    args = parser.parse_args()
    body = b"x" * args.body_bytes
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"{'records':>9}{'log MB':>9}{'recover: full scan':>20}{'checkpoint':>12}{'process: full scan':>20}{'checkpoint':>12}")
    for records in (int(r) for r in args.records.split(",")):
        with tempfile.TemporaryDirectory(dir=args.data_dir) as root:
            directory = os.path.join(root, "node")
            size = write_log(directory, records, body)
            full = best_of(args.runs, lambda: time_recovery(directory, from_checkpoint=False))
            fast = best_of(args.runs, lambda: time_recovery(directory, from_checkpoint=True))
            with_checkpoint = best_of(args.runs, lambda: time_process_start(directory))
            for name in os.listdir(directory):
                if name == CHECKPOINT_FILE or name.startswith("consumequeue-"):
                    os.remove(os.path.join(directory, name))
            without = time_process_start(directory)
            shutil.rmtree(directory, ignore_errors=True)
        print(f"{records:>9,}{size / 1e6:>9.1f}{full:>19.3f}s{fast:>11.3f}s{without:>19.3f}s{with_checkpoint:>11.3f}s", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
