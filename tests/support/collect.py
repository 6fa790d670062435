"""A sink for the tests: it keeps every event revision it is given, in order."""

from __future__ import annotations

from vsa_stream.events import Event
from vsa_stream.sinks.memory import MemorySink


class Collect(MemorySink):
    """The package's memory sink, with the daemon's ``audit_checkpoint`` revisions kept apart
    from the alerts (in ``checkpoints``), under the sink name ``name``."""

    def __init__(self, name: str = "collect") -> None:
        super().__init__(name)
        #: The daemon's ``audit_checkpoint`` revisions, kept apart from the alerts.
        self.checkpoints: list[Event] = []

    async def send(self, event: Event) -> None:
        if event.type == "audit_checkpoint":
            self.checkpoints.append(event)
        else:
            await super().send(event)
