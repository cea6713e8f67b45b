"""The master and slave cores in deterministic simulation: statuses, waits, timeouts,
retry/DLQ, pulls and offsets, exactly as docs/spec.md states RocketMQ's semantics."""

from __future__ import annotations

from noloss.reference import messages as m
from noloss.reference.core import FlushType, NodeConfig, Received, Role
from noloss.reference.core_master import MasterCore
from noloss.reference.sim import SimCluster, SimNode

CLIENT = 1
OK = m.SendStatus.SEND_OK


def cluster(role: Role, flush: FlushType, slave_flush: FlushType = FlushType.ASYNC_FLUSH) -> SimCluster:
    return SimCluster(NodeConfig(role, flush), NodeConfig(Role.SLAVE, slave_flush))


def send(node: SimNode, request_id: int, topic: str = "TopicTest", body: bytes = b"x", oneway: bool = False) -> None:
    node.step(Received(CLIENT, m.SendRequest(request_id, topic, f"k{request_id}", body, oneway)))


def statuses(node: SimNode, conn: int = CLIENT) -> list[tuple[int, str]]:
    return [(r.request_id, r.status) for r in node.take(conn) if isinstance(r, m.SendReply)]


def pull(node: SimNode, offset: int, topic: str = "TopicTest", suspend_ms: int = 0, request_id: int = 9) -> None:
    node.step(Received(CLIENT, m.PullRequest(request_id, topic, offset, 32, suspend_ms)))


def test_async_flush_async_master_answers_at_once_and_flushes_on_the_interval() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    send(c.master, 1)
    assert statuses(c.master) == [(1, OK)]
    assert c.master.file.durable == b"" and not c.master.flush_pending
    c.master.tick(49)
    assert not c.master.flush_pending
    c.master.tick(1)
    assert c.master.finish_flush() and len(c.master.file.durable) == c.master.file.size()


def test_sync_flush_group_commit_answers_many_sends_after_one_fsync() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.SYNC_FLUSH)
    syncs = c.master.file.syncs
    for request_id in range(1, 6):
        send(c.master, request_id)
    assert statuses(c.master) == []
    assert c.master.finish_flush()
    assert c.master.file.syncs == syncs + 1
    assert statuses(c.master) == [(i, OK) for i in range(1, 6)]


def test_sync_flush_times_out_with_flush_disk_timeout() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.SYNC_FLUSH)
    send(c.master, 1)
    c.master.tick(499)
    assert statuses(c.master) == []
    c.master.tick(1)
    assert statuses(c.master) == [(1, m.SendStatus.FLUSH_DISK_TIMEOUT)]


def test_sync_master_without_slave_answers_slave_not_available_after_the_flush() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.SYNC_FLUSH)
    send(c.master, 1)
    assert statuses(c.master) == []
    c.master.finish_flush()
    assert statuses(c.master) == [(1, m.SendStatus.SLAVE_NOT_AVAILABLE)]


def test_sync_master_waits_for_the_slave_report_which_precedes_the_slave_flush() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.ASYNC_FLUSH)
    c.link()
    send(c.master, 1)
    assert statuses(c.master) == []
    c.pump()
    assert statuses(c.master) == [(1, OK)]
    # The slave has the record in its page cache only: reported, not yet flushed.
    assert c.slave.file.size() == c.master.file.size() > len(c.slave.file.durable)


def test_replication_timeout_overrides_flush_timeout() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.SYNC_FLUSH)
    c.link()
    send(c.master, 1)
    c.master.tick(300)
    assert statuses(c.master) == []  # replication timed out, flush still pending
    c.master.tick(200)
    assert statuses(c.master) == [(1, m.SendStatus.FLUSH_SLAVE_TIMEOUT)]


def test_replication_timeout_alone() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.SYNC_FLUSH)
    c.link()
    send(c.master, 1)
    c.master.finish_flush()
    c.master.tick(299)
    assert statuses(c.master) == []
    c.master.tick(1)
    assert statuses(c.master) == [(1, m.SendStatus.FLUSH_SLAVE_TIMEOUT)]


def test_strict_send_ok_needs_master_flush_and_slave_report() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.SYNC_FLUSH, FlushType.SYNC_FLUSH)
    c.link()
    send(c.master, 1)
    c.pump()
    assert statuses(c.master) == []
    c.master.finish_flush()
    assert statuses(c.master) == [(1, OK)]
    assert c.slave.finish_flush()
    c.pump()
    assert isinstance(c.master.core, MasterCore)
    assert c.master.core.slaves[SimCluster.MASTER_SIDE].flushed == c.master.file.size()


