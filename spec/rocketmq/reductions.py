"""The state-space reductions, in one place: silent steps the model takes at once.

Every effect computes the unreduced successor. With reductions on (the default),
`Model.next_state` then calls `reduce`, which takes, one after another, the steps that no
fault still possible can tell apart from taking them later, each by the very action the
unreduced model would take (so a counterexample or a lockstep can name it):

* a lag no remaining fault can observe is closed (`Observed` says which): the consumer's
  `commit` of a message it has processed, the master's and the slave's `flush`, a node's
  `persist-offsets`, the slave's HA `reconnect` where the master neither waits for it nor
  checks its log;
* after a commit at the master, the slave's `sync-offsets` (its copy of the committed
  offsets, RocketMQ's SlaveSynchronize), if the master can go down at all in this run.

Two more reductions choose which actions exist, in the consumer and the slave: see
`merges_pull` and `syncs_offsets_at_commit`. `Model(config, faults, reduce=False)` turns all
of them off: the tests explore cells both ways and require the same verdict for every
property (tests/test_reductions.py); docs/spec.md §7.4 argues each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from noloss.spec.rocketmq.actions import Action, QueueOffset, connected, offsets_to_sync, up
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.faults import (
    BOTH_POWER_LOSS,
    CONSUMER_CRASH,
    MASTER_CRASH,
    MASTER_DISK_LOSS,
    MASTER_POWER_LOSS,
    SLAVE_CRASH,
    SLAVE_POWER_LOSS,
)
from noloss.spec.rocketmq.state import SUCCEEDED, State

if TYPE_CHECKING:
    from noloss.spec.rocketmq.model import Model

COMMITS_AT_SOURCE = frozenset({("consumer", "commit"), ("consumer", "pull-and-commit"), ("consumer", "send-back")})
"""The actions that commit an offset at the node the consumer reads."""


@dataclass(frozen=True, slots=True)
class Observed:
    """Which hidden variables some enabled fault (or the configuration) can observe.

    A variable nothing can observe follows its source at once instead of lagging behind it:
    the unflushed tail matters only to a power loss (or to what consumers see, where only the
    flushed part is dispatched), persisted offsets only to a node going down with its memory,
    the slave's offsets only to a consumer that reads the slave while the master is down (a
    5.x slave answers no pulls unless slaveReadEnable), the gap between processing and
    committing only to a consumer crash.
    Tracking an unobservable lag would multiply the states and change no
    verdict (TLC's VIEW does the same).
    """

    master_flush: bool  # the master's page-cache tail: power loss, or SYNC_FLUSH's wait for it
    slave_flush: bool  # the slave's page-cache tail: slave or correlated power loss
    master_offsets_disk: bool  # master goes down with memory: crash or power loss
    slave_offsets_disk: bool  # slave goes down with memory: crash or power loss
    slave_offsets: bool  # the consumer can read the slave: the master can go down
    commit_gap: bool  # a consumer crash between CONSUME_SUCCESS and the offset commit
    slave_link: bool  # the master waits for the slave (its link decides the status) or checks its log

    @staticmethod
    def of(config: Config, kinds: frozenset[str], slave_offsets: bool | None = None) -> Observed:
        """What the fault kinds that can still happen (and the configuration) observe."""
        master_down = {MASTER_CRASH, MASTER_POWER_LOSS, BOTH_POWER_LOSS}
        slave_down = {SLAVE_CRASH, SLAVE_POWER_LOSS, BOTH_POWER_LOSS}
        if slave_offsets is None:
            slave_offsets = config.consumer_reads_slave and bool(kinds & (master_down | {MASTER_DISK_LOSS}))
        return Observed(
            master_flush=config.waits_for_flush or bool(kinds & {MASTER_POWER_LOSS, BOTH_POWER_LOSS}),
            # A 5.3+ slave under SYNC_FLUSH shows consumers only its flushed part.
            slave_flush=bool(kinds & {SLAVE_POWER_LOSS, BOTH_POWER_LOSS}) or (config.dispatch_bounded_on_slave and slave_offsets),
            master_offsets_disk=bool(kinds & master_down),
            slave_offsets_disk=bool(kinds & slave_down),
            slave_offsets=slave_offsets,
            commit_gap=CONSUMER_CRASH in kinds,
            # Otherwise a slave not yet reconnected differs from a connected one only in not
            # replicating yet, which a connected one may also not do: every behaviour of the
            # first is one of the second.
            slave_link=config.waits_for_slave or not config.haTrustSlaveOffset,
        )


def merges_pull(model: Model) -> bool:
    """Pulling and what the listener then does are one consumer action (`consume`,
    `consume-fail`, `pull-and-commit`) instead of a `pull` followed by `process`,
    `process-fail` or, under commitBeforeProcess, the early `commit`.

    Sound because a pull changes only the consumer's memory (the message in hand and its
    read position), which nothing but the consumer reads: every other action commutes with
    it, and a consumer crash right after it leaves the same state as a crash right before.
    """
    return model.reduce


def syncs_offsets_at_commit(model: Model) -> bool:
    """The slave's `sync-offsets` is taken right after each commit at the master (when the
    master can go down in this run, else never) instead of being enabled at any moment.

    RocketMQ's SlaveSynchronize copies the master's offsets up to ~10 s later. A lagging copy
    is behind the synced one, and a read position further back only holds more messages:
    every message a lagging copy fails to hold, the synced copy fails to hold too, so the
    reduction hides no loss (docs/spec.md §7.5 says what it does to the duplicate
    properties). If the master never goes down, no consumer ever reads the slave's copy.
    """
    return model.reduce


_MASTER_FLUSH = Action("master", "flush", None)
_SLAVE_FLUSH = Action("slave", "flush", None)
_MASTER_PERSIST = Action("master", "persist-offsets", None)
_SLAVE_PERSIST = Action("slave", "persist-offsets", None)
_SYNC_OFFSETS = Action("slave", "sync-offsets", None)
_RECONNECT = Action("slave", "reconnect", None)


def silent_step(model: Model, before: State, action: Action, after: State, observed: Observed | None = None) -> Action | None:
    """The next step the reductions take at once after `action` took `before` to `after`
    (`observed`: what the faults still possible in `after` observe, if known)."""
    if syncs_offsets_at_commit(model) and (action.actor, action.verb) in COMMITS_AT_SOURCE:
        # A commit taken while the master was up went to the master.
        if model.observed.slave_offsets and up(before.master) and up(after.slave) and offsets_to_sync(after):
            return _SYNC_OFFSETS
    if observed is None:
        observed = model.observed_in(after)
    work = after.consumer.work
    if not observed.commit_gap and work is not None and work.stage == SUCCEEDED:
        return Action("consumer", "commit", work.entry.msg, QueueOffset(work.queue, work.offset))
    master, slave = after.master, after.slave
    if not observed.slave_link and not after.slave_linked and connected(master, slave):
        return _RECONNECT
    if not observed.master_flush and master.flushed < len(master.log):
        return _MASTER_FLUSH
    if not observed.slave_flush and slave.flushed < len(slave.log):
        return _SLAVE_FLUSH
    if not observed.master_offsets_disk and master.offsets != master.offsets_disk:
        return _MASTER_PERSIST
    if not observed.slave_offsets_disk and slave.offsets != slave.offsets_disk:
        return _SLAVE_PERSIST
    return None


def reduce(model: Model, before: State, action: Action, after: State, taken: list[tuple[Action, State]] | None = None) -> State:
    """`after` with every silent step taken (each appended to `taken`, with its state, if given).

    The lags are closed whether or not the node is up: a crashed node's page cache is
    written back by the kernel, and a down node's offsets equal its persisted ones anyway.
    """
    observed = model.observed_in(after)  # silent steps are no faults: the fault counts stay
    silent = silent_step(model, before, action, after, observed)
    while silent is not None:
        before, action, after = after, silent, model.effect(after, silent)
        if taken is not None:
            taken.append((action, after))
        silent = silent_step(model, before, action, after, observed)
    return after
