"""``abandoned_object``: an object left still after the person who brought it has gone.

Objects come from the static-object evidence of the dual-rate background (regions that
appeared and stayed still; ``use_static_evidence``) and from tracks of ``classes`` (a
detector's ``bag``) whose centre has stayed within ``max_motion`` of their box diagonal. An
object is *abandoned* once it has been still ``min_static_s`` and its *owner* has been away
(farther than ``owner_radius``, a fraction of the frame width, from its box) for
``owner_gone_s``. The event closes when the object is taken (it disappears for ``exit_grace_s``)
or its owner comes back.

- **One object, one alert.** Static regions closer to each other than half the larger one's
  size are fragments of one object; a region near an object already known (seen, hidden by a
  passer-by, or gone less than ``cooldown_s`` ago) is that object again. The event is keyed by
  the object, so its fragments, and its reappearance after an occlusion, never open another.
- **The owner is who brought it.** When an object appears, the persons (tracks) that were
  within ``owner_radius`` of it from a few seconds before to a second after are its owners;
  only their absence counts. Strangers standing or waiting near it neither hold nor clear the
  alert. An object nobody was near when it appeared (thrown, or seen from the first frames)
  is held by anyone near it. An owner who stands still long enough to become part of the
  background (no detector: no blob any more) is the still person next to the object.
- **A still person is not an object.** A static region is that person (sitting, lying,
  waiting) when it has a person's shape (tall, or long and flat), when a person's box seen there
  within the last ``_PERSON_MEMORY_S`` covers it and it is most of that box, or when it has a
  person's size at its place in the image (learnt from the persons detected there).
- **Ghosts and light.** A region whose outline is not clearly the current frame's
  (``StaticObject.presence`` below 0.6: something that was there at start has left, or light
  changed on what was there) is not an object, for as long as it lasts.
- **Other non-objects.** A region covered by a vehicle (parked), one that a blob of its own
  size moved into (a vehicle or person that stopped; a bag arrives inside its carrier's larger
  blob), one touching the frame border (cut: its extent is unknown).

Further false-positive controls: size limits ``min_size``..``max_size`` (fractions of the frame
area: no crumbs, no furniture-sized blocks); ``exclude_zones`` (benches, shop fronts, bins).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from vsa_stream.config import AbandonedObjectRule, Zone
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import Zones, matches_class
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger

__all__ = ["SITUATION", "AbandonedObjectRunner"]

Box = tuple[float, float, float, float]

#: A person seen this recently where a static region now is, and that large, is that region.
_PERSON_MEMORY_S = 10.0
#: Owners are the tracks near an object from this long before its appearance ...
_OWNER_BEFORE_S = 5.0
#: ... to this long after it (an object's appearance is dated by the static evidence).
_OWNER_AFTER_S = 1.0
#: How long the person tracks are kept to look back for owners.
_HISTORY_S = 30.0
#: After a passer-by hid a static object, the evidence needs this long to build up again
#: (the background's 5 s of static evidence, plus the fast model's settling).
_REBUILD_S = 8.0
#: A static region is an object only when its outline is clearly the current frame's
#: (``StaticObject.presence``): below 0.5 it is a ghost; around 0.5 both images have the
#: outline, a change of light or shade on what was there (a neon's glow, a cloud).
_MIN_PRESENCE = 0.6
#: A blob at most this many times a region's area, over it, is that region moving.
_OWN_SIZE = 3.0
#: A blob within this factor of a region's area, moving into it, is that region arriving.
_ALIKE = 1.5
#: Fragments closer than this fraction of the larger one's longest side are one object.
_MERGE_GAP = 0.5
#: A static region at least this fraction of a person's height at its place, in height
#: (sitting) or in width (lying), is a person.
_SITTING, _LYING = 0.5, 0.7
#: Without persons seen near a region, a person's height taken as this fraction of the frame's.
_PERSON_FRAME = 0.5
#: Aspect ratios (height / width, width / height) beyond which a region is a person's shape.
_TALL, _FLAT = 1.8, 2.5
#: A blob over an object that has not moved for this long is the object's own foreground.
_BLOB_STILL_S = 2.0
#: Heights of detected persons kept to learn a person's size at each height of the image.
_SCALE_SAMPLES = 2000


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


def _gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, a[0] - b[2], b[0] - a[2])
    dy = max(0.0, a[1] - b[3], b[1] - a[3])
    return math.hypot(dx, dy)


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _side(a: Box) -> float:
    return max(a[2] - a[0], a[3] - a[1])


def _area(a: Box) -> float:
    return (a[2] - a[0]) * (a[3] - a[1])


def _fragments(a: Box, b: Box) -> bool:
    """Whether ``a`` and ``b`` are parts of one object (they touch, or nearly)."""
    return _gap(a, b) <= _MERGE_GAP * max(_side(a), _side(b))


@dataclass(slots=True)
class _Object:
    key: str
    box: Box
    since_s: float  # still since
    seen_s: float  # last frame seen
    owner_s: float  # last time its owner (or, owner unknown, anyone) was near
    track_id: int | None = None
    anchor: Box | None = None  # a tracked bag's box when it stopped
    hidden_s: float = -math.inf  # last frame something moving covered it
    owners: frozenset[int] | None = None  # track ids; None: not looked for yet
    owner_known: bool = False  # False: nobody was near when it appeared


@dataclass(slots=True)
class _Region:
    box: Box
    since_s: float
    track_id: int | None = None


@dataclass(slots=True)
class _Past:
    time_s: float
    people: list[Detection] = field(default_factory=list)
    _arrays: tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64]] | None = None

    @property
    def boxes(self) -> NDArray[np.float64]:
        """``(N, 4)`` boxes of ``people``."""
        return self.arrays[0]

    @property
    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64]]:
        """``people`` as arrays (built once): boxes, unclassified (a blob), track ids."""
        if self._arrays is None:
            boxes = np.array([_box(p) for p in self.people], dtype=np.float64).reshape(-1, 4)
            blob = np.array([p.label is None for p in self.people], dtype=bool)
            ids = np.array([p.track_id for p in self.people], dtype=np.int64)
            self._arrays = (boxes, blob, ids)
        return self._arrays


class _Rows:
    """The people of the remembered frames as flat arrays, one row each, kept in step with
    the history, so a question over all of them is a few vectorised operations. Frames added
    and dropped are applied when the rows are read (most frames judge no static region)."""

    _MAX_PENDING = 256  # frames added before they are applied anyway (bounded memory)

    def __init__(self) -> None:
        self.people: list[Detection] = []
        self.boxes = np.empty((0, 4), dtype=np.float64)
        self.blob = np.empty(0, dtype=bool)
        self.ids = np.empty(0, dtype=np.int64)
        self.times = np.empty(0, dtype=np.float64)
        self._pending: list[_Past] = []
        self._drop = 0

    def push(self, past: _Past) -> None:
        self._pending.append(past)
        if len(self._pending) > self._MAX_PENDING:
            self.synced()

    def drop(self, n: int) -> None:
        self._drop += n

    def synced(self) -> _Rows:
        """The rows, with the frames added and dropped since the last read applied."""
        pasts, n = self._pending, self._drop
        if pasts or n:
            self.people = [*self.people, *(p for past in pasts for p in past.people)][n:]
            self.boxes = np.concatenate([self.boxes, *(p.arrays[0] for p in pasts)])[n:]
            self.blob = np.concatenate([self.blob, *(p.arrays[1] for p in pasts)])[n:]
            self.ids = np.concatenate([self.ids, *(p.arrays[2] for p in pasts)])[n:]
            times = [np.full(len(p.people), p.time_s) for p in pasts]
            self.times = np.concatenate([self.times, *times])[n:]
            self._pending, self._drop = [], 0
        return self


class AbandonedObjectRunner(SituationRunner[AbandonedObjectRule]):
    """Runs one ``abandoned_object`` rule of one camera."""

    clear_reason = "owner back"

    def __init__(
        self,
        camera_id: str,
        rule: AbandonedObjectRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._excluded = Zones(rule.exclude_zones, zones)
        self._objects: dict[str, _Object] = {}
        self._gone: dict[str, _Object] = {}  # left less than cooldown_s ago
        self._history: deque[_Past] = deque()
        self._rows = _Rows()  # the history's people as arrays
        self._scale: deque[tuple[float, float]] = deque(maxlen=_SCALE_SAMPLES)
        self._scale_arrays: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._blobs: dict[int, tuple[Box, float]] = {}  # blob track: box, still since
        self._rejected: dict[float, float] = {}  # since_s of outline-less regions: last seen
        self._alone: dict[float, bool] = {}  # since_s of regions: moved in by themselves
        self._next = 1
        self._now = 0.0
        self._reasons: dict[str, str] = {}  # of the frame just judged

    def timing(self) -> Timing:
        return Timing(0.0, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        now = self._now = obs.time_s
        people = [d for d in obs.detections if d.label is None or d.label == "person"]
        self._remember(now, people)
        bags = [
            d
            for d in obs.detections
            if d.track_id is not None and matches_class(d, rule.classes, blobs=False)
        ]
        regions = [_Region(_box(d), self._still_since(now, d), d.track_id) for d in bags]
        still_people: list[_Region] = []
        if rule.use_static_evidence and obs.static_objects:
            for s in obs.static_objects:
                region = _Region((s.x0, s.y0, s.x1, s.y1), s.since_s)
                if s.since_s in self._rejected or s.presence < _MIN_PRESENCE:
                    # no clear outline of its own, now or once: a ghost or a change of light
                    self._rejected[s.since_s] = now
                    continue
                if not self._is_object(obs, region.box, s.since_s):
                    if self._is_person(obs, region.box) and not any(
                        d.label == "person" and _covered(region.box, _box(d)) >= 0.3 for d in people
                    ):
                        still_people.append(region)  # a person no detector sees
                    continue
                regions.append(region)
        for since in [k for k, t in self._rejected.items() if now - t > rule.exit_grace_s]:
            del self._rejected[since]
        current = {s.since_s for s in obs.static_objects or []}
        self._alone = {k: v for k, v in self._alone.items() if k in current}
        self._match(now, _merge(regions))
        self._hide(now, obs.detections)
        self._expire(now)
        triggers: list[Trigger] = []
        reasons: dict[str, str] = {}
        frame_area = float(obs.width * obs.height)
        radius = rule.owner_radius * obs.width
        open_keys = set(self.lifecycle.open_keys)
        for key, obj in self._objects.items():
            if self._owner_near(now, obj, people, still_people, radius):
                obj.owner_s = now
                reasons[key] = "owner back"
                continue
            hidden = obj.track_id is None and now - obj.hidden_s <= _REBUILD_S + rule.exit_grace_s
            if obj.seen_s < now and not (hidden and key in open_keys):
                continue  # out of sight: a hidden object holds its alert, never raises one
            size = _area(obj.box) / frame_area
            if not rule.min_size <= size <= rule.max_size or not self._watched(obs, obj.box):
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
        self._reasons = reasons
        return triggers

    def close_reasons(self) -> Mapping[str, str]:
        return self._reasons

    # --- what a region is ---------------------------------------------------------------

    def _is_object(self, obs: Observation, box: Box, since_s: float) -> bool:
        alone = self._alone.get(since_s)
        if alone is None:  # judged once per region: the way here is in the history then
            alone = self._alone[since_s] = self._arrived_alone(box)
        if alone:
            return False  # it moved in by itself: a vehicle or a person that stopped
        m = max(4.0, 0.01 * obs.width)
        if box[0] <= m or box[1] <= m or box[2] >= obs.width - m or box[3] >= obs.height - m:
            return False  # cut by the frame border
        for d in obs.detections:
            if d.label == "vehicle" and _covered(box, _box(d)) >= 0.5:
                return False  # a parked vehicle
        return not self._is_person(obs, box)

    def _is_person(self, obs: Observation, box: Box) -> bool:
        """Whether a static region is a person keeping still (see the module docstring)."""
        if self._person_shaped(box, obs.height):
            return True
        rows = self._rows.synced()
        if not rows.people:
            return False
        # the two box tests for every remembered person at once (the float operations of
        # _covered and _area, element by element), then the shape test on those that pass
        b = rows.boxes
        recent = self._now - rows.times <= _PERSON_MEMORY_S
        ix = np.maximum(0.0, np.minimum(box[2], b[:, 2]) - np.maximum(box[0], b[:, 0]))
        iy = np.maximum(0.0, np.minimum(box[3], b[:, 3]) - np.maximum(box[1], b[:, 1]))
        area = _area(box)
        covered = ix * iy / area if area > 0 else np.zeros(len(b))
        large = area >= 0.6 * ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
        people = rows.people
        return any(
            people[i].label == "person" or self._person_shaped(_box(people[i]), obs.height)
            for i in np.flatnonzero(recent & (covered >= 0.3) & large).tolist()
        )

    def _arrived_alone(self, box: Box) -> bool:
        """Whether a blob of the region's own size moved into it from elsewhere (without a
        detector; a bag put down arrives inside its carrier's larger blob)."""
        rows = self._rows.synced()
        if not rows.people:
            return False
        # every remembered person at once: the float operations of _area, _covered and _gap,
        # element by element (30 s of tracks: thousands of boxes, judged on every frame)
        b, blob, ids = rows.boxes, rows.blob, rows.ids
        area = _area(box)
        size = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        alike = blob & (area / _ALIKE <= size) & (size <= _ALIKE * area)
        ix = np.maximum(0.0, np.minimum(box[2], b[:, 2]) - np.maximum(box[0], b[:, 0]))
        iy = np.maximum(0.0, np.minimum(box[3], b[:, 3]) - np.maximum(box[1], b[:, 1]))
        covered = ix * iy / area if area > 0 else np.zeros(len(b))
        over = alike & (covered >= 0.5)
        if not over.any():
            return False
        apart = (  # _gap(box, b) > 0
            (box[0] - b[:, 2] > 0.0)
            | (b[:, 0] - box[2] > 0.0)
            | (box[1] - b[:, 3] > 0.0)
            | (b[:, 1] - box[3] > 0.0)
        )
        for track in set(ids[over].tolist()):
            way = (ids == track) & apart  # its boxes away from the region
            n = int(np.count_nonzero(way))
            if n >= 3 and 2 * int(np.count_nonzero(alike & way)) >= n:
                return True  # most of its way here, it had the region's size
        return False

    def _arrived_alone_reference(self, box: Box) -> bool:
        """:meth:`_arrived_alone` person by person, its reference (tests)."""
        area = _area(box)

        def alike(d: Detection) -> bool:
            return d.label is None and area / _ALIKE <= _area(_box(d)) <= _ALIKE * area

        tracks = {
            p.track_id
            for past in self._history
            for p in past.people
            if alike(p) and _covered(box, _box(p)) >= 0.5
        }
        for track in tracks:
            away = [
                alike(p)
                for past in self._history
                for p in past.people
                if p.track_id == track and _gap(box, _box(p)) > 0
            ]
            if len(away) >= 3 and 2 * sum(away) >= len(away):
                return True
        return False

    def _person_shaped(self, box: Box, frame_h: int) -> bool:
        """A person's shape (tall, or long and flat), or size at that height of the image."""
        w, h = box[2] - box[0], box[3] - box[1]
        if h >= _TALL * w or w >= _FLAT * h:
            return True
        if self._scale_arrays is None:  # once per frame that added persons, not per call
            scale = np.array(self._scale, dtype=np.float64).reshape(-1, 2)
            self._scale_arrays = (scale[:, 0].copy(), scale[:, 1].copy())
        ys, heights = self._scale_arrays
        near: list[float] = heights[np.abs(ys - box[3]) <= 0.1 * frame_h].tolist()
        if len(near) < 5:
            return h >= _SITTING * _PERSON_FRAME * frame_h  # no person seen there yet
        person_h = statistics.median(near)
        return h >= _SITTING * person_h or w >= _LYING * person_h

    # --- objects ------------------------------------------------------------------------

    def _match(self, now: float, regions: list[_Region]) -> list[_Object]:
        """Follows each merged region as a known object, a revived one, or a new one."""
        matched: list[_Object] = []
        open_keys = set(self.lifecycle.open_keys)
        for region in regions:
            known = [o for o in self._objects.values() if self._same(now, o, region.box)]
            if region.track_id is not None:
                known = [o for o in known if o.track_id in (None, region.track_id)]
            if not known:
                known = [o for o in self._gone.values() if self._same(now, o, region.box)]
                for o in known:
                    del self._gone[o.key]
                    self._objects[o.key] = o
            if known:
                # the one alerted already, else the one most of the region is, else the oldest
                obj = min(
                    known,
                    key=lambda o: (
                        o.key not in open_keys,
                        -_covered(region.box, o.box),
                        o.since_s,
                        o.key,
                    ),
                )
                for other in known:
                    if other is not obj:  # one object seen as two until now
                        obj.owner_s = max(obj.owner_s, other.owner_s)
                        if obj.owners is not None and other.owners is not None:
                            obj.owners |= other.owners
                            obj.owner_known |= other.owner_known
                        del self._objects[other.key]
                if region.track_id is not None and obj.track_id == region.track_id:
                    obj.since_s = region.since_s  # a tracked bag: still since it stopped
                elif region.track_id is not None:
                    obj.anchor = region.box  # a static object now followed as a track
                obj.box, obj.seen_s = region.box, now
                obj.track_id = obj.track_id if region.track_id is None else region.track_id
            else:
                prefix = "static" if region.track_id is None else f"track-{region.track_id}"
                obj = _Object(
                    key=f"{prefix}-{self._next}",
                    box=region.box,
                    since_s=region.since_s,
                    seen_s=now,
                    owner_s=region.since_s,
                    track_id=region.track_id,
                    anchor=None if region.track_id is None else region.box,
                )
                self._next += 1
                self._objects[obj.key] = obj
            matched.append(obj)
        return matched

    def _same(self, now: float, obj: _Object, box: Box) -> bool:
        """Whether a region is ``obj``: a fragment of it while it is in view, the same place
        once it has been hidden or gone (it must overlap then)."""
        if now - obj.seen_s <= self.rule.exit_grace_s:
            return _fragments(obj.box, box)
        return max(_covered(box, obj.box), _covered(obj.box, box)) >= 0.3

    def _hide(self, now: float, detections: list[Detection]) -> None:
        """Objects covered by something moving are hidden, not gone."""
        for obj in self._objects.values():
            if obj.seen_s < now and any(
                _covered(obj.box, _box(d)) >= 0.3 and not self._still_blob(d) for d in detections
            ):
                obj.hidden_s = now

    def _expire(self, now: float) -> None:
        grace = self.rule.exit_grace_s
        for key, obj in list(self._objects.items()):
            rebuild = _REBUILD_S if obj.track_id is None else 0.0
            if now - max(obj.seen_s, obj.hidden_s + rebuild) > grace:
                del self._objects[key]
                self._gone[key] = obj
        for key, obj in list(self._gone.items()):
            if now - obj.seen_s > self.rule.cooldown_s:
                del self._gone[key]

    def _still_since(self, now: float, d: Detection) -> float:
        """When the tracked bag ``d`` stopped (now when it moves)."""
        for obj in self._objects.values():
            if obj.track_id == d.track_id and obj.anchor is not None:
                if _moved(obj.anchor, _box(d)) <= self.rule.max_motion:
                    return obj.since_s
                obj.anchor, obj.owners, obj.owner_known = _box(d), None, False  # carried
        return now

    # --- owners -------------------------------------------------------------------------

    def _remember(self, now: float, people: list[Detection]) -> None:
        self._history.append(_Past(now, [p for p in people if p.track_id is not None]))
        self._rows.push(self._history[-1])
        while self._history and now - self._history[0].time_s > _HISTORY_S:
            self._rows.drop(len(self._history.popleft().people))
        anchors: dict[int, tuple[Box, float]] = {}
        for p in people:
            if p.label == "person":
                self._scale.append((p.y1, p.y1 - p.y0))
                self._scale_arrays = None
            if p.label is None and p.track_id is not None:
                anchor = self._blobs.get(p.track_id)
                if anchor is None or _moved(anchor[0], _box(p)) > self.rule.max_motion:
                    anchor = (_box(p), now)
                anchors[p.track_id] = anchor
        self._blobs = anchors

    def _owners(self, now: float, obj: _Object, radius: float) -> None:
        """Finds the tracks near ``obj`` when it appeared (once that moment has passed)."""
        if obj.owners is not None or now < obj.since_s + _OWNER_AFTER_S:
            return
        near: set[int] = set()
        for past in self._history:
            if obj.since_s - _OWNER_BEFORE_S <= past.time_s <= obj.since_s + _OWNER_AFTER_S:
                near.update(
                    p.track_id
                    for p in past.people
                    if p.track_id is not None and self._near(obj.box, p, radius)
                )
        obj.owners, obj.owner_known = frozenset(near), bool(near)
        for past in self._history:  # when they were last near it (before it was seen again)
            if any(p.track_id in near and self._near(obj.box, p, radius) for p in past.people):
                obj.owner_s = max(obj.owner_s, past.time_s)

    def _owner_near(
        self,
        now: float,
        obj: _Object,
        people: list[Detection],
        still_people: list[_Region],
        radius: float,
    ) -> bool:
        self._owners(now, obj, radius)
        if obj.owners is None or not obj.owner_known:
            return any(self._near(obj.box, p, radius) for p in people)
        self._follow_owner_blobs(obj, people)
        if any(p.track_id in obj.owners and self._near(obj.box, p, radius) for p in people):
            return True
        # an owner keeping so still that the background took them: the still person who has
        # been next to the object since before the owner was last seen there
        return any(
            s.since_s <= obj.owner_s + 1.0 and _gap(obj.box, s.box) <= radius for s in still_people
        )

    def _follow_owner_blobs(self, obj: _Object, people: list[Detection]) -> None:
        """Motion blobs split and merge, and their track ids change then: a blob overlapping
        where an owner's blob was on the previous frame is the owner too."""
        assert obj.owners is not None
        if len(self._history) < 2:
            return
        before = [
            _box(p)
            for p in self._history[-2].people
            if p.label is None and p.track_id in obj.owners and not self._own_blob(obj.box, p)
        ]
        new = {
            p.track_id
            for p in people
            if p.label is None
            and p.track_id is not None
            and p.track_id not in obj.owners
            and not self._own_blob(obj.box, p)
            and any(_iou(_box(p), b) >= 0.3 for b in before)
        }
        if new:
            obj.owners = obj.owners | new

    def _still_blob(self, d: Detection) -> bool:
        """A motion blob that has not moved for ``_BLOB_STILL_S``."""
        anchor = self._blobs.get(d.track_id) if d.track_id is not None else None
        return d.label is None and anchor is not None and self._now - anchor[1] >= _BLOB_STILL_S

    def _own_blob(self, obj: Box, d: Detection) -> bool:
        """The object's own foreground blob: over it, and about its size or not moving."""
        pb = _box(d)
        return (
            d.label is None
            and _covered(obj, pb) >= 0.5
            and (_area(pb) <= _OWN_SIZE * _area(obj) or self._still_blob(d))
        )

    def _near(self, obj: Box, person: Detection, radius: float) -> bool:
        return not self._own_blob(obj, person) and _gap(obj, _box(person)) <= radius

    # --- zones --------------------------------------------------------------------------

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


