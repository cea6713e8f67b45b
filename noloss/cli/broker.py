"""Subcommands of `noloss` that run the reference broker and its clients.

Exit status: 0 done, 2 bad input (a port in use, a data directory that cannot serve, a body
the broker refuses), 4 no broker reachable or a send with no reply, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from noloss.cli import shell_words
from noloss.reference.core import HA_TRUST_SLAVE_OFFSET, FlushType, NodeConfig, Role
from noloss.reference.launch import BrokerProcess
from noloss.reference.presets import PRESETS
from noloss.cli.errors import EXIT_UNAVAILABLE, UsageError, non_negative, non_negative_seconds, printable
from noloss.cli.user_paths import writable_dir


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add the reference broker's subcommands (broker, cluster, produce, consume)."""
    broker = subparsers.add_parser("broker", help="run one broker node (master or slave)")
    broker.add_argument("--role", required=True, choices=[r.value for r in Role])
    broker.add_argument("--flush", required=True, choices=[f.value for f in FlushType])
    broker.add_argument("--data-dir", required=True)
    broker.add_argument("--port", required=True, type=_port, help="0 picks a free port")
    broker.add_argument("--host", default="127.0.0.1")
    broker.add_argument("--master", help="HOST:PORT of the master (role SLAVE only)")
    broker.add_argument("--event-loop", default="auto", choices=["auto", "uvloop", "asyncio"], help="auto: uvloop when installed")
    broker.add_argument("--parent-pipe", type=int, help="stop when this inherited pipe's other end closes (set by `noloss cluster`)")
    broker.add_argument("--checkpoint-interval-ms", type=non_negative, default=1000, help="how often, at most, the durable checkpoint moves on")
    broker.add_argument("--rocketmq-version", default="4.9.7", help="the release whose behaviour to follow where releases differ (4.9.3 ... 5.3; 4 and 5: the newest of each)")
    broker.add_argument("--in-sync-replicas", type=int, default=1, help="inSyncReplicas (5.x): SYNC_MASTER waits for the slave only when 2")
    broker.add_argument("--read-uncommitted", action="store_true", help="readUnCommitted (5.3+): consumers see unflushed records under SYNC_FLUSH")
    broker.add_argument("--slave-read-enable", action="store_true", help="slaveReadEnable (5.x): a slave answers pulls")
    broker.add_argument(
        "--ha-trust-slave-offset",
        action=argparse.BooleanOptionalAction,
        default=HA_TRUST_SLAVE_OFFSET,
        help="count a slave by the offset it reports, unchecked, as RocketMQ does (the default); --no-ha-trust-slave-offset: check its last record first and cut a diverged slave back",
    )
    _add_topics(broker)
    broker.set_defaults(run=_run_broker)

    cluster = subparsers.add_parser("cluster", help="start a master and a slave as separate processes")
    cluster.add_argument("--preset", required=True, choices=sorted(PRESETS))
    cluster.add_argument("--data-dir", required=True)
    cluster.add_argument("--master-port", type=_port, default=10911)
    cluster.add_argument("--slave-port", type=_port, default=10912)
    cluster.add_argument("--host", default="127.0.0.1")
    _add_topics(cluster)
    cluster.set_defaults(run=_run_cluster)

    produce = subparsers.add_parser("produce", help="send messages (arguments, or one per stdin line)")
    produce.add_argument("--broker", required=True, help="HOST:PORT of the master")
    produce.add_argument("--topic", default="TopicTest")
    produce.add_argument("--key")
    produce.add_argument("bodies", nargs="*", help="message bodies; stdin lines when none")
    produce.set_defaults(run=_run_produce)

    consume = subparsers.add_parser("consume", help="print messages as a consumer group receives them")
    consume.add_argument("--broker", required=True, help="HOST:PORT of the master[,HOST:PORT of the slave]")
    consume.add_argument("--group", default="noloss-cli")
    consume.add_argument("--topic", default="TopicTest")
    consume.add_argument(
        "--count", type=non_negative, default=0, help="process and commit exactly this many, then stop (0: no limit)"
    )
    consume.add_argument("--idle", type=non_negative_seconds, default=3.0, help="stop after this many seconds with nothing new")
    consume.set_defaults(run=_run_consume)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0-65535)")
    return int(text)


def _add_topics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topics", default="TopicTest", help="comma-separated topics the broker serves")


def _topics(args: argparse.Namespace) -> frozenset[str]:

    topics = frozenset(t for t in args.topics.split(",") if t)
    if not topics or any(t.startswith("%") for t in topics):
        raise UsageError(f"--topics: {args.topics!r} must name topics, none starting with '%'")
    return topics


def _address(text: str, option: str) -> tuple[str, int]:

    from noloss.reference.client import parse_address

    try:
        return parse_address(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _run_broker(args: argparse.Namespace) -> int:
    from noloss.reference import event_loop
    from noloss.reference.recovery import LogDamaged
    from noloss.reference.server import serve

    role = Role(args.role)
    if (role is Role.SLAVE) != (args.master is not None):
        raise UsageError("--master HOST:PORT is required with --role SLAVE and only then")
    master = _address(args.master, "--master") if args.master else None
    try:
        config = NodeConfig(
            role,
            FlushType(args.flush),
            topics=_topics(args),
            rocketmq_version=args.rocketmq_version,
            in_sync_replicas=args.in_sync_replicas,
            read_uncommitted=args.read_uncommitted,
            slave_read_enable=args.slave_read_enable,
            ha_trust_slave_offset=args.ha_trust_slave_offset,
        )
    except ValueError as error:  # "field: reason", the field as NodeConfig names it
        field, reason = str(error).split(": ", 1)
        raise UsageError(f"--{field.replace('_', '-')}: {reason}") from None
    writable_dir("--data-dir", args.data_dir)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"%(asctime)s {role.lower()} %(levelname)s %(message)s")
    try:
        loop = event_loop.resolve(args.event_loop)
    except ValueError as error:
        raise UsageError(f"--event-loop: {error}") from None
    try:
        event_loop.run(serve(config, args.data_dir, args.host, args.port, master, args.checkpoint_interval_ms / 1000, args.parent_pipe), loop)
    except LogDamaged as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        if error.filename is not None:  # the data directory, not the socket
            raise UsageError(f"--data-dir {args.data_dir}: {error.filename}: {error.strerror or error}") from None
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None
    return 0


