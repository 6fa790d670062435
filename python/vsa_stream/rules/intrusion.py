"""``intrusion``: presence in a forbidden zone for at least a minimum dwell time.

Per zone, a small state machine: presence starts a dwell timer; once it reaches
``min_dwell_s`` an event opens, dated from the first frame of presence (so the alert says
when the intrusion began, not when it was confirmed); gaps shorter than ``exit_grace_s``
(a missed detection, an occlusion) do not end the presence; once the zone has been empty
for ``exit_grace_s`` the event closes, and no new event opens in that zone for
``cooldown_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vsa_stream.config import IntrusionRule, Zone
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.observation import Detection, Observation
from vsa_stream.scene import ZoneGeometry

__all__ = ["IntrusionRunner"]


@dataclass(slots=True)
class _Presence:
    first_s: float
    first_frame: int
    first_wall: float
    last_s: float
    last_wall: float
    event: Event | None = None


class IntrusionRunner:
    """Runs one ``intrusion`` rule of one camera over its zones."""

    def __init__(self, camera_id: str, rule: IntrusionRule, zones: list[Zone]) -> None:
        by_id = {z.id: z for z in zones}
        self.camera_id = camera_id
        self.rule = rule
        self.zones = [by_id[zone_id] for zone_id in rule.zones]
        self._classes = frozenset(rule.classes)
        self._geometry: list[ZoneGeometry] = []
        self._size = (0, 0)
        self._presence: dict[str, _Presence] = {}
        self._quiet_until: dict[str, float] = {}

    def _resolve(self, obs: Observation) -> list[ZoneGeometry]:
        if self._size != (obs.width, obs.height):
            self._size = (obs.width, obs.height)
            self._geometry = [ZoneGeometry(z, obs.width, obs.height) for z in self.zones]
        return self._geometry

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        candidates = [d for d in obs.detections if d.label is None or d.label in self._classes]
        out: list[Event] = []
        for zone in self._resolve(obs):
            hits = zone.inside(candidates)
            presence = self._presence.get(zone.id)
            if hits:
                if presence is None:
                    presence = _Presence(
                        obs.time_s, obs.frame_index, obs.wall_time, obs.time_s, obs.wall_time
                    )
                    self._presence[zone.id] = presence
                presence.last_s, presence.last_wall = obs.time_s, obs.wall_time
                dwell = obs.time_s - presence.first_s
                quiet = obs.time_s < self._quiet_until.get(zone.id, float("-inf"))
                if presence.event is None and dwell >= self.rule.min_dwell_s and not quiet:
                    presence.event = self._open(obs, zone.id, presence, hits, dwell)
                    out.append(presence.event)
            elif presence is not None and obs.time_s - presence.last_s > self.rule.exit_grace_s:
                out.extend(self._end(zone.id, presence, obs, "zone empty"))
        return out

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        out: list[Event] = []
        for zone_id, presence in list(self._presence.items()):
            out.extend(self._end(zone_id, presence, obs, reason))
        return out

    def _open(
        self, obs: Observation, zone_id: str, p: _Presence, hits: list[Detection], dwell: float
    ) -> Event:
        return Event(
            id=new_event_id(p.first_wall),
            revision=1,
            type="intrusion",
            camera_id=self.camera_id,
            state="open",
            zone_id=zone_id,
            started_at=p.first_wall,
            updated_at=obs.wall_time,
            start_s=p.first_s,
            start_frame=p.first_frame,
            evidence=Evidence(
                frame_index=obs.frame_index,
                stream_time_s=obs.time_s,
                boxes=[obs.normalised(d) for d in hits],
                values={"dwell_s": round(dwell, 3), "objects": float(len(hits))},
            ),
        )

    def _end(self, zone_id: str, p: _Presence, obs: Observation | None, reason: str) -> list[Event]:
        del self._presence[zone_id]
        if p.event is None:
            return []
        if obs is not None:
            self._quiet_until[zone_id] = obs.time_s + self.rule.cooldown_s
        values = {**p.event.evidence.values, "dwell_s": round(p.last_s - p.first_s, 3)}
        closed = p.event.revised(
            state="closed",
            updated_at=p.last_wall if obs is None else obs.wall_time,
            ended_at=p.last_wall,
            end_s=p.last_s,
            reason=reason,
            evidence=Evidence(
                frame_index=p.event.evidence.frame_index,
                stream_time_s=p.event.evidence.stream_time_s,
                boxes=p.event.evidence.boxes,
                values=values,
            ),
        )
        return [closed]
