"""``camera_tampered``: a health event while the view is covered, moved or defocused.

The dual-rate background (Rust) measures, per frame, the spatial deviation, the edge energy and
the part of the frame that differs from the slow model, against their usual values; a condition
that holds for ``tamper_frames`` frames raises the flag (see ``_core.DualBackground``).
:class:`TamperWatch` turns the flag into an event: ``open`` when it rises (with the reason and
score), ``updated`` if the reason changes, ``closed`` when the view is back. It is a health
signal, like ``camera_offline``, not one of the eight situations: no storm control, no cooldown.

Example:
    >>> from vsa_stream.observation import Observation, Tampering
    >>> watch = TamperWatch("gate")
    >>> def frame(t, flag, reason=None):
    ...     return Observation("gate", int(t * 10), t, 1e9 + t, 64, 48,
    ...                        tamper=Tampering(flag, reason, 0.9 if flag else 0.1))
    >>> [e.state for e in watch.update(frame(1.0, True, "covered"))]
    ['open']
    >>> watch.update(frame(1.1, True, "covered"))
    []
    >>> [(e.state, e.reason) for e in watch.update(frame(4.0, False))]
    [('closed', 'view restored')]
"""

from __future__ import annotations

from vsa_stream.event_types import TAMPER_TYPE
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.observation import Observation

__all__ = ["TAMPER_TYPE", "TamperWatch"]


class TamperWatch:
    """Follows one camera's tampering flag; returns the event revisions it causes."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self._open: Event | None = None

    def update(self, obs: Observation) -> list[Event]:
        """The revisions of this frame (none on most frames)."""
        tamper = obs.tamper
        if tamper is None:
            return []
        open_ = self._open
        if tamper.flag and open_ is None:
            self._open = Event(
                id=new_event_id(obs.wall_time),
                revision=1,
                type=TAMPER_TYPE,
                camera_id=self.camera_id,
                state="open",
                started_at=obs.wall_time,
                updated_at=obs.wall_time,
                start_s=obs.time_s,
                start_frame=obs.frame_index,
                evidence=self._evidence(obs),
                reason=tamper.reason,
            )
            return [self._open]
        if tamper.flag and open_ is not None and tamper.reason != open_.reason:
            self._open = open_.revised(
                state="updated",
                updated_at=obs.wall_time,
                evidence=self._evidence(obs),
                reason=tamper.reason,
            )
            return [self._open]
        if not tamper.flag and open_ is not None:
            return [self._close(obs, "view restored")]
        return []

    def finish(self, last: Observation | None, reason: str) -> list[Event]:
        """Close the open event, if any (the stream ended, the engine stops)."""
        if self._open is None or last is None:
            return []
        return [self._close(last, reason)]

    def _close(self, obs: Observation, reason: str) -> Event:
        assert self._open is not None
        closed = self._open.revised(
            state="closed",
            updated_at=obs.wall_time,
            ended_at=obs.wall_time,
            end_s=obs.time_s,
            reason=reason,
        )
        self._open = None
        return closed

    @staticmethod
    def _evidence(obs: Observation) -> Evidence:
        tamper = obs.tamper
        score = round(tamper.score, 3) if tamper is not None else 0.0
        return Evidence(
            frame_index=obs.frame_index, stream_time_s=obs.time_s, values={"score": score}
        )
