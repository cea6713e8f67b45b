"""`noloss cluster` killed with SIGKILL takes its nodes with it: each node watches a pipe
from its parent and stops cleanly when the parent is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has exited, so it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_nodes_exit_when_the_cluster_process_is_killed(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "noloss", "cluster", "--preset", "rocketmq-default", "--data-dir", str(tmp_path)]
    argv += ["--master-port", "0", "--slave-port", "0"]
    with open(tmp_path / "nodes.stderr", "wb") as stderr:
        cluster = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert cluster.stdout is not None
    pids = []
    for line in cluster.stdout:
        text = line.decode()
        if " pid " in text:
            pids.append(int(text.rsplit(" pid ", 1)[1]))
        if text.startswith("Ctrl-C"):
            break
    try:
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        cluster.send_signal(signal.SIGKILL)
        cluster.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids), f"orphaned nodes: {[p for p in pids if _alive(p)]}"
        log = (tmp_path / "nodes.stderr").read_text()
        assert log.count("the process that started this node is gone; stopping") == 2, log
        assert log.count("INFO stopping:") == 2, log  # a clean stop: flushed and checkpointed
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
