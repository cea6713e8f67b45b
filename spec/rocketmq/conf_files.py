"""RocketMQ's own configuration files, read the way the broker and clients read them.

Four kinds of `key=value` file: the master's `broker.conf` (`--broker-conf`), the slave's
(`--slave-conf`), and the producer's and consumer's properties. `parse_properties` reads
the text as `java.util.Properties` does for these simple files (`#`/`!` comments, blank
lines, `=`, `:` or whitespace between key and value, whitespace around them, `\\` line
continuations; the last of a repeated key wins). `interpret` sorts every key into one of:

- **modelled**: it sets a `Config` knob (a slave's `flushDiskType` sets `slaveFlushDiskType`);
- **read, no effect on the model**: durability-related, but timing in an untimed model, a
  value the model already assumes, or checked for consistency only;
- **ignored**: everything else (names, ports, paths, thread pools), listed, never silent.

A value the model cannot take, a role in the wrong file, or a setting the model does not
cover (DLedger, controller mode, more than two replicas) is a `ConfFileError`: one line
naming file, line and key. Pure: the command line opens the files and hands their bytes to
`parse_file`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from noloss.spec.rocketmq.config import ASYNC_MASTER, KNOBS, SYNC_MASTER, Config, ConfigError, allowed_values, parse_value
from noloss.spec.rocketmq.versions import canonical_version

BROKER = "broker"  # the master's broker.conf
SLAVE = "slave"  # the slave's broker.conf
PRODUCER = "producer"
CONSUMER = "consumer"
OPTION = {BROKER: "--broker-conf", SLAVE: "--slave-conf", PRODUCER: "--producer-conf", CONSUMER: "--consumer-conf"}
SLAVE_ROLE = "SLAVE"
MODEL_REPLICAS = 2  # the model's broker group: one master, one slave


Origin = tuple[str, int]  # (path, line number)


class ConfFileError(ValueError):
    """A configuration file the model cannot take; the message is one line naming the place."""


@dataclass(frozen=True, slots=True)
class Line:
    """One `key=value` setting and the line it starts on."""

    number: int
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class ConfFile:
    """One file's settings, in file order, and what kind of file it is."""

    kind: str  # BROKER | SLAVE | PRODUCER | CONSUMER
    path: str  # as the user named it: messages cite it
    lines: tuple[Line, ...]
    text: str = ""  # the whole file as read (reports show it)

    def where(self, line: Line | None) -> str:
        return self.path if line is None else f"{self.path}:{line.number}"

    def last(self, key: str) -> Line | None:
        """The setting java.util.Properties keeps for `key` (the last one), or None."""
        found = [line for line in self.lines if line.key == key]
        return found[-1] if found else None


@dataclass(frozen=True, slots=True)
class Reading:
    """What the files say, sorted: knob values to apply, and what the model makes of the rest."""

    files: tuple[ConfFile, ...]
    settings: Mapping[str, str]  # Config knob -> raw value, to apply with Config.with_settings
    origins: Mapping[str, Origin]  # Config knob -> the file and line it came from
    no_effect: Mapping[str, tuple[str, ...]]  # reason -> keys read with no effect on the model
    ignored: tuple[str, ...]  # keys that do not affect durability, with a hint for near-misses
    notes: tuple[str, ...]  # what the model approximates or does not cover in these files


# --- the keys, per kind of file -----------------------------------------------------------

# File key -> Config knob. `rocketmqVersion`, `sendMode`, `checkStatus`, `commitBeforeProcess`,
# `idempotentConsumer` and `consumerMayFail` are noloss's own keys (RocketMQ ignores unknown
# keys, so they may stay in the real files); the rest are RocketMQ's.
_MODELLED: dict[str, dict[str, str]] = {
    BROKER: {
        "flushDiskType": "flushDiskType",
        "brokerRole": "brokerRole",
        "inSyncReplicas": "inSyncReplicas",
        "readUnCommitted": "readUnCommitted",
        "rocketmqVersion": "rocketmqVersion",
    },
    SLAVE: {
        "flushDiskType": "slaveFlushDiskType",
        "readUnCommitted": "readUnCommitted",
        "slaveReadEnable": "slaveReadEnable",
        "rocketmqVersion": "rocketmqVersion",
    },
    PRODUCER: {
        key: key
        for key in (
            "sendMode",
            "retryTimesWhenSendFailed",
            "retryTimesWhenSendAsyncFailed",
            "retryAnotherBrokerWhenNotStoreOK",
            "checkStatus",
        )
    },
    CONSUMER: {key: key for key in ("maxReconsumeTimes", "commitBeforeProcess", "idempotentConsumer", "consumerMayFail")},
}

