"""Configuration knobs, named as RocketMQ users know them, and the named presets.

A `Config` is everything the model depends on besides the fault model: broker settings
(`broker.conf` keys), producer and consumer client settings, what the application does
with a send status, and the two bounds that keep the state space finite (`messages`,
`redeliveries`). Values are validated here, once, so that every consumer of a `Config`
can trust it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from noloss.spec.rocketmq.versions import ALIASES, RELEASES, Release, canonical_version

ASYNC_FLUSH = "ASYNC_FLUSH"
SYNC_FLUSH = "SYNC_FLUSH"
ASYNC_MASTER = "ASYNC_MASTER"
SYNC_MASTER = "SYNC_MASTER"
SYNC_SEND = "sync"
ASYNC_SEND = "async"
ONEWAY_SEND = "oneway"


class ConfigError(ValueError):
    """A knob name or value the model does not accept; the message is one line."""


@dataclass(frozen=True, slots=True)
class Config:
    """One configuration of broker, clients and application. Field names are the users'."""

    # --- broker.conf of the master ---
    flushDiskType: str = ASYNC_FLUSH  # SYNC_FLUSH: reply after a group-commit fsync
    brokerRole: str = ASYNC_MASTER  # SYNC_MASTER: reply after the slave reports the offset
    inSyncReplicas: int = 1  # 5.x only: SYNC_MASTER waits for the slave only when >= 2
    readUnCommitted: bool = False  # 5.3+: consumers see entries past the confirm (flushed) offset
    slaveReadEnable: bool = False  # 5.x: a slave answers pulls (4.x slaves always do)
    rocketmqVersion: str = "4.9.7"  # the release whose behaviour is checked (spec/rocketmq/versions.py)
    # true: the master takes the slave's reported offset unchecked, as every RocketMQ release
    # does; false: it checks the slave's log before counting it (an idealised handshake)
    haTrustSlaveOffset: bool = True
    # --- broker.conf of the slave ---
    slaveFlushDiskType: str = ASYNC_FLUSH  # only how soon the slave flushes: it reports first
    # --- producer client ---
    sendMode: str = SYNC_SEND  # sync | async (callback) | oneway
    retryTimesWhenSendFailed: int = 2  # sync: retries a fast network error (not a reply timeout)
    retryTimesWhenSendAsyncFailed: int = 2  # async: retries on network error only
    retryAnotherBrokerWhenNotStoreOK: bool = False  # also retry a non-OK status
    # --- application around the producer ---
    checkStatus: bool = False  # True: only SEND_OK is success; anything else is resent
    # --- consumer client and application around it ---
    commitBeforeProcess: bool = False  # the classic bug: CONSUME_SUCCESS before the work is done
    idempotentConsumer: bool = False  # dedup by message key: the effect applies once
    maxReconsumeTimes: int = 16  # failed deliveries before the message is parked in the DLQ
    consumerMayFail: bool = False  # the business logic may return RECONSUME_LATER
    # --- model bounds (not broker settings): keep the state space finite ---
    messages: int = 2  # distinct messages the producer sends, one after another
    redeliveries: int = 1  # business-logic failures per run, and application resends per message

    def __post_init__(self) -> None:
        # `4` and `5` name the newest release of each line: store the release itself.
        object.__setattr__(self, "rocketmqVersion", canonical_version(str(self.rocketmqVersion)))
        for field in dataclasses.fields(self):
            _check_value(field.name, getattr(self, field.name))

    def with_settings(self, settings: Mapping[str, str]) -> Config:
        """This config with `key=value` strings applied; unknown keys and bad values raise."""
        changes: dict[str, Any] = {key: parse_value(key, raw) for key, raw in settings.items()}
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict[str, str | int | bool]:
        """Every knob and its value, in declaration order (for reports and JSON)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def model_key(self) -> tuple[object, ...]:
        """Everything the model reads of this config: two configs with equal keys are one model.

        The spec reads a Config only through these (a test scans spec/ for it). What is not
        here changes no state: `sendMode` matters only through `sends_oneway` and
        `send_retries`; `slaveFlushDiskType` matters only where a 5.3+ slave that
        consumers read dispatches up to its flushed position; otherwise it only says how soon
        the slave flushes, which an untimed model cannot tell. The release matters only
        through the behaviours it selects.
        """
        reconsume = self.maxReconsumeTimes if self.consumerMayFail else None
        return (
            self.waits_for_flush,
            self.waits_for_slave,
            self.dispatch_bounded_on_master,
            self.dispatch_bounded_on_slave,
            self.consumer_reads_slave,
            self.slave_not_available,
            self.overflow_to_min,
            self.haTrustSlaveOffset,
            self.sends_oneway,
            self.send_retries,
            self.retryAnotherBrokerWhenNotStoreOK,
            self.checkStatus,
            self.commitBeforeProcess,
            self.idempotentConsumer,
            self.consumerMayFail,
            reconsume,
            self.messages,
            self.redeliveries,
        )

    @property
    def release(self) -> Release:
        """The RocketMQ release whose behaviours the model follows."""
        return RELEASES[self.rocketmqVersion]

    @property
    def waits_for_flush(self) -> bool:
        """The master answers a send only after the group-commit fsync."""
        return self.flushDiskType == SYNC_FLUSH

    @property
    def waits_for_slave(self) -> bool:
        """The master answers a send only after the slave reports it (4.x, or 5.x with quorum)."""
        if self.brokerRole != SYNC_MASTER:
            return False
        return not self.release.quorum_to_wait or self.inSyncReplicas >= 2

    @property
    def dispatch_bounded_on_master(self) -> bool:
        """Consumers see only the master's flushed entries (5.3+ under SYNC_FLUSH, unless readUnCommitted)."""
        return self._dispatch_bounded(self.flushDiskType)

    @property
    def dispatch_bounded_on_slave(self) -> bool:
        """The same on the slave, under its own flushDiskType, where consumers read it at all."""
        return self.consumer_reads_slave and self._dispatch_bounded(self.slaveFlushDiskType)

    def _dispatch_bounded(self, flush_disk_type: str) -> bool:
        return self.release.dispatch_to_confirm and not self.readUnCommitted and flush_disk_type == SYNC_FLUSH

    @property
    def consumer_reads_slave(self) -> bool:
        """A slave answers the consumer's pulls while the master is down (4.x, or 5.x with slaveReadEnable)."""
        return self.release.slave_serves_pulls or self.slaveReadEnable

    @property
    def slave_not_available(self) -> bool:
        """A SYNC_MASTER with no slave in sync answers SLAVE_NOT_AVAILABLE at once (4.x isSlaveOK)."""
        return self.waits_for_slave and self.release.slave_not_available

    @property
    def overflow_to_min(self) -> bool:
        """OFFSET_OVERFLOW_BADLY moves the consumer back to the queue's start (up to 4.9.3)."""
        return self.release.overflow_to_min

    @property
    def sends_oneway(self) -> bool:
        """The producer sends oneway: no reply, no retry. A sync and an async send differ only in
        which retry count applies (`send_retries`): an async send's timeout is not retried either
        (docs/spec.md §1), so that count is all the model reads of the difference."""
        return self.sendMode == ONEWAY_SEND

    @property
    def send_retries(self) -> int:
        """Client-internal retries one `send()` call may make."""
        if self.sendMode == SYNC_SEND:
            return self.retryTimesWhenSendFailed
        if self.sendMode == ASYNC_SEND:
            return self.retryTimesWhenSendAsyncFailed
        return 0


