"""Apache RocketMQ as a `Protocol` (model_check/protocol.py): what the checker, the matrix,
the reports and the command line take of it. `noloss check --protocol rocketmq`, the default.
"""

from __future__ import annotations

from collections.abc import Mapping

from noloss.model_check.faults import FaultModel
from noloss.model_check.protocol import Protocol
from noloss.spec.rocketmq import display, explain
from noloss.spec.rocketmq.config import PRESETS, Config
from noloss.spec.rocketmq.describe import changes, fields
from noloss.spec.rocketmq.faults import FAULTS
from noloss.spec.rocketmq.model import Model

# The columns a reader of the matrix looks at, in order, and their labels in the text table.
COLUMNS: tuple[str, ...] = (
    "NoAckedLoss",
    "NoAckedStranded",
    "AckedEventuallyConsumed",
    "NoConsumeBeforeProcess",
    "NoPhantom",
    "NoDuplicateProcessing",
    "ExactlyOnceEffect",
)
LABELS: dict[str, str] = {
    "NoAckedLoss": "Loss",
    "NoAckedStranded": "Reach",
    "AckedEventuallyConsumed": "Live",
    "NoConsumeBeforeProcess": "Early",
    "NoPhantom": "Phant",
    "NoDuplicateProcessing": "Dup",
    "ExactlyOnceEffect": "Once",
}

# Size of each scenario's state space (states of its cell on strict, measured): the matrix
# starts the largest cells first so that none is left running alone at the end, and warns
# before a scenario of minutes. Two faults measured on strict, against the matrix's estimate
# (model_check/matrix.py): master-disk-loss+slave-power-loss 38,149 (estimate 35,622),
# master-crash+net-drop 55,649 (97,717), net-dup+master-power-loss 1.71 million (2.79 million).
SCENARIO_STATES: dict[str, int] = {
    "any-2": 24_527_502, "any-1": 356_954, "none": 1_734, "net-dup": 123_084, "both-power-loss": 85_249,
    "master-power-loss": 37_101, "master-crash": 23_970, "slave-power-loss": 15_005, "consumer-crash": 11_316,
    "slave-crash": 8_329, "net-drop": 4_908, "slave-disk-loss": 2_609, "master-disk-loss": 2_125,
}


def configure(config: Config, settings: Mapping[str, str]) -> Config:
    return config.with_settings(settings)


def settings(config: Config) -> dict[str, str | int | bool]:
    return config.settings()


def model_key(config: Config) -> tuple[object, ...]:
    return config.model_key()


def model(config: Config, faults: FaultModel, reduce: bool) -> Model:
    return Model(config, faults, reduce)


def cost(config: Config) -> int:
    """Strict settings before lax ones: each guarantee waited for makes a cell larger."""
    return 1 + config.waits_for_flush + config.waits_for_slave + config.checkStatus + config.commitBeforeProcess


ROCKETMQ = Protocol(
    name="rocketmq",
    title="Apache RocketMQ, a master and its slave (4.x and 5.x releases)",
    faults=FAULTS,
    presets=PRESETS,
    default_preset="rocketmq-default",
    configure=configure,
    settings=settings,
    model_key=model_key,
    model=model,
    is_fault=Model.is_fault,
    columns=COLUMNS,
    labels=LABELS,
    loss="NoAckedLoss",
    stranded="NoAckedStranded",
    size_knob="messages",
    changes=changes,
    state_fields=fields,
    action_data=display.action_data,
    final_note=display.final_note,
    diagram_event=display.diagram_event,
    participants=display.PARTICIPANTS,
    prevention=explain.prevention,
    cost=cost,
    scenario_states=SCENARIO_STATES,
)