def _merge(regions: list[_Region]) -> list[_Region]:
    """Joins the fragments of one object; a tracked bag absorbs the static regions on it."""
    tracked = [r for r in regions if r.track_id is not None]
    merged: list[_Region] = []
    for r in regions:
        if r.track_id is not None or any(_fragments(t.box, r.box) for t in tracked):
            continue
        for m in merged:
            if _fragments(m.box, r.box):
                m.box, m.since_s = _union(m.box, r.box), min(m.since_s, r.since_s)
                break
        else:
            merged.append(_Region(r.box, r.since_s))
    return tracked + merged


def _box(d: Detection) -> Box:
    return (d.x0, d.y0, d.x1, d.y1)


def _moved(a: Box, b: Box) -> float:
    """Centre displacement from ``a`` to ``b`` relative to ``a``'s diagonal."""
    diag = math.hypot(a[2] - a[0], a[3] - a[1]) or 1.0
    dx = (b[0] + b[2] - a[0] - a[2]) / 2.0
    dy = (b[1] + b[3] - a[1] - a[3]) / 2.0
    return math.hypot(dx, dy) / diag


#: The ``abandoned_object`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=AbandonedObjectRule,
    notice=("objet abandonné", "an abandoned object"),
    runner=lambda camera, rule, storm: AbandonedObjectRunner(camera.id, rule, camera.zones, storm),
    hold_s=lambda rule, fps: max(rule.min_static_s, rule.owner_gone_s),
    # the dual-rate background of static evidence gives tamper for free
    signals=lambda rule: frozenset(
        {"static_objects", "tamper"} if rule.use_static_evidence else ()
    ),
)