def test_send_back_goes_to_retry_then_dlq_without_waiting() -> None:
    c = cluster(Role.SYNC_MASTER, FlushType.SYNC_FLUSH)
    for request_id, times in ((1, 0), (2, 16)):
        c.master.step(Received(CLIENT, m.SendBackRequest(request_id, "g", "TopicTest", "k", b"b", times, 16)))
    replies = c.master.take(CLIENT)
    assert [(r.status, r.detail) for r in replies if isinstance(r, m.SendReply)] == [(OK, "%RETRY%g"), (OK, "%DLQ%g")]
    pull(c.master, 0, "%RETRY%g")
    (found,) = c.master.take(CLIENT)
    assert isinstance(found, m.PullReply)
    assert [(x.reconsume_times, x.origin_topic, x.body) for x in found.messages] == [(1, "TopicTest", b"b")]


def test_unknown_topic_is_refused_for_send_and_pull() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    send(c.master, 1, topic="nope")
    pull(c.master, 0, topic="nope")
    replies = c.master.take(CLIENT)
    assert [r.status for r in replies if isinstance(r, m.SendReply | m.PullReply)] == ["TOPIC_NOT_EXIST"] * 2
    assert c.master.file.size() == 0


def test_long_poll_is_answered_when_a_message_arrives_or_expires() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    pull(c.master, 0, suspend_ms=1000)
    assert c.master.take(CLIENT) == []
    send(c.master, 1, body=b"hello")
    replies = c.master.take(CLIENT)
    found = [r for r in replies if isinstance(r, m.PullReply)]
    assert [(r.status, r.next_offset, [x.body for x in r.messages]) for r in found] == [("FOUND", 1, [b"hello"])]
    pull(c.master, 1, suspend_ms=1000)
    c.master.tick(99)
    assert c.master.take(CLIENT) == []
    c.master.tick(1)
    (expired,) = c.master.take(CLIENT)
    assert isinstance(expired, m.PullReply) and expired.status == "NO_NEW_MSG"


def test_consumer_offsets_persist_on_the_interval_and_survive_restart() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    c.master.step(Received(CLIENT, m.CommitOffsetRequest(1, "g", "TopicTest", 7)))
    c.master.tick(499)
    c.master.start()  # crash before the interval: the offset was never written
    c.master.step(Received(CLIENT, m.QueryOffsetRequest(2, "g", "TopicTest")))
    c.master.step(Received(CLIENT, m.CommitOffsetRequest(3, "g", "TopicTest", 9)))
    c.master.tick(500)
    c.master.start()
    c.master.step(Received(CLIENT, m.QueryOffsetRequest(4, "g", "TopicTest")))
    offsets = [(r.request_id, r.offset) for r in c.master.take(CLIENT) if isinstance(r, m.OffsetReply)]
    assert offsets == [(1, 7), (2, -1), (3, 9), (4, 9)]


def test_power_loss_drops_async_flushed_acked_messages_but_not_synced_ones() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    send(c.master, 1)
    c.master.tick(50)
    c.master.finish_flush()
    send(c.master, 2)
    assert statuses(c.master) == [(1, OK), (2, OK)]
    c.master.storage.power_loss()
    c.master.start()
    assert c.master.core.queues.count("TopicTest") == 1


def test_slave_serves_pulls_of_replicated_messages_and_refuses_sends() -> None:
    c = cluster(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH)
    for request_id in range(3):
        send(c.master, request_id, body=b"m%d" % request_id)
    c.link()
    pull(c.slave, 0)
    send(c.slave, 5)
    replies = c.slave.take(CLIENT)
    assert [x.body for r in replies if isinstance(r, m.PullReply) for x in r.messages] == [b"m0", b"m1", b"m2"]
    assert [r.status for r in replies if isinstance(r, m.SendReply)] == ["SERVICE_NOT_AVAILABLE"]
    assert c.slave.file.cache == c.master.file.cache


