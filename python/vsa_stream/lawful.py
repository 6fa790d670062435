"""The lawful frame at run time: before each frame, which situations a camera may analyse.

A camera's pipeline asks its :class:`AuthorisationGate` before each frame, at the engine's
clock (Unix seconds; tests drive it). The answer follows the configuration's
``authorisations`` (:mod:`vsa_stream.authorisation`):

* no authorisation in force covers the camera: the frame is dropped unread (no motion, no
  detection, no rule), the camera's state reads ``unauthorised``; a camera with
  ``statistics`` still counts (aggregates are not one of the eight situations), with none of
  its rules running;
* a camera that only counts (``statistics`` and no rule) needs no authorisation;
* one covers it: the frame is analysed, and only the rules of the situations it allows run;
  a rule that leaves the authorisation has its open events closed and starts afresh when it
  comes back.

Each change (and the first decision of a run) is an audit record (``authorisation``: start,
stop or change, with the references in force), and while anything configured on the camera is
outside every authorisation a ``camera_unauthorised`` health event is open: opened at the
boundary, revised when the set changes, closed when everything is authorised again or when the
camera stops. Under the ``lab`` profile without authorisations, every rule runs.

Example:
    >>> from vsa_stream.config import loads
    >>> cfg = loads('''
    ... cameras: [{id: gate, url: rtsp://cam/live}]
    ... authorisations:
    ...   - {reference: A-1, start: "2026-12-01T08:00Z", end: "2026-12-01T20:00Z",
    ...      cameras: [gate], situations: [intrusion]}
    ... ''')
    >>> gate = AuthorisationGate(cfg.cameras[0], cfg)
    >>> gate.check(1796112000.0, 0, 0.0).analyse   # 2026-12-01T08:00Z
    True
    >>> decision = gate.check(1796155200.0, 1, 0.1)  # 20:00Z, the end
    >>> decision.analyse, decision.change, [e.type for e in decision.events]
    (False, 'stop', ['camera_unauthorised'])
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Literal

from vsa_stream.authorisation import PROFILE_LIMITS, Schedule
from vsa_stream.config import LEGAL_PROFILES, Camera, Config
from vsa_stream.event_types import UNAUTHORISED_TYPE
from vsa_stream.events import Event, Evidence, new_event_id

__all__ = ["UNAUTHORISED_TYPE", "AuthorisationGate", "Decision"]


Change = Literal["start", "stop", "change"]


@dataclass(slots=True)
class Decision:
    """What the gate says about one frame.

    Attributes:
        analyse: analyse this frame (an authorisation in force covers the camera).
        situations: the situations whose rules may run.
        change: set when this frame's decision differs from the previous one (the first frame
            of a run included): ``start`` (analysis starts), ``stop`` (it stops), ``change``
            (other situations).
        audit: the audit record of the change (None without a change).
        events: ``camera_unauthorised`` revisions to emit.
    """

    analyse: bool
    situations: frozenset[str]
    change: Change | None = None
    audit: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)


class AuthorisationGate:
    """One camera's authorisation state (see the module docstring).

    Args:
        camera: the camera.
        config: the configuration its authorisations and legal profile come from.
    """

    def __init__(self, camera: Camera, config: Config) -> None:
        profile = config.privacy.legal_profile
        self.camera_id = camera.id
        #: False under a profile that needs no authorisation and has none: everything runs.
        #: A camera that only counts (statistics, no rule) needs none either.
        self.enforced = (bool(camera.rules) or camera.statistics is None) and (
            PROFILE_LIMITS[profile].required or bool(config.authorisations)
        )
        self.schedule = Schedule(config.authorisations)
        self._everything = frozenset(LEGAL_PROFILES[profile])
        self._profile = profile
        self._recorded_only = not PROFILE_LIMITS[profile].live_sources
        self._configured = sorted({str(rule.__struct_config__.tag) for rule in camera.rules})
        self._last: tuple[frozenset[str] | None, tuple[str, ...]] | None = None
        self._open: Event | None = None
        self._frame = (0, 0.0)

    def refusal(self, url: str) -> str | None:
        """Why the profile refuses to read ``url`` at all, or None. Under ``lab`` (recorded
        files only) a path that exists and is not a regular file (a device, a named pipe fed
        by a live stream) is refused; live URL schemes are refused by the configuration."""
        if not self._recorded_only or ("://" in url and not url.startswith("file://")):
            return None
        path = url.removeprefix("file://")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return None  # a missing file fails when it is opened, saying so
        if stat.S_ISREG(mode):
            return None
        return (
            f"privacy.legal_profile {self._profile} reads recorded files only: {path} is not a "
            "regular file (a device or a pipe may carry a live stream)"
        )

    def check(self, now: float, frame_index: int, time_s: float) -> Decision:
        """Decide about the frame ``frame_index`` (stream time ``time_s``) at ``now``."""
        self._frame = (frame_index, time_s)
        if not self.enforced:
            return Decision(True, self._everything)
        allowed = self.schedule.allowed(self.camera_id, now)
        references = tuple(self.schedule.references(self.camera_id, now))
        decision = Decision(allowed is not None, allowed or frozenset())
        state = (allowed, references)
        if state == self._last:
            return decision
        before = self._last[0] if self._last is not None else None
        first = self._last is None
        self._last = state
        if allowed is None:
            decision.change = "stop"
        elif before is None:
            decision.change = "start"
        else:
            decision.change = "change"
        missing = [s for s in self._configured if allowed is None or s not in allowed]
        upcoming = self.schedule.next_change(self.camera_id, now)
        decision.audit = {
            "camera": self.camera_id,
            "change": decision.change,
            "first": first,
            "at": round(now, 3),
            "references": list(references),
            "situations": sorted(allowed) if allowed is not None else [],
            "unauthorised": missing,
            "next_change": _iso(upcoming),
        }
        decision.events = self._health(now, allowed, missing, upcoming)
        return decision

    def finish(self, now: float, reason: str) -> list[Event]:
        """Close the open ``camera_unauthorised`` event (the camera stops)."""
        if self._open is None:
            return []
        closed = self._open.revised(
            state="closed", updated_at=now, ended_at=now, end_s=self._frame[1], reason=reason
        )
        self._open = None
        return [closed]

    def _health(
        self,
        now: float,
        allowed: frozenset[str] | None,
        missing: list[str],
        upcoming: float | None,
    ) -> list[Event]:
        index, time_s = self._frame
        if allowed is not None and not missing:
            return self.finish(now, "every configured situation is authorised")
        if allowed is None:
            reason = "no authorisation in force for this camera: none of its situations is analysed"
        else:
            reason = f"not authorised now: {', '.join(missing)}"
        if upcoming is not None:
            reason += f" (next change {_iso(upcoming)})"
        evidence = Evidence(
            frame_index=index,
            stream_time_s=time_s,
            values={
                "authorised": float(len(allowed or ())),
                "unauthorised": float(len(missing)),
            },
        )
        if self._open is None:
            self._open = Event(
                id=new_event_id(now),
                revision=1,
                type=UNAUTHORISED_TYPE,
                camera_id=self.camera_id,
                state="open",
                started_at=now,
                updated_at=now,
                start_s=time_s,
                start_frame=index,
                evidence=evidence,
                reason=reason,
            )
        else:
            self._open = self._open.revised(
                state="updated", updated_at=now, evidence=evidence, reason=reason
            )
        return [self._open]


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat()
