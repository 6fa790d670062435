"""What every rule runner offers. Rules see plain observations, never streams."""

from __future__ import annotations

from typing import Protocol

from vsa_stream.events import Event
from vsa_stream.observation import Observation

__all__ = ["RuleRunner"]


class RuleRunner(Protocol):
    """One configured rule on one camera: fed every observation, returns event revisions."""

    def update(self, obs: Observation) -> list[Event]:
        """Process one frame's observation."""
        ...

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close whatever is open (end of stream, shutdown)."""
        ...
