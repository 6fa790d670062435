"""``crowd_movement``: surge, dispersal, convergence or running, against a learnt baseline.

Per zone (or the whole frame), each frame's motion field gives, over its confident cells
moving at least ``_MOVING`` px/frame: the mean speed, the mean divergence, the coherence
(``|mean vector| / mean |vector|``) and the moving fraction of the zone. A rolling baseline of
the last ``baseline_s`` seconds of normal frames with a crowd moving (a still, empty scene is no
normal for a crowd) gives robust z-scores (median and MAD). Once
the baseline spans ``min_baseline_s``, a frame is anomalous when, with at least ``min_area``
of the zone moving:

- ``surge``: speed z ≥ ``z_threshold`` and speed ≥ ``min_speed``;
- ``running``: the same, with coherence ≥ ``min_coherence`` (everyone the same way);
- ``dispersal`` / ``convergence``: divergence z ≥ ``z_threshold`` (≤ −) and
  ``|divergence| ≥ min_divergence``.

Before the baseline exists the rule is not blind: with a person scale
(:class:`~vsa_stream.rules.scale.PersonScale`: the camera's calibration, else the heights of
the persons the detector saw lately), speeds are measured in body heights per second, a yardstick
that needs no history. A frame is then anomalous when the moving cells cover at least
``min_persons`` person-sized areas and move at ``surge_speed`` body heights per second or more
either one way (``running``, coherence ≥ ``min_coherence``) or spreading out (gathering in) with
most cells agreeing and ``|divergence| ≥ min_divergence`` (``dispersal``, ``convergence``); a
scene that starts in a surge alerts after ``min_duration_s``. Fast flow in every direction with
no structure waits for the baseline. Once the baseline exists it decides (the z-scores above):
a camera where crowds always jog is judged against its own normal. With a scale, the
``min_persons`` guard replaces ``min_area`` in both cases: one person running, however close to
the camera, never starts a crowd movement (once a crowd started it, the condition goes on while
one person-sized area still moves: a dispersing crowd soon leaves the zone).

Speeds in px/frame (``_MOVING``, ``min_speed``, the evidence's ``speed``) are pixels of the
motion field's frame: the camera's frame reduced to about 384 pixels wide
(:class:`~vsa_stream.observation.FlowField`), so a setting means the same on a 720p and a 4K
camera; body heights per second and divergence need no unit.

Anomalous frames and frames during an event are kept out of the baseline, so it does not learn
the anomaly. False-positive controls: the baseline itself (a dense but calm crowd, or a
platform at rush hour, is normal for its camera), robust statistics with floors (noise of an
empty scene is not a baseline of zero), the minimum area and speed, ``min_duration_s``; the
camera's own motion (on video: the median vector of the frame) is subtracted, so a shaking
camera is no surge, and only cells of the camera's foreground mask count (the flow of an empty,
noisy, textured area is noise); a dispersal (convergence) needs most moving cells to spread
out (gather in), not a mean pulled by a few noisy ones. Limit: a crowd filling more than half
of the view and moving one way looks like the camera moving.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from numpy.typing import NDArray

from vsa_stream.config import Calibration, CrowdMovementRule, Zone
from vsa_stream.observation import FlowField, Observation
from vsa_stream.rules.base import SituationRunner, SituationSpec
from vsa_stream.rules.common import CellMasks, Zones, whole_frame_key
from vsa_stream.rules.lifecycle import StormGuard, Timing, Trigger
from vsa_stream.rules.numeric import mean, median, median_columns
from vsa_stream.rules.scale import PersonScale

__all__ = ["SITUATION", "CrowdMovementRunner", "robust_z"]

_CONFIDENT = 0.25  # cell confidence below which a cell is ignored
_MOVING = 0.5  # px/frame: a cell slower than this is not moving
_SPEED_FLOOR = 0.1  # px/frame, and 10% of the median: the smallest speed spread
_DIVERGENCE_FLOOR = 0.005  # 1/frame: the smallest divergence spread


_MIN_EGO_CELLS = 16  # confident cells needed to estimate the camera's own motion
_DIVERGENCE_AGREEMENT = 0.6  # share of moving cells spreading (or gathering) for a dispersal
_FOREGROUND_CELL = 0.05  # fraction of a cell's pixels in the foreground that makes it moving
_PERSON_WIDTH = 0.4  # a standing person's box is about this fraction of its height wide


def person_cells(height_px: float, cell: int) -> float:
    """Flow cells one standing person of ``height_px`` touches (its box, plus the cell it
    straddles on each axis).

    Example:
        >>> person_cells(80.0, 16)
        18.0
    """
    return (_PERSON_WIDTH * height_px / cell + 1.0) * (height_px / cell + 1.0)


def _foreground_cells(obs: Observation, flow: FlowField) -> NDArray[np.bool_] | None:
    """Per flow cell: does the foreground mask cover at least ``_FOREGROUND_CELL`` of it?
    None without a foreground mask (scripted observations)."""
    fg = obs.foreground
    if fg is None:
        return None
    rows, cols = flow.confidence.shape
    k = max(1, flow.cell // fg.factor)
    h, w = min(rows * k, fg.mask.shape[0]), min(cols * k, fg.mask.shape[1])
    on = (fg.mask[:h, :w] != 0).view(np.uint8)
    if (h, w) != (rows * k, cols * k):  # a mask smaller than the grid: the rest is background
        on = np.pad(on, ((0, rows * k - h), (0, cols * k - w)))
    # foreground pixels per cell: sum the k rows of each cell row, then each run of k columns
    # (both on contiguous memory, in uint16: at most k * k, 2x faster than int32 and a 3-d sum)
    dtype = np.uint16 if k * k <= np.iinfo(np.uint16).max else np.int64
    counts = on.reshape(rows, k, cols * k).sum(axis=1, dtype=dtype)
    fraction = np.add.reduceat(counts, np.arange(0, cols * k, k), axis=1).astype(np.float32)
    fraction /= k * k
    cells: NDArray[np.bool_] = fraction >= _FOREGROUND_CELL
    return cells


def _where(
    used: NDArray[np.bool_], moving: NDArray[np.bool_]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Rows and columns of the moving cells (``moving`` indexes the ``used`` ones); found only
    where they are needed (a person scale, a trigger's box), not on every frame."""
    rows, cols = np.nonzero(used)
    return rows[moving], cols[moving]


