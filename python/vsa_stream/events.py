"""Events: what the engine tells an operator, and the wire format every sink carries.

An event is one situation on one camera, with a lifecycle (``open`` → ``updated`` →
``closed``) and a review state: ``pending`` until an operator records a verdict (``confirmed``,
``false_alarm`` with a cause from :data:`CAUSES`, or ``unclear``; ``dismissed`` is the verdict of
earlier versions, which gave no cause: still accepted, and read as a false alarm of unknown
cause). Each change is published as a new *revision* of the same event: the ``id`` never
changes and is the delivery idempotency key. Ids are time-ordered UUIDs (version 7), so they
sort by time.

The event model knows no transport: sinks encode it with :func:`encode`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Literal, get_args

import msgspec

from vsa_stream.event_types import EventType

__all__ = [
    "CAUSES",
    "VERDICTS",
    "Cause",
    "Event",
    "Evidence",
    "IntervalStats",
    "LineCount",
    "Review",
    "State",
    "ZoneOccupancy",
    "decode",
    "encode",
    "new_event_id",
]

State = Literal["open", "updated", "closed"]
Review = Literal["pending", "confirmed", "false_alarm", "unclear", "dismissed"]
#: What an operator may record (``dismissed``: the cause-less verdict of earlier versions).
VERDICTS: tuple[Review, ...] = ("confirmed", "false_alarm", "unclear", "dismissed")
Cause = Literal[
    "reflection",
    "light_or_beacon",
    "sign_or_display",
    "furniture_or_object",
    "weather",
    "animal",
    "vehicle",
    "person_not_in_danger",
    "camera_problem",
    "other",
]
#: Why an alert was a false alarm: the closed list an operator picks from (``false_alarm``).
CAUSES: tuple[Cause, ...] = get_args(Cause)


class Evidence(msgspec.Struct, kw_only=True):
    """What made the rule fire, without any image: boxes are normalised to 0..1.

    Attributes:
        frame_index: index of the decoded frame the evidence was taken from.
        stream_time_s: position of that frame in the stream, seconds.
        boxes: ``(x0, y0, x1, y1)`` of the objects concerned, normalised to the frame size.
        values: the measured values that fired the rule (``dwell_s``, ``objects``, ...).
        track_ids: the tracks concerned: small integers local to one camera and one run.
    """

    frame_index: int
    stream_time_s: float
    boxes: list[tuple[float, float, float, float]] = msgspec.field(default_factory=list)
    values: dict[str, float] = msgspec.field(default_factory=dict)
    track_ids: list[int] = msgspec.field(default_factory=list)


class LineCount(msgspec.Struct, kw_only=True):
    """Crossings of one counting line in one direction by one class during an interval.

    ``count`` is an integer, or ``"< k"`` when it is from 1 to ``k - 1``, ``k`` the camera's
    ``min_count`` (a zero is written 0).
    """

    line: str
    direction: str
    object_class: str = msgspec.field(name="class")
    count: int | str


class ZoneOccupancy(msgspec.Struct, kw_only=True):
    """How many objects of one class stood in one zone during an interval: the mean over the
    analysed frames and the peak, each a number, or ``"< k"`` when above 0 and below
    ``min_count``."""

    zone: str
    object_class: str = msgspec.field(name="class")
    mean: float | str
    peak: int | str


class IntervalStats(msgspec.Struct, kw_only=True):
    """The aggregates of one camera over one interval (a ``statistics`` revision): counts and
    occupancy only, never a track, a box or an image.

    Attributes:
        start: the interval's start, Unix seconds (a multiple of its length).
        end: its end, Unix seconds.
        interval_min: its length, minutes.
        complete: False when the camera analysed only part of it (started or stopped within,
            or away longer than its ``supervision.offline_after_s``).
        frames: frames analysed in it.
        min_count: counts above 0 and below this are written ``"< k"``.
        crossings: per line, direction and class.
        occupancy: per zone and class.
    """

    start: float
    end: float
    interval_min: int
    complete: bool
    frames: int
    min_count: int
    crossings: list[LineCount] = msgspec.field(default_factory=list)
    occupancy: list[ZoneOccupancy] = msgspec.field(default_factory=list)


class Event(msgspec.Struct, kw_only=True):
    """One revision of an event (see the module docstring).

    Times ``*_at`` are Unix seconds (wall clock); ``start_s`` / ``end_s`` are positions in the
    stream, which is what a recording or a scan is compared against.
    """

    id: str
    revision: int
    #: One of :data:`vsa_stream.event_types.EVENT_TYPES`: decoding refuses any other.
    type: EventType
    camera_id: str
    state: State
    review: Review = "pending"
    zone_id: str | None = None
    started_at: float
    updated_at: float
    ended_at: float | None = None
    start_s: float
    end_s: float | None = None
    start_frame: int
    evidence: Evidence
    reason: str | None = None
    review_note: str | None = None
    #: Why the alert was a false alarm (``review == "false_alarm"`` only).
    review_cause: Cause | None = None
    #: The aggregates of a ``statistics`` revision (None for every other type).
    statistics: IntervalStats | None = None

    def revised(self, **changes: object) -> Event:
        """The next revision of this event with ``changes`` applied."""
        return msgspec.structs.replace(self, revision=self.revision + 1, **changes)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode(event: Event) -> bytes:
    """The JSON encoding of an event (one line, no trailing newline)."""
    return _encoder.encode(event)


def decode(data: bytes | str) -> Event:
    """Parse an event from its JSON encoding."""
    return _decoder.decode(data)


_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_event_id(now: float | None = None) -> str:
    """A new time-ordered UUID (RFC 9562 version 7), monotonic within this process.

    Example:
        >>> a, b = new_event_id(), new_event_id()
        >>> a < b and uuid.UUID(a).version == 7
        True
    """
    global _last_ms, _seq
    ms = int((time.time() if now is None else now) * 1000)
    with _lock:
        if ms <= _last_ms:
            ms = _last_ms
            _seq += 1
            if _seq >= 1 << 12:  # 4096 ids in one millisecond: borrow the next one
                ms += 1
                _seq = 0
        else:
            _seq = 0
        _last_ms = ms
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))
