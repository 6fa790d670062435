"""``fire``: a fire start, from flame-colour and flicker evidence or fire/smoke detections.

Per zone (or the whole frame), the condition holds in a frame when at least ``min_cells``
cells of the Rust fire evidence inside the zone score ``min_score`` or more, or when a
detection of ``classes`` (a user's fire/smoke model) scores ``min_class_score`` there. An
event opens once the condition has held ``min_duration_s`` and the fire has grown: the
fire-coloured area of the zone in the newer half of that period is at least ``1 + min_growth``
times the older half's (the default −0.2 lets a steady fire through but not a fading one).

False-positive controls: the Rust score itself needs flame colour, flicker and a steady
presence, so a red sign (no flicker), a flashing emergency light (on/off, not flickering
flame) and a dim reflection score low; ``min_duration_s``; growth; zones to watch only where
a fire matters.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from vsa_stream.config import FireRule, Zone
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules.common import CellMasks, Zones, matches_class, whole_frame_key
from vsa_stream.rules.lifecycle import Lifecycle, StormGuard, Timing, Trigger

__all__ = ["FireRunner"]


class FireRunner:
    """Runs one ``fire`` rule of one camera."""

    def __init__(
        self, camera_id: str, rule: FireRule, zones: list[Zone], storm: StormGuard | None = None
    ) -> None:
        self.rule = rule
        self._zones = Zones(rule.zones, zones)
        self._cells = CellMasks(self._zones)
        self._area: dict[str, deque[tuple[float, float]]] = {}
        timing = Timing(rule.min_duration_s, rule.exit_grace_s, rule.cooldown_s)
        self.lifecycle = Lifecycle(camera_id, "fire", timing, storm, clear_reason="no fire seen")

    def update(self, obs: Observation) -> list[Event]:
        """Feed one frame; returns the event revisions it produced."""
        rule = self.rule
        classified = [
            d
            for d in obs.detections
            if matches_class(d, rule.classes, blobs=False) and d.score >= rule.min_class_score
        ]
        masks = (
            self._cells.masks(obs, obs.fire.cell, obs.fire.score.shape)
            if obs.fire is not None
            else {}
        )
        triggers: list[Trigger] = []
        for zone in self._zones.of(obs):
            key = whole_frame_key if zone is None else zone.id
            hits = classified if zone is None else zone.inside(classified)
            trigger = self._judge(obs, key, masks.get(None if zone is None else zone.id), hits)
            if trigger is None:
                continue
            trigger.zone_id = None if zone is None else zone.id
            triggers.append(trigger)
        return self.lifecycle.step(obs, triggers)

    def _judge(
        self, obs: Observation, key: str, mask: np.ndarray | None, hits: list[Detection]
    ) -> Trigger | None:
        rule = self.rule
        boxes = [obs.normalised(d) for d in hits]
        values: dict[str, float] = {}
        area = 0.0
        cells = 0
        fire = obs.fire
        if fire is not None and mask is not None:
            hot = (fire.score >= rule.min_score) & mask
            cells = int(hot.sum())
            if cells >= rule.min_cells:
                rows, cols = np.nonzero(hot)
                c = fire.cell
                boxes.append(
                    obs.normalised_box(
                        float(cols.min() * c),
                        float(rows.min() * c),
                        float(min(obs.width, (cols.max() + 1) * c)),
                        float(min(obs.height, (rows.max() + 1) * c)),
                    )
                )
                area = float(fire.colour[mask].sum())
                values["score"] = round(float(fire.score[hot].max()), 3)
                values["cells"] = float(cells)
        if cells < rule.min_cells and not hits:
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
            ready=growth >= rule.min_growth,
        )

    def finish(self, obs: Observation | None, reason: str) -> list[Event]:
        """Close every open event (end of stream, shutdown)."""
        return self.lifecycle.finish(obs, reason)


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
