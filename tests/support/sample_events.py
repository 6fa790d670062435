"""A synthetic event revision, for the tests of the outbox and the sinks."""

from __future__ import annotations

import msgspec

from vsa_stream.event_types import EventType
from vsa_stream.events import Event, Evidence, new_event_id


def make_event(camera: str = "cam", kind: EventType = "intrusion", **changes: object) -> Event:
    event = Event(
        id=new_event_id(),
        revision=1,
        type=kind,
        camera_id=camera,
        state="open",
        started_at=1.0,
        updated_at=1.0,
        start_s=0.0,
        start_frame=0,
        evidence=Evidence(frame_index=0, stream_time_s=0.0),
    )
    return msgspec.structs.replace(event, **changes) if changes else event
