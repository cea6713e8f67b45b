"""Subcommands of `noloss` that run the reference broker and its clients."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from typing import Any

from reference.core import FlushType, NodeConfig, Role
from reference.presets import PRESETS


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add the reference broker's subcommands (broker, cluster, produce, consume)."""
    broker = subparsers.add_parser("broker", help="run one broker node (master or slave)")
    broker.add_argument("--role", required=True, choices=[r.value for r in Role])
    broker.add_argument("--flush", required=True, choices=[f.value for f in FlushType])
    broker.add_argument("--data-dir", required=True)
    broker.add_argument("--port", required=True, type=_port, help="0 picks a free port")
    broker.add_argument("--host", default="127.0.0.1")
    broker.add_argument("--master", help="HOST:PORT of the master (role SLAVE only)")
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
    consume.add_argument("--count", type=int, default=0, help="stop after this many (0: no limit)")
    consume.add_argument("--idle", type=float, default=3.0, help="stop after this many seconds with nothing new")
    consume.set_defaults(run=_run_consume)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0-65535)")
    return int(text)


def _add_topics(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topics", default="TopicTest", help="comma-separated topics the broker serves")


def _topics(args: argparse.Namespace) -> frozenset[str]:
    from model_check.cli import UsageError

    topics = frozenset(t for t in args.topics.split(",") if t)
    if not topics or any(t.startswith("%") for t in topics):
        raise UsageError(f"--topics: {args.topics!r} must name topics, none starting with '%'")
    return topics


def _address(text: str, option: str) -> tuple[str, int]:
    from model_check.cli import UsageError

    from reference.client import parse_address

    try:
        return parse_address(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _run_broker(args: argparse.Namespace) -> int:
    from model_check.cli import UsageError

    from reference.server import serve

    role = Role(args.role)
    if (role is Role.SLAVE) != (args.master is not None):
        raise UsageError("--master HOST:PORT is required with --role SLAVE and only then")
    master = _address(args.master, "--master") if args.master else None
    config = NodeConfig(role, FlushType(args.flush), topics=_topics(args))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=f"%(asctime)s {role.lower()} %(levelname)s %(message)s")
    try:
        asyncio.run(serve(config, args.data_dir, args.host, args.port, master))
    except OSError as error:
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}") from None
    return 0


def _run_cluster(args: argparse.Namespace) -> int:
    from reference.launch import start_cluster

    topics = ",".join(sorted(_topics(args)))
    master, slave = start_cluster(PRESETS[args.preset], args.data_dir, args.master_port, args.slave_port, args.host, ("--topics", topics))
    settings = PRESETS[args.preset]
    print(f"master {master.address} ({settings.master_role} {settings.master_flush}) pid {master.process.pid}")
    print(f"slave  {slave.address} (SLAVE {settings.slave_flush}) pid {slave.process.pid}")
    print("Ctrl-C stops both.", flush=True)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop and master.process.poll() is None and slave.process.poll() is None:
        time.sleep(0.2)
    slave.stop()
    master.stop()
    return 0


def _run_produce(args: argparse.Namespace) -> int:
    from model_check.cli import UsageError

    from reference.client import BrokerError, Producer, SendFailed

    _address(args.broker, "--broker")
    bodies = args.bodies or [line.rstrip("\n") for line in sys.stdin]
    producer = Producer(args.broker)
    try:
        for body in bodies:
            result = producer.send(args.topic, body.encode(), args.key)
            print(f"{result.status} msg_id={result.msg_id} queue_offset={result.queue_offset}")
    except BrokerError as error:
        raise UsageError(str(error)) from None
    except SendFailed as error:
        print(f"noloss produce: {error}", file=sys.stderr)
        return 1
    finally:
        producer.shutdown()
    return 0


def _run_consume(args: argparse.Namespace) -> int:
    from reference.client import ConsumeStatus, Consumer, Message

    addresses = args.broker.split(",")
    for address in addresses:
        _address(address, "--broker")
    seen = 0
    last = time.monotonic()

    def handler(message: Message) -> ConsumeStatus:
        nonlocal seen, last
        seen += 1
        last = time.monotonic()
        key = f" key={message.key}" if message.key else ""
        print(f"{message.origin_topic or message.topic}#{message.queue_offset}{key} {message.body.decode(errors='replace')}", flush=True)
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = Consumer(args.group, args.topic, handler, addresses, persist_offset_interval_ms=1000)
    consumer.start()
    try:
        while not (args.count and seen >= args.count) and time.monotonic() - last < args.idle:
            time.sleep(0.05)
    finally:
        consumer.shutdown()
    return 0
