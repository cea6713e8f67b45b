"""What prevents a RocketMQ violation, where the matrix's own verdicts cannot say it.

The report's page for each counterexample says what prevents it. Mostly that is read off
the matrix (the presets that keep the property under the same scenario, and the knobs in
which they differ: noloss/cli/matrix_render.py); the classes no preset prevents, or that
no broker setting touches, are explained here in words.
"""

from __future__ import annotations

from noloss.model_check.check import Verdict
from noloss.model_check.matrix import Cell, Matrix
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.properties import lost_messages

_AT_LEAST_ONCE = (
    "RocketMQ delivers at least once: a retry after a lost reply, a resend after a non-OK status, "
    "a crash before the offset commit or an offset rolled back to its last persisted value each "
    "deliver a message again. No broker setting removes that; what makes the *effect* exactly-once is "
    "an idempotent consumer (`idempotentConsumer=true`, dedup by message key): see `idempotent-strict`, "
    "where ExactlyOnceEffect holds in every scenario."
)
_EARLY_ACK = (
    "The listener returned CONSUME_SUCCESS before its work was done (`commitBeforeProcess=true`). "
    "Return CONSUME_SUCCESS only after the business logic has finished: every other preset does."
)
_SKIPPED_OFFSET = (
    "No preset prevents this one. The consumer read a message from the master's page cache before it "
    "was flushed and committed its offset past it; the power loss rewound the queue, and a later "
    "message, stored with SEND_OK, took a queue offset behind the consumer's in-memory offset and is "
    "never read. RocketMQ 4.x dispatches unflushed entries to consumers (ReputMessageService reads up "
    "to the write position unless `duplicationEnable`), so no flush, replication or status setting "
    "helps: what would is a consumer that reads only up to the flushed and replicated offset (5.x "
    "controller mode's confirm offset), or one that resets its offset when the broker restarts."
)


def _is_skipped_offset(cell: Cell, verdict: Verdict) -> bool:
    """A loss where the lost message is stored on the master behind the consumer's offset."""
    if verdict.counterexample is None:
        return False
    last = verdict.counterexample[-1].state
    model = Model(cell.result.config, cell.result.faults)
    consumer = last.consumer
    if verdict.name != "NoAckedLoss" or consumer.next is None:
        return False
    main_queue = [entry.msg for entry in last.master.log if entry.topic == 0]
    return any(m in main_queue[: consumer.next[0]] for m in lost_messages(model, last))


def prevention(matrix: Matrix, cell: Cell, verdict: Verdict) -> str | None:
    """The paragraph on what prevents this violation where no other preset shows it; None
    where the matrix's own verdicts say it."""
    if verdict.name in ("NoDuplicateProcessing", "ExactlyOnceEffect"):
        return _AT_LEAST_ONCE
    if verdict.name == "NoConsumeBeforeProcess":
        return _EARLY_ACK
    if _is_skipped_offset(cell, verdict):
        return _SKIPPED_OFFSET
    return None
