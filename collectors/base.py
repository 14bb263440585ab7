"""The collector plugin seam.

A collector turns one connection to one target into samples (and events). The scheduler
creates one instance per target per collector (so a collector may keep state between polls,
such as the slowlog id watermark), calls `collect` on its tier's schedule, and takes care of
timeouts, errors and reconnects: a collector just raises.

Third-party collectors register a factory under the entry-point group
`cachewatch.collectors`; see `collectors/registry.py`.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from monitor.model import Event, SampleBatch
from monitor.targets import Target, TargetKind

__all__ = ["Tier", "Capabilities", "CollectContext", "Collector", "CollectorFactory", "Unsupported"]


class Tier(enum.StrEnum):
    FAST = "fast"  # every poll
    SLOW = "slow"  # every `slow_interval` (default 60 s); between runs its last output is reused


class Unsupported(Exception):
    """Raised by a collector when the server lacks (or refuses) what it needs.

    The scheduler logs the reason once and stops calling that collector for the life of
    the connection; it is not counted as a poll error.
    """


@dataclass(slots=True)
class Capabilities:
    """What a server supports, probed once per connection (see `collectors/redis_probe.py`)."""

    server: str = "redis"  # "redis" or "valkey" (or "memcached")
    version: tuple[int, ...] = ()
    #: lower-case command names that exist and are allowed for our user
    commands: set[str] = field(default_factory=set)
    #: lower-case "command subcommand" pairs known to be refused or missing
    refused: set[str] = field(default_factory=set)
    cluster_enabled: bool = False
    facts: dict[str, str] = field(default_factory=dict)

    def at_least(self, *version: int) -> bool:
        return self.version >= version

    @property
    def sentinel(self) -> bool:
        """A Redis Sentinel (`redis_mode:sentinel`): it holds no data, so the data-node
        collectors have nothing to read there."""
        return self.facts.get("redis_mode") == "sentinel"

    def allows(self, command: str) -> bool:
        """True unless the command (or "command subcommand") was found missing or refused."""
        command = command.lower()
        if command in self.refused or command.split(" ", 1)[0] in self.refused:
            return False
        head = command.split(" ", 1)[0]
        return not self.commands or head in self.commands


@dataclass(slots=True)
class CollectContext:
    target: Target
    capabilities: Capabilities
    log: logging.Logger
    events: list[Event] = field(default_factory=list)
    #: collectors' options from the config's `[collectors.<name>]` table
    options: dict[str, Any] = field(default_factory=dict)
    #: what one collector parsed that a later one in the same poll can reuse instead of
    #: asking the server again (e.g. INFO commandstats); new for every poll
    scratch: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Collector(Protocol):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[TargetKind]]
    tier: ClassVar[Tier]

    async def collect(self, conn: Any, ctx: CollectContext, out: SampleBatch) -> None:
        """Add this poll's samples to `out` (and events to `ctx.events`); raise on failure."""
        ...


class CollectorFactory(Protocol):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[TargetKind]]
    tier: ClassVar[Tier]

    def __call__(self) -> Collector: ...
