"""``abandoned_object``: an object left still, with nobody near it ("owner gone").

Objects come from the static-object evidence of the dual-rate background (regions that
appeared and stayed still; ``use_static_evidence``) and from tracks of ``classes`` (a
detector's ``bag``) whose centre has stayed within ``max_motion`` of their box diagonal. An
object is *abandoned* once it has been still ``min_static_s`` and no person (nor, without a
detector, any other moving blob) has come within ``owner_radius`` (a fraction of the frame
width) for ``owner_gone_s``. The event closes when the object is taken (it disappears for
``exit_grace_s``) or its owner comes back.

False-positive controls: a static region covered by a person box is that person (sleeping,
sitting, waiting), not an object; size limits ``min_size``..``max_size`` (fractions of the
frame area: no crumbs, no furniture-sized blocks); ``exclude_zones`` (benches, shop fronts,
bins); the owner-gone timer, so a bag at its owner's feet never alerts; one event per object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vsa_stream.config import AbandonedObjectRule, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.common import Zones, matches_class
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger

__all__ = ["AbandonedObjectRunner"]

Box = tuple[float, float, float, float]


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _covered(obj: Box, by: Box) -> float:
    """Fraction of ``obj`` covered by ``by``."""
    ix = max(0.0, min(obj[2], by[2]) - max(obj[0], by[0]))
    iy = max(0.0, min(obj[3], by[3]) - max(obj[1], by[1]))
    area = (obj[2] - obj[0]) * (obj[3] - obj[1])
    return ix * iy / area if area > 0 else 0.0


@dataclass(slots=True)
class _Object:
    box: Box
    since_s: float  # still since
    owner_s: float  # last time someone was near
    seen_s: float
    track_id: int | None = None


class AbandonedObjectRunner:
    """Runs one ``abandoned_object`` rule of one camera."""

    def __init__(
        self,
        camera_id: str,
        rule: AbandonedObjectRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
    ) -> None:
        self.rule = rule
        self._zones = Zones(rule.zones, zones)
        self._excluded = Zones(rule.exclude_zones, zones)
        self._objects: dict[str, _Object] = {}
        self._next = 1
        timing = Timing(0.0, rule.exit_grace_s, rule.cooldown_s)
        self.lifecycle = Lifecycle(
            camera_id, "abandoned_object", timing, storm, clear_reason="owner back"
        )

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        rule = self.rule
        now = obs.time_s
        people = [d for d in obs.detections if d.label is None or d.label == "person"]
        bags = [
            d
            for d in obs.detections
            if d.track_id is not None and matches_class(d, rule.classes, blobs=False)
        ]
        seen: set[str] = set()
        for d in bags:
            seen.add(self._follow_track(now, d))
        if rule.use_static_evidence and obs.static_objects:
            person_boxes = [_box(d) for d in obs.detections if d.label == "person"]
            for s in obs.static_objects:
                box = (s.x0, s.y0, s.x1, s.y1)
                if any(_covered(box, p) >= 0.3 for p in person_boxes):
                    continue  # a person keeping still, not an object
                if any(_iou(box, _box(b)) >= 0.3 for b in bags):
                    continue  # the same object, followed as a track
                seen.add(self._follow_static(now, box, s.since_s))
        for key in [k for k, o in self._objects.items() if now - o.seen_s > rule.exit_grace_s]:
            del self._objects[key]
        triggers: list[Trigger] = []
        reasons: dict[str, str] = {}
        frame_area = float(obs.width * obs.height)
        radius = rule.owner_radius * obs.width
        for key in seen:
            obj = self._objects[key]
            size = (obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1]) / frame_area
            if not rule.min_size <= size <= rule.max_size or not self._watched(obs, obj.box):
                continue
            if any(self._near(obj.box, p, radius) for p in people):
                obj.owner_s = now
                reasons[key] = "owner back"
                continue
            still = now - obj.since_s
            alone = now - max(obj.owner_s, obj.since_s)
            if still < rule.min_static_s or alone < rule.owner_gone_s:
                continue
            triggers.append(
                Trigger(
                    key=key,
                    zone_id=self._zone_of(obs, obj.box),
                    boxes=[obs.normalised_box(*obj.box)],
                    values={
                        "static_s": round(still, 2),
                        "owner_gone_s": round(alone, 2),
                        "size": round(size, 5),
                    },
                    track_ids=[] if obj.track_id is None else [obj.track_id],
                )
            )
        for key in self.lifecycle.open_keys:
            if key not in self._objects:
                reasons[key] = "object removed"
        return self.lifecycle.step(obs, triggers, reasons)

    def _follow_track(self, now: float, d: Detection) -> str:
        key = f"track-{d.track_id}"
        box = _box(d)
        obj = self._objects.get(key)
        if obj is None or _moved(obj.box, box) > self.rule.max_motion:
            obj = _Object(box=box, since_s=now, owner_s=now, seen_s=now, track_id=d.track_id)
            self._objects[key] = obj
        obj.seen_s = now
        return key

    def _follow_static(self, now: float, box: Box, since_s: float) -> str:
        best, best_iou = None, 0.3
        for key, obj in self._objects.items():
            if obj.track_id is None and (iou := _iou(obj.box, box)) >= best_iou:
                best, best_iou = key, iou
        if best is None:
            best = f"static-{self._next}"
            self._next += 1
            self._objects[best] = _Object(box=box, since_s=since_s, owner_s=since_s, seen_s=now)
        obj = self._objects[best]
        obj.box, obj.seen_s = box, now
        return best

    def _near(self, obj: Box, person: Detection, radius: float) -> bool:
        if _covered(obj, _box(person)) >= 0.5 and person.label is None:
            return False  # the object's own foreground blob
        ox, oy = (obj[0] + obj[2]) / 2.0, (obj[1] + obj[3]) / 2.0
        px, py = person.bottom_center
        return math.hypot(px - ox, py - oy) <= radius

    def _watched(self, obs: Observation, box: Box) -> bool:
        d = Detection(*box)
        if self._zones and not self._zones.inside(obs, [d]):
            return False
        return not (self._excluded and self._excluded.inside(obs, [d]))

    def _zone_of(self, obs: Observation, box: Box) -> str | None:
        d = Detection(*box)
        for zone in self._zones.resolve(obs):
            if zone.inside([d]):
                return zone.id
        return None

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        return self.lifecycle.finish(obs, reason)


def _box(d: Detection) -> Box:
    return (d.x0, d.y0, d.x1, d.y1)


def _moved(a: Box, b: Box) -> float:
    """Centre displacement from ``a`` to ``b`` relative to ``a``'s diagonal."""
    diag = math.hypot(a[2] - a[0], a[3] - a[1]) or 1.0
    dx = (b[0] + b[2] - a[0] - a[2]) / 2.0
    dy = (b[1] + b[3] - a[1] - a[3]) / 2.0
    return math.hypot(dx, dy) / diag
