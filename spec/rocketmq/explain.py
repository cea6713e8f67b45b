"""Which counterexamples are distinct, and what prevents each: read off the matrix itself.

Two violations are the same when they break the same property by the same steps (presets of
one model give the same ones). What prevents a violation is taken from the matrix's own
verdicts: the presets under which the same scenario keeps the property, and the knobs in
which they differ; the classes no preset prevents are explained in words.
"""

from __future__ import annotations

from noloss.model_check.check import HOLDS, Verdict
from noloss.model_check.matrix import Cell, Matrix
from noloss.model_check.matrix_names import counterexample_name
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.model import Model
from noloss.spec.rocketmq.properties import lost_messages

COUNTEREXAMPLES = "counterexamples"
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


def _differences(mine: Config, theirs: Config) -> str:
    changed = [f"{key}={value}" for key, value in theirs.settings().items() if mine.settings()[key] != value]
    return ", ".join(changed) or "the same settings"


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


def prevention(matrix: Matrix, cell: Cell, verdict: Verdict) -> str:
    """The paragraph on what prevents this violation, from the matrix's own verdicts."""
    if verdict.name in ("NoDuplicateProcessing", "ExactlyOnceEffect"):
        return _AT_LEAST_ONCE
    if verdict.name == "NoConsumeBeforeProcess":
        return _EARLY_ACK
    if _is_skipped_offset(cell, verdict):
        return _SKIPPED_OFFSET
    keeping = [
        other
        for other in matrix.cells
        if other.scenario == cell.scenario
        and any(v.name == verdict.name and v.status == HOLDS for v in other.result.verdicts)
    ]
    if not keeping:
        return f"No preset in the matrix keeps {verdict.name} under {cell.scenario}."
    lines = [f"Under {cell.scenario}, these presets keep {verdict.name} (what they set differently):"]
    lines += [f"- `{other.preset}`: {_differences(cell.result.config, other.result.config)}" for other in keeping]
    return "\n".join(lines)


def distinct_violations(matrix: Matrix) -> list[tuple[Cell, Verdict]]:
    """Each (property, steps) once, first in matrix order."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    found = []
    for cell in matrix.cells:
        for verdict in cell.result.violated:
            if verdict.counterexample is None:
                continue
            key = (verdict.name, tuple(str(step.action) for step in verdict.counterexample))
            if key not in seen:
                seen.add(key)
                found.append((cell, verdict))
    return found


def links(matrix: Matrix) -> dict[tuple[str, str, str], str]:
    """(preset, scenario, property) -> file of its distinct counterexample."""
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    links = {}
    for cell in matrix.cells:
        for verdict in cell.result.violated:
            if verdict.counterexample is None:
                continue
            key = (verdict.name, tuple(str(step.action) for step in verdict.counterexample))
            name = first.setdefault(key, counterexample_name(cell, verdict))
            links[(cell.preset, cell.scenario, verdict.name)] = name
    return links