def _run_cluster(args: argparse.Namespace) -> int:
    """Start both nodes, then watch them: when one dies the other keeps serving, and the
    cluster says so and how to start the dead one again. Ctrl-C stops what is still running."""
    from noloss.reference.launch import start_cluster

    topics = ",".join(sorted(_topics(args)))
    writable_dir("--data-dir", args.data_dir)
    for part in ("master", "slave"):
        writable_dir("--data-dir", os.path.join(args.data_dir, part))
    settings = PRESETS[args.preset]
    try:
        master, slave = start_cluster(settings, args.data_dir, args.master_port, args.slave_port, args.host, ("--topics", topics))
    except RuntimeError as error:  # the node printed its own one-line reason above
        raise UsageError(f"cluster: {error}") from None
    print(f"master {master.address} ({settings.master_role} {settings.master_flush}) pid {master.process.pid}")
    print(f"slave  {slave.address} (SLAVE {settings.slave_flush}) pid {slave.process.pid}")
    print("Ctrl-C stops both.", flush=True)
    stopped_by = 0  # the signal that stopped the cluster: its exit status is 128 + it (Ctrl-C: 130)

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopped_by
        stopped_by = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    running: dict[str, BrokerProcess] = {"master": master, "slave": slave}
    while not stopped_by and running:
        for name, node in list(running.items()):
            status = node.process.poll()
            if status is None:
                continue
            del running[name]
            how = f"killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
            others = ", ".join(f"the {other} keeps serving {n.address}" for other, n in running.items()) or "nothing left"
            print(f"{name} {node.address} (pid {node.process.pid}) {how}; {others}", flush=True)
            print(f"  start it again: {shell_words.join(['noloss', *_restart_argv(node)])}", flush=True)
        time.sleep(0.2)
    for node in running.values():
        node.stop()
    return 128 + stopped_by if stopped_by else 0


def _restart_argv(node: BrokerProcess) -> list[str]:
    """The node's own `noloss broker` arguments, on the port it had (not 0, which picked it)."""
    argv = node.argv[3:]  # after `python -m noloss`
    port = argv.index("--port") + 1
    return [*argv[:port], node.address.rsplit(":", 1)[1], *argv[port + 1 :]]


def _run_produce(args: argparse.Namespace) -> int:

    from noloss.reference.client import BrokerError, Producer, SendFailed
    from noloss.reference.frames import FrameError

    _address(args.broker, "--broker")
    bodies = args.bodies or [line.rstrip("\n") for line in sys.stdin]
    producer = Producer(args.broker)
    number = 0
    try:
        for number, body in enumerate(bodies, 1):
            result = producer.send(args.topic, body.encode(), args.key)
            print(f"{result.status} msg_id={result.msg_id} queue_offset={result.queue_offset}")
    except (BrokerError, FrameError) as error:  # refused, or too large to send: nothing stored
        raise UsageError(f"message {number} ({len(bodies[number - 1].encode()):,} bytes): {error}") from None
    except SendFailed as error:
        print(f"noloss produce: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    finally:
        producer.shutdown()
    return 0


def _reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def _run_consume(args: argparse.Namespace) -> int:
    """Print each message as the group processes it; with --count, process and commit exactly
    that many. No broker reachable is an error (exit 4), not an empty queue."""
    from noloss.reference.client import ConsumeStatus, Consumer, Message

    addresses = args.broker.split(",")
    for address in addresses:
        _address(address, "--broker")
    if not any(_reachable(address) for address in addresses):
        print(f"noloss: error: no broker reachable at {args.broker}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    last = time.monotonic()

    def handler(message: Message) -> ConsumeStatus:
        nonlocal last
        last = time.monotonic()
        key = f" key={message.key}" if message.key else ""
        # One line per message, whatever its bytes: control characters (a newline, an escape
        # sequence that would rewrite the terminal) are shown escaped, never sent raw.
        body = printable(message.body.decode(errors="replace"))
        print(f"{message.origin_topic or message.topic}#{message.queue_offset}{printable(key)} {body}", flush=True)
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = Consumer(args.group, args.topic, handler, addresses, persist_offset_interval_ms=1000, max_messages=args.count)
    consumer.start()
    try:
        while not (args.count and consumer.processed >= args.count) and time.monotonic() - last < args.idle:
            time.sleep(0.05)
    finally:
        consumer.shutdown()
    if consumer.answered == 0:  # something listens there, but no broker answered: not an empty queue
        print(f"noloss: error: no broker answered at {args.broker} within {args.idle:g} s", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.count and consumer.processed < args.count:
        print(f"noloss consume: {consumer.processed} of {args.count} before {args.idle:g} s with nothing new", file=sys.stderr)
    return 0
