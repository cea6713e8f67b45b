"""RocketMQ's own configuration files: parsing, one-line errors naming file:line: key, precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_check.cli import main
from spec.config import Config
from spec.rocketmq_conf import (
    ASSUMED,
    BROKER,
    CHECKED,
    CONSUMER,
    PRODUCER,
    RETENTION,
    SLAVE,
    TIMING,
    ConfFile,
    ConfFileError,
    Line,
    interpret,
    parse_properties,
    read_file,
    review,
)

SLAVE_OK = "brokerName=broker-a\nbrokerId=1\nbrokerRole=SLAVE\n"


def conf(kind: str, text: str, path: str = "x.conf") -> ConfFile:
    return ConfFile(kind, path, parse_properties(text))


def error_of(*files: ConfFile) -> str:
    with pytest.raises(ConfFileError) as error:
        interpret(files)
    return str(error.value)


def test_properties_syntax_as_java_reads_it() -> None:
    text = "# comment\n! also a comment\n\n  flushDiskType  =  SYNC_FLUSH  \nbrokerRole:SYNC_MASTER\nbrokerName broker-a\nempty=\nlong = a\\\n    b\n"
    assert parse_properties(text) == (
        Line(4, "flushDiskType", "SYNC_FLUSH"),
        Line(5, "brokerRole", "SYNC_MASTER"),
        Line(6, "brokerName", "broker-a"),
        Line(7, "empty", ""),
        Line(8, "long", "ab"),
    )


def test_keys_are_sorted_into_modelled_no_effect_and_ignored() -> None:
    master = conf(
        BROKER,
        "brokerClusterName=DefaultCluster\nbrokerName=broker-a\nbrokerId=0\ndeleteWhen=04\n"
        "brokerRole=SYNC_MASTER\nflushDiskType=SYNC_FLUSH\nsyncFlushTimeout=5000\nlistenPort=10911\n"
        "duplicationEnable=false\n",
        "master.conf",
    )
    reading = interpret([master])
    assert reading.settings == {"brokerRole": "SYNC_MASTER", "flushDiskType": "SYNC_FLUSH"}
    assert reading.origins == {"brokerRole": ("master.conf", 5), "flushDiskType": ("master.conf", 6)}
    assert reading.no_effect == {
        CHECKED: ("brokerName", "brokerId"),
        RETENTION: ("deleteWhen",),
        TIMING: ("syncFlushTimeout",),
        ASSUMED: ("duplicationEnable",),
    }
    assert reading.ignored == ("brokerClusterName", "listenPort")


def test_ignored_near_misses_say_what_was_meant() -> None:
    assert interpret([conf(BROKER, "flushDiskTyp=SYNC_FLUSH\n")]).ignored == ("flushDiskTyp (did you mean flushDiskType?)",)


def test_values_the_model_does_not_cover_are_noted() -> None:
    reading = interpret([conf(BROKER, "transientStorePoolEnable=true\n", "m.conf")])
    assert reading.notes[0].startswith("m.conf:1: transientStorePoolEnable=true is not modelled (a crash also loses")


def test_the_last_of_a_repeated_key_wins_and_is_noted() -> None:
    reading = interpret([conf(BROKER, "flushDiskType=SYNC_FLUSH\nflushDiskType=ASYNC_FLUSH\n", "m.conf")])
    assert reading.settings == {"flushDiskType": "ASYNC_FLUSH"}
    assert reading.notes == ("m.conf: flushDiskType set on lines 1, 2: the last wins, as java.util.Properties reads it",)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            BROKER,
            "brokerRole=SYNC_MASTER\n\n# x\nflushDiskType = SYNC\n",
            "master.conf:4: flushDiskType: bad value 'SYNC' (allowed ASYNC_FLUSH|SYNC_FLUSH)",
        ),
        (
            BROKER,
            "brokerRole=SLAVE\n",
            "master.conf:1: brokerRole: bad value 'SLAVE' "
            "(allowed ASYNC_MASTER|SYNC_MASTER; a slave's file goes to --slave-conf)",
        ),
        (
            BROKER,
            "totalReplicas=3\n",
            "master.conf:1: totalReplicas: 3 replicas, but the model's broker group is one master and one slave "
            "(allowed 1..2)",
        ),
        (BROKER, "inSyncReplicas=three\n", "master.conf:1: inSyncReplicas: bad value 'three' (allowed an integer 1..2)"),
        (
            BROKER,
            "enableDLegerCommitLog=true\n",
            "master.conf:1: enableDLegerCommitLog: DLedger (Raft) replication is not modelled "
            "(noloss checks classic master/slave replication)",
        ),
        (
            SLAVE,
            "brokerId=1\n",
            "master.conf: brokerRole: missing (a slave's file must say brokerRole=SLAVE; "
            "RocketMQ's default is ASYNC_MASTER)",
        ),
        (SLAVE, "brokerId=1\nbrokerRole=SYNC_MASTER\n", "master.conf:2: brokerRole: bad value 'SYNC_MASTER' (allowed SLAVE in --slave-conf)"),
        (
            SLAVE,
            "brokerRole=SLAVE\nbrokerId=0\n",
            "master.conf:2: brokerId: bad value '0' (allowed an integer >= 1 for a slave; 0 is the master)",
        ),
        (PRODUCER, "checkStatus=yes\n", "master.conf:1: checkStatus: bad value 'yes' (allowed true|false)"),
        (PRODUCER, "maxReconsumeTimes=3\n", "master.conf:1: maxReconsumeTimes: a consumer setting (put it in --consumer-conf)"),
        (CONSUMER, "flushDiskType=SYNC_FLUSH\n", "master.conf:1: flushDiskType: a broker setting (put it in --broker-conf)"),
    ],
)
def test_each_bad_file_is_one_line_naming_file_line_and_key(kind: str, text: str, message: str) -> None:
    assert error_of(conf(kind, text, "master.conf")) == message


def test_the_slave_file_sets_the_slave_flush_and_must_pair_with_its_master() -> None:
    slave = conf(SLAVE, SLAVE_OK + "flushDiskType=SYNC_FLUSH\ninSyncReplicas=2\n", "s.conf")
    reading = interpret([conf(BROKER, "brokerName=broker-a\n"), slave])
    assert reading.settings == {"slaveFlushDiskType": "SYNC_FLUSH"}
    assert "inSyncReplicas" in reading.no_effect["a master's setting: no effect on a slave"]
    other = conf(SLAVE, SLAVE_OK.replace("broker-a", "broker-b"), "s.conf")
    assert error_of(conf(BROKER, "brokerName=broker-a\n", "m.conf"), other) == (
        "s.conf:1: brokerName: 'broker-b' differs from the master's 'broker-a' at m.conf:1 "
        "(a slave replicates its own brokerName's master)"
    )


def test_two_files_disagreeing_on_the_version_is_an_error() -> None:
    master = conf(BROKER, "rocketmqVersion=5\n", "m.conf")
    slave = conf(SLAVE, SLAVE_OK + "rocketmqVersion=4\n", "s.conf")
    assert error_of(master, slave) == "s.conf:4: rocketmqVersion: '4' differs from m.conf:1 ('5')"


def test_version_5_keys_under_version_4_are_said_to_do_nothing() -> None:
    reading = interpret([conf(BROKER, "brokerRole=SYNC_MASTER\ninSyncReplicas=2\ntotalReplicas=2\n", "m.conf")])
    config = Config().with_settings(reading.settings)
    assert review(reading, config, "--preset rocketmq-default") == (
        "rocketmqVersion 4 (--preset rocketmq-default; rocketmqVersion=5 in the broker file or "
        "--set rocketmqVersion=5 checks 5.x)",
        "5.x-only keys read under rocketmqVersion 4, where RocketMQ ignores them and so does the model: "
        "inSyncReplicas, totalReplicas",
    )
    assert review(reading, config.with_settings({"rocketmqVersion": "5"}), "--set") == ("rocketmqVersion 5 (--set)",)


def test_version_5_checks_the_replica_counts_as_the_broker_does() -> None:
    reading = interpret([conf(BROKER, "rocketmqVersion=5\nbrokerRole=SYNC_MASTER\ninSyncReplicas=2\n", "m.conf")])
    with pytest.raises(ConfFileError) as error:
        review(reading, Config().with_settings(reading.settings), "--preset rocketmq-default")
    assert str(error.value) == (
        "m.conf:3: inSyncReplicas: 2 with totalReplicas 1 and minInSyncReplicas 1 "
        "(RocketMQ 5 refuses to start unless min <= inSync <= total)"
    )
    reading = interpret([conf(BROKER, "rocketmqVersion=5\nbrokerRole=SYNC_MASTER\n", "m.conf")])
    assert review(reading, Config().with_settings(reading.settings), "--preset rocketmq-default") == (
        "rocketmqVersion 5 (m.conf:1)",
        "rocketmqVersion 5: SYNC_MASTER with inSyncReplicas 1 does not wait for the slave",
    )


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfFileError, match=r"^--broker-conf .*nope.conf: cannot read: No such file or directory$"):
        read_file(BROKER, str(tmp_path / "nope.conf"))


# --- through the command line -----------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", "--quiet", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_async_flush_loses_a_message_on_master_power_loss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    master = write(tmp_path, "master.conf", "brokerName=broker-a\nbrokerRole=SYNC_MASTER\nflushDiskType=ASYNC_FLUSH\nlistenPort=10911\n")
    code, out, err = run(capsys, "--broker-conf", master, "--faults", "master-power-loss")
    assert code == 1 and err == ""
    assert f"--broker-conf {master}: modelled brokerRole=SYNC_MASTER, flushDiskType=ASYNC_FLUSH" in out
    assert "  ignored (no effect on durability): listenPort" in out
    assert "NoAckedLoss" in out and "VIOLATED" in out


def test_cli_bad_value_is_one_line_on_stderr_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    master = write(tmp_path, "master.conf", "brokerRole=SYNC_MASTER\n\n# flush\nflushDiskType = SYNC\n")
    code, out, err = run(capsys, "--broker-conf", master, "--faults", "none")
    assert (code, out) == (2, "")
    assert err == f"noloss: error: {master}:4: flushDiskType: bad value 'SYNC' (allowed ASYNC_FLUSH|SYNC_FLUSH)\n"


def test_cli_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--producer-conf", str(tmp_path / "producer.properties"), "--faults", "none")
    assert (code, out) == (2, "")
    assert err.startswith("noloss: error: --producer-conf ") and err.count("\n") == 1


def test_cli_precedence_preset_then_files_then_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    master = write(tmp_path, "master.conf", "flushDiskType=ASYNC_FLUSH\n")
    producer = write(tmp_path, "producer.properties", "retryTimesWhenSendFailed=5\nproducerGroup=g\n")
    argv = ["--preset", "seed-strict", "--broker-conf", master, "--producer-conf", producer]
    options = ("--faults", "none", "--format", "json", "--properties", "NoAckedLoss")
    code, out, _ = run(capsys, *argv, "--set", "retryTimesWhenSendFailed=1", *options)
    data = json.loads(out)
    assert code == 0
    assert data["config"]["flushDiskType"] == "ASYNC_FLUSH"  # the file over the preset
    assert data["config"]["brokerRole"] == "SYNC_MASTER"  # the preset where the file says nothing
    assert data["config"]["retryTimesWhenSendFailed"] == 1  # --set over the file
    assert data["ignored"] == ["producerGroup"]
    assert data["conf"]["modelled"]["flushDiskType"] == {"value": "ASYNC_FLUSH", "from": f"{master}:1"}


def test_cli_help_states_the_precedence(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "precedence: --preset < --broker-conf/--slave-conf/--producer-conf/--consumer-conf < --set" in help_text
