"""``density``: persons per m² in a zone above a warning or an alert level, sustained.

The zone's ground area is its ``area_m2`` or, with the camera's ``calibration``, the
homography's area of its polygon. Persons are counted two ways:

- ``tracks``: the person detections whose anchor is in the zone. A detector sees only a few of
  the persons of a dense crowd (occlusion, small heads), so the count saturates far below
  4 persons/m²; where it sees at least ``_MIN_SEEN`` persons in the zone the occupancy estimate
  below is taken too, and the density is the larger of the two;
- ``occupancy`` (no detector needed): the estimate alone.

The occupancy estimate is calibrated by the zone's area and the camera's perspective, not by a
per-camera constant. A :class:`~vsa_stream.rules.scale.PersonScale` (the calibration, else the
heights of the persons seen lately) gives the pixel height ``h`` of a person at each block of
the foreground mask (16-pixel blocks); a person's silhouette covers about ``0.4 h²`` pixels
there. Persons overlap, so a region whose fraction ``f`` is foreground and which holds ``n``
silhouettes side by side holds, by the coverage of randomly placed silhouettes,
``-ln(1 - f) × n`` persons (``f`` capped at ``_MAX_COVER``: a fully covered region says "at
least that many"; in a view so shallow that a few persons hide the floor, occupancy cannot
count a crush). The zone's ground area is spread over its blocks by perspective (a block's
ground area goes as ``1 / h²``), which gives a density grid: the density is the larger of the
zone's average and its *local peak*, the densest window of about ``_PEAK_M2`` of ground inside
the zone, on the block coverage averaged over ``smooth_s`` (a packed corner of a large zone is
dangerous even when the zone's average is not; over 20 m² and 2 s the chance clustering of a
sparse crowd stays under the warning level). With no scale at all (no calibration, no person
seen yet), or with an explicit ``full_density``, ``occupancy`` falls back on the old proxy:
foreground fraction × ``full_density`` (5 when not given).

A *scene cut or camera move* (the foreground of the whole frame jumps by ``_CUT_JUMP`` of the
frame within ``_CUT_WINDOW_S``: an edited video's next shot, a pan, a light switched on) resets
the rule instead of alerting: the smoothing is emptied, the zones' pending conditions restart,
and nothing is judged until the whole-frame foreground has fallen back to half its value after
the jump (the background model has learnt the new view).

The density is averaged over ``smooth_s``; the condition holds while it reaches ``warning``; an
event opens once it has held ``min_duration_s``, at level 1 (warning) or 2 (alert, at
``alert``); a rise from warning to alert publishes an ``updated`` revision.

False-positive controls: the sustained duration (a train unloading is a passing peak), the
smoothing (detector flicker), the level hysteresis of ``exit_grace_s``, the scene-cut reset,
and in ``tracks`` mode the occupancy estimate only where the detector does see a crowd.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

from vsa_stream.config import Calibration, DensityRule, Zone
from vsa_stream.observation import Foreground, Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import CellMasks, Zones, ground_homography, matches_class
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger
from vsa_stream.rules.scale import PersonScale

__all__ = ["SITUATION", "DensityRunner", "covered_count"]

_BLOCK_PX = 16  # side of a density-grid block, in pixels of the frame
_PERSON_AREA = 0.4  # a standing person covers about this times its height squared, in pixels
_MAX_COVER = 0.95  # foreground fraction above which a block is "full"
_MIN_SEEN = 3  # persons the detector must see in the zone before the occupancy estimate counts
_PEAK_M2 = 20.0  # ground area of the local-peak window (a patch of about 4.5 x 4.5 m)
_PROXY_FULL_DENSITY = 5.0  # the old proxy's density of a fully occupied zone
_CUT_JUMP = 0.5  # rise of the whole-frame foreground fraction that is a cut or camera move
_CUT_WINDOW_S = 0.5


def covered_count(cover: NDArray[np.float64], fits: NDArray[np.float64]) -> NDArray[np.float64]:
    """Persons in regions whose foreground fraction is ``cover`` and which ``fits`` person
    silhouettes side by side: ``-ln(1 - cover) × fits``, the number of randomly placed
    silhouettes that leaves that fraction covered (``cover`` capped at ``_MAX_COVER``).

    Example:
        >>> covered_count(np.array([0.0, 0.5]), np.array([10.0, 10.0])).round(2).tolist()
        [0.0, 6.93]
    """
    out: NDArray[np.float64] = -np.log1p(-np.minimum(cover, _MAX_COVER)) * fits
    return out


def _window_sums(grid: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Sums of every ``k × k`` window of ``grid`` (valid windows only)."""
    c = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1))
    c[1:, 1:] = grid.cumsum(axis=0).cumsum(axis=1)
    out: NDArray[np.float64] = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return out


