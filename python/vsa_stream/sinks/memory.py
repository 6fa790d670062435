"""Alerts kept in memory: the sink of the demo, the evaluation and the tests."""

from __future__ import annotations

from collections.abc import Iterable

from vsa_stream.events import Event
from vsa_stream.sinks.base import DeliveryPolicy, Sink

__all__ = ["MemorySink"]


class MemorySink(Sink):
    """Keeps every event revision it is given, in delivery order, in :attr:`events`.

    Nothing is ever dropped: for runs of a bounded length (a clip, a scene, a test), not for a
    daemon.

    Args:
        name: the sink's name (its cursor in the outbox).
        types: the event types it receives (None: all), as :attr:`DeliveryPolicy.types`.
    """

    def __init__(self, name: str = "memory", *, types: Iterable[str] | None = None) -> None:
        self.name = name
        self.policy = DeliveryPolicy(types=frozenset(types) if types is not None else None)
        #: Every revision received, in order.
        self.events: list[Event] = []
        #: True once :meth:`aclose` was called.
        self.closed = False

    async def send(self, event: Event) -> None:
        """Keep one revision."""
        self.events.append(event)

    async def aclose(self) -> None:
        """Mark the sink closed; what it kept stays readable."""
        self.closed = True

    def of(self, camera: str, kind: str | None = None) -> list[Event]:
        """The revisions of ``camera`` (of type ``kind`` when given), in order."""
        return [
            e for e in self.events if e.camera_id == camera and (kind is None or e.type == kind)
        ]

    def opened(self, kind: str | None = None) -> list[Event]:
        """The first revision of each event (``state == "open"``), of type ``kind`` if given."""
        return [e for e in self.events if e.state == "open" and (kind is None or e.type == kind)]
