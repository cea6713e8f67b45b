"""Every registered target kind keeps the contract written on `TargetKind`
(conformance/targets/kind.py), and `noloss conform` refuses what the kind refuses."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from noloss.cli import build_parser, main
from noloss.conformance.faults import conform_kinds
from noloss.spec.rocketmq.faults import FAULTS
from noloss.conformance.targets.kind import TargetKind, TargetOptions
from noloss.conformance.targets.registry import KINDS, TARGETS
from noloss.spec.rocketmq.config import PRESETS, Config, ConfigError, preset

NODE_NAMES = {"master", "slave"}
REFUSED_OPTIONS = [("--fsync-delay", "1ms", TargetOptions(fsync_delay_s=0.001)), ("--replication-delay", "300ms", TargetOptions(replication_delay_s=0.3))]


def accepted(kind: type[TargetKind]) -> tuple[str, Config]:
    """The first preset `kind` can claim (every kind can claim one)."""
    for name in PRESETS:
        config = preset(name)
        try:
            kind.check(config, TargetOptions())
        except ConfigError:
            continue
        return name, config
    raise AssertionError(f"{kind.name} claims no preset")


def test_names_are_unique_and_the_registry_is_keyed_by_them() -> None:
    names = [kind.name for kind in KINDS]
    assert len(set(names)) == len(names)
    assert list(TARGETS) == names
    assert all(TARGETS[kind.name] is kind for kind in KINDS)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names), names


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_kind_declares_the_nodes_its_targets_run(kind: type[TargetKind], tmp_path: Path) -> None:
    assert "master" in kind.nodes and set(kind.nodes) <= NODE_NAMES and len(set(kind.nodes)) == len(kind.nodes)
    _, config = accepted(kind)
    target = kind.factory(config)(tmp_path, False)  # made, not started
    try:
        assert tuple(target.nodes) == kind.nodes
    finally:
        target.close()


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_kind_answers_for_every_fault_kind(kind: type[TargetKind]) -> None:
    slave_faults = {"slave-crash", "slave-power-loss", "slave-disk-loss", "both-power-loss"}
    assert slave_faults <= set(conform_kinds(FAULTS))
    for fault in conform_kinds(FAULTS):
        refusal = kind.fault_refusal(fault)
        needs_missing_node = fault in slave_faults and "slave" not in kind.nodes
        assert (refusal is not None) == needs_missing_node, (fault, refusal)
        if refusal is not None:
            assert kind.name in refusal and "\n" not in refusal
    with pytest.raises(ValueError, match="unknown fault 'meteor'"):
        kind.fault_refusal("meteor")


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_an_option_is_refused_by_check_and_by_factory_alike(kind: type[TargetKind]) -> None:
    _, config = accepted(kind)
    refuses = {"--fsync-delay": not kind.accepts_fsync_delay, "--replication-delay": "slave" not in kind.nodes}
    for option, _, options in REFUSED_OPTIONS:
        if not refuses[option]:
            kind.check(config, options)
            continue
        for refuse in (lambda: kind.check(config, options), lambda: kind.factory(config, options)):
            with pytest.raises(ValueError) as error:
                refuse()
            message = str(error.value)
            assert message.startswith(f"{option}: ") and kind.name in message and "\n" not in message, message


def test_a_kind_refuses_the_configurations_its_broker_cannot_claim() -> None:
    with pytest.raises(ConfigError, match="flushDiskType=SYNC_FLUSH"):
        TARGETS["nats"].check(preset("strict"), TargetOptions())
    with pytest.raises(ConfigError, match="flushDiskType=ASYNC_FLUSH"):
        TARGETS["rabbitmq-classic"].check(preset("rocketmq-default"), TargetOptions())


def test_target_lists_every_registered_kind() -> None:
    conform = _subparser(build_parser(), "conform")
    (target,) = [action for action in conform._actions if "--target" in action.option_strings]
    assert tuple(target.choices or ()) == tuple(TARGETS)


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    raise AssertionError(f"no subcommand {name}")


def _refusals() -> list[tuple[str, str, str]]:
    """(target, option, value) for every option a registered kind refuses."""
    return [
        (kind.name, option, value)
        for kind in KINDS
        for option, value, options in REFUSED_OPTIONS
        if (option == "--fsync-delay" and not kind.accepts_fsync_delay) or (option == "--replication-delay" and "slave" not in kind.nodes)
    ]


@pytest.mark.parametrize(("name", "option", "value"), _refusals())
def test_the_cli_refuses_what_the_kind_refuses_in_one_line(name: str, option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claimed, _ = accepted(TARGETS[name])
    out_dir = tmp_path / "out"
    code = main(["conform", "--target", name, "--preset", claimed, option, value, "--out", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"noloss: error: {option}: ") and name in line, line
    assert not out_dir.exists()  # refused before anything is made


def test_the_cli_reports_a_fault_the_target_cannot_run_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["conform", "--target", "nats", "--preset", "rocketmq-default", "--faults", "slave-crash,slave-disk-loss", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "noloss conform: slave-crash: the nats target runs one node: no slave to fault; running the other faults" in err
    assert "slave-disk-loss: the nats target runs one node" in err
    assert [line.split()[0] for line in out.strip().splitlines()[1:]] == ["slave-crash", "slave-disk-loss"]
    assert list(tmp_path.iterdir()) == []  # no run was started
