"""docs/findings.md: each way the checker loses an acknowledged message in a shipped RocketMQ
configuration, for RocketMQ operators.

A finding names a configuration, a fault scenario and the property it breaks; everything
else on the page is the checker's output: the shortest counterexample, the releases where
the property fails (each checked), and the check that shows the release or knob that
prevents it. Regenerate with `python -m noloss.cli.docs_gen`; a test fails when the page is stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from noloss.model_check.check import HOLDS, VIOLATED, CheckResult, Verdict, check
from noloss.model_check.render import step_lines, to_mermaid
from noloss.spec.rocketmq.display import final_note
from noloss.spec.rocketmq.protocol import ROCKETMQ
from noloss.spec.rocketmq.faults import scenario
from noloss.spec.rocketmq.config import Config, preset
from noloss.spec.rocketmq.versions import RELEASES


@dataclass(frozen=True, slots=True)
class Setup:
    """A preset, the settings changed on it, and a fault scenario: one check."""

    preset: str
    scenario: str
    settings: tuple[tuple[str, str], ...] = ()

    def config(self, **more: str) -> Config:
        return preset(self.preset).with_settings({**dict(self.settings), **more})

    def cell(self) -> str:
        """Where a reader sees this check: a docs/matrix.md cell, or the command that runs it."""
        if not self.settings and "+" not in self.scenario:
            return f"[matrix.md](matrix.md) `{self.preset}` × `{self.scenario}`"
        sets = "".join(f" --set {key}={value}" for key, value in self.settings)
        kinds = self.scenario.split("+")
        faults = ",".join(f"{kind}*1" for kind in kinds)
        return f"`noloss check --preset {self.preset}{sets} --faults {faults} --max-faults {len(kinds)}`"


@dataclass(frozen=True, slots=True)
class Finding:
    """One loss the checker finds, what it breaks, and what prevents it."""

    title: str
    lost: Setup  # where the property fails
    property: str  # NoAckedLoss, or NoAckedStranded for a copy only an operator reaches
    upstream: str  # the upstream issue that reports it, or "not reported upstream"
    prevention: str  # the release or knob, in words
    fixed: Setup  # the same check with the prevention: the property holds


FINDINGS: tuple[Finding, ...] = (
    Finding(
        "A consumer skips a stored message after a master power loss (SYNC_FLUSH, SYNC_MASTER)",
        Setup("strict", "master-power-loss"),
        "NoAckedLoss",
        "[apache/rocketmq#8239](https://github.com/apache/rocketmq/issues/8239), fixed by #8240",
        "RocketMQ 5.3.0 (dispatch stops at the flushed position under SYNC_FLUSH); `readUnCommitted=true` undoes it",
        Setup("rocketmq5-quorum", "master-power-loss"),
    ),
    Finding(
        "A slave ahead of a rewound master counts for a message it does not hold",
        Setup("rocketmq5-quorum", "master-power-loss+master-disk-loss"),
        "NoAckedLoss",
        "[apache/rocketmq#3015](https://github.com/apache/rocketmq/issues/3015) (4.9.3 checks later reports, not the first)",
        "no release; a master that checks the slave's log (`haTrustSlaveOffset=false`)",
        Setup("rocketmq5-quorum", "master-power-loss+master-disk-loss", (("haTrustSlaveOffset", "false"),)),
    ),
    Finding(
        "The shipped defaults lose what the page cache held (ASYNC_FLUSH, ASYNC_MASTER)",
        Setup("rocketmq-default", "master-power-loss"),
        "NoAckedLoss",
        "not reported upstream (documented: ASYNC_FLUSH acknowledges before the fsync)",
        "SYNC_FLUSH with SYNC_MASTER on 5.3 with `inSyncReplicas=2`",
        Setup("rocketmq5-quorum", "master-power-loss"),
    ),
    Finding(
        "ASYNC_MASTER answers before the slave has the message (the shipped default)",
        Setup("rocketmq-default", "master-disk-loss"),
        "NoAckedLoss",
        "not reported upstream (documented: ASYNC_MASTER replicates after the reply)",
        "SYNC_MASTER with an application that resends anything but SEND_OK (on 5.x also `inSyncReplicas=2`)",
        Setup("async-flush-sync-master", "master-disk-loss"),
    ),
    Finding(
        "SYNC_MASTER with ASYNC_FLUSH: the restarted master forgets a message only the slave keeps, and reuses its offset",
        Setup("async-flush-sync-master", "master-power-loss"),
        "NoAckedLoss",
        "not reported upstream (consumers read the rewound master while it is up, never the slave's copy;"
        " the next message takes the forgotten one's queue offset, and the consumer's commit moves past the slave's copy)",
        "SYNC_FLUSH on 5.3 with `inSyncReplicas=2` (on 4.x SYNC_FLUSH still leaves the first finding's race)",
        Setup("rocketmq5-quorum", "master-power-loss"),
    ),
    Finding(
        "The application takes a non-OK status for stored (checkStatus=false, the client's contract)",
        Setup("no-status-check", "master-disk-loss"),
        "NoAckedLoss",
        "not reported upstream (a SendResult other than SEND_OK says a flush or replication guarantee was not met)",
        "an application that resends anything but SEND_OK (`checkStatus`)",
        Setup("strict", "master-disk-loss"),
    ),
    Finding(
        "5.x SYNC_MASTER does not wait for the slave by default (inSyncReplicas=1)",
        Setup("rocketmq5-sync-master", "master-disk-loss"),
        "NoAckedLoss",
        "not reported upstream (5.x reads `inSyncReplicas`; its default 1 needs no slave)",
        "`inSyncReplicas=2`",
        Setup("rocketmq5-quorum", "master-disk-loss"),
    ),
    Finding(
        "5.x strands what only the slave holds: no consumer reads it",
        Setup("rocketmq5-quorum", "master-disk-loss"),
        "NoAckedStranded",
        "not reported upstream (`PullMessageProcessor.rejectRequest` refuses pulls on a slave)",
        "`slaveReadEnable=true`, or an operator who promotes the slave",
        Setup("rocketmq5-quorum", "master-disk-loss", (("slaveReadEnable", "true"),)),
    ),
)


def _run(setup: Setup, **more: str) -> CheckResult:
    return check(ROCKETMQ, setup.config(**more), scenario(setup.scenario))


def _verdict(result: CheckResult, name: str) -> Verdict:
    return next(verdict for verdict in result.verdicts if verdict.name == name)


def affected_releases(finding: Finding) -> list[str]:
    """The releases under which the finding's check fails (each one explored)."""
    return [
        release
        for release in RELEASES
        if _verdict(_run(finding.lost, rocketmqVersion=release), finding.property).status == VIOLATED
    ]


