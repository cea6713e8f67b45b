"""Configuration and fault-model input: users' names, and one-line errors naming the bad part."""

from __future__ import annotations

import pytest

from noloss.spec.rocketmq.config import Config, ConfigError, preset
from noloss.spec.rocketmq.faults import FAULT_KINDS, FaultSpecError, parse_faults


def test_settings_use_rocketmq_names() -> None:
    config = preset("rocketmq-default").with_settings({"flushDiskType": "SYNC_FLUSH", "checkStatus": "TRUE"})
    assert config.flushDiskType == "SYNC_FLUSH" and config.checkStatus is True
    assert config.waits_for_flush and not config.waits_for_slave


def test_version_5_sync_master_waits_only_with_a_quorum() -> None:
    assert Config(brokerRole="SYNC_MASTER").waits_for_slave
    assert not Config(brokerRole="SYNC_MASTER", rocketmqVersion="5.1").waits_for_slave
    assert Config(brokerRole="SYNC_MASTER", rocketmqVersion="5.1", inSyncReplicas=2).waits_for_slave


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("flushDiskType", "SOMETIMES", "bad value 'SOMETIMES' for flushDiskType: allowed ASYNC_FLUSH|SYNC_FLUSH"),
        ("checkStatus", "yes", "bad value 'yes' for checkStatus: allowed true|false"),
        ("messages", "two", "bad value 'two' for messages: allowed an integer 1..4"),
        ("messages", "9", "bad value 9 for messages: allowed an integer 1..4"),
    ],
)
def test_bad_values_are_named(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        Config().with_settings({key: value})
    assert str(error.value) == message


def test_unknown_setting_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting 'flushDiskTyp': allowed flushDiskType, "):
        Config().with_settings({"flushDiskTyp": "SYNC_FLUSH"})


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="unknown preset 'strictest': allowed rocketmq-default, strict"):
        preset("strictest")


def test_fault_parsing() -> None:
    model = parse_faults("master-crash*2,net-drop", 3)
    assert dict(zip(FAULT_KINDS, model.bounds))["master-crash"] == 2
    assert dict(zip(FAULT_KINDS, model.bounds))["net-drop"] == 3
    assert model.max_faults == 3
    assert parse_faults("all", 1).enabled_kinds() == FAULT_KINDS
    assert parse_faults("none", 2).enabled_kinds() == ()
    with pytest.raises(FaultSpecError, match="unknown fault kind 'master-explodes': allowed master-crash"):
        parse_faults("master-explodes", 1)
    with pytest.raises(FaultSpecError, match="bad count 'x' for fault 'net-drop'"):
        parse_faults("net-drop*x", 1)


def test_model_key_covers_every_knob_the_spec_reads() -> None:
    """Presets that share a model_key share an exploration: the key must cover all the spec reads."""
    import pathlib
    import re

    # The state machine's modules; config.py builds Configs, conf_files.py reads users' files
    # into them and protocol.py hands them to the checker: none is the model.
    readers = {"config.py", "conf_files.py", "protocol.py"}
    read = set()
    for path in pathlib.Path("spec/rocketmq").glob("*.py"):
        if path.name not in readers:
            read |= set(re.findall(r"config\.([A-Za-z_]+)", path.read_text()))
    assert read, "the scan found no config reads at all"
    covered = {
        "waits_for_flush", "waits_for_slave", "dispatch_bounded_on_master", "dispatch_bounded_on_slave",
        "consumer_reads_slave", "slave_not_available", "overflow_to_min", "haTrustSlaveOffset", "sends_oneway", "send_retries", "retryAnotherBrokerWhenNotStoreOK",
        "checkStatus", "commitBeforeProcess", "idempotentConsumer", "consumerMayFail", "maxReconsumeTimes",
        "messages", "redeliveries",
    }
    assert read <= covered, f"the spec reads {read - covered}, which Config.model_key leaves out"
    # Knobs outside the key are ones the spec never reads.
    assert Config(slaveFlushDiskType="SYNC_FLUSH").model_key() == Config().model_key()
    # A release is its behaviours: 4.9.7 and 4.9.8 are one model, 5.3 is not 5.1 under SYNC_FLUSH.
    assert Config(rocketmqVersion="4.9.8").model_key() == Config().model_key()
    # A knob that does not apply to the release is not part of the model: it adds no state.
    assert Config(readUnCommitted=True, slaveReadEnable=True).model_key() == Config().model_key()
    assert Config(rocketmqVersion="5.3", readUnCommitted=True).model_key() == Config(rocketmqVersion="5.3").model_key()
    strict = Config(flushDiskType="SYNC_FLUSH", rocketmqVersion="5.3")
    assert strict.model_key() != strict.with_settings({"rocketmqVersion": "5.1"}).model_key()
    assert strict.with_settings({"readUnCommitted": "true"}).model_key() == strict.with_settings({"rocketmqVersion": "5.1"}).model_key()
    assert Config(flushDiskType="SYNC_FLUSH").model_key() != Config().model_key()


def _transitions(config: Config, scenario_name: str) -> set[tuple[object, object, object]]:
    """Every (state, action, successor) of `config` under a scenario, by a plain BFS over the spec."""
    from noloss.spec.rocketmq.faults import scenario
    from noloss.spec.rocketmq.model import Model

    model = Model(config, scenario(scenario_name))
    seen = set(model.init_states())
    frontier = list(seen)
    transitions = set()
    while frontier:
        state = frontier.pop()
        for action in model.actions(state):
            after = model.next_state(state, action)
            transitions.add((state, action, after))
            if after not in seen:
                seen.add(after)
                frontier.append(after)
    return transitions


def test_a_sync_and_an_async_send_with_the_same_retries_are_one_model() -> None:
    """model_key keeps of sendMode only oneway-or-not and the retry count that applies: the matrix
    explores `async-send` once with `strict`. The graphs must be equal, transition for transition,
    under a fault that makes the client retry (a master crash refuses sends)."""
    sync, asynchronous = Config(), Config(sendMode="async")
    assert sync.model_key() == asynchronous.model_key()
    assert _transitions(sync, "master-crash") == _transitions(asynchronous, "master-crash")
    # The retry count that applies stays in the key, and it does change the graph.
    fewer = Config(sendMode="async", retryTimesWhenSendAsyncFailed=0)
    assert fewer.model_key() != sync.model_key()
    assert _transitions(fewer, "master-crash") != _transitions(sync, "master-crash")
    assert Config(sendMode="oneway").model_key() != sync.model_key()
