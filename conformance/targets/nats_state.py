"""A JetStream stream and its durable consumer as the server holds them, asked of the server
rather than through the consumer: whether the consumer is served, and which messages it
would still read (`Target.serving` and `Target.held` of both NATS targets).

Why the first matters (docs/brokers.md, NATS R3): a durable consumer of an R3 stream is a
Raft group of its own. With both followers down it has no quorum, and after they restart
nats-server 2.9.10 took 2.6 to 7.7 s to elect its leader again (the nodes' logs, "new
consumer leader"), while the stream itself kept its leader. Until then a pull request has
no responder: nats-py's `fetch` times out and the adapter pulls again every 0.5 s, which is
all a client can do; the same subscription is served as soon as the leader is elected. A
drain that ends after 3 s with nothing new must not begin before that.
"""

from __future__ import annotations

import asyncio

import nats.errors
import nats.js.errors

from noloss.conformance.targets.nats_client import NETWORK_ERRORS, STREAM, connect

REQUEST_TIMEOUT_S = 2.0
_ERRORS = (*NETWORK_ERRORS, nats.js.errors.Error, nats.errors.NoRespondersError)


async def await_serving(address: str, group: str, timeout_s: float) -> None:
    """Return once the stream and `group`'s durable consumer each have a leader (a stream
    with no consumer yet has nothing to wait for), or after `timeout_s`. While there is
    none, a node answers the consumer's info with no leader, 503, nothing at all, or (a
    restarted node that has not loaded the consumer yet) "consumer not found": all mean wait."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        try:
            client = await connect(address)
            try:
                js = client.jetstream(timeout=REQUEST_TIMEOUT_S)
                stream = await js.stream_info(STREAM)
                if not stream.state.consumer_count:
                    return
                consumer = await js.consumer_info(STREAM, group)
            finally:
                await client.close()
            if all(cluster is None or cluster.leader for cluster in (stream.cluster, consumer.cluster)):
                return
        except _ERRORS:
            pass
        await asyncio.sleep(0.2)


async def held_bodies(address: str, group: str) -> frozenset[bytes] | None:
    """The bodies the stream holds after `group`'s ack floor, each read from the stream by
    its sequence: what the durable consumer would still deliver (those pending, and those
    delivered but not acked, which come back after ack_wait). A message at or below the
    floor is behind the consumer, lost even if the stream keeps it (a power cut that
    rewound the sequences stores new messages there). None when the server does not answer."""
    try:
        client = await connect(address)
    except _ERRORS:
        return None
    try:
        js = client.jetstream(timeout=REQUEST_TIMEOUT_S)
        stream = await js.stream_info(STREAM)
        try:
            consumer = await js.consumer_info(STREAM, group)
            floor = consumer.ack_floor.stream_seq if consumer.ack_floor is not None else 0
        except nats.js.errors.NotFoundError:
            floor = 0  # no consumer: nothing has been read
        bodies = set()
        for sequence in range(max(floor + 1, stream.state.first_seq), stream.state.last_seq + 1):
            try:
                message = await js.get_msg(STREAM, sequence)
            except nats.js.errors.NotFoundError:
                continue  # deleted, or lost with the tail of a power cut
            if message.data is not None:
                bodies.add(message.data)
        return frozenset(bodies)
    except _ERRORS:
        return None
    finally:
        try:
            await client.close()
        except _ERRORS:
            pass
