"""Small objects in large frames: detection regions at the model's own resolution.

A whole 1280x720 frame letterboxed into a 416x416 input is shrunk 3.1 times: a person 50 px
tall becomes 16 px, below what a nano detector finds. As Frigate does, the detector then also
runs on *regions*: crops of the frame the size of the model input (so at full resolution),
centred on what may be a small object: the camera's moving blobs and the small objects it
already tracks (so a person who fell and lies still keeps being seen). The whole frame is still
detected too, for the large objects; the detections of the frame and of every region are
merged by NMS in frame coordinates.

Rules, all geometric (no per-scene tuning):

- regions are used only when the frame is shrunk at least ``min_shrink`` times to fit the
  model input (``max(frame_w / input_w, frame_h / input_h)``), so small frames keep the
  single full-frame pass;
- a seed larger than half a region is left to the full-frame pass (shrunk, it is still large
  enough there);
- seeds are taken in order (tracked objects first, then blobs, largest first, as
  :class:`~vsa_stream.perception.ObjectPerception` gives them); a seed already well inside a
  planned region adds none; at most ``max_regions`` regions per frame;
- a region keeps the model's aspect ratio, lies wholly inside the frame, starts on even pixels
  (yuv420p chroma is subsampled by 2) and is never empty;
- a detection of a region touching one of the region's inner edges (not a frame edge) is an
  object cut by the crop: it is dropped, the full frame or another region sees it whole;
- a detection of the full frame lying wholly inside a region is dropped: the region saw those
  pixels at full resolution (a shrunk frame's box of a small object is loose, and could
  otherwise stay beside the region's tight box of the same object).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["Region", "crop", "cut_by_edge", "plan_regions", "seen_closer", "shrink"]

#: ``(x0, y0, x1, y1)`` in frame pixels, ``x0 < x1``, ``y0 < y1``.
Region = tuple[int, int, int, int]
Box = tuple[float, float, float, float]
Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]

_INNER_MARGIN = 1 / 8  # a seed within this fraction of a region's side from its edge adds one
_EDGE_PX = 4.0  # a region detection this close to an inner edge is cut (half the finest stride)


def shrink(frame: tuple[int, int], model: tuple[int, int]) -> float:
    """How many times a whole frame ``(width, height)`` shrinks into the model input."""
    return max(frame[0] / model[0], frame[1] / model[1])


def _inside(box: Box, region: Region) -> bool:
    mx = (region[2] - region[0]) * _INNER_MARGIN
    my = (region[3] - region[1]) * _INNER_MARGIN
    return (
        box[0] >= region[0] + mx
        and box[1] >= region[1] + my
        and box[2] <= region[2] - mx
        and box[3] <= region[3] - my
    )


def _place(centre: float, side: int, length: int) -> tuple[int, int]:
    """``[start, end)`` of a ``side``-long span centred on ``centre``, inside ``[0, length)``,
    starting on an even pixel."""
    side = min(side, length)
    start = round(centre - side / 2)
    start = max(0, min(length - side, start))
    start -= start % 2
    return start, min(length, start + side)


def plan_regions(
    frame: tuple[int, int],
    model: tuple[int, int],
    seeds: Sequence[Box],
    *,
    max_regions: int,
    min_shrink: float,
) -> list[Region]:
    """The regions to detect on besides the whole frame (see the module docstring).

    Args:
        frame: frame ``(width, height)``.
        model: model input ``(width, height)``: the size of a region.
        seeds: boxes ``(x0, y0, x1, y1)`` in frame pixels, most important first.
        max_regions: at most this many regions.
        min_shrink: no region unless the frame shrinks at least this much into the model.

    >>> plan_regions((1280, 720), (416, 416), [(600, 300, 620, 350)], max_regions=4,
    ...              min_shrink=2.0)
    [(402, 116, 818, 532)]
    >>> plan_regions((480, 360), (416, 416), [(60, 60, 80, 110)], max_regions=4, min_shrink=2.0)
    []
    """
    w, h = frame
    if max_regions <= 0 or w <= 0 or h <= 0 or shrink(frame, model) < min_shrink:
        return []
    side_w, side_h = model
    regions: list[Region] = []
    for box in seeds:
        x0, y0, x1, y1 = (float(v) for v in box)
        if not all(np.isfinite((x0, y0, x1, y1))) or x1 <= x0 or y1 <= y0:
            continue
        if x1 - x0 > side_w / 2 or y1 - y0 > side_h / 2:
            continue  # large enough for the full-frame pass
        if any(_inside((x0, y0, x1, y1), r) for r in regions):
            continue
        rx0, rx1 = _place((x0 + x1) / 2, side_w, w)
        ry0, ry1 = _place((y0 + y1) / 2, side_h, h)
        if rx1 > rx0 and ry1 > ry0:
            regions.append((rx0, ry0, rx1, ry1))
            if len(regions) == max_regions:
                break
    return regions


def crop(planes: Planes, region: Region) -> tuple[Planes, tuple[int, int]] | None:
    """The yuv420p planes of ``region`` (views, no copy) and its origin, or None when the
    region, clipped to the frame, is empty. An odd origin is moved one pixel up or left so the
    chroma planes stay aligned."""
    y, u, v = planes
    h, w = y.shape
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(w, int(region[2])), min(h, int(region[3]))
    if x1 <= x0 or y1 <= y0:
        return None
    x0, y0 = x0 - x0 % 2, y0 - y0 % 2
    cx = slice(x0 // 2, (x1 + 1) // 2)
    cy = slice(y0 // 2, (y1 + 1) // 2)
    return (y[y0:y1, x0:x1], u[cy, cx], v[cy, cx]), (x0, y0)


def cut_by_edge(
    boxes: NDArray[np.float64], region: Region, frame: tuple[int, int]
) -> NDArray[np.bool_]:
    """Which region detections (frame pixels) touch an edge of the region inside the frame."""
    x0, y0, x1, y1 = region
    w, h = frame
    cut = np.zeros(len(boxes), bool)
    if x0 > 0:
        cut |= boxes[:, 0] <= x0 + _EDGE_PX
    if y0 > 0:
        cut |= boxes[:, 1] <= y0 + _EDGE_PX
    if x1 < w:
        cut |= boxes[:, 2] >= x1 - _EDGE_PX
    if y1 < h:
        cut |= boxes[:, 3] >= y1 - _EDGE_PX
    return cut


def seen_closer(boxes: NDArray[np.float64], regions: Sequence[Region]) -> NDArray[np.bool_]:
    """Which full-frame detections lie wholly inside one of ``regions``."""
    inside = np.zeros(len(boxes), bool)
    for x0, y0, x1, y1 in regions:
        inside |= (
            (boxes[:, 0] >= x0) & (boxes[:, 1] >= y0) & (boxes[:, 2] <= x1) & (boxes[:, 3] <= y1)
        )
    return inside