TIMING = "timing: the model is untimed, every timeout and interval is a free choice"
RETENTION = "retention: the model keeps files for as long as it runs"
CHECKED = "checked for consistency only"
MASTER_ONLY = "a master's setting: no effect on a slave"
GAP = "the model's slave is in sync or not, whatever the gap"
NEW_GROUP = "the model's consumer group exists before the first send"
ASSUMED = "the model assumes this value"
CONTAINER = "checked against inSyncReplicas only by a broker container (BrokerContainerStartup), not in classic mode"
ACTING_MASTER = "read only with enableSlaveActingMaster (CommitLog.calcNeedAckNums): no effect in classic mode"
REDIRECT = "on a master it only lets the master send consumers to the slave while it lags, which the model's consumer does not do"

_BROKER_NO_EFFECT = {
    "syncFlushTimeout": TIMING,
    "slaveTimeout": TIMING,
    "flushIntervalCommitLog": TIMING,
    "flushCommitLogLeastPages": TIMING,
    "flushCommitLogThoroughInterval": TIMING,
    "flushCommitLogTimed": TIMING,
    "flushConsumerOffsetInterval": TIMING,
    "haSendHeartbeatInterval": TIMING,
    "haHousekeepingInterval": TIMING,
    "haMaxTimeSlaveNotCatchup": TIMING,
    "haMaxGapNotInSync": GAP,
    "haSlaveFallbehindMax": GAP,
    "deleteWhen": RETENTION,
    "fileReservedTime": RETENTION,
    "brokerId": CHECKED,
    "brokerName": CHECKED,
    "totalReplicas": CONTAINER,
    "minInSyncReplicas": CONTAINER,
    "enableAutoInSyncReplicas": ACTING_MASTER,
    "slaveReadEnable": REDIRECT,
}
_NO_EFFECT: dict[str, dict[str, str]] = {
    BROKER: _BROKER_NO_EFFECT,
    SLAVE: {
        **_BROKER_NO_EFFECT,
        "brokerRole": CHECKED,
        "inSyncReplicas": MASTER_ONLY,
        "totalReplicas": MASTER_ONLY,
        "minInSyncReplicas": MASTER_ONLY,
        "enableAutoInSyncReplicas": MASTER_ONLY,
    },
    PRODUCER: {"sendMsgTimeout": TIMING},
    CONSUMER: {
        "consumeTimeout": TIMING,
        "persistConsumerOffsetInterval": TIMING,
        "pullInterval": TIMING,
        "suspendCurrentQueueTimeMillis": TIMING,
        "consumeFromWhere": NEW_GROUP,
    },
}

# Durability-relevant keys whose RocketMQ default the model assumes: key -> (default, what
# another value would change). Another value is read and noted, not modelled.
_BROKER_ASSUMED = {
    "transientStorePoolEnable": (
        "false",
        "a crash also loses the off-heap write buffer not yet committed to the page cache",
    ),
    "duplicationEnable": (
        "false",
        "consumers see entries only up to a confirm offset set from outside, and SYNC_MASTER does not wait for the slave",
    ),
    "enableSlaveActingMaster": ("false", "a 5.x slave takes over some master duties while the master is down"),
    "allAckInSyncStateSet": ("false", "5.x controller mode waits for the whole in-sync set"),
}
_ASSUMED: dict[str, dict[str, tuple[str, str]]] = {
    BROKER: _BROKER_ASSUMED,
    SLAVE: _BROKER_ASSUMED,
    PRODUCER: {},
    CONSUMER: {"messageModel": ("CLUSTERING", "BROADCASTING consumers keep their offsets locally")},
}

# Settings that replace the protocol the model checks: key -> what it is. `true` is an error.
_UNSUPPORTED = {
    "enableDLegerCommitLog": "DLedger (Raft) replication",
    "enableControllerMode": "controller-mode failover",
}
# 5.x-only broker keys: under rocketmqVersion 4 RocketMQ ignores them, and so does the model;
# a broker file with one and no rocketmqVersion is read as 5.x.
FIVE_ONLY = (
    "readUnCommitted",
    "haMaxGapNotInSync",
    "inSyncReplicas",
    "totalReplicas",
    "minInSyncReplicas",
    "allAckInSyncStateSet",
    "enableAutoInSyncReplicas",
    "enableSlaveActingMaster",
    "enableControllerMode",
)


# --- reading ------------------------------------------------------------------------------


_BOM = b"\xef\xbb\xbf"