class _FrameFlow:
    """What every zone of one frame reads: the flow, its confident cells, the foreground cells
    (None without a mask) and the camera's own motion (None when not estimated)."""

    def __init__(self, obs: Observation, flow: FlowField) -> None:
        self.flow = flow
        self.confident = flow.confidence >= _CONFIDENT
        self.fg_cells = _foreground_cells(obs, flow)
        self.ego: NDArray[np.float64] | None = None
        if self.fg_cells is not None and np.count_nonzero(self.confident) >= _MIN_EGO_CELLS:
            # on video, the camera's own motion (shake, vibration): the median vector of the
            # whole frame, where the static background dominates; a crowd moves relative to it
            self.ego = median_columns(flow.flow[self.confident].astype(np.float64))


def robust_z(value: float, history: NDArray[np.float64], floor: float) -> float:
    """``(value - median) / max(1.4826 * MAD, floor)`` of ``history``.

    Example:
        >>> round(robust_z(10.0, np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 0.1), 2)
        4.72
        >>> robust_z(10.0, np.array([2.0, 2.0, 2.0]), 0.1)  # no spread: the floor
        80.0
    """
    median_value = median(history)
    mad = median(np.abs(history - median_value))
    return (value - median_value) / max(1.4826 * mad, floor)


class _Baseline:
    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, float]] = deque()

    def add(self, time_s: float, speed: float, divergence: float, keep_s: float) -> None:
        self.samples.append((time_s, speed, divergence))
        while self.samples and time_s - self.samples[0][0] > keep_s:
            self.samples.popleft()

    def span(self, time_s: float) -> float:
        return time_s - self.samples[0][0] if self.samples else 0.0


