"""``fire``: a fire start, from flame-colour and flicker evidence or fire/smoke detections.

A flame flickers in place: its base stays where it is, its fire-coloured area never vanishes
and tends to grow, and its flicker is irregular. A sign, a beacon, a person in orange
clothes or a car's lights either blink periodically or move. So the rule works on *regions*:
8-connected groups of fire-coloured cells of the Rust fire evidence inside the zone (or the
whole frame) holding a cell that scores ``min_score``, followed from frame to frame by overlap
(a region lives on while one of its cells scores 0.7 of ``min_score``, and keeps its age
through a gap of up to ``exit_grace_s`` while its place stays fire-coloured). A region counts
(the condition holds) when

- it has at least ``min_cells`` scoring cells *and* its fire-coloured pixels cover at least
  ``min_area`` of the frame: one 16-pixel cell of colour noise is not a fire, and the bar
  scales with the frame;
- it is not carried by a tracked object of ``ignore_classes`` (persons, vehicles): one tracked
  box holding most of its scoring cells over the last two seconds while that box moved (orange
  clothes, a load, a car's lights travel with their box; a person standing by a fire does not
  hide it);
- its fire-coloured cells are not periodic: the Rust kernel's per-cell ``periodicity`` (the
  strongest autocorrelation of a cell's colour fraction beyond its first zero crossing, over
  six seconds) averaged over the region's scoring cells and its last second stays below
  ``max_periodicity``; neon signs,
  beacons and indicators blink with a single strong period, flames do not.

The event opens once one region has been seen at least ``min_duration_s``, at a stable place
(the spread of its centroid over that time at most ``max_drift`` of its size, or a cell), and
the fire has grown: the fire-coloured area of the counted regions in the newer half of the
condition is at least ``1 + min_growth`` times the older half's (the default −0.2 lets a
steady fire through but not a fading one). A detection of ``classes`` (a user's fire/smoke
model) scoring ``min_class_score`` also holds the condition, without those region checks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from vsa_stream.config import FireRule, Zone
from vsa_stream.observation import Detection, FireEvidence, Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import CellMasks, Zones, matches_class, whole_frame_key
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger

__all__ = ["SITUATION", "FireRunner"]

# A region missing for up to this long keeps its history (a flame's cells drop under the
# score for a few frames). While its place stays fire-coloured it keeps it for up to the
# rule's ``exit_grace_s`` (the event's condition bridges the same gap): a small flame whose
# flicker is weak for a second drops out of the score, not out of the colour, and its age
# must not start again. A light that goes off loses its colour and its region.
_REGION_GRACE_S = 0.6
# A box moved when its centre travelled this share of its height (or _MOVED_PX pixels).
_MOVED = 0.25
_MOVED_PX = 16.0
# How far back a region's carrier (a tracked box holding most of its hot cells) is judged.
_CARRY_S = 2.0
# How far back the centroid of a region is judged, and its periodicity (the kernel's is
# already over six seconds; a second of it smooths the per-frame noise).
_RECENT_S = 3.0
_PERIOD_S = 1.0
# A cell at least this fire-coloured belongs to a region's area.
_COLOURED = 0.05
# Hysteresis: a region starts at a cell scoring ``min_score`` and lives on while one of its
# cells scores this share of it (a small flame's score hovers around the threshold).
_KEEP = 0.7


@dataclass(slots=True)
class _Region:
    """One fire-coloured region followed over frames.

    ``cells`` is its connected fire-coloured area, ``hot`` the cells of it that score (at least
    ``_KEEP`` of ``min_score`` once it is born); the recent history holds ``(time, row, col,
    periodicity)``: the score-weighted centroid of the hot cells and their colour-weighted
    periodicity.
    """

    cells: NDArray[np.bool_]
    hot: NDArray[np.bool_]
    born_s: float
    last_s: float
    recent: deque[tuple[float, float, float, float]] = field(default_factory=deque)
    # (time, track id, box centre x, centre y, height) of the tracked box holding most of the
    # hot cells, or (time, None, ...) when none does
    carriers: deque[tuple[float, int | None, float, float, float]] = field(default_factory=deque)

    def drift(self) -> float:
        """RMS distance of the recent hot-cell centroids from their mean, in cells."""
        if len(self.recent) < 2:
            return 0.0
        pts = np.array([(r, c) for _, r, c, _ in self.recent])
        return float(np.sqrt(((pts - pts.mean(axis=0)) ** 2).sum(axis=1).mean()))

    def carry(self, time_s: float, boxes: list[Detection], cell: int) -> None:
        """Records which tracked box (if any) holds at least half of the hot cells now."""
        rows, cols = np.nonzero(self.hot)
        xs, ys = (cols + 0.5) * cell, (rows + 0.5) * cell
        best: tuple[float, Detection | None] = (0.5, None)
        for b in boxes:
            share = float(((xs >= b.x0) & (xs < b.x1) & (ys >= b.y0) & (ys < b.y1)).mean())
            if share >= best[0]:
                best = (share, b)
        d = best[1]
        if d is None:
            self.carriers.append((time_s, None, 0.0, 0.0, 0.0))
        else:
            cx, cy = d.center
            self.carriers.append((time_s, d.track_id, cx, cy, d.y1 - d.y0))
        while self.carriers[0][0] < time_s - _CARRY_S:
            self.carriers.popleft()

    def carried(self) -> bool:
        """Whether one tracked box held the region most of the last seconds *and moved*: the
        fire-coloured thing travels with a person or a vehicle (clothes, a load, lights)."""
        ids = [k for _, k, *_ in self.carriers if k is not None]
        if not ids:
            return False
        track = max(set(ids), key=ids.count)
        if 2 * ids.count(track) < len(self.carriers):
            return False
        path = [(x, y, h) for _, k, x, y, h in self.carriers if k == track]
        (x0, y0, _), (x1, y1, _) = path[0], path[-1]
        height = sum(h for *_, h in path) / len(path)
        return math.hypot(x1 - x0, y1 - y0) >= max(_MOVED_PX, _MOVED * height)

    def periodicity(self) -> float:
        """Mean periodicity of the hot cells over the last second (NaN: not known yet)."""
        last = [
            p
            for t, *_, p in self.recent
            if t >= self.last_s - _PERIOD_S - 1e-6 and not math.isnan(p)
        ]
        return sum(last) / len(last) if last else math.nan


class _Regions:
    """Follows the fire-coloured regions of one zone from frame to frame by overlap."""

    def __init__(self, grace_s: float = _REGION_GRACE_S) -> None:
        self.regions: list[_Region] = []
        self.grace_s = max(_REGION_GRACE_S, grace_s)

    def update(
        self,
        time_s: float,
        fire: FireEvidence,
        hot: NDArray[np.bool_],
        warm: NDArray[np.bool_],
        coloured: NDArray[np.bool_],
    ) -> list[_Region]:
        """Matches this frame's fire-coloured components to the regions: a component with a
        ``warm`` cell keeps a region alive, one with a ``hot`` cell may start one; a region
        not seen lives on for ``_REGION_GRACE_S``, or up to ``grace_s`` while its place is
        ``coloured``. Returns the regions seen now."""
        components = _components(coloured | warm, warm)
        self.regions = [r for r in self.regions if time_s - r.last_s <= self.grace_s + 1e-6]
        grown = [_dilate(r.cells) for r in self.regions]
        seen: list[_Region] = []
        absorbed: set[int] = set()
        for comp in components:
            overlapping = [
                i for i, g in enumerate(grown) if i not in absorbed and bool((g & comp).any())
            ]
            region_hot = comp & warm
            if not overlapping and not bool((comp & hot).any()):
                continue
            if overlapping:
                # a merge keeps the oldest history
                i = min(overlapping, key=lambda k: self.regions[k].born_s)
                absorbed.update(k for k in overlapping if k != i)
                grown[i] = np.zeros_like(comp)  # taken
                region = self.regions[i]
                region.cells, region.hot, region.last_s = comp, region_hot, time_s
            else:
                region = _Region(comp, region_hot, time_s, time_s)
                self.regions.append(region)
            rows, cols = np.nonzero(region_hot)
            w = fire.score[rows, cols].astype(np.float64)
            colour = fire.colour[rows, cols].astype(np.float64)
            period = 0.0
            if fire.periodicity is not None:
                p = fire.periodicity[rows, cols].astype(np.float64)
                period = float((colour * p).sum() / max(float(colour.sum()), 1e-9))
            region.recent.append(
                (
                    time_s,
                    float((rows * w).sum() / w.sum()),
                    float((cols * w).sum() / w.sum()),
                    period,
                )
            )
            while region.recent[0][0] < time_s - _RECENT_S:
                region.recent.popleft()
            seen.append(region)
        # a region not seen now still has its dilated cells in `grown` (regions born now
        # were seen)
        self.regions = [
            r
            for i, r in enumerate(self.regions)
            if i not in absorbed
            and (time_s - r.last_s <= _REGION_GRACE_S + 1e-6 or bool((grown[i] & coloured).any()))
        ]
        return seen


class FireRunner(SituationRunner[FireRule]):
    """Runs one ``fire`` rule of one camera."""

    clear_reason = "no fire seen"

    def __init__(
        self, camera_id: str, rule: FireRule, zones: list[Zone], storm: StormGuard | None = None
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._cells = CellMasks(self._zones)
        self._area: dict[str, deque[tuple[float, float]]] = {}
        self._regions: dict[str, _Regions] = {}

    def timing(self) -> Timing:
        return Timing(self.rule.min_duration_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        classified = [
            d
            for d in obs.detections
            if matches_class(d, rule.classes, blobs=False) and d.score >= rule.min_class_score
        ]
        masks: dict[str | None, NDArray[np.bool_]] = {}
        if obs.fire is not None:
            masks = self._cells.masks(obs, obs.fire.cell, obs.fire.score.shape)
        carriers = [
            d
            for d in obs.detections
            if d.track_id is not None and d.label is not None and d.label in rule.ignore_classes
        ]
        triggers: list[Trigger] = []
        for zone in self._zones.of(obs):
            key = whole_frame_key if zone is None else zone.id
            hits = classified if zone is None else zone.inside(classified)
            mask = masks.get(None if zone is None else zone.id)
            trigger = self._judge(obs, key, mask, hits, carriers)
            if trigger is None:
                continue
            trigger.zone_id = None if zone is None else zone.id
            triggers.append(trigger)
        return triggers

    def _judge(
        self,
        obs: Observation,
        key: str,
        watch: NDArray[np.bool_] | None,
        hits: list[Detection],
        carriers: list[Detection],
    ) -> Trigger | None:
        rule = self.rule
        boxes = [obs.normalised(d) for d in hits]
        values: dict[str, float] = {}
        area = 0.0
        fire = obs.fire
        counted: list[_Region] = []
        ready = bool(hits)
        if fire is not None and watch is not None:
            hot = (fire.score >= rule.min_score) & watch
            warm = (fire.score >= _KEEP * rule.min_score) & watch
            coloured = (fire.colour >= _COLOURED) & watch
            tracker = self._regions.setdefault(key, _Regions(rule.exit_grace_s))
            pixel = fire.cell * fire.cell / float(obs.width * obs.height)
            for region in tracker.update(obs.time_s, fire, hot, warm, coloured):
                region.carry(obs.time_s, carriers, fire.cell)
                if int(region.hot.sum()) < rule.min_cells:
                    continue
                if float(fire.colour[region.cells].sum()) * pixel < rule.min_area:
                    continue
                if region.periodicity() >= rule.max_periodicity:
                    continue
                if region.carried():
                    continue
                counted.append(region)
        if counted:
            assert fire is not None
            c = fire.cell
            for region in counted:
                rows, cols = np.nonzero(region.hot)
                boxes.append(
                    obs.normalised_box(
                        float(cols.min() * c),
                        float(rows.min() * c),
                        float(min(obs.width, (cols.max() + 1) * c)),
                        float(min(obs.height, (rows.max() + 1) * c)),
                    )
                )
                area += float(fire.colour[region.cells].sum())
                aged = obs.time_s - region.born_s >= rule.min_duration_s - 1e-6
                reach = max(1.0, rule.max_drift * math.sqrt(float(region.cells.sum())))
                known = not math.isnan(region.periodicity())
                ready = ready or (aged and known and region.drift() <= reach)
            values["score"] = round(max(float(fire.score[r.hot].max()) for r in counted), 3)
            values["cells"] = float(max(int(r.hot.sum()) for r in counted))
            values["drift"] = round(min(r.drift() for r in counted), 3)
            periods = [p for r in counted if not math.isnan(p := r.periodicity())]
            if periods:
                values["periodicity"] = round(min(periods), 3)
        if not counted and not hits:
            return None
        if hits:
            values["class_score"] = round(max(d.score for d in hits), 3)
            area += sum((d.x1 - d.x0) * (d.y1 - d.y0) for d in hits) / (obs.width * obs.height)
        history = self._area.setdefault(key, deque())
        history.append((obs.time_s, area))
        since = self.lifecycle.since(key, obs.time_s)
        start = obs.time_s if since is None else since
        while history and history[0][0] < start:
            history.popleft()
        growth = _growth([a for _, a in history])
        values["growth"] = round(growth, 3)
        return Trigger(
            key=key,
            boxes=boxes,
            values=values,
            track_ids=[d.track_id for d in hits if d.track_id is not None],
            peak=("score", "cells"),
            ready=ready and growth >= rule.min_growth,
        )


def _dilate(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``mask`` grown by one cell in the 8 directions."""
    padded = np.pad(mask, 1)
    rows, cols = mask.shape
    out = np.zeros_like(mask)
    for dr in range(3):
        for dc in range(3):
            out |= padded[dr : dr + rows, dc : dc + cols]
    return out


