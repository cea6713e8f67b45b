"""RocketMQ's own configuration files: parsing, one-line errors naming file:line: key, precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noloss.cli import main
from noloss.cli.rocketmq_files import read_file
from noloss.spec.rocketmq.config import Config
from noloss.spec.rocketmq.conf_files import (
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


def test_a_key_one_edit_from_a_modelled_key_is_a_typo() -> None:
    for typo in ("flushDiskTyp", "flushDsikType", "flushdisktype", "flushDiskTypes", "brokerRle"):
        message = error_of(conf(BROKER, f"{typo}=SYNC_FLUSH\n"))
        assert message.startswith(f"x.conf:1: {typo}: unknown key, one edit from "), message
        assert message.endswith("pass --allow-unknown-keys")
    # A consumer key misspelt in the producer's file is a typo too.
    assert "one edit from maxReconsumeTimes" in error_of(conf(PRODUCER, "maxReconsumeTime=3\n"))


def test_allowed_near_misses_are_ignored_and_say_what_was_meant() -> None:
    reading = interpret([conf(BROKER, "flushDiskTyp=SYNC_FLUSH\n")], allow_unknown_keys=True)
    assert reading.ignored == ("flushDiskTyp (did you mean flushDiskType?)",)


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


def test_a_5_x_only_key_with_no_version_reads_the_file_as_5_x() -> None:
    reading = interpret([conf(BROKER, "brokerRole=SYNC_MASTER\ninSyncReplicas=2\ntotalReplicas=2\n", "m.conf")])
    assert reading.settings["rocketmqVersion"] == "5"
    assert reading.notes == (
        "m.conf:2: inSyncReplicas is read only by RocketMQ 5, so rocketmqVersion is taken as 5 (5.3); "
        "set rocketmqVersion to check another release",
    )
    config = Config().with_settings(reading.settings)
    assert review(reading, config, "--preset rocketmq-default") == ("rocketmqVersion 5.3 (m.conf:2)",)
    # Told a 4.x release, the model ignores those keys as RocketMQ does, and says so.
    four = Config().with_settings({**reading.settings, "rocketmqVersion": "4.9.7"})
    assert review(reading, four, "--set") == (
        "rocketmqVersion 4.9.7 (--set)",
        "5.x-only keys read under rocketmqVersion 4.9.7, where RocketMQ ignores them and so does the model: "
        "inSyncReplicas, totalReplicas",
    )


def test_classic_5_x_does_not_check_the_replica_counts() -> None:
    """min <= inSync <= total is checked by a broker container only; enableAutoInSyncReplicas acts only with acting masters."""
    text = "rocketmqVersion=5.3\nbrokerRole=SYNC_MASTER\ninSyncReplicas=2\nenableAutoInSyncReplicas=true\n"
    reading = interpret([conf(BROKER, text, "m.conf")])
    assert review(reading, Config().with_settings(reading.settings), "--preset rocketmq-default") == ("rocketmqVersion 5.3 (m.conf:1)",)
    assert any("enableAutoInSyncReplicas" in keys for keys in reading.no_effect.values())
    reading = interpret([conf(BROKER, "rocketmqVersion=5\nbrokerRole=SYNC_MASTER\n", "m.conf")])
    assert review(reading, Config().with_settings(reading.settings), "--preset rocketmq-default") == (
        "rocketmqVersion 5.3 (m.conf:1)",
        "rocketmqVersion 5.3: SYNC_MASTER with inSyncReplicas 1 does not wait for the slave",
    )


def test_the_read_knobs_and_the_4_x_gap_name_are_read() -> None:
    slave = conf(SLAVE, SLAVE_OK + "slaveReadEnable=true\nreadUnCommitted=true\nhaSlaveFallbehindMax=1024\n", "s.conf")
    reading = interpret([conf(BROKER, "rocketmqVersion=5.3\n", "m.conf"), slave])
    assert reading.settings == {"rocketmqVersion": "5.3", "slaveReadEnable": "true", "readUnCommitted": "true"}
    assert "haSlaveFallbehindMax" in reading.no_effect["the model's slave is in sync or not, whatever the gap"]


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
    argv = ["--preset", "strict", "--broker-conf", master, "--producer-conf", producer]
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
