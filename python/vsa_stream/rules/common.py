"""What several rules share: zones resolved to a frame size, class filters, anchors."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import Calibration, Zone
from vsa_stream.observation import Detection, Observation
from vsa_stream.scene import ZoneGeometry, boxes_array

__all__ = [
    "CellMasks",
    "TrackHistory",
    "Zones",
    "anchor_of",
    "ground_homography",
    "matches_class",
    "whole_frame_key",
]

#: The merge key of a rule watching the whole frame (no zone configured).
whole_frame_key = "*"


def matches_class(d: Detection, classes: Sequence[str], *, blobs: bool = True) -> bool:
    """Whether ``d`` counts for a rule with ``classes``; unclassified blobs count if ``blobs``."""
    return (blobs and d.label is None) or (d.label is not None and d.label in classes)


class Zones:
    """A rule's zones (by id, in configured order) resolved to the pixel size of the frames.

    An empty id list means the whole frame: :meth:`of` then lists one ``None`` entry.
    """

    def __init__(self, ids: Sequence[str], zones: Sequence[Zone]) -> None:
        by_id = {z.id: z for z in zones}
        self._zones = [by_id[i] for i in ids]
        self._size = (0, 0)
        self._geometry: list[ZoneGeometry] = []

    def resolve(self, obs: Observation) -> list[ZoneGeometry]:
        """The zones in pixels of ``obs``'s frame."""
        if self._size != (obs.width, obs.height):
            self._size = (obs.width, obs.height)
            self._geometry = [ZoneGeometry(z, obs.width, obs.height) for z in self._zones]
        return self._geometry

    def of(self, obs: Observation) -> list[ZoneGeometry | None]:
        """The zones, or ``[None]`` (the whole frame) when none is configured."""
        return list(self.resolve(obs)) if self._zones else [None]

    def __bool__(self) -> bool:
        return bool(self._zones)

    def inside(self, obs: Observation, detections: Sequence[Detection]) -> list[Detection]:
        """The detections inside any of the zones (all of them when there is none)."""
        if not self._zones:
            return list(detections)
        hit = np.zeros(len(detections), dtype=bool)
        for zone in self.resolve(obs):
            if detections:
                hit |= zone.contains_boxes(boxes_array(detections))
        return [d for d, h in zip(detections, hit.tolist(), strict=True) if h]

    @property
    def configured(self) -> list[Zone]:
        """The configured zones."""
        return list(self._zones)


class TrackHistory:
    """Recent boxes of each track, from successive observations.

    A track unseen for more than ``forget_s`` is forgotten (a new track with the same id
    starts afresh).
    """

    def __init__(self, keep_s: float, forget_s: float = 2.0) -> None:
        self.keep_s = keep_s
        self.forget_s = forget_s
        self.first_seen: dict[int, float] = {}
        self.last_seen: dict[int, float] = {}
        self.boxes: dict[int, deque[tuple[float, Detection]]] = {}

    def add(self, time_s: float, detections: Sequence[Detection]) -> None:
        """Record this frame's tracked detections and forget stale tracks."""
        for d in detections:
            if d.track_id is None:
                continue
            tid = d.track_id
            if tid not in self.first_seen or time_s - self.last_seen[tid] > self.forget_s:
                self.first_seen[tid] = time_s
                self.boxes[tid] = deque()
            self.last_seen[tid] = time_s
            path = self.boxes[tid]
            path.append((time_s, d))
            while path and time_s - path[0][0] > self.keep_s:
                path.popleft()
        for tid in [t for t, last in self.last_seen.items() if time_s - last > self.forget_s]:
            del self.first_seen[tid], self.last_seen[tid], self.boxes[tid]

    def age(self, track_id: int, time_s: float) -> float:
        """Seconds since the track was first seen."""
        return time_s - self.first_seen[track_id]

    def path(self, track_id: int, since_s: float) -> list[tuple[float, Detection]]:
        """The track's ``(time, detection)`` entries from ``since_s`` on."""
        return [(t, d) for t, d in self.boxes.get(track_id, ()) if t >= since_s]


def anchor_of(d: Detection, anchor: str) -> tuple[float, float]:
    """The point of ``d`` standing for the object: ``bottom_center`` or ``center``."""
    return d.bottom_center if anchor == "bottom_center" else d.center


def ground_homography(cal: Calibration, width: int, height: int) -> _core.Homography:
    """The image → ground homography of a camera calibration, in pixels of the frame."""
    image = np.asarray(cal.image_points, dtype=np.float64)
    if cal.units == "normalized":
        image = image * np.array([width, height], dtype=np.float64)
    ground = np.asarray(cal.ground_points, dtype=np.float64)
    return _core.Homography(np.ascontiguousarray(image), ground)


class CellMasks:
    """Which cells of a grid have their centre inside each zone (cached per grid)."""

    def __init__(self, zones: Zones) -> None:
        self._zones = zones
        self._key: tuple[int, int, int, int, int] | None = None
        self._masks: dict[str | None, NDArray[np.bool_]] = {}

    def masks(
        self, obs: Observation, cell: int, shape: tuple[int, int]
    ) -> dict[str | None, NDArray[np.bool_]]:
        """Zone id (None: the whole frame) → ``shape`` bool mask of the cells inside it."""
        key = (obs.width, obs.height, cell, shape[0], shape[1])
        if key != self._key:
            self._key = key
            rows, cols = shape
            cy, cx = np.mgrid[0:rows, 0:cols]
            centres = np.stack(
                [(cx.ravel() + 0.5) * cell, (cy.ravel() + 0.5) * cell], axis=1
            ).astype(np.float64)
            self._masks = {}
            for zone in self._zones.of(obs):
                if zone is None:
                    self._masks[None] = np.ones(shape, dtype=bool)
                else:
                    self._masks[zone.id] = zone.contains_points(centres).reshape(shape)
        return self._masks