def _components(mask: NDArray[np.bool_], seeds: NDArray[np.bool_]) -> list[NDArray[np.bool_]]:
    """The 8-connected components of ``mask`` holding a cell of ``seeds`` (a subset of it),
    each as a mask of the same shape. Only those components are walked."""
    rows, cols = np.nonzero(mask)
    todo = set(zip(rows.tolist(), cols.tolist(), strict=True))
    out: list[NDArray[np.bool_]] = []
    for r0, c0 in zip(*(a.tolist() for a in np.nonzero(seeds)), strict=True):
        if (r0, c0) not in todo:
            continue  # in a component found already
        todo.discard((r0, c0))
        stack, members = [(r0, c0)], [(r0, c0)]
        while stack:
            r, c = stack.pop()
            for n in (
                (r - 1, c - 1), (r - 1, c), (r - 1, c + 1), (r, c - 1),
                (r, c + 1), (r + 1, c - 1), (r + 1, c), (r + 1, c + 1),
            ):  # fmt: skip
                if n in todo:
                    todo.discard(n)
                    stack.append(n)
                    members.append(n)
        comp = np.zeros(mask.shape, dtype=bool)
        rr, cc = zip(*members, strict=True)
        comp[list(rr), list(cc)] = True
        out.append(comp)
    return out


def _growth(areas: list[float]) -> float:
    """Mean of the newer half over mean of the older half, minus 1 (0 for too few samples)."""
    if len(areas) < 2:
        return 0.0
    half = len(areas) // 2
    older = sum(areas[:half]) / half
    newer = sum(areas[half:]) / (len(areas) - half)
    if older <= 0.0:
        return 0.0 if newer <= 0.0 else 1.0
    return newer / older - 1.0


#: The ``fire`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=FireRule,
    notice=("départ de feu", "a fire starting"),
    runner=lambda camera, rule, storm: FireRunner(camera.id, rule, camera.zones, storm),
    hold_s=lambda rule, fps: rule.min_duration_s,
    signals=lambda rule: frozenset({"fire"}),
)
