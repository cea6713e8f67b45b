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
    rocketmqVersion: int = 4  # 4: SYNC_MASTER always waits; 5: only with inSyncReplicas >= 2
    # --- broker.conf of the slave ---
    slaveFlushDiskType: str = ASYNC_FLUSH  # only how soon the slave flushes: it reports first
    # --- producer client ---
    sendMode: str = SYNC_SEND  # sync | async (callback) | oneway
    retryTimesWhenSendFailed: int = 2  # sync: retries on timeout or network error
    retryTimesWhenSendAsyncFailed: int = 2  # async: retries on network error only
    retryAnotherBrokerWhenNotStoreOK: bool = False  # also retry a non-OK status
    # --- application around the producer ---
    checkStatus: bool = False  # True: only SEND_OK is success; anything else is resent
    # --- consumer client and application around it ---
    ackBeforeProcess: bool = False  # the classic bug: CONSUME_SUCCESS before the work is done
    idempotentConsumer: bool = False  # dedup by message key: the effect applies once
    maxReconsumeTimes: int = 16  # failed deliveries before the message is parked in the DLQ
    consumerMayFail: bool = False  # the business logic may return RECONSUME_LATER
    # --- model bounds (not broker settings): keep the state space finite ---
    messages: int = 2  # distinct messages the producer sends, one after another
    redeliveries: int = 1  # business-logic failures per run, and application resends per message

    def __post_init__(self) -> None:
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
        here changes no state: `slaveFlushDiskType` only says how soon the slave flushes, which
        an untimed model cannot tell; the version and inSyncReplicas matter only through
        whether the master waits for the slave.
        """
        reconsume = self.maxReconsumeTimes if self.consumerMayFail else None
        return (
            self.waits_for_flush,
            self.waits_for_slave,
            self.sendMode,
            self.send_retries,
            self.retryAnotherBrokerWhenNotStoreOK,
            self.checkStatus,
            self.ackBeforeProcess,
            self.idempotentConsumer,
            self.consumerMayFail,
            reconsume,
            self.messages,
            self.redeliveries,
        )

    @property
    def waits_for_flush(self) -> bool:
        """The master answers a send only after the group-commit fsync."""
        return self.flushDiskType == SYNC_FLUSH

    @property
    def waits_for_slave(self) -> bool:
        """The master answers a send only after the slave reports it (4.x, or 5.x with quorum)."""
        if self.brokerRole != SYNC_MASTER:
            return False
        return self.rocketmqVersion == 4 or self.inSyncReplicas >= 2

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
}
_INT_RANGES: dict[str, tuple[int, int]] = {
    "inSyncReplicas": (1, 2),
    "rocketmqVersion": (4, 5),
    "retryTimesWhenSendFailed": (0, 16),
    "retryTimesWhenSendAsyncFailed": (0, 16),
    "maxReconsumeTimes": (0, 16),
    "messages": (1, 4),
    "redeliveries": (0, 4),
}
_BOOLS = (
    "retryAnotherBrokerWhenNotStoreOK",
    "checkStatus",
    "ackBeforeProcess",
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
    else:
        value = text
    _check_value(key, value)
    return value


# SYNC_FLUSH on master and slave, SYNC_MASTER: the broker half of the seed's strict settings.
_STRICT = Config(flushDiskType=SYNC_FLUSH, slaveFlushDiskType=SYNC_FLUSH, brokerRole=SYNC_MASTER)
_replace = dataclasses.replace

PRESETS: dict[str, Config] = {
    # The shipped defaults: ASYNC_FLUSH, ASYNC_MASTER, sync send with 2 retries, and an
    # application that takes whatever status send() returns as success.
    "rocketmq-default": Config(),
    # The seed's strict settings: strict broker, only SEND_OK counts as stored (anything else
    # is resent), the consumer acknowledges after processing.
    "seed-strict": _replace(_STRICT, checkStatus=True),
    "sync-flush-async-master": Config(flushDiskType=SYNC_FLUSH, slaveFlushDiskType=SYNC_FLUSH, checkStatus=True),
    "async-flush-sync-master": Config(brokerRole=SYNC_MASTER, checkStatus=True),
    "slave-async-flush": Config(flushDiskType=SYNC_FLUSH, brokerRole=SYNC_MASTER, checkStatus=True),
    # 5.x keeps SYNC_MASTER but by default (inSyncReplicas=1) does not wait for the slave.
    "rocketmq5-sync-master": _replace(_STRICT, rocketmqVersion=5, checkStatus=True),
    "rocketmq5-quorum": _replace(_STRICT, rocketmqVersion=5, inSyncReplicas=2, checkStatus=True),
    # Each of the rest is seed-strict with one thing weakened.
    "oneway": _replace(_STRICT, sendMode=ONEWAY_SEND),
    "async-send": _replace(_STRICT, sendMode=ASYNC_SEND, checkStatus=True),
    "ack-before-process": _replace(_STRICT, ackBeforeProcess=True, checkStatus=True),
    "no-status-check": _replace(_STRICT, checkStatus=False),
    "idempotent-strict": _replace(_STRICT, idempotentConsumer=True, checkStatus=True),
}


def preset(name: str) -> Config:
    """The preset called `name`; ConfigError lists the known names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}: allowed {', '.join(PRESETS)}") from None
