"""Scene analytics: zones as pixel polygons, checked by the Rust core."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import Zone
from vsa_stream.observation import Detection

__all__ = ["ZoneGeometry"]


class ZoneGeometry:
    """A configured zone resolved to the pixel size of a camera's frames.

    Example:
        >>> from vsa_stream.config import Zone
        >>> z = ZoneGeometry(Zone(id="a", polygon=[(0, 0), (0.5, 0), (0.5, 1)]), 100, 100)
        >>> z.contains_points(np.array([[40.0, 90.0], [10.0, 90.0]])).tolist()
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

    def inside(self, detections: Sequence[Detection]) -> list[Detection]:
        """The detections whose anchor lies inside the zone."""
        if not detections:
            return []
        if self.anchor == "bottom_center":
            anchors = [d.bottom_center for d in detections]
        else:
            anchors = [d.center for d in detections]
        mask = self.contains_points(np.asarray(anchors, dtype=np.float64))
        return [d for d, hit in zip(detections, mask.tolist(), strict=True) if hit]