class CrowdMovementRunner(SituationRunner[CrowdMovementRule]):
    """Runs one ``crowd_movement`` rule of one camera."""

    clear_reason = "motion back to normal"

    def __init__(
        self,
        camera_id: str,
        rule: CrowdMovementRule,
        zones: list[Zone],
        storm: StormGuard | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        super().__init__(camera_id, rule, storm)
        self._zones = Zones(rule.zones, zones)
        self._cells = CellMasks(self._zones)
        self._baselines: dict[str, _Baseline] = {}
        self._scale = PersonScale(calibration)
        self._last_s: float | None = None
        self._dt = 0.0

    def timing(self) -> Timing:
        return Timing(self.rule.min_duration_s, self.rule.exit_grace_s, self.rule.cooldown_s)

    def condition(self, obs: Observation) -> list[Trigger]:
        flow = obs.flow
        triggers: list[Trigger] = []
        self._scale.observe(obs)
        self._dt = 0.0 if self._last_s is None else obs.time_s - self._last_s
        self._last_s = obs.time_s
        if flow is not None:
            masks = self._cells.masks(obs, flow.cell, flow.confidence.shape)
            frame = _FrameFlow(obs, flow)  # what every zone of this frame shares
            for zone in self._zones.of(obs):
                key = whole_frame_key if zone is None else zone.id
                zone_id = None if zone is None else zone.id
                trigger = self._judge(obs, key, frame, masks[zone_id])
                if trigger is not None:
                    trigger.zone_id = zone_id
                    triggers.append(trigger)
        return triggers

    def _judge(
        self, obs: Observation, key: str, frame: _FrameFlow, mask: NDArray[np.bool_]
    ) -> Trigger | None:
        rule = self.rule
        zone_cells = int(np.count_nonzero(mask))
        if zone_cells == 0:
            return None
        flow, fg_cells = frame.flow, frame.fg_cells
        used = mask & frame.confident
        vectors = flow.flow[used].astype(np.float64)
        if frame.ego is not None:
            vectors -= frame.ego
        speeds = np.hypot(vectors[:, 0], vectors[:, 1])
        moving = speeds >= _MOVING
        if fg_cells is not None:
            moving &= fg_cells[used]  # flow where nothing moves is noise on texture
        divs = flow.divergence[used][moving]
        n_moving = int(np.count_nonzero(moving))
        if n_moving:
            speed = mean(speeds[moving])
            divergence = mean(divs)
            outward = mean(divs > 0)
            mean_vector = vectors[moving].sum(axis=0) / n_moving  # np.mean's own arithmetic
            coherence = float(np.hypot(*mean_vector)) / speed
        else:
            speed = divergence = coherence = 0.0
            outward = 0.5
        area = float(n_moving) / zone_cells
        baseline = self._baselines.setdefault(key, _Baseline())
        kinds: list[str] = []
        values: dict[str, float] = {}
        crowd = area >= rule.min_area
        heights = None
        if n_moving and self._dt > 0.0 and self._scale.known:
            rows, cols = _where(used, moving)
            c = flow.cell
            centres = np.empty((n_moving, 2), dtype=np.float64)
            centres[:, 0] = cols
            centres[:, 1] = rows
            centres += 0.5
            centres *= c
            heights = self._scale.heights(obs, centres)
        if heights is not None and np.isfinite(heights).any():
            known = np.isfinite(heights)
            tall = median(heights[known])
            persons = float(n_moving) / person_cells(tall, flow.cell)
            # speeds are in pixels of the field's reduced frame, heights in the frame's
            speed_bh = float((speeds[moving][known] / heights[known]).mean()) * flow.scale
            speed_bh /= self._dt
            # a crowd starts the condition; once it holds, the movement goes on while at least
            # one person-sized area still moves in the zone (a dispersing crowd leaves it)
            held = self.lifecycle.since(key, obs.time_s) is not None
            crowd = persons >= (1.0 if held else rule.min_persons)
            values.update({"speed_bh_s": round(speed_bh, 2), "persons_moving": round(persons, 1)})
            values["person_height_px"] = round(tall, 1)
            if baseline.span(obs.time_s) < rule.min_baseline_s and crowd:
                kinds += self._absolute(speed_bh, coherence, divergence, outward)
        if baseline.span(obs.time_s) >= rule.min_baseline_s:
            history = np.array(baseline.samples, dtype=np.float64)
            median_speed = median(history[:, 1])
            speed_z = robust_z(speed, history[:, 1], max(_SPEED_FLOOR, 0.1 * median_speed))
            div_z = robust_z(divergence, history[:, 2], _DIVERGENCE_FLOOR)
            if crowd:
                if speed_z >= rule.z_threshold and speed >= rule.min_speed:
                    kinds.append("running" if coherence >= rule.min_coherence else "surge")
                spread = div_z >= rule.z_threshold and divergence >= rule.min_divergence
                if spread and outward >= _DIVERGENCE_AGREEMENT:
                    kinds.append("dispersal")
                gather = div_z <= -rule.z_threshold and divergence <= -rule.min_divergence
                if gather and 1.0 - outward >= _DIVERGENCE_AGREEMENT:
                    kinds.append("convergence")
            values.update(
                {
                    "speed_z": round(speed_z, 2),
                    "baseline_speed": round(median_speed, 3),
                    "divergence_z": round(div_z, 2),
                }
            )
        kinds = [k for k in kinds if k in rule.kinds]
        values.update(
            {
                "speed": round(speed, 3),
                "divergence": round(divergence, 4),
                "coherence": round(coherence, 3),
                "outward_fraction": round(outward, 3),
                "moving_fraction": round(area, 3),
            }
        )
        if not kinds:
            if crowd and self.lifecycle.since(key, obs.time_s) is None:
                # the normal motion of a crowd here: frames without one (an empty plaza, a car
                # passing) would make any crowd that moves look anomalous against them
                baseline.add(obs.time_s, speed, divergence, rule.baseline_s)
            return None
        values.update({f"kind_{k}": 1.0 for k in kinds})
        rows, cols = _where(used, moving)
        c = flow.cell
        box = obs.normalised_box(
            float(cols.min() * c),
            float(rows.min() * c),
            float(min(obs.width, (cols.max() + 1) * c)),
            float(min(obs.height, (rows.max() + 1) * c)),
        )
        return Trigger(
            key=key,
            boxes=[box],  # the moving cells of the zone
            values=values,
            peak=("speed_z", "speed", "speed_bh_s"),
        )

    def _absolute(
        self, speed_bh: float, coherence: float, divergence: float, outward: float
    ) -> list[str]:
        """The kinds a crowd's motion shows in body heights per second (no baseline yet)."""
        rule = self.rule
        if speed_bh < rule.surge_speed:
            return []
        if coherence >= rule.min_coherence:
            return ["running"]
        if divergence >= rule.min_divergence and outward >= _DIVERGENCE_AGREEMENT:
            return ["dispersal"]
        if divergence <= -rule.min_divergence and 1.0 - outward >= _DIVERGENCE_AGREEMENT:
            return ["convergence"]
        return []


#: The ``crowd_movement`` situation, for :mod:`vsa_stream.rules.registry`.
SITUATION = SituationSpec(
    config=CrowdMovementRule,
    notice=("mouvement de foule", "a crowd movement"),
    runner=lambda camera, rule, storm: CrowdMovementRunner(
        camera.id, rule, camera.zones, storm, camera.calibration
    ),
    hold_s=lambda rule, fps: rule.min_duration_s,
    signals=lambda rule: frozenset({"flow", "foreground"}),
)