_CHOICES: dict[str, tuple[str, ...]] = {
    "flushDiskType": (ASYNC_FLUSH, SYNC_FLUSH),
    "slaveFlushDiskType": (ASYNC_FLUSH, SYNC_FLUSH),
    "brokerRole": (ASYNC_MASTER, SYNC_MASTER),
    "sendMode": (SYNC_SEND, ASYNC_SEND, ONEWAY_SEND),
    "rocketmqVersion": tuple(RELEASES) + tuple(ALIASES),
}
_INT_RANGES: dict[str, tuple[int, int]] = {
    "inSyncReplicas": (1, 2),
    "retryTimesWhenSendFailed": (0, 16),
    "retryTimesWhenSendAsyncFailed": (0, 16),
    "maxReconsumeTimes": (0, 16),
    "messages": (1, 4),
    "redeliveries": (0, 4),
}
_BOOLS = (
    "haTrustSlaveOffset",
    "readUnCommitted",
    "slaveReadEnable",
    "retryAnotherBrokerWhenNotStoreOK",
    "checkStatus",
    "commitBeforeProcess",
    "idempotentConsumer",
    "consumerMayFail",
)
KNOBS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(Config))


def allowed_values(key: str) -> str:
    """What `key` accepts, as error messages say it: `ASYNC_FLUSH|SYNC_FLUSH`, `an integer 1..4`."""
    if key in _CHOICES:
        return "|".join(_CHOICES[key])
    if key in _INT_RANGES:
        low, high = _INT_RANGES[key]
        return f"an integer {low}..{high}"
    return "true|false"


