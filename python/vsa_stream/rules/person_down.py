"""``person_down``: a person who falls, then stays low and still on the ground.

For each person track, a *fall* is seen when, within ``fall_window_s``, the top edge of its
box drops fast, by at least ``min_drop`` of the track's upright height (its tallest box of
the last 5 s). After a
fall the track is *down* while its box has turned wider than tall (``lying_aspect``) and is
still (its centre moving less than
``max_motion`` of the box width over the last second); the condition must hold
``min_down_s`` before the event opens. Getting up (an upright box again) clears the fall.

False-positive controls: a person sitting down keeps an upright box (taller than wide), so is
never down; a person who lies down slowly (to sleep on a bench) never shows a fall; someone
still moving on the ground (tying a shoe, playing) is not still; ``exclude_zones`` (benches,
flower beds, lawns) never alert; one event per track.
"""

from __future__ import annotations

from collections import deque

from vsa_stream.config import PersonDownRule, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.common import TrackHistory, Zones, matches_class
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger

__all__ = ["PersonDownRunner"]

_STILL_WINDOW_S = 1.0
_UPRIGHT_WINDOW_S = 5.0  # the drop of a fall is relative to the tallest box of this window


def _aspect(d: Detection) -> float:
    return (d.x1 - d.x0) / max(d.y1 - d.y0, 1e-6)


class PersonDownRunner:
    """Runs one ``person_down`` rule of one camera."""

    def __init__(
        self,
        camera_id: str,
        rule: PersonDownRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
    ) -> None:
        self.rule = rule
        self._zones = Zones(rule.zones, zones)
        self._excluded = Zones(rule.exclude_zones, zones)
        keep = max(rule.fall_window_s, _STILL_WINDOW_S) + 0.5
        self._history = TrackHistory(keep_s=keep, forget_s=max(1.0, rule.exit_grace_s))
        self._fallen: dict[int, tuple[float, float]] = {}  # track -> (fall time, drop ratio)
        self._tall: dict[int, deque[tuple[float, float]]] = {}  # track -> (time, box height)
        timing = Timing(rule.min_down_s, rule.exit_grace_s, rule.cooldown_s)
        self.lifecycle = Lifecycle(
            camera_id, "person_down", timing, storm, clear_reason="person up or gone"
        )

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        rule = self.rule
        persons = [
            d
            for d in obs.detections
            if d.track_id is not None and matches_class(d, rule.classes, blobs=False)
        ]
        self._history.add(obs.time_s, persons)
        for tid in [t for t in self._fallen if t not in self._history.first_seen]:
            del self._fallen[tid]
        for tid in [t for t in self._tall if t not in self._history.first_seen]:
            del self._tall[tid]
        watched = self._zones.inside(obs, persons)
        excluded = {id(d) for d in self._excluded.inside(obs, watched)} if self._excluded else set()
        triggers: list[Trigger] = []
        for d in watched:
            assert d.track_id is not None
            self._see_fall(obs.time_s, d)
            fall = self._fallen.get(d.track_id)
            if fall is None or id(d) in excluded:
                continue
            motion = self._motion(obs.time_s, d)
            if _aspect(d) < rule.lying_aspect or motion > rule.max_motion:
                continue
            zone_id = self._zone_of(obs, d)
            triggers.append(
                Trigger(
                    key=f"track-{d.track_id}",
                    zone_id=zone_id,
                    boxes=[obs.normalised(d)],
                    values={
                        "fall_s": round(fall[0], 3),
                        "drop": round(fall[1], 3),
                        "aspect": round(_aspect(d), 3),
                        "motion": round(motion, 3),
                    },
                    track_ids=[d.track_id],
                )
            )
        return self.lifecycle.step(obs, triggers)

    def _zone_of(self, obs: Observation, d: Detection) -> str | None:
        for zone in self._zones.resolve(obs):
            if zone.inside([d]):
                return zone.id
        return None

    def _see_fall(self, now: float, d: Detection) -> None:
        """Record a fall of ``d``'s track, or clear it when the person is upright again."""
        rule = self.rule
        assert d.track_id is not None
        tid = d.track_id
        if tid in self._fallen:
            if _aspect(d) < 1.0 and now - self._fallen[tid][0] > rule.fall_window_s:
                del self._fallen[tid]  # up again
            return
        recent = [p for _, p in self._history.path(tid, now - rule.fall_window_s)]
        if not recent:
            return
        highest = min(recent, key=lambda p: p.y0)
        # relative to the track's upright height of the last seconds, not to a box already
        # lowered: someone lying down slowly must not "fall" over the last few centimetres
        tallest = max(self._heights(now, d), highest.y1 - highest.y0)
        drop = (d.y0 - highest.y0) / max(tallest, 1e-6)
        if drop >= rule.min_drop:
            self._fallen[tid] = (now, drop)

    def _heights(self, now: float, d: Detection) -> float:
        """The tallest box of ``d``'s track over the last ``_UPRIGHT_WINDOW_S``."""
        assert d.track_id is not None
        seen = self._tall.setdefault(d.track_id, deque())
        seen.append((now, d.y1 - d.y0))
        while seen and now - seen[0][0] > _UPRIGHT_WINDOW_S:
            seen.popleft()
        return max(h for _, h in seen)

    def _motion(self, now: float, d: Detection) -> float:
        """Largest centre displacement over the last second, relative to the box width."""
        assert d.track_id is not None
        cx, cy = d.center
        width = max(d.x1 - d.x0, 1e-6)
        moved = 0.0
        for _, p in self._history.path(d.track_id, now - _STILL_WINDOW_S):
            px, py = p.center
            moved = max(moved, ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 / width)
        return moved

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        return self.lifecycle.finish(obs, reason)
