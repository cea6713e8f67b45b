"""`noloss trace-check`: a valid trace, an invalid one, bad input; and the reference broker's
traces in simulation (sim-trace) are behaviours of the spec.

What these traces can show: the hand-written ones test the checker. The sim-trace ones come
from conformance/rocketmq/world.py, which drives the broker's cores one spec action at a time (the
spec picks each step, and faults are the spec's), so they can only fail where the cores and
the spec disagree inside those steps: close to circular. The trace-check that is not
circular is in tests/conformance: real `noloss broker` processes and real clients under
real faults, a history no spec step produced, judged by the spec; and each broker or
client mutation rejected there on such a history (test_mutations_caught.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noloss.conformance.rocketmq.trace_check import event_json, parse_event
from tests.mbt.cli_helper import noloss

TRACES = Path(__file__).parent / "traces"


def test_a_valid_trace_is_a_behaviour_of_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code = noloss("trace-check", "--preset", "rocketmq-default", str(TRACES / "valid-default.ndjson"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "10 events, a behaviour of the spec" in out


def test_a_message_pulled_before_the_master_died_may_be_delivered_after_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """5.3: no slave serves pulls, so the consumer delivers m0 while the master is down only
    because it pulled m0 before the cut: the unreduced spec's `pull`, then `process`."""
    events = [
        {"event": "send", "msg": 0, "attempt": 1},
        {"event": "status", "msg": 0, "attempt": 1, "status": "SEND_OK"},
        {"event": "fault", "node": "master", "kind": "power-loss"},
        {"event": "deliver", "msg": 0, "queue": "topic", "offset": 0},
        {"event": "consume", "msg": 0, "result": "CONSUME_SUCCESS"},
    ]
    trace = tmp_path / "pulled.ndjson"
    trace.write_text("".join(json.dumps(event) + "\n" for event in events))
    code = noloss("trace-check", "--preset", "sync-flush-async-master", "--set", "rocketmqVersion=5.3", str(trace))
    assert code == 0, capsys.readouterr().out
    # A consumer restarted while the master is down holds nothing pulled before the cut:
    # tests/conformance/test_judge.py (the same check, message by message).


def test_an_invalid_trace_names_the_first_unexplained_event_and_the_spec_states(
    capsys: pytest.CaptureFixture[str]
) -> None:
    # SEND_OK under SYNC_FLUSH means m0 was on disk: after the power loss it is still the
    # queue's first message, so m1 cannot be delivered at offset 0.
    code = noloss("trace-check", "--preset", "strict", str(TRACES / "invalid-strict.ndjson"))
    out = capsys.readouterr().out
    assert code == 1
    first = out.splitlines()[0]
    assert first.endswith('invalid-strict.ndjson:7: the spec (strict) cannot explain {"event": "deliver", "msg": 1, "queue": "topic", "offset": 0}')
    assert "after 6 explained events the spec was in" in out
    assert "    master.log: [m0, m1]" in out  # a state the spec was in: m0 survived the power loss
    assert '  {"event": "deliver", "msg": 0, "queue": "topic", "offset": 0}' in out  # what it allows instead


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"event": "send", "msg": 0}', "line 2: missing field 'attempt'"),
        ('{"event": "status", "msg": 0, "attempt": 1, "status": "OK"}', "line 2: field 'status': 'OK' is not one of SEND_OK"),
        ('{"event": "deliver", "msg": -1, "queue": "topic", "offset": 0}', "line 2: field 'msg': -1 is not an integer >= 0"),
        ('{"event": "fly"}', "line 2: field 'event': 'fly' is not one of send"),
        ('{"event": "fault", "node": "both", "kind": "crash"}', "line 2: field 'kind': 'crash' is not one of power-loss"),
        ("send m0", "line 2: not JSON"),
    ],
)
def test_bad_input_is_one_line_naming_line_and_field_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    trace = tmp_path / "bad.ndjson"
    trace.write_text('{"event": "send", "msg": 0, "attempt": 1}\n' + line + "\n")
    code = noloss("trace-check", str(trace))
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_missing_file_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert noloss("trace-check", "/nonexistent/trace.ndjson") == 2
    assert "cannot read /nonexistent/trace.ndjson" in capsys.readouterr().err


def test_events_round_trip_through_json() -> None:
    for text in (TRACES / "valid-default.ndjson").read_text().splitlines():
        assert json.loads(event_json(parse_event(text, 1))) == json.loads(text)


@pytest.mark.parametrize("name", ["strict", "rocketmq-default", "commit-before-process"])
def test_the_reference_brokers_traces_are_behaviours_of_the_spec(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sim-trace runs the real cores in simulation under faults; trace-check explains the trace."""
    for seed in range(4):
        trace = tmp_path / f"{name}-{seed}.ndjson"
        assert noloss("sim-trace", "--preset", name, "--seed", str(seed), "--steps", "50", "--max-faults", "2") == 0
        trace.write_text(capsys.readouterr().out)
        code = noloss("trace-check", "--preset", name, "--max-faults", "2", str(trace))
        captured = capsys.readouterr()
        assert code == 0, captured.out + captured.err

