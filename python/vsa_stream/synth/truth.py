"""Ground truth of a synthetic scenario: the wire format and the geometry it is judged by.

The truth is plain msgspec data. Zone polygons are normalised ``(x, y)`` in ``0..1``; boxes are
full-resolution pixels. An object's *anchor* is the bottom-centre of its box, and an anchor is
inside a zone by the crossing-number rule (:func:`point_in_polygon`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

import msgspec

__all__ = [
    "RESTRICTED_ZONE",
    "Truth",
    "TruthBox",
    "TruthEvent",
    "TruthObject",
    "TruthZone",
    "anchor_of",
    "distance_to_polygon",
    "dump_truth",
    "load_truth",
    "point_in_polygon",
]


class TruthZone(msgspec.Struct, frozen=True):
    """A named zone; ``polygon`` holds normalised ``(x, y)`` vertices."""

    id: str
    polygon: list[tuple[float, float]]


class TruthBox(msgspec.Struct, frozen=True, array_like=True):
    """The tight box (body and head) of an object in one frame, in full-resolution pixels."""

    frame: int
    x0: float
    y0: float
    x1: float
    y1: float


class TruthObject(msgspec.Struct, frozen=True):
    """One object of the scene and its box in every frame where it is visible."""

    id: int
    kind: str
    boxes: list[TruthBox]


class TruthEvent(msgspec.Struct, frozen=True):
    """A situation the engine should report; frames are inclusive, times are ``frame / fps``."""

    type: str
    zone: str
    object: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float


class Truth(msgspec.Struct, frozen=True):
    """Everything known about a rendered scenario."""

    scenario: str
    width: int
    height: int
    fps: float
    n_frames: int
    seed: int
    zones: list[TruthZone]
    objects: list[TruthObject]
    events: list[TruthEvent]


#: The zone shared by every scenario: a slightly irregular quadrilateral, lower right.
RESTRICTED_ZONE = TruthZone(
    id="restricted",
    polygon=[(0.63, 0.56), (0.94, 0.53), (0.96, 0.93), (0.60, 0.95)],
)


def point_in_polygon(x: float, y: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Tell whether a point is inside a polygon, by the crossing-number (even-odd) rule.

    Args:
        x: Horizontal coordinate of the point.
        y: Vertical coordinate of the point.
        polygon: Vertices in order; the last one connects back to the first.

    Returns:
        True when a ray cast to the right of the point crosses the boundary an odd number of times.

    Example:
        >>> point_in_polygon(0.5, 0.5, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])
        True
    """
    inside = False
    n = len(polygon)
    for i in range(n):
        xa, ya = polygon[i]
        xb, yb = polygon[(i + 1) % n]
        if (ya > y) != (yb > y):
            x_cross = xa + (y - ya) * (xb - xa) / (yb - ya)
            if x < x_cross:
                inside = not inside
    return inside


def distance_to_polygon(x: float, y: float, polygon: Sequence[tuple[float, float]]) -> float:
    """Return the Euclidean distance from a point to the boundary of a polygon.

    Example:
        >>> distance_to_polygon(2.0, 0.5, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)])
        1.0
    """
    best = math.inf
    n = len(polygon)
    for i in range(n):
        xa, ya = polygon[i]
        xb, yb = polygon[(i + 1) % n]
        dx, dy = xb - xa, yb - ya
        length2 = dx * dx + dy * dy
        u = 0.0 if length2 == 0.0 else ((x - xa) * dx + (y - ya) * dy) / length2
        u = min(1.0, max(0.0, u))
        best = min(best, math.hypot(x - (xa + u * dx), y - (ya + u * dy)))
    return best


def anchor_of(box: TruthBox, width: int, height: int) -> tuple[float, float]:
    """Return the normalised anchor (bottom-centre) of a box in a ``width`` x ``height`` frame."""
    return ((box.x0 + box.x1) / 2.0 / width, box.y1 / height)


_NUMBER_ARRAY = re.compile(r"\[\s*([-+0-9.eE]+(?:,\s*[-+0-9.eE]+)*)\s*\]")


def _one_line_arrays(text: str) -> str:
    """Put arrays holding only numbers (boxes, vertices) on one line each."""
    return _NUMBER_ARRAY.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)


def dump_truth(truth: Truth, path: str | os.PathLike[str]) -> None:
    """Write a Truth as indented JSON, one box per line."""
    text = msgspec.json.format(msgspec.json.encode(truth).decode(), indent=2)
    with open(path, "w", encoding="utf-8") as f:
        f.write(_one_line_arrays(text) + "\n")


def load_truth(path: str | os.PathLike[str]) -> Truth:
    """Read a Truth written by :func:`vsa_stream.synth.render`.

    Args:
        path: The JSON file.

    Returns:
        The decoded, validated Truth.

    Raises:
        msgspec.ValidationError: The file is JSON but not a Truth.
        msgspec.DecodeError: The file is not JSON.
    """
    with open(path, "rb") as f:
        return msgspec.json.decode(f.read(), type=Truth)