def _slave_ahead(trust: bool) -> SimCluster:
    """A slave that kept a record (k1) its master lost in a power loss, linked again."""
    c = SimCluster(
        NodeConfig(Role.SYNC_MASTER, FlushType.ASYNC_FLUSH, ha_trust_slave_offset=trust),
        NodeConfig(Role.SLAVE, FlushType.ASYNC_FLUSH, ha_trust_slave_offset=trust),
    )
    c.link()
    send(c.master, 1)
    c.pump()
    assert statuses(c.master) == [(1, OK)]
    c.unlink()
    c.master.storage.power_loss()
    c.master.start()
    c.link()
    return c


def test_a_checking_master_cuts_a_diverged_slave_back_and_counts_it() -> None:
    c = _slave_ahead(trust=False)
    assert c.linked and c.slave.file.size() == 0 and c.slave.core.queues.total() == 0
    send(c.master, 2, body=b"y")
    c.pump()
    assert statuses(c.master) == [(2, OK)]
    assert c.slave.file.read(0, c.slave.file.size()) == c.master.file.read(0, c.master.file.size())


def test_a_trusting_master_counts_a_slave_ahead_at_once_as_rocketmq_does() -> None:
    c = _slave_ahead(trust=True)
    send(c.master, 2)  # stored where the slave holds k1: its offset already covers it
    assert statuses(c.master) == [(2, OK)]
    assert c.slave.core.queues.total() == 1 and c.slave.file.read(0, c.slave.file.size()) != c.master.file.read(0, c.master.file.size())


def test_a_slave_copies_the_masters_consumer_offsets_on_its_interval() -> None:
    c = SimCluster(NodeConfig(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH), NodeConfig(Role.SLAVE, FlushType.ASYNC_FLUSH, slave_synchronize_interval_ms=100))
    c.link()
    c.slave.step(Received(CLIENT, m.CommitOffsetRequest(1, "g", "%RETRY%g", 4)))  # only the slave has it
    c.master.step(Received(CLIENT, m.CommitOffsetRequest(2, "g", "TopicTest", 3)))
    c.slave.tick(9)
    c.pump()
    assert ("g", "TopicTest") not in c.slave.core.offsets
    c.slave.tick(1)
    c.pump()
    assert c.slave.core.offsets == {("g", "TopicTest"): 3, ("g", "%RETRY%g"): 4}  # putAll
    assert b'"TopicTest", 3' in (c.slave.storage.read_meta("consumerOffset.json") or b"")


def test_5_x_sync_master_waits_for_the_slave_only_with_two_in_sync_replicas() -> None:
    for replicas, expected in ((1, [(1, OK)]), (2, [])):
        c = SimCluster(NodeConfig(Role.SYNC_MASTER, FlushType.ASYNC_FLUSH, rocketmq_version="5.3", in_sync_replicas=replicas), NodeConfig(Role.SLAVE, FlushType.ASYNC_FLUSH))
        send(c.master, 1)  # no slave connected: 5.x waits rather than answer SLAVE_NOT_AVAILABLE
        assert statuses(c.master) == expected
    c.link()
    c.pump()
    assert statuses(c.master) == [(1, OK)]


def test_5_3_under_sync_flush_serves_only_flushed_records_unless_read_uncommitted() -> None:
    for read_uncommitted, found in ((False, 0), (True, 1)):
        node = SimNode(NodeConfig(Role.ASYNC_MASTER, FlushType.SYNC_FLUSH, rocketmq_version="5.3", read_uncommitted=read_uncommitted))
        send(node, 1)
        node.take(CLIENT)
        pull(node, 0)
        (reply,) = node.take(CLIENT)
        assert isinstance(reply, m.PullReply) and len(reply.messages) == found
    node.finish_flush()
    pull(node, 0)
    assert [len(r.messages) for r in node.take(CLIENT) if isinstance(r, m.PullReply)] == [1]


def test_offset_overflow_sends_the_consumer_to_the_end_or_up_to_4_9_3_to_the_start() -> None:
    for version, corrected in (("4.9.3", 0), ("4.9.7", 1)):
        node = SimNode(NodeConfig(Role.ASYNC_MASTER, FlushType.ASYNC_FLUSH, rocketmq_version=version))
        send(node, 1)
        node.take(CLIENT)
        pull(node, 5)
        (reply,) = node.take(CLIENT)
        assert isinstance(reply, m.PullReply) and (reply.status, reply.next_offset) == (m.PullStatus.OFFSET_OVERFLOW, corrected)
