"""RocketMQ releases as sets of behaviours, each read from the source at the release's tag.

Each flag is one behaviour the model reads; docs/spec.md's version table gives the source
function and the upstream issue or pull request of each. `rocketmqVersion` takes a release
number; `4` and `5` stand for the newest release of each line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Release:
    """What one RocketMQ release does, as far as keeping a message goes."""

    name: str  # the release number users write: 4.9.7, 5.3
    dispatch_to_confirm: bool  # ReputMessageService stops at the confirm offset: the flushed one under SYNC_FLUSH
    slave_serves_pulls: bool  # PullMessageProcessor.rejectRequest lets a slave answer pulls without slaveReadEnable
    slave_not_available: bool  # SYNC_MASTER answers SLAVE_NOT_AVAILABLE at once when isSlaveOK fails
    quorum_to_wait: bool  # SYNC_MASTER waits for the slave only when inSyncReplicas >= 2
    overflow_to_min: bool  # OFFSET_OVERFLOW_BADLY moves the offset to minOffset (0), not maxOffset

    @property
    def line(self) -> int:
        """4 or 5: the major line."""
        return int(self.name.split(".")[0])


def _four(name: str, overflow_to_min: bool = False) -> Release:
    return Release(name, False, True, True, False, overflow_to_min)


def _five(name: str, dispatch_to_confirm: bool = False) -> Release:
    return Release(name, dispatch_to_confirm, False, False, True, False)


RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        _four("4.9.3", overflow_to_min=True),  # the last before the OFFSET_OVERFLOW_BADLY change
        _four("4.9.7"),
        _four("4.9.8"),
        _five("5.0"),
        _five("5.1"),
        _five("5.2"),
        _five("5.3", dispatch_to_confirm=True),
    )
}
ALIASES: dict[str, str] = {"4": "4.9.8", "5": "5.3"}  # a line stands for its newest release


def canonical_version(text: str) -> str:
    """The release `text` names (an alias resolved); unchanged if it names none."""
    return ALIASES.get(text, text)