def _section(finding: Finding) -> list[str]:
    result = _run(finding.lost)
    verdict = _verdict(result, finding.property)
    assert verdict.status == VIOLATED and verdict.counterexample, f"{finding.title}: no longer found"
    fixed_result = _run(finding.fixed)
    fixed = _verdict(fixed_result, finding.property)
    assert fixed.status == HOLDS, f"{finding.title}: the prevention does not hold"
    releases = affected_releases(finding)
    steps = step_lines(ROCKETMQ, result.initial, verdict.counterexample, verdict.prefix_length)
    return [
        f"## {finding.title}",
        "",
        f"- **Breaks**: {finding.property}, {len(verdict.counterexample)} steps: {final_note(result, verdict)}",
        f"- **Where**: {finding.lost.cell()}",
        f"- **Releases**: {', '.join(releases) or 'none'} (of {', '.join(RELEASES)}, each checked)",
        f"- **Upstream**: {finding.upstream}",
        f"- **Prevented by**: {finding.prevention}; {finding.property} holds at {finding.fixed.cell()} "
        f"({fixed.status}, {fixed_result.stats.states:,} states)",
        "",
        "```",
        *steps,
        "```",
        "",
        "```mermaid",
        to_mermaid(ROCKETMQ, result, verdict),
        "```",
        "",
    ]


def findings_markdown() -> str:
    """The whole page."""
    lines = [
        "# What the checker finds in RocketMQ as shipped",
        "",
        "Each way the checker loses (or strands) an acknowledged message in a shipped RocketMQ",
        "configuration: the shortest counterexample, the releases it applies to, the upstream",
        "report, and the check that shows the prevention working. *Lost*: no copy remains that",
        "anyone will reach; *stranded*: on disk, reachable only by an operator (docs/spec.md §5).",
        "Generated by `python -m noloss.cli.docs_gen` from the checker's output; a test fails when",
        "it is stale.",
        "",
    ]
    for finding in FINDINGS:
        lines.extend(_section(finding))
    return "\n".join(lines).rstrip() + "\n"
