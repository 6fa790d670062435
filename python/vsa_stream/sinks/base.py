"""What a sink is: somewhere every event revision is delivered, in order."""

from __future__ import annotations

from typing import Protocol

from vsa_stream.events import Event

__all__ = ["Sink"]


class Sink(Protocol):
    """An alert destination. ``send`` returns once the revision is delivered (or raises)."""

    name: str

    async def send(self, event: Event) -> None:
        """Deliver one event revision."""
        ...

    async def aclose(self) -> None:
        """Flush and release resources."""
        ...
