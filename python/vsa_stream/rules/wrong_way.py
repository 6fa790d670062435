"""``wrong_way``: a person or vehicle moving against the allowed direction of a zone.

For every track inside a zone, the heading is the least-squares velocity of its anchor over
the last ``window_s`` seconds; it is judged (Rust ``heading_check``) once the track is
``min_track_age_s`` old and has moved ``min_displacement_px`` (and ``min_displacement_m`` on
the ground, with a calibration) over that window, and is *against* when more than
``tolerance_deg`` off the allowed direction: ``direction_deg``, or the direction of the nearest
segment of the ``lane`` polyline. The zone's condition holds while a track is against; one
event per zone merges every such track.

False-positive controls: track age (new tracks have noisy headings), net displacement (a
person standing and swaying, tracker jitter), the tolerance cone (people crossing at an
angle), classes, ``min_duration_s`` of sustained wrong-way motion, and straightness: the net
displacement over the window must be at least ``MIN_STRAIGHTNESS`` of the distance the anchor
travelled (the box of a blob that jitters with a shaking camera or merges with others is not a
walk).

Only the part of a track that *stays in the lane* is judged: the trailing run of its anchors
that lie inside the zone at least ``EDGE_MARGIN`` of the object's width from the zone's edge
(an object driving in the lane has its anchor about half its width from either edge; one that
grazes the edge from the next lane does not). A blip out of the lane shorter than the stay in
it that follows does not end the run (:func:`lane_run`: a motion blob that loses its legs for
a few frames has its bottom, the anchor, jump up to the edge of a walkway it walks along).
Over that run the object must have moved
``min_displacement_px`` *along* the lane's axis (the projection on the allowed direction, not
the net distance: crossing the lane is not moving along it), and its heading must be
consistent: the headings of the two halves of the run differ by at most ``MAX_TURN_DEG`` (a
vehicle turning across lanes sweeps its heading through the cone, a wrong-way one keeps it).

The zone's ``cooldown_s`` holds back the tracks of its last event only: another road user
going the wrong way during it is alerted as usual (:class:`~vsa_stream.rules.keys.ZoneKeys`).
A track that starts within ``_REJOIN_S`` of a wrong-way track being lost, near where that one
would be by then at its measured velocity (``_REJOIN_HEIGHTS`` of its heights, plus
``_REJOIN_DRIFT`` of the distance), is the same road user (the tracker lost it behind others
and started again), not a newcomer: positions and velocities only, no appearance.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import Calibration, WrongWayRule, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import TrackHistory, Zones, anchor_of, ground_homography, matches_class
from vsa_stream.rules.keys import ZoneKeys
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger
from vsa_stream.rules.numeric import pairwise_sum
from vsa_stream.scene import ZoneGeometry

__all__ = [
    "EDGE_MARGIN",
    "MAX_TURN_DEG",
    "MIN_STRAIGHTNESS",
    "SITUATION",
    "WrongWayRunner",
    "lane_direction",
    "lane_run",
]

#: Net displacement / path length over the window below which a track is not judged.
MIN_STRAIGHTNESS = 0.5
#: How far inside the zone an anchor must be to count as in the lane, in object widths.
EDGE_MARGIN = 0.25
#: Largest heading change (degrees) between the two halves of the judged run.
MAX_TURN_DEG = 30.0
_REJOIN_S = 5.0  # a track starting this soon after a wrong-way one was lost ...
_REJOIN_HEIGHTS = 2.0  # ... this near (heights of the lost object) to where it would be ...
_REJOIN_DRIFT = 0.25  # ... give or take this fraction of the distance it would have gone

_LaneFlag = tuple[Detection, float, float, bool]  # the entry's detection, anchor, in the lane


def edge_distance(points: NDArray[np.float64], polygon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance (px) of each of the ``(N, 2)`` points to the nearest edge of ``polygon``.

    Example:
        >>> square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
        >>> edge_distance(np.array([[5.0, 2.0], [9.0, 9.0]]), square).tolist()
        [2.0, 1.0]
    """
    a = polygon
    b = np.roll(polygon, -1, axis=0)
    ab = b - a  # (E, 2)
    length2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    ap = points[:, None, :] - a[None, :, :]  # (N, E, 2)
    t = np.clip((ap * ab[None]).sum(axis=2) / length2[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    out: NDArray[np.float64] = np.hypot(*(points[:, None, :] - nearest).transpose(2, 0, 1)).min(
        axis=1
    )
    return out


def lane_direction(lane: list[tuple[float, float]], x: float, y: float) -> float:
    """Direction (degrees, 90 = down the image) of the lane segment nearest to ``(x, y)``.

    Example:
        >>> lane_direction([(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)], 95.0, 80.0)
        90.0
    """
    best, best_d = 0.0, math.inf
    for (x0, y0), (x1, y1) in itertools.pairwise(lane):
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        if length2 == 0.0:
            continue
        t = min(1.0, max(0.0, ((x - x0) * dx + (y - y0) * dy) / length2))
        d = math.hypot(x - (x0 + t * dx), y - (y0 + t * dy))
        if d < best_d:
            best, best_d = math.degrees(math.atan2(dy, dx)) % 360.0, d
    return best


def _edges(polygon: NDArray[np.float64]) -> list[tuple[float, float, float, float, float]]:
    """Per edge of ``polygon``: its start, its vector and its squared length (floored), as
    :func:`edge_distance` computes them."""
    ab = np.roll(polygon, -1, axis=0) - polygon
    length2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    rows: list[tuple[float, float, float, float, float]] = [
        (float(a[0]), float(a[1]), float(v[0]), float(v[1]), float(n))
        for a, v, n in zip(polygon, ab, length2, strict=True)
    ]
    return rows


def _edge_distance_one(
    x: float, y: float, edges: list[tuple[float, float, float, float, float]]
) -> float:
    """``edge_distance`` of one point, the same float operations in the same order (a
    frame's new anchor costs a few µs instead of numpy's fixed ~40)."""
    dx: list[float] = []
    dy: list[float] = []
    for ax, ay, abx, aby, length2 in edges:
        t = ((x - ax) * abx + (y - ay) * aby) / length2
        t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t  # np.clip, NaN kept
        dx.append(x - (ax + t * abx))
        dy.append(y - (ay + t * aby))
    return float(np.hypot(dx, dy).min())  # numpy's hypot (libm's), as edge_distance


def _lane_flags(
    entries: list[tuple[float, Detection]],
    zone: ZoneGeometry,
    edges: list[tuple[float, float, float, float, float]],
) -> list[_LaneFlag]:
    """Each entry's detection, anchor, and whether the anchor is in the lane: inside ``zone``
    and at least ``EDGE_MARGIN`` of the object's width from its edges."""
    if not entries:
        return []
    if len(entries) == 1:  # a frame's new entry
        p = entries[0][1]
        x, y = anchor_of(p, zone.anchor)
        x, y = float(x), float(y)
        if not zone.contains_points(np.array([[x, y]], dtype=np.float64))[0]:
            return [(p, x, y, False)]
        width = float(p.x1 - p.x0)
        return [(p, x, y, _edge_distance_one(x, y, edges) >= EDGE_MARGIN * width)]
    points = np.array([anchor_of(p, zone.anchor) for _, p in entries], dtype=np.float64)
    widths = np.array([p.x1 - p.x0 for _, p in entries], dtype=np.float64)
    inside = zone.contains_points(points)
    inside &= edge_distance(points, zone.polygon) >= EDGE_MARGIN * widths
    return [
        (p, x, y, ok)
        for (_, p), (x, y), ok in zip(entries, points.tolist(), inside.tolist(), strict=True)
    ]


def _velocity(path: list[tuple[float, tuple[float, float]]]) -> tuple[float, float]:
    """Least-squares velocity (px/s) of ``path``'s points over its times.

    Plain Python with numpy's order of operations (a 1-d sum pairwise, a column sum row after
    row, both from 0.0): the same bits as the numpy least squares, ~10x faster on a track's
    few dozen points.
    """
    n = len(path)
    times = [p[0] for p in path]
    mean_t = pairwise_sum(times) / n
    t = [x - mean_t for x in times]
    denom = pairwise_sum([x * x for x in t])
    if denom == 0.0:
        return 0.0, 0.0
    mean_x = mean_y = 0.0
    for _, (x, y) in path:
        mean_x += x
        mean_y += y
    mean_x /= n
    mean_y /= n
    sx = sy = 0.0
    for dt, (_, (x, y)) in zip(t, path, strict=True):
        sx += dt * (x - mean_x)
        sy += dt * (y - mean_y)
    return sx / denom, sy / denom


def _turn_deg(path: list[tuple[float, tuple[float, float]]]) -> float:
    """Angle (degrees) between the displacements of the first and second halves of ``path``
    (180 when either half did not move)."""
    mid = len(path) // 2
    (ax, ay), (bx, by), (cx, cy) = path[0][1], path[mid][1], path[-1][1]
    first, second = (bx - ax, by - ay), (cx - bx, cy - by)
    if math.hypot(*first) == 0.0 or math.hypot(*second) == 0.0:
        return 180.0
    a = math.atan2(first[1], first[0]) - math.atan2(second[1], second[0])
    return abs(math.degrees((a + math.pi) % (2 * math.pi) - math.pi))


def lane_run(inside: list[bool]) -> list[int]:
    """Indices of the in-lane anchors of a track's trailing run in the lane.

    The run ends at the last anchor (none when it is out of the lane) and goes back over
    the anchors in the lane, and over a stretch out of it of fewer anchors than the stretch
    in the lane after it: a blip, as when a blob loses its legs for a few frames and
    its bottom (the anchor) jumps up to the lane's edge, not a stay outside. An object that
    grazes the lane from the next one, in it now and then, is out longer than in.

    Example:
        >>> lane_run([True, False, True, True, False, False, False, True])
        [7]
        >>> lane_run([False, True, True, False, True, True])
        [1, 2, 4, 5]
        >>> lane_run([True, True, False, False, True, True])
        [4, 5]
    """
    run: list[int] = []
    k = len(inside)
    while k > 0 and inside[k - 1]:
        end = k
        while k > 0 and inside[k - 1]:
            k -= 1
        run[:0] = range(k, end)
        gap_end = k
        while k > 0 and not inside[k - 1]:
            k -= 1
        if k == 0 or gap_end - k >= end - gap_end:
            break
    return run


class WrongWayRunner(SituationRunner[WrongWayRule]):
    """Runs one ``wrong_way`` rule of one camera over its zones."""

    clear_reason = "no track against the direction"

    def __init__(
        self,
        camera_id: str,
        rule: WrongWayRule,
        zones: list[Zone],
        calibration: Calibration | None = None,
        storm: StormGuard | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._calibration = calibration
        self._homography: _core.Homography | None = None
        self._size = (0, 0)
        self._history = TrackHistory(keep_s=rule.window_s, forget_s=max(1.0, rule.exit_grace_s))
        self._keys = ZoneKeys(self.lifecycle, rule.cooldown_s)
        self._born: dict[int, tuple[float, float, float]] = {}  # first time and centre
        # last time against, centre, height, velocity (px/s)
        self._against: dict[int, tuple[float, float, float, float, float, float]] = {}
        self._alias: dict[int, int] = {}  # a fragment's track id -> the first fragment's
        # per track and zone, each history entry's anchor and whether it is in the lane, by
        # time: an entry is judged once, when it arrives, not again on every later frame
        self._lane_flags: dict[tuple[int, ZoneGeometry], dict[float, _LaneFlag]] = {}
        self._edges: dict[ZoneGeometry, list[tuple[float, float, float, float, float]]] = {}

    def _lane(self, obs: Observation) -> list[tuple[float, float]] | None:
        if self.rule.lane is None:
            return None
        if self.rule.units == "pixels":
            return list(self.rule.lane)
        return [(x * obs.width, y * obs.height) for x, y in self.rule.lane]

    def _ground(self, obs: Observation) -> _core.Homography | None:
        if self._calibration is None or self.rule.min_displacement_m is None:
            return None
        if self._size != (obs.width, obs.height):
            self._size = (obs.width, obs.height)
            self._homography = ground_homography(self._calibration, obs.width, obs.height)
        return self._homography

    def timing(self) -> Timing:
        return Timing(self.rule.min_duration_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        tracked = [
            d for d in obs.detections if d.track_id is not None and matches_class(d, rule.classes)
        ]
        self._history.add(obs.time_s, tracked)
        for d in tracked:
            assert d.track_id is not None
            if d.track_id not in self._born:
                self._born[d.track_id] = (obs.time_s, *d.center)
        lane = self._lane(obs)
        ground = self._ground(obs)
        triggers: list[Trigger] = []
        for zone in self._zones.resolve(obs):
            against: list[tuple[Detection, dict[str, float]]] = []
            for d in zone.inside(tracked):
                measured = self._judge(obs, d, zone, lane, ground)
                if measured is not None:
                    against.append((d, measured))
            if not against:
                continue
            fastest = max(against, key=lambda a: a[1]["speed_px_s"])[1]
            track_ids = [d.track_id for d, _ in against if d.track_id is not None]
            persons = [self._rejoined(obs.time_s, d, m) for d, m in against]
            key = self._keys.key(zone.id, persons, obs.time_s)
            if key is None:
                continue  # the last alert's road users, in its cooldown
            triggers.append(
                Trigger(
                    key=key,
                    zone_id=zone.id,
                    boxes=[obs.normalised(d) for d, _ in against],
                    values={**fastest, "objects": float(len(against))},
                    track_ids=track_ids,
                    peak=("speed_px_s",),
                )
            )
        return triggers

    def stepped(self, obs: Observation, events: list[Event]) -> None:
        self._keys.closed(events, obs.time_s)
        for tid in [t for t in self._born if t not in self._history.last_seen]:
            del self._born[tid]
        for key in [k for k in self._lane_flags if k[0] not in self._history.last_seen]:
            del self._lane_flags[key]
        cooldown_s = self.rule.cooldown_s
        for tid in [t for t, v in self._against.items() if obs.time_s - v[0] > cooldown_s]:
            del self._against[tid]

    def _rejoined(self, now_s: float, d: Detection, measured: dict[str, float]) -> int:
        """The track id standing for ``d``'s road user: that of a wrong-way track lost before
        ``d``'s track began, near where it would have gone on at its speed (the tracker lost
        it and started a new one), else its own. So a fragmented track does not pass for a
        newcomer in the zone's cooldown."""
        assert d.track_id is not None
        tid = self._alias.get(d.track_id, d.track_id)
        if d.track_id not in self._alias:
            born_s, bx, by = self._born.get(d.track_id, (now_s, *d.center))
            for old, (last_s, x, y, tall, vx, vy) in self._against.items():
                gap = born_s - last_s
                if old == d.track_id or not 0.0 <= gap <= _REJOIN_S:
                    continue
                miss = math.hypot(bx - (x + vx * gap), by - (y + vy * gap))
                if miss <= _REJOIN_HEIGHTS * tall + _REJOIN_DRIFT * math.hypot(vx, vy) * gap:
                    tid = self._alias.get(old, old)
                    break
            self._alias[d.track_id] = tid
        heading = math.radians(measured["heading_deg"])
        speed = measured["speed_px_s"]
        self._against[d.track_id] = (
            now_s,
            *d.center,
            d.y1 - d.y0,
            speed * math.cos(heading),
            speed * math.sin(heading),
        )
        return tid

    def _in_lane(self, d: Detection, zone: ZoneGeometry) -> list[tuple[float, tuple[float, float]]]:
        """The in-lane anchors of the track's trailing run in ``zone`` (see :func:`lane_run`)."""
        assert d.track_id is not None
        entries = list(self._history.boxes.get(d.track_id, ()))  # its whole kept path
        if not entries:
            return []
        flags = self._lane_flags.setdefault((d.track_id, zone), {})
        stale = list(itertools.takewhile(lambda t: t < entries[0][0], flags))
        for t in stale:  # entries the history dropped (older first: dicts keep their order)
            del flags[t]
        new = [(t, p) for t, p in entries if t not in flags or flags[t][0] is not p]
        edges = self._edges.get(zone)
        if edges is None:
            edges = self._edges[zone] = _edges(zone.polygon)
        for (t, _), flag in zip(new, _lane_flags(new, zone, edges), strict=True):
            flags[t] = flag
        judged = [flags[t] for t, _ in entries]
        if any(f[0] is not p for f, (_, p) in zip(judged, entries, strict=True)):
            judged = _lane_flags(entries, zone, edges)  # two entries at one time: judge them all
        return [
            (entries[i][0], (judged[i][1], judged[i][2])) for i in lane_run([f[3] for f in judged])
        ]

    def _judge(
        self,
        obs: Observation,
        d: Detection,
        zone: ZoneGeometry,
        lane: list[tuple[float, float]] | None,
        ground: _core.Homography | None,
    ) -> dict[str, float] | None:
        rule = self.rule
        assert d.track_id is not None
        if self._history.age(d.track_id, obs.time_s) < rule.min_track_age_s:
            return None
        path = self._in_lane(d, zone)
        if len(path) < 3:
            return None
        (x0, y0), (x1, y1) = path[0][1], path[-1][1]
        travelled = sum(
            math.hypot(b[1][0] - a[1][0], b[1][1] - a[1][1]) for a, b in itertools.pairwise(path)
        )
        straightness = math.hypot(x1 - x0, y1 - y0) / travelled if travelled > 0 else 0.0
        if straightness < MIN_STRAIGHTNESS:
            return None  # a jittering box (camera shake, merging blobs), not a steady walk
        allowed = rule.direction_deg if lane is None else lane_direction(lane, x1, y1)
        assert allowed is not None
        ux, uy = math.cos(math.radians(allowed)), math.sin(math.radians(allowed))
        along = abs((x1 - x0) * ux + (y1 - y0) * uy)  # distance moved along the lane's axis
        if along < rule.min_displacement_px:
            return None  # crossing the lane, or not far enough along it
        turn = _turn_deg(path)
        if turn > MAX_TURN_DEG:
            return None  # turning: its heading sweeps through the cone
        vx, vy = _velocity(path)
        judged, against, heading, speed = _core.heading_check(
            np.array([[vx, vy]]),
            np.array([[x1 - x0, y1 - y0]]),
            allowed,
            rule.tolerance_deg,
            rule.min_displacement_px,
        )
        if not (judged[0] and against[0]):
            return None
        values = {
            "speed_px_s": round(float(speed[0]), 2),
            "heading_deg": round(float(heading[0]), 1),
            "allowed_deg": round(allowed, 1),
            "displacement_px": round(math.hypot(x1 - x0, y1 - y0), 1),
            "straightness": round(straightness, 3),
            "along_px": round(along, 1),
            "turn_deg": round(turn, 1),
        }
        if ground is not None and rule.min_displacement_m is not None:
            g = ground.to_ground(np.array([[x0, y0], [x1, y1]], dtype=np.float64))
            metres = float(np.hypot(*(g[1] - g[0])))
            if not metres >= rule.min_displacement_m:  # NaN (beyond the horizon) too
                return None
            values["displacement_m"] = round(metres, 2)
        return values


#: The ``wrong_way`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=WrongWayRule,
    notice=("circulation à contresens", "a person or vehicle going the wrong way"),
    runner=lambda camera, rule, storm: WrongWayRunner(
        camera.id, rule, camera.zones, camera.calibration, storm
    ),
    hold_s=lambda rule, fps: rule.min_track_age_s + rule.min_duration_s,
)