def parse_file(kind: str, path: str, data: bytes) -> ConfFile:
    """Parse the bytes of the file at `path`; a binary file or one with a BOM is one line."""
    if data.startswith(_BOM):
        raise ConfFileError(
            f"{path}:1: starts with a UTF-8 byte order mark (EF BB BF): RocketMQ reads the file as "
            f"ISO-8859-1, so {_bom_effect(data)}; save the file without the BOM"
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise ConfFileError(f"{OPTION[kind]} {path}: a binary file (NUL byte at offset {nul}), not key=value text")
    text = data.decode("latin-1")  # java.util.Properties.load(InputStream)
    return ConfFile(kind, path, parse_properties(text), text)


def _bom_effect(data: bytes) -> str:
    """What the BOM does to RocketMQ's reading (Properties.load on ISO-8859-1, then a setter per
    key name, BrokerStartup/MixAll.properties2Object): its three characters join the first line,
    whose key (or whose whole setting, after leading blanks) is then never looked up."""
    first = (data[len(_BOM) :].decode("latin-1").splitlines() or [""])[0].strip()
    if not first or first[0] in "#!":
        return "its first line starts with three stray characters (harmless to this comment or blank line, not to a key)"
    key = _split(1, first).key
    return f"its first line starts with three stray characters (\u00ef\u00bb\u00bf) and its key {key} is ignored ({key} keeps its default)"


def parse_properties(text: str) -> tuple[Line, ...]:
    """`key=value` lines as java.util.Properties reads simple files (no `\\uXXXX` escapes)."""
    lines: list[Line] = []
    physical = text.splitlines()
    index = 0
    while index < len(physical):
        number = index + 1
        logical = physical[index].lstrip()
        index += 1
        while _continues(logical) and index < len(physical):
            logical = logical[:-1] + physical[index].lstrip()
            index += 1
        if not logical or logical[0] in "#!":
            continue
        lines.append(_split(number, logical.rstrip()))
    return tuple(lines)


def _continues(line: str) -> bool:
    """An odd number of trailing backslashes joins the next line on."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split(number: int, line: str) -> Line:
    for position, char in enumerate(line):
        if char in "=: \t\f":
            key, rest = line[:position], line[position:].lstrip(" \t\f")
            if rest[:1] in ("=", ":"):
                rest = rest[1:]
            return Line(number, key, rest.strip())
    return Line(number, line, "")


# --- interpreting -------------------------------------------------------------------------


def interpret(files: Sequence[ConfFile], allow_unknown_keys: bool = False) -> Reading:
    """Sort every key of `files` (at most one of each kind); ConfFileError on the first bad one.

    A key one edit away from a modelled key (`flushDiskTyp`) is taken for a typo and refused,
    since RocketMQ would silently ignore it, unless `allow_unknown_keys`.
    """
    settings: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    no_effect: dict[str, list[str]] = {}
    ignored: list[str] = []
    notes: list[str] = []
    for conf in files:
        _check_roles(conf)
        for key in dict.fromkeys(line.key for line in conf.lines):
            line = conf.last(key)
            assert line is not None
            repeated = [other.number for other in conf.lines if other.key == key]
            if len(repeated) > 1:
                numbers = ", ".join(map(str, repeated))
                notes.append(f"{conf.path}: {key} set on lines {numbers}: the last wins, as java.util.Properties reads it")
            knob = _MODELLED[conf.kind].get(key)
            if knob is not None:
                _set(conf, line, knob, settings, origins)
            elif key in _NO_EFFECT[conf.kind]:
                _add(no_effect.setdefault(_NO_EFFECT[conf.kind][key], []), key)
            elif key in _ASSUMED[conf.kind]:
                default, change = _ASSUMED[conf.kind][key]
                if line.value.lower() == default.lower():
                    _add(no_effect.setdefault(ASSUMED, []), key)
                else:
                    where = conf.where(line)
                    notes.append(f"{where}: {key}={line.value} is not modelled ({change}); checked as {default}")
            elif key in _UNSUPPORTED and conf.kind in (BROKER, SLAVE):
                if line.value.lower() == "true":
                    raise ConfFileError(
                        f"{conf.where(line)}: {key}: {_UNSUPPORTED[key]} is not modelled "
                        "(noloss checks classic master/slave replication)"
                    )
                _add(no_effect.setdefault(ASSUMED, []), key)
            else:
                _misplaced(conf, line)
                if not allow_unknown_keys:
                    _typo(conf, line)
                _add(ignored, key + _near_miss(conf.kind, key))
    _check_pair(files)
    implied = _implied_version(files, settings)
    if implied is not None:
        conf, line = implied
        settings["rocketmqVersion"] = "5"
        origins["rocketmqVersion"] = (conf.path, line.number)
        notes.append(
            f"{conf.where(line)}: {line.key} is read only by RocketMQ 5, so rocketmqVersion is taken as 5 "
            f"({canonical_version('5')}); set rocketmqVersion to check another release"
        )
    return Reading(
        files=tuple(files),
        settings=settings,
        origins=origins,
        no_effect={reason: tuple(keys) for reason, keys in no_effect.items()},
        ignored=tuple(ignored),
        notes=tuple(notes),
    )


def _implied_version(files: Sequence[ConfFile], settings: Mapping[str, str]) -> tuple[ConfFile, Line] | None:
    """The first 5.x-only key of the master's broker.conf, when no file names a version."""
    if "rocketmqVersion" in settings:
        return None
    for conf in files:
        if conf.kind == BROKER:
            for line in conf.lines:
                if line.key in FIVE_ONLY:
                    return conf, line
    return None


def _add(keys: list[str], key: str) -> None:
    """List `key` once (the master's and the slave's files share many keys)."""
    if key not in keys:
        keys.append(key)


def _set(conf: ConfFile, line: Line, knob: str, settings: dict[str, str], origins: dict[str, Origin]) -> None:
    """One modelled key: parse it as the knob, and refuse two files that disagree."""
    if conf.kind == BROKER and line.key == "brokerRole" and line.value == SLAVE_ROLE:
        raise ConfFileError(
            f"{conf.where(line)}: brokerRole: bad value {line.value!r} "
            f"(allowed {allowed_values(knob)}; a slave's file goes to --slave-conf)"
        )
    try:
        value = parse_value(knob, line.value)
    except ConfigError:
        raise ConfFileError(
            f"{conf.where(line)}: {line.key}: bad value {line.value!r} (allowed {allowed_values(knob)})"
        ) from None
    if knob in settings and parse_value(knob, settings[knob]) != value:
        raise ConfFileError(
            f"{conf.where(line)}: {line.key}: {line.value!r} differs from {_where(origins[knob])} ({settings[knob]!r})"
        )
    settings.setdefault(knob, line.value)
    origins.setdefault(knob, (conf.path, line.number))


def _where(origin: Origin) -> str:
    return f"{origin[0]}:{origin[1]}"


def _check_roles(conf: ConfFile) -> None:
    """A slave's file must make a slave; the replica counts must fit the model's group."""
    if conf.kind == SLAVE:
        role = conf.last("brokerRole")
        if role is None:
            raise ConfFileError(
                f"{conf.path}: brokerRole: missing (a slave's file must say brokerRole=SLAVE; "
                f"RocketMQ's default is {ASYNC_MASTER})"
            )
        if role.value != SLAVE_ROLE:
            raise ConfFileError(
                f"{conf.where(role)}: brokerRole: bad value {role.value!r} (allowed SLAVE in --slave-conf)"
            )
        broker_id = conf.last("brokerId")
        if broker_id is None or not broker_id.value.isdigit() or int(broker_id.value) < 1:
            shown = "missing" if broker_id is None else f"bad value {broker_id.value!r}"
            raise ConfFileError(
                f"{conf.where(broker_id)}: brokerId: {shown} (allowed an integer >= 1 for a slave; 0 is the master)"
            )
    if conf.kind == BROKER:
        for key in ("totalReplicas", "minInSyncReplicas"):
            line = conf.last(key)
            if line is not None and _replicas(conf, line) > MODEL_REPLICAS:
                raise ConfFileError(
                    f"{conf.where(line)}: {key}: {line.value} replicas, but the model's broker group is "
                    f"one master and one slave (allowed 1..{MODEL_REPLICAS})"
                )


def _replicas(conf: ConfFile, line: Line | None) -> int:
    """A replica count (RocketMQ's default 1 when absent); ConfFileError unless a positive integer."""
    if line is None:
        return 1
    if not line.value.isdigit() or int(line.value) < 1:
        raise ConfFileError(f"{conf.where(line)}: {line.key}: bad value {line.value!r} (allowed an integer >= 1)")
    return int(line.value)


def _check_pair(files: Sequence[ConfFile]) -> None:
    """A slave replicates the master of its own brokerName."""
    kinds = {conf.kind: conf for conf in files}
    if BROKER not in kinds or SLAVE not in kinds:
        return
    master, slave = kinds[BROKER].last("brokerName"), kinds[SLAVE].last("brokerName")
    if master is not None and slave is not None and master.value != slave.value:
        raise ConfFileError(
            f"{kinds[SLAVE].where(slave)}: brokerName: {slave.value!r} differs from the master's "
            f"{master.value!r} at {kinds[BROKER].where(master)} (a slave replicates its own brokerName's master)"
        )


def _misplaced(conf: ConfFile, line: Line) -> None:
    """A key another kind of file models is a mistake, not something to ignore."""
    for kind, keys in _MODELLED.items():
        if line.key in keys and _side(kind) != _side(conf.kind):
            raise ConfFileError(f"{conf.where(line)}: {line.key}: a {kind} setting (put it in {OPTION[kind]})")


def one_edit(a: str, b: str) -> bool:
    """`a` and `b` differ by one insertion, deletion, substitution, adjacent swap or by case only."""
    if a == b:
        return False
    if a.lower() == b.lower():
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _typo(conf: ConfFile, line: Line) -> None:
    """A key one edit from a key that changes the model: RocketMQ would ignore it, silently."""
    for kind in (conf.kind, *_MODELLED):
        for known in _MODELLED[kind]:
            if one_edit(line.key, known):
                raise ConfFileError(
                    f"{conf.where(line)}: {line.key}: unknown key, one edit from {known}, which changes the "
                    f"model (RocketMQ ignores unknown keys and would keep {known}'s default); fix it, or pass "
                    "--allow-unknown-keys"
                )


def _side(kind: str) -> str:
    return BROKER if kind == SLAVE else kind


def _near_miss(kind: str, key: str) -> str:
    known = [*_MODELLED[kind], *_NO_EFFECT[kind], *_ASSUMED[kind], *KNOBS]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
    return f" (did you mean {close[0]}?)" if close else ""


# --- after --set: what depends on the version the run checks ------------------------------


def review(reading: Reading, config: Config, version_origin: str) -> tuple[str, ...]:
    """Notes that depend on the final config (files, then --set).

    `version_origin`: `--set` if that chose the version, else the preset (a file line wins over it).
    """
    broker = next((conf for conf in reading.files if conf.kind == BROKER), None)
    if broker is None:
        return ()
    if version_origin != "--set" and "rocketmqVersion" in reading.origins:
        version_origin = _where(reading.origins["rocketmqVersion"])
    if version_origin.startswith("--preset"):
        version_origin += "; rocketmqVersion=X.Y in the broker file or --set rocketmqVersion=X.Y checks another release"
    notes = [f"rocketmqVersion {config.rocketmqVersion} ({version_origin})"]
    present = [key for key in FIVE_ONLY if broker.last(key) is not None]
    if config.release.line == 4:
        if present:
            notes.append(
                f"5.x-only keys read under rocketmqVersion {config.rocketmqVersion}, where RocketMQ ignores them "
                f"and so does the model: {', '.join(present)}"
            )
        return tuple(notes)
    if config.brokerRole == SYNC_MASTER and not config.waits_for_slave:
        notes.append(f"rocketmqVersion {config.rocketmqVersion}: SYNC_MASTER with inSyncReplicas 1 does not wait for the slave")
    return tuple(notes)


def summary_lines(reading: Reading, notes: Sequence[str]) -> list[str]:
    """The report header: files, modelled knobs with their origin, no-effect, ignored, notes."""
    lines = []
    for conf in reading.files:
        knobs = [knob for knob, (path, _) in reading.origins.items() if path == conf.path]
        modelled = ", ".join(f"{knob}={reading.settings[knob]}" for knob in knobs) or "nothing"
        lines.append(f"{OPTION[conf.kind]} {conf.path}: modelled {modelled}")
    for reason, keys in reading.no_effect.items():
        lines.append(f"  read, no effect on the model: {', '.join(keys)} ({reason})")
    if reading.ignored:
        lines.append(f"  ignored (no effect on durability): {', '.join(reading.ignored)}")
    lines.extend(f"  note: {note}" for note in (*reading.notes, *notes))
    return lines


def summary_data(reading: Reading, notes: Sequence[str]) -> dict[str, object]:
    """The same as `summary_lines`, for JSON: `ignored` is its own list."""
    return {
        "files": {OPTION[conf.kind]: conf.path for conf in reading.files},
        "modelled": {
            knob: {"value": value, "from": _where(reading.origins[knob])} for knob, value in reading.settings.items()
        },
        "read_no_effect": {reason: list(keys) for reason, keys in reading.no_effect.items()},
        "ignored": list(reading.ignored),
        "notes": [*reading.notes, *notes],
    }
