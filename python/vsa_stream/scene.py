"""Scene analytics: zones as pixel polygons, checked by the Rust core.

The kernels themselves (line counting, headings, homography and density, dwell timers) are
in :mod:`vsa_stream._core`; this module resolves configured zones to pixels and turns a
frame's detections into the arrays those kernels take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import Zone
from vsa_stream.observation import Detection

__all__ = ["Anchor", "ZoneGeometry", "boxes_array", "track_ids_array"]

Anchor = Literal["bottom_center", "center", "top_center"]
"""The point of a box that stands for the object in the geometry kernels."""


def boxes_array(detections: Sequence[Detection]) -> NDArray[np.float64]:
    """The ``(N, 4)`` float64 xyxy boxes of ``detections``, as the kernels take them."""
    out = np.empty((len(detections), 4), dtype=np.float64)
    for i, d in enumerate(detections):
        out[i] = (d.x0, d.y0, d.x1, d.y1)
    return out


def track_ids_array(detections: Sequence[Detection]) -> NDArray[np.int64]:
    """The ``(N,)`` int64 track ids of ``detections``.

    Raises:
        ValueError: a detection has no track id (run the tracker first).
    """
    ids = [d.track_id for d in detections]
    if any(i is None for i in ids):
        raise ValueError("every detection needs a track_id for the track-based kernels")
    return np.array(ids, dtype=np.int64)


class ZoneGeometry:
    """A configured zone resolved to the pixel size of a camera's frames.

    Example:
        >>> from vsa_stream.config import Zone
        >>> z = ZoneGeometry(Zone(id="a", polygon=[(0, 0), (0.5, 0), (0.5, 1)]), 100, 100)
        >>> z.contains_points(np.array([[48.0, 90.0], [10.0, 90.0]])).tolist()
        [True, False]
    """

    def __init__(self, zone: Zone, width: int, height: int) -> None:
        self.id = zone.id
        self.anchor = zone.anchor
        points = np.asarray(zone.polygon, dtype=np.float64)
        if zone.units == "normalized":
            points = points * np.array([width, height], dtype=np.float64)
        self.polygon: NDArray[np.float64] = np.ascontiguousarray(points)

    def contains_points(self, points: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which of the ``(N, 2)`` points lie inside the polygon."""
        return _core.points_in_polygon(points, self.polygon)

    def contains_boxes(self, boxes: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which of the ``(N, 4)`` xyxy boxes have their anchor inside the polygon."""
        return _core.boxes_in_polygon(boxes, self.polygon, self.anchor)

    @property
    def area_px(self) -> float:
        """Area of the polygon in squared pixels."""
        return _core.polygon_area(self.polygon)

    def inside(self, detections: Sequence[Detection]) -> list[Detection]:
        """The detections whose anchor lies inside the zone."""
        if not detections:
            return []
        mask = self.contains_boxes(boxes_array(detections))
        return [d for d, hit in zip(detections, mask.tolist(), strict=True) if hit]
