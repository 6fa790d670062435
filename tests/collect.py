"""A sink for the tests: it keeps every event revision it is given, in order."""

from __future__ import annotations

from vsa_stream.events import Event


class Collect:
    """A sink that keeps what it gets (``events``; the audit checkpoints in ``checkpoints``),
    under the sink name ``name``."""

    def __init__(self, name: str = "collect") -> None:
        self.name = name
        self.events: list[Event] = []
        #: The daemon's ``audit_checkpoint`` revisions, kept apart from the alerts.
        self.checkpoints: list[Event] = []
        self.closed = False

    async def send(self, event: Event) -> None:
        if event.type == "audit_checkpoint":
            self.checkpoints.append(event)
        else:
            self.events.append(event)

    async def aclose(self) -> None:
        self.closed = True

    def of(self, camera: str, kind: str | None = None) -> list[Event]:
        """The revisions of ``camera`` (of type ``kind`` when given)."""
        return [
            e for e in self.events if e.camera_id == camera and (kind is None or e.type == kind)
        ]