class DensityRunner(SituationRunner[DensityRule]):
    """Runs one ``density`` rule of one camera."""

    clear_reason = "density below warning"

    def __init__(
        self,
        camera_id: str,
        rule: DensityRule,
        zones: list[Zone],
        calibration: Calibration | None = None,
        storm: StormGuard | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._cells = CellMasks(self._zones)
        self._blocks = CellMasks(self._zones)
        self._calibration = calibration
        self._scale = PersonScale(calibration, rule.classes)
        self._area: dict[str, float] = {}
        self._size = (0, 0)
        self._recent: dict[str, deque[tuple[float, float]]] = {}
        self._covers: deque[tuple[float, NDArray[np.float64]]] = deque()  # over smooth_s
        self._frame_cover: deque[tuple[float, float]] = deque()
        self._settle_below: float | None = None  # after a cut: judge again under this cover
        self._generation = 0

    def _areas(self, obs: Observation) -> dict[str, float]:
        if self._size != (obs.width, obs.height):
            self._size = (obs.width, obs.height)
            by_id = {z.id: z for z in self._zones.configured}
            ground = (
                ground_homography(self._calibration, obs.width, obs.height)
                if self._calibration is not None
                else None
            )
            self._area = {}
            for zone in self._zones.resolve(obs):
                given = by_id[zone.id].area_m2
                if given is None:
                    assert ground is not None  # config guarantees one of them
                    given = ground.ground_area(zone.polygon)
                self._area[zone.id] = given
        return self._area

    def _cut(self, obs: Observation, fg: Foreground | None) -> bool:
        """Whether the rule is reset or settling after a scene cut or a camera move."""
        if fg is None:
            return False
        cover = float(np.count_nonzero(fg.mask)) / max(1, fg.mask.size)
        recent = self._frame_cover
        recent.append((obs.time_s, cover))
        while recent and obs.time_s - recent[0][0] > _CUT_WINDOW_S:
            recent.popleft()
        if cover - min(c for _, c in recent) >= _CUT_JUMP:
            self._settle_below = cover / 2.0
            self._generation += 1  # pending conditions restart under new keys
            self._recent.clear()
            self._covers.clear()
            return True
        if self._settle_below is not None:
            if cover > self._settle_below:
                return True
            self._settle_below = None
        return False

    def _cover(self, obs: Observation, mask: NDArray[np.bool_]) -> NDArray[np.float64]:
        """The foreground fraction of every block, averaged over ``smooth_s``: a crowd moves,
        so chance clusters fade and lasting ones (a packed corner) stay (one grid per frame,
        shared by the zones)."""
        covers = self._covers
        if not covers or covers[-1][0] != obs.time_s:
            grid = mask.mean(axis=(1, 3))
            if covers and covers[-1][1].shape != grid.shape:
                covers.clear()
            covers.append((obs.time_s, grid))
            while covers and obs.time_s - covers[0][0] > self.rule.smooth_s:
                covers.popleft()
        out: NDArray[np.float64] = np.mean([g for _, g in covers], axis=0)
        return out

    def _estimate(
        self, obs: Observation, fg: Foreground, zone_id: str, area: float
    ) -> dict[str, float] | None:
        """The occupancy estimate of one zone (average and local peak), None without a
        person scale."""
        k = max(1, _BLOCK_PX // fg.factor)
        rows, cols = fg.mask.shape[0] // k, fg.mask.shape[1] // k
        if rows == 0 or cols == 0:
            return None
        block = k * fg.factor
        inside = self._blocks.masks(obs, block, (rows, cols)).get(zone_id)
        if inside is None or not inside.any():
            return None
        cy, cx = np.nonzero(inside)
        centres = np.stack([(cx + 0.5) * block, (cy + 0.5) * block], axis=1).astype(np.float64)
        heights = self._scale.heights(obs, centres)
        if heights is None:
            return None
        known = np.isfinite(heights) & (heights > 0)
        if not known.any():
            return None
        cy, cx, heights = cy[known], cx[known], heights[known]
        mask = (fg.mask[: rows * k, : cols * k] != 0).reshape(rows, k, cols, k)
        cover = np.zeros((rows, cols))
        fits = np.zeros((rows, cols))  # person silhouettes a block holds side by side
        metres = np.zeros((rows, cols))
        cover[cy, cx] = self._cover(obs, mask)[cy, cx]
        fits[cy, cx] = block * block / (_PERSON_AREA * heights**2)
        weight = 1.0 / heights**2  # ground area of a block goes as 1 / (px per metre)²
        metres[cy, cx] = area * weight / weight.sum()
        counted = np.zeros((rows, cols))
        counted[cy, cx] = 1.0
        # the coverage model holds over areas of many silhouettes: the zone, and windows of
        # about _PEAK_M2 for the local peak
        total = float(
            covered_count(np.array([cover.sum() / counted.sum()]), np.array([fits.sum()]))[0]
        )
        block_m2 = float(np.median(metres[cy, cx]))
        side = min(max(1, round(math.sqrt(_PEAK_M2 / max(block_m2, 1e-9)))), rows, cols)
        n = _window_sums(counted, side)
        full = n >= side * side / 2.0
        peak = 0.0
        if full.any():
            window_cover = _window_sums(cover, side)[full] / n[full]
            persons = covered_count(window_cover, _window_sums(fits, side)[full])
            peak = float((persons / np.maximum(_window_sums(metres, side)[full], 1e-9)).max())
        return {
            "estimated_persons": round(total, 1),
            "density_average": round(total / area, 3),
            "density_peak": round(peak, 3),
            "person_height_px": round(float(np.median(heights)), 1),
        }

    def timing(self) -> Timing:
        return Timing(self.rule.min_duration_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        rule = self.rule
        areas = self._areas(obs)
        self._scale.observe(obs)
        persons = [d for d in obs.detections if matches_class(d, rule.classes, blobs=False)]
        fg = obs.foreground
        triggers: list[Trigger] = []
        if self._cut(obs, fg):
            return triggers
        masks = (
            self._cells.masks(obs, fg.factor, fg.mask.shape)
            if fg is not None and rule.source == "occupancy"
            else {}
        )
        for zone in self._zones.resolve(obs):
            area = areas[zone.id]
            values: dict[str, float] = {"area_m2": round(area, 2)}
            boxes = []
            track_ids: list[int] = []
            density = -math.inf
            if rule.source == "tracks":
                inside = zone.inside(persons)
                density = len(inside) / area
                values["persons"] = float(len(inside))
                boxes = [obs.normalised(d) for d in inside]
                track_ids = [d.track_id for d in inside if d.track_id is not None]
            estimate = None
            seen = rule.source == "occupancy" or values.get("persons", 0.0) >= _MIN_SEEN
            if fg is not None and seen and rule.full_density is None:
                estimate = self._estimate(obs, fg, zone.id, area)
            if estimate is not None:
                values.update(estimate)
                density = max(density, estimate["density_average"], estimate["density_peak"])
            elif rule.source == "occupancy":
                mask = masks.get(zone.id)
                if fg is None or mask is None or not mask.any():
                    continue
                # the zone's foreground pixels over its pixels (counts: one logical_and, no
                # gather of the masked pixels, 5x cheaper)
                on = np.count_nonzero(np.logical_and(fg.mask, mask))
                occupancy = float(on) / int(np.count_nonzero(mask))
                full = _PROXY_FULL_DENSITY if rule.full_density is None else rule.full_density
                density = occupancy * full
                values["occupancy"] = round(occupancy, 3)
            recent = self._recent.setdefault(zone.id, deque())
            recent.append((obs.time_s, density))
            while recent and obs.time_s - recent[0][0] > rule.smooth_s:
                recent.popleft()
            smoothed = sum(v for _, v in recent) / len(recent)
            if smoothed < rule.warning:
                continue
            level = 2 if smoothed >= rule.alert else 1
            values.update({"density": round(smoothed, 3), "level": float(level)})
            triggers.append(
                Trigger(
                    key=f"{zone.id}#{self._generation}" if self._generation else zone.id,
                    zone_id=zone.id,
                    boxes=boxes,
                    values=values,
                    track_ids=track_ids,
                    severity=level,
                    peak=("density",),
                )
            )
        return triggers


#: The ``density`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=DensityRule,
    notice=("densité trop importante de personnes", "an excessive density of people"),
    runner=lambda camera, rule, storm: DensityRunner(
        camera.id, rule, camera.zones, camera.calibration, storm
    ),
    hold_s=lambda rule, fps: rule.min_duration_s,
    # occupancy, and the estimate where tracks cannot count
    signals=lambda rule: frozenset({"foreground"}),
)
