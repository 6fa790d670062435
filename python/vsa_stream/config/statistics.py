"""The ``statistics:`` section of a camera: counting lines, occupancy zones, intervals.

Statistics are the use of the cameras open to communes (counting, frequentation): aggregates
per interval, never a track, a box or an image. They are a purpose of their own, not one of the
eight situations: a camera may have ``statistics:`` and no rule at all.

Example:
    >>> s = msgspec.convert(
    ...     {"lines": [{"id": "door", "points": [[0.1, 0.5], [0.9, 0.5]]}]}, Statistics
    ... )
    >>> s.lines[0].directions, s.interval_min, s.min_count
    (['in', 'out'], 15, 5)
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _ID, _Base, _Point
from vsa_stream.event_types import STATISTICS_TYPE

__all__ = [
    "INTERVALS_MIN",
    "STATISTICS_CLASSES",
    "STATISTICS_TYPE",
    "CountingLine",
    "Statistics",
    "statistics_class_problems",
    "statistics_problems",
]

#: The classes statistics count (engine classes a detector's class map produces).
STATISTICS_CLASSES: tuple[str, ...] = ("person", "vehicle")
#: Allowed interval lengths, minutes: the divisors of 60, so intervals start on the hour.
INTERVALS_MIN: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)


class CountingLine(_Base):
    """A segment of the image whose crossings are counted, in each direction.

    ``directions[0]`` names a crossing from the line's left side to its right side, as seen on
    screen facing from ``points[0]`` to ``points[1]`` (y down: for a line drawn left to right,
    its right side is below it, so ``directions[0]`` is a move down the image);
    ``directions[1]`` names the other way.
    """

    id: Annotated[_ID, msgspec.Meta(description="unique within the camera's statistics")]
    points: Annotated[
        list[_Point],
        msgspec.Meta(min_length=2, max_length=2, description="the segment's ends, distinct"),
    ]
    units: Annotated[
        Literal["normalized", "pixels"], msgspec.Meta(description="coordinate units")
    ] = "normalized"
    directions: Annotated[
        list[_ID],
        msgspec.Meta(
            min_length=2,
            max_length=2,
            description=(
                "`directions[0]` names a crossing from the line's left side to "
                "its right side as seen on screen facing from `points[0]` to "
                "`points[1]` (for a line drawn left to right, right is below it: "
                "a move down the image); `directions[1]` the other way"
            ),
        ),
    ] = msgspec.field(default_factory=lambda: ["in", "out"])
    anchor: Annotated[
        Literal["bottom_center", "center"],
        msgspec.Meta(description="the point of an object that crosses (the feet, by default)"),
    ] = "bottom_center"
    hysteresis_px: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=200.0,
            description=(
                "how far past the line (pixels) an object must be before it "
                "counts as on the other side: jitter on the line never counts"
            ),
        ),
    ] = 4.0


class Statistics(_Base):
    """Counting and occupancy of one camera, reported per interval (see the module docstring)."""

    lines: Annotated[list[CountingLine], msgspec.Meta(description="counting lines")] = (
        msgspec.field(default_factory=list)
    )
    zones: Annotated[
        list[_ID],
        msgspec.Meta(
            description=("occupancy zones (ids of the camera's `zones`); at least one line or zone")
        ),
    ] = msgspec.field(default_factory=list)
    classes: Annotated[
        list[Literal["person", "vehicle"]],
        msgspec.Meta(
            min_length=1,
            description=(
                "what is counted (detector classes, after the detector's "
                "`class_map`); the camera needs a detector, and one that produces"
                " one of these (checked when the models load)"
            ),
        ),
    ] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    interval_min: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=60,
            description=(
                "interval length, minutes; intervals start on the hour (10:00, "
                "10:15, ... UTC-aligned, so on the local quarter hour too in "
                "whole-hour time zones)"
            ),
        ),
    ] = 15
    min_count: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=1000,
            description=(
                'a count from 1 to `min_count - 1` is reported `"< k"` (a mean '
                "occupancy too); 0 is reported 0; `1` reports every figure"
            ),
        ),
    ] = 5
    retention_days: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=3660,
            description=(
                "intervals are deleted this many days after their end (checked "
                "hourly while intervals come, and at start); those of a camera no"
                " longer configured after 365 days, or the longest "
                "`retention_days` configured"
            ),
        ),
    ] = 365


def statistics_problems(
    stats: Statistics, zone_ids: Collection[str], has_detector: bool
) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field problems of a camera's ``statistics`` (paths relative to the section).

    Args:
        stats: the section.
        zone_ids: the ids of the camera's zones.
        has_detector: whether the camera has a detector (classes come only from one).
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not stats.lines and not stats.zones:
        problems.append(((), "nothing to count: give lines, zones, or both"))
    if not has_detector:
        problems.append(
            (
                ("classes",),
                f"statistics count {' and '.join(stats.classes)} from a detector's classes: "
                "give this camera a detector (detectors)",
            )
        )
    if stats.interval_min not in INTERVALS_MIN:
        problems.append(
            (
                ("interval_min",),
                f"must divide an hour (intervals start on the hour): one of "
                f"{', '.join(map(str, INTERVALS_MIN))}, got {stats.interval_min}",
            )
        )
    if len(set(stats.classes)) != len(stats.classes):
        problems.append((("classes",), "a class is listed twice"))
    seen: set[str] = set()
    for k, line in enumerate(stats.lines):
        if line.id in seen:
            problems.append((("lines", k, "id"), f"duplicate line id {line.id!r}"))
        seen.add(line.id)
        if line.directions[0] == line.directions[1]:
            problems.append((("lines", k, "directions"), "the two directions need two names"))
        problems.extend((("lines", k, *p), m) for p, m in _line_problems(line))
    listed: set[str] = set()
    for k, zone_id in enumerate(stats.zones):
        if zone_id not in zone_ids:
            known = ", ".join(zone_ids) or "none defined"
            problems.append(
                (("zones", k), f"unknown zone {zone_id!r}; this camera's zones: {known}")
            )
        elif zone_id in listed:
            problems.append((("zones", k), f"zone {zone_id!r} is listed twice"))
        listed.add(zone_id)
    return problems


def _line_problems(line: CountingLine) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for n, (x, y) in enumerate(line.points):
        if not (math.isfinite(x) and math.isfinite(y)):
            problems.append((("points", n), f"coordinates must be finite numbers, got ({x}, {y})"))
        elif line.units == "normalized" and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            problems.append(
                (
                    ("points", n),
                    f"normalized coordinates must lie in [0, 1], got ({x}, {y}); "
                    "set units: pixels for pixel coordinates",
                )
            )
        elif x < 0 or y < 0:
            problems.append((("points", n), f"pixel coordinates must be >= 0, got ({x}, {y})"))
    if not problems and tuple(line.points[0]) == tuple(line.points[1]):
        problems.append((("points",), "the two end points must differ"))
    return problems


def statistics_class_problems(
    stats: Statistics, made: Collection[str], detectors: str
) -> list[tuple[tuple[str | int, ...], str]]:
    """The problem of a ``statistics`` section none of whose classes a detector produces.

    Args:
        stats: the section.
        made: the engine classes the camera's detectors produce (their class maps).
        detectors: what each detector produces, for the message.
    """
    if set(stats.classes) & set(made):
        return []
    return [
        (
            ("classes",),
            f"statistics count {' or '.join(stats.classes)}, which no detector of this camera "
            f"produces ({detectors}); give the camera a detector whose model has one of them "
            "(or map a model class to it with class_map)",
        )
    ]
