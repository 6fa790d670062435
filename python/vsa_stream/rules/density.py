"""``density``: persons per m² in a zone above a warning or an alert level, sustained.

The zone's ground area is its ``area_m2`` or, with the camera's ``calibration``, the
homography's area of its polygon. Persons come from the detector's tracks (``source:
tracks``: the person detections whose anchor is in the zone), or, without a detector, from
the foreground occupancy of the zone (``source: occupancy``: the moving fraction of its
pixels times ``full_density``, the density of a fully occupied zone, to calibrate per
camera). The density is averaged over ``smooth_s``; the condition holds while it reaches
``warning``; an event opens once it has held ``min_duration_s``, at level 1 (warning) or 2
(alert, at ``alert``); a rise from warning to alert publishes an ``updated`` revision.

False-positive controls: the sustained duration (a train unloading is a passing peak), the
smoothing (detector flicker), the level hysteresis of ``exit_grace_s``.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from vsa_stream.config import Calibration, DensityRule, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.rules.common import CellMasks, Zones, ground_homography, matches_class
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger

__all__ = ["DensityRunner"]


class DensityRunner:
    """Runs one ``density`` rule of one camera."""

    def __init__(
        self,
        camera_id: str,
        rule: DensityRule,
        zones: list[Zone],
        calibration: Calibration | None = None,
        storm: StormGuard | None = None,
    ) -> None:
        self.rule = rule
        self._zones = Zones(rule.zones, zones)
        self._cells = CellMasks(self._zones)
        self._calibration = calibration
        self._area: dict[str, float] = {}
        self._size = (0, 0)
        self._recent: dict[str, deque[tuple[float, float]]] = {}
        timing = Timing(rule.min_duration_s, rule.exit_grace_s, rule.cooldown_s)
        self.lifecycle = Lifecycle(
            camera_id, "density", timing, storm, clear_reason="density below warning"
        )

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

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        rule = self.rule
        areas = self._areas(obs)
        persons = [d for d in obs.detections if matches_class(d, rule.classes, blobs=False)]
        fg = obs.foreground
        masks = (
            self._cells.masks(obs, fg.factor, fg.mask.shape)
            if fg is not None and rule.source == "occupancy"
            else {}
        )
        triggers: list[Trigger] = []
        for zone in self._zones.resolve(obs):
            area = areas[zone.id]
            values: dict[str, float] = {"area_m2": round(area, 2)}
            boxes = []
            if rule.source == "tracks":
                inside = zone.inside(persons)
                density = len(inside) / area
                values["persons"] = float(len(inside))
                boxes = [obs.normalised(d) for d in inside]
                track_ids = [d.track_id for d in inside if d.track_id is not None]
            else:
                mask = masks.get(zone.id)
                if fg is None or mask is None or not mask.any():
                    continue
                occupancy = float(np.count_nonzero(fg.mask[mask])) / int(mask.sum())
                density = occupancy * rule.full_density
                values["occupancy"] = round(occupancy, 3)
                track_ids = []
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
                    key=zone.id,
                    zone_id=zone.id,
                    boxes=boxes,
                    values=values,
                    track_ids=track_ids,
                    severity=level,
                    peak=("density",),
                )
            )
        return self.lifecycle.step(obs, triggers)

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        return self.lifecycle.finish(obs, reason)
