"""What `noloss conform --target NAME` needs to know of a broker before it starts one: the
target kind, one class per `--target` name (conformance/targets/registry.py lists them).

A kind is the typed front of an adapter module (reference.py, redis_streams.py, ...): it
names the target, declares its nodes, checks a claimed `Config` and the run's options, and
makes `Target`s. It imports nothing heavy: the adapter (and its client library: redis,
nats, pika) is imported only when the kind is asked to check a configuration or make a
target, so that listing the kinds (`noloss --help`) stays fast.

The contract each subclass keeps, method by method, is written on `TargetKind` below.
Every refusal is one line naming what is refused and why; the CLI prints it as the error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from noloss.spec.rocketmq.config import SYNC_SEND, Config, ConfigError

if TYPE_CHECKING:  # base.py is not needed to list the kinds (`noloss --help`)
    from noloss.conformance.targets.base import TargetFactory



class TargetOptions(NamedTuple):
    """The run's options that some targets cannot honour (0 means not asked for). A named
    tuple, not a dataclass: it is made when the command line is built (`noloss --help`)."""

    fsync_delay_s: float = 0.0  # each fsync under power loss takes this much longer (--fsync-delay)
    replication_delay_s: float = 0.0  # each push from master to slave is held this long (--replication-delay)


def supports(config: Config) -> None:
    """ConfigError naming the first client-side knob the conformance workload does not
    implement: it sends synchronously and processes every message before committing, on
    every target alike."""
    unsupported = {
        "sendMode": config.sendMode != SYNC_SEND,
        "commitBeforeProcess": config.commitBeforeProcess,
        "consumerMayFail": config.consumerMayFail,
        "idempotentConsumer": config.idempotentConsumer,
        "retryAnotherBrokerWhenNotStoreOK": config.retryAnotherBrokerWhenNotStoreOK,
    }
    for knob, set_ in unsupported.items():
        if set_:
            raise ConfigError(f"{knob}={getattr(config, knob)}: the conformance workload sends synchronously and processes every message before committing")


class TargetKind(ABC):
    """One `--target` of `noloss conform`. Used as a class (never instantiated): every
    method is a classmethod, and what is fixed about the kind is a class attribute.

    Contract:
    - `name`: the `--target` value, unique among the registered kinds, lower-case words
      joined by `-`.
    - `nodes`: the nodes its targets run, by the spec's names ("master", "slave"); the same
      as the `nodes` of every `Target` its `factory` makes.
    - `settings_of(config)`: raises `ConfigError` (a ValueError) naming the first knob of
      `config` the broker cannot claim; returns nothing (the adapter's own `settings_of`
      returns the broker settings, for its tests). It starts nothing.
    - `supports(config)`: raises `ConfigError` naming the first knob the conformance
      workload cannot drive on this target (by default the workload's own limits).
    - `refuse_options(options)`: raises `ValueError` naming the first option the kind
      cannot honour, the option first (`--fsync-delay: ...`) and the kind by name.
    - `fault_refusal(fault)`: for every fault kind `noloss conform` takes (the spec's fault
      table and failover), the one-line reason this kind cannot run it at all (a node it
      does not have), or None;
      a fault only some runs cannot have (power loss without FUSE) is the run's to report.
      ValueError for a name that is not a fault kind.
    - `factory(config, options)`: what `conformance.run.run` takes to make each run's
      target. It refuses `options` as `refuse_options` does (an option is never silently
      dropped); call it after `check(config, options)`, as the adapter may raise the
      config's errors too. It starts nothing. A subclass writes `make_factory`.
    """

    name: ClassVar[str]
    nodes: ClassVar[tuple[str, ...]]
    accepts_fsync_delay: ClassVar[bool] = False  # its nodes' power-loss filesystem can slow each fsync

    @classmethod
    @abstractmethod
    def settings_of(cls, config: Config) -> None:
        """ConfigError for the first knob of `config` the broker cannot claim."""

    @classmethod
    def supports(cls, config: Config) -> None:
        """ConfigError for the first knob the workload cannot drive on this target."""
        supports(config)

    @classmethod
    def refuse_options(cls, options: TargetOptions) -> None:
        """ValueError naming the first option of `options` this kind cannot honour."""
        if options.fsync_delay_s and not cls.accepts_fsync_delay:
            raise ValueError(f"--fsync-delay: only the reference target mounts its nodes with a delay, not {cls.name}")
        if options.replication_delay_s and "slave" not in cls.nodes:
            raise ValueError(f"--replication-delay: the {cls.name} target runs one node: there is no replication link to slow")

    @classmethod
    def check(cls, config: Config, options: TargetOptions) -> None:
        """Everything a run of `config` with `options` would refuse, before anything starts:
        the broker's settings, the workload's, then the options (ValueError, one line)."""
        cls.settings_of(config)
        cls.supports(config)
        cls.refuse_options(options)

    @classmethod
    def fault_refusal(cls, fault: str) -> str | None:
        """Why this kind can never run `fault` (one line), None when it may. A failover needs
        no slave here: a target without one says so when the run starts (`Target.promotes`)."""
        # The fault scheduler's module and the table: not needed to list kinds (`noloss --help`).
        from noloss.conformance.faults import FAILOVER, conform_kinds, nodes_hit
        from noloss.spec.rocketmq.faults import FAULTS

        allowed = conform_kinds(FAULTS)
        if fault not in allowed:
            raise ValueError(f"unknown fault {fault!r}: allowed {', '.join(allowed)}")
        if fault != FAILOVER and any(node not in cls.nodes for node in nodes_hit(FAULTS, fault)):
            return f"the {cls.name} target runs one node: no slave to fault"
        return None

    @classmethod
    def factory(cls, config: Config, options: TargetOptions = TargetOptions()) -> TargetFactory:
        """Make targets of `config` honouring `options`, one per run."""
        cls.refuse_options(options)
        return cls.make_factory(config, options)

    @classmethod
    @abstractmethod
    def make_factory(cls, config: Config, options: TargetOptions) -> TargetFactory:
        """The adapter's factory for `config` (`options` are ones this kind accepts)."""
