"""The event engine every rule runs on: confirmation, hysteresis, cooldown, merging, storms.

A rule decides, frame by frame, which *keys* (a zone, or one object in a zone) have their
condition true, and hands them to :class:`Lifecycle` as :class:`Trigger`\\ s. The lifecycle
turns those into event revisions:

- **confirmation**: a key's condition must hold for ``min_duration_s`` before an event opens;
  the event is dated from the first frame the condition held (``start_s``, ``start_frame``);
- **merging**: while a key's event is open, every further trigger of that key (the same zone,
  the same track) folds into it: no second event, the evidence keeps the peak values;
- **updates**: an ``updated`` revision when the severity rises (density warning → alert) or,
  if ``update_s`` is set, at most every ``update_s`` seconds while the condition holds;
- **hysteresis**: gaps shorter than ``exit_grace_s`` (a missed detection, an occlusion) do not
  end a condition; once it has been false for ``exit_grace_s`` the event closes;
- **cooldown**: after an event of a key closes, no new event of that key opens for
  ``cooldown_s`` (a condition that started meanwhile may open once the cooldown is over);
- **storm control**: a :class:`StormGuard` shared by all rules of a camera lets at most
  ``max_per_minute`` events open per sliding minute; the rest are suppressed and counted in
  one ``alert_storm`` summary event, closed once a full minute has passed without suppression.

The event id is a UUIDv7 drawn once, dated from the start of the condition, and kept by every
revision: it is the delivery idempotency key.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from vsa_stream.event_types import STORM_TYPE, Situation
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.observation import Observation

__all__ = ["STORM_TYPE", "Lifecycle", "StormGuard", "Timing", "Trigger"]


Box = tuple[float, float, float, float]

# Stream times are sums of frame periods: compare durations with this slack, so that 0.4 - 0.3
# is not longer than 0.1.
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Timing:
    """When events open, update, close and may open again (seconds of stream time)."""

    min_duration_s: float = 0.0
    exit_grace_s: float = 1.0
    cooldown_s: float = 10.0
    update_s: float = 0.0


@dataclass(slots=True)
class Trigger:
    """One key whose condition holds in this frame, with what proves it.

    Attributes:
        key: what merges: triggers with the same key belong to the same event.
        zone_id: the zone concerned, if any.
        boxes: normalised boxes of the objects concerned.
        values: the measured values (speed, density, dwell, ...).
        track_ids: tracks concerned (small integers local to the camera and the run).
        severity: a rise while the event is open publishes an ``updated`` revision.
        peak: names of ``values`` whose maximum over the event is kept (others: latest).
        ready: False holds the condition (its timer runs) without letting the event open yet
            (a further check of the rule, such as growth, is not met).
    """

    key: str
    zone_id: str | None = None
    boxes: list[Box] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    track_ids: list[int] = field(default_factory=list)
    severity: int = 1
    peak: tuple[str, ...] = ()
    ready: bool = True


@dataclass(slots=True)
class _Condition:
    first_s: float
    first_frame: int
    first_wall: float
    last_s: float
    last_wall: float
    trigger: Trigger
    last_frame: int = 0
    event: Event | None = None
    suppressed: bool = False
    last_emit_s: float = 0.0
    severity: int = 0
    peaks: dict[str, float] = field(default_factory=dict)


class StormGuard:
    """Limits how many events one camera opens per sliding minute (shared by its rules).

    Example:
        >>> guard = StormGuard("cam", max_per_minute=2)
        >>> [guard.admit(t, 1000.0 + t, 0, "intrusion")[0] for t in (0.0, 1.0, 2.0, 61.0)]
        [True, True, False, True]
    """

    def __init__(self, camera_id: str, max_per_minute: int) -> None:
        self.camera_id = camera_id
        self.max_per_minute = max_per_minute
        self._opened: deque[float] = deque()
        self._summary: Event | None = None
        self._last_suppressed_s = 0.0
        self._counts: dict[str, float] = {}

    def admit(self, now_s: float, wall: float, frame: int, kind: str) -> tuple[bool, list[Event]]:
        """Whether an event of ``kind`` may open now, and the summary revisions it caused."""
        while self._opened and now_s - self._opened[0] >= 60.0 - _EPS:
            self._opened.popleft()
        if len(self._opened) < self.max_per_minute:
            self._opened.append(now_s)
            return True, []
        self._last_suppressed_s = now_s
        self._counts[kind] = self._counts.get(kind, 0.0) + 1.0
        if self._summary is not None:
            return False, []
        self._summary = Event(
            id=new_event_id(wall),
            revision=1,
            type=STORM_TYPE,
            camera_id=self.camera_id,
            state="open",
            started_at=wall,
            updated_at=wall,
            start_s=now_s,
            start_frame=frame,
            evidence=Evidence(frame_index=frame, stream_time_s=now_s, values=self._values()),
        )
        return False, [self._summary]

    def tick(self, obs: Observation | None, *, final: bool = False) -> list[Event]:
        """Close the summary once a minute has passed without suppression (or at the end)."""
        summary = self._summary
        if summary is None:
            return []
        if not final and (obs is None or obs.time_s - self._last_suppressed_s < 60.0):
            return []
        self._summary = None
        closed = summary.revised(
            state="closed",
            updated_at=summary.updated_at if obs is None else obs.wall_time,
            ended_at=summary.updated_at if obs is None else obs.wall_time,
            end_s=self._last_suppressed_s,
            reason="alert storm over" if not final else "stream ended",
            evidence=Evidence(
                frame_index=summary.evidence.frame_index,
                stream_time_s=summary.evidence.stream_time_s,
                values=self._values(),
            ),
        )
        self._counts = {}
        return [closed]

    def _values(self) -> dict[str, float]:
        values = {f"suppressed_{kind}": n for kind, n in sorted(self._counts.items())}
        values["suppressed"] = sum(self._counts.values())
        values["max_per_minute"] = float(self.max_per_minute)
        return values


class Lifecycle:
    """Turns one rule's per-frame triggers into event revisions (see the module docstring).

    Args:
        camera_id: the camera.
        kind: the situation type of the events.
        timing: confirmation, hysteresis, cooldown and update periods.
        storm: the camera's storm guard, shared by its rules; None: no limit.
        clear_reason: the close reason of an event whose condition stopped holding.
    """

    def __init__(
        self,
        camera_id: str,
        kind: Situation,
        timing: Timing,
        storm: StormGuard | None = None,
        *,
        clear_reason: str = "condition cleared",
    ) -> None:
        self.camera_id = camera_id
        self.kind = kind
        self.timing = timing
        self.storm = storm
        self.clear_reason = clear_reason
        self._conditions: dict[str, _Condition] = {}
        self._quiet_until: dict[str, float] = {}

    @property
    def open_keys(self) -> list[str]:
        """Keys whose event is open."""
        return [k for k, c in self._conditions.items() if c.event is not None]

    def since(self, key: str, now_s: float) -> float | None:
        """Stream time at which ``key``'s condition began (gaps within the grace period
        included), or None when it has not held within the grace period before ``now_s``."""
        cond = self._conditions.get(key)
        if cond is None or now_s - cond.last_s > self.timing.exit_grace_s + _EPS:
            return None
        return cond.first_s

    def step(
        self,
        obs: Observation,
        triggers: list[Trigger],
        reasons: Mapping[str, str] | None = None,
    ) -> list[Event]:
        """Feed this frame's triggers; returns the revisions they produce.

        Args:
            obs: the frame.
            triggers: the keys whose condition holds now (one trigger per key).
            reasons: why a key's condition no longer holds, used if its event closes now
                (``clear_reason`` otherwise).
        """
        out: list[Event] = []
        for key, cond in list(self._conditions.items()):
            if obs.time_s - cond.last_s > self.timing.exit_grace_s + _EPS:
                out.extend(self._end(key, obs, (reasons or {}).get(key, self.clear_reason)))
        for trigger in triggers:
            out.extend(self._hold(obs, trigger))
        if self.storm is not None:
            out.extend(self.storm.tick(obs))
        return out

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        out: list[Event] = []
        for key in list(self._conditions):
            out.extend(self._end(key, obs, reason))
        if self.storm is not None:
            out.extend(self.storm.tick(obs, final=True))
        return out

    def _hold(self, obs: Observation, trigger: Trigger) -> list[Event]:
        cond = self._conditions.get(trigger.key)
        if cond is None:
            cond = _Condition(
                obs.time_s, obs.frame_index, obs.wall_time, obs.time_s, obs.wall_time, trigger
            )
            self._conditions[trigger.key] = cond
        cond.last_s, cond.last_wall, cond.trigger = obs.time_s, obs.wall_time, trigger
        cond.last_frame = obs.frame_index
        for name in trigger.peak:
            if name in trigger.values:
                value = trigger.values[name]
                cond.peaks[name] = max(cond.peaks.get(name, value), value)
        if cond.suppressed:
            return []
        duration = obs.time_s - cond.first_s
        if cond.event is None:
            if duration < self.timing.min_duration_s - _EPS or not trigger.ready:
                return []
            if obs.time_s < self._quiet_until.get(trigger.key, float("-inf")) - _EPS:
                return []
            out: list[Event] = []
            if self.storm is not None:
                admitted, summary = self.storm.admit(
                    obs.time_s, obs.wall_time, obs.frame_index, self.kind
                )
                out.extend(summary)
                if not admitted:
                    cond.suppressed = True
                    return out
            cond.event = self._open(obs, cond, duration)
            cond.last_emit_s, cond.severity = obs.time_s, trigger.severity
            out.append(cond.event)
            return out
        rose = trigger.severity > cond.severity
        due = (
            self.timing.update_s > 0
            and obs.time_s - cond.last_emit_s >= self.timing.update_s - _EPS
        )
        if not (rose or due):
            return []
        cond.severity = max(cond.severity, trigger.severity)
        cond.last_emit_s = obs.time_s
        cond.event = cond.event.revised(
            state="updated",
            updated_at=obs.wall_time,
            evidence=self._evidence(obs.frame_index, obs.time_s, cond, duration),
        )
        return [cond.event]

    def _evidence(self, frame: int, time_s: float, cond: _Condition, duration: float) -> Evidence:
        t = cond.trigger
        values = {**t.values, **{f"peak_{k}": v for k, v in cond.peaks.items()}}
        values["duration_s"] = round(duration, 3)
        return Evidence(
            frame_index=frame,
            stream_time_s=time_s,
            boxes=list(t.boxes),
            values=values,
            track_ids=sorted(t.track_ids),
        )

    def _open(self, obs: Observation, cond: _Condition, duration: float) -> Event:
        return Event(
            id=new_event_id(cond.first_wall),
            revision=1,
            type=self.kind,
            camera_id=self.camera_id,
            state="open",
            zone_id=cond.trigger.zone_id,
            started_at=cond.first_wall,
            updated_at=obs.wall_time,
            start_s=cond.first_s,
            start_frame=cond.first_frame,
            evidence=self._evidence(obs.frame_index, obs.time_s, cond, duration),
        )

    def _end(self, key: str, obs: Observation | None, reason: str) -> list[Event]:
        cond = self._conditions.pop(key)
        if cond.event is None:
            return []
        if obs is not None:
            self._quiet_until[key] = obs.time_s + self.timing.cooldown_s
        evidence = self._evidence(cond.last_frame, cond.last_s, cond, cond.last_s - cond.first_s)
        closed = cond.event.revised(
            state="closed",
            updated_at=cond.last_wall if obs is None else obs.wall_time,
            ended_at=cond.last_wall,
            end_s=cond.last_s,
            reason=reason,
            evidence=evidence,
        )
        return [closed]
