"""What `noloss conform` holds a target to when it claims a RocketMQ configuration: the
spec's fault table (conform injects the same kinds, by the same names), the application's
resend policy (checkStatus, redeliveries) and the trace judge (conformance/rocketmq/judge.py).
"""

from __future__ import annotations

from noloss.conformance.judgement import Rules
from noloss.conformance.rocketmq.judge import UNMODELLED, judge, resend_of
from noloss.spec.rocketmq.faults import FAULTS

RENAMED = {
    "kill": "master-crash",
    "power-loss": "master-power-loss",
    "slave-kill": "slave-crash",
    "disk-loss": "slave-disk-loss",
}
"""The words `noloss conform --faults` took before it took the spec's (refused, naming the new one)."""

ROCKETMQ_RULES = Rules(faults=FAULTS, resend=resend_of, judge=judge, unmodelled=UNMODELLED, renamed=RENAMED)