def _check_value(key: str, value: object) -> None:
    if key in _CHOICES:
        ok = value in _CHOICES[key]
    elif key in _INT_RANGES:
        low, high = _INT_RANGES[key]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    else:
        ok = isinstance(value, bool)
    if not ok:
        raise ConfigError(f"bad value {value!r} for {key}: allowed {allowed_values(key)}")


def parse_value(key: str, raw: str) -> str | int | bool:
    """Parse one `key=value` setting as the users write it; raise ConfigError naming it."""
    if key not in KNOBS:
        raise ConfigError(f"unknown setting {key!r}: allowed {', '.join(KNOBS)}")
    text = raw.strip()
    value: str | int | bool
    if key in _BOOLS:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ConfigError(f"bad value {raw!r} for {key}: allowed {allowed_values(key)}")
        value = lowered == "true"
    elif key in _INT_RANGES:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"bad value {raw!r} for {key}: allowed {allowed_values(key)}") from None
    elif key == "rocketmqVersion":
        value = canonical_version(text)
    else:
        value = text
    _check_value(key, value)
    return value


# SYNC_FLUSH on master and slave, SYNC_MASTER: the broker half of the strict settings.
_STRICT = Config(flushDiskType=SYNC_FLUSH, slaveFlushDiskType=SYNC_FLUSH, brokerRole=SYNC_MASTER)
_replace = dataclasses.replace

PRESETS: dict[str, Config] = {
    # 4.9.7's shipped defaults: ASYNC_FLUSH, ASYNC_MASTER, sync send with 2 retries, and an
    # application that takes whatever status send() returns as success.
    "rocketmq-default": Config(),
    # The strict settings: strict broker, only SEND_OK counts as stored (anything else
    # is resent), the consumer acknowledges after processing.
    "strict": _replace(_STRICT, checkStatus=True),
    "sync-flush-async-master": Config(flushDiskType=SYNC_FLUSH, slaveFlushDiskType=SYNC_FLUSH, checkStatus=True),
    "async-flush-sync-master": Config(brokerRole=SYNC_MASTER, checkStatus=True),
    "slave-async-flush": Config(flushDiskType=SYNC_FLUSH, brokerRole=SYNC_MASTER, checkStatus=True),
    # 5.3's shipped defaults: as 4.9.7's, but a slave serves no pulls.
    "rocketmq5-default": Config(rocketmqVersion="5.3"),
    # 5.x keeps SYNC_MASTER but by default (inSyncReplicas=1) does not wait for the slave.
    "rocketmq5-sync-master": _replace(_STRICT, rocketmqVersion="5.3", checkStatus=True),
    "rocketmq5-quorum": _replace(_STRICT, rocketmqVersion="5.3", inSyncReplicas=2, checkStatus=True),
    # Each of the rest is strict with one thing weakened.
    "oneway": _replace(_STRICT, sendMode=ONEWAY_SEND),
    "async-send": _replace(_STRICT, sendMode=ASYNC_SEND, checkStatus=True),
    "commit-before-process": _replace(_STRICT, commitBeforeProcess=True, checkStatus=True),
    "no-status-check": _replace(_STRICT, checkStatus=False),
    "idempotent-strict": _replace(_STRICT, idempotentConsumer=True, checkStatus=True),
}


def preset(name: str) -> Config:
    """The preset called `name`; ConfigError lists the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}: allowed {', '.join(PRESETS)}") from None
