"""Scenarios: who walks where, and when.

A person is scripted by the path of its anchor (the point between its feet, the bottom-centre of
its box) through normalised frame coordinates, as time-stamped keyframes joined by straight lines.
Distances are measured in frame widths of a 16:9 frame whatever the rendered size, so timings do
not depend on the resolution.

The walkers' paths keep their anchors at least :data:`WALKER_MARGIN` away from the restricted zone
(checked by the tests over every rendered box); while the intruder is inside the zone every walker
is more than a tenth of the frame width away from it. Paths are fixed; the seed changes only the
look of the scene.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CYCLE_S",
    "DEFAULT_DURATION_S",
    "MIN_DURATION_S",
    "SCENARIOS",
    "WALKER_MARGIN",
    "Path",
    "PersonSpec",
    "people_for",
]

SCENARIOS: tuple[str, ...] = ("walkers", "intruder")
DEFAULT_DURATION_S: dict[str, float] = {"walkers": 12.0, "intruder": 12.0}
#: The intruder must have left the zone (at about 8.4 s) before the video ends.
MIN_DURATION_S: dict[str, float] = {"walkers": 1.0, "intruder": 9.0}
#: Walkers come back every CYCLE_S seconds (as new objects) in longer videos.
CYCLE_S = 12.0
#: Smallest distance, in normalised units, between a walker's anchor and the zone boundary.
WALKER_MARGIN = 0.06

_ASPECT_Y = 9.0 / 16.0  # a normalised y step, in frame widths


class Path:
    """A piecewise-linear path of an anchor: keyframes ``(t_s, x, y)`` with increasing times.

    Example:
        >>> p = Path([(0.0, 0.0, 0.5), (10.0, 1.0, 0.5)])
        >>> p.at(5.0)
        (0.5, 0.5, 0.5)
    """

    def __init__(self, keys: Sequence[tuple[float, float, float]]) -> None:
        if len(keys) < 2:
            raise ValueError("a path needs at least two keyframes")
        self.keys: tuple[tuple[float, float, float], ...] = tuple(keys)
        self._times = [k[0] for k in self.keys]
        if any(b <= a for a, b in itertools.pairwise(self._times)):
            raise ValueError("keyframe times must increase")
        self._dist = [0.0]
        for (_, xa, ya), (_, xb, yb) in itertools.pairwise(self.keys):
            self._dist.append(self._dist[-1] + math.hypot(xb - xa, (yb - ya) * _ASPECT_Y))

    @property
    def t_start(self) -> float:
        """Time of the first keyframe."""
        return self._times[0]

    @property
    def t_end(self) -> float:
        """Time of the last keyframe."""
        return self._times[-1]

    def at(self, t: float) -> tuple[float, float, float]:
        """Return ``(x, y, walked)`` at time ``t``; ``walked`` is in frame widths.

        Times outside the keyframes are clamped to the first or last one.
        """
        if t <= self._times[0]:
            return self.keys[0][1], self.keys[0][2], 0.0
        if t >= self._times[-1]:
            return self.keys[-1][1], self.keys[-1][2], self._dist[-1]
        i = bisect.bisect_right(self._times, t) - 1
        ta, xa, ya = self.keys[i]
        tb, xb, yb = self.keys[i + 1]
        u = (t - ta) / (tb - ta)
        walked = self._dist[i] + u * (self._dist[i + 1] - self._dist[i])
        return xa + u * (xb - xa), ya + u * (yb - ya), walked

    def shifted(self, dt: float) -> Path:
        """Return the same path, ``dt`` seconds later."""
        return Path([(t + dt, x, y) for t, x, y in self.keys])


@dataclass(frozen=True)
class PersonSpec:
    """A scripted person: its truth id, its role and its path."""

    id: int
    role: str  # "walker" or "intruder"
    path: Path


def _walk(t0: float, speed: float, points: Sequence[tuple[float, float]]) -> Path:
    """Build a path through ``points`` at a constant ``speed`` (frame widths/s), from ``t0``."""
    keys = [(t0, points[0][0], points[0][1])]
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        keys.append((keys[-1][0] + math.hypot(xb - xa, (yb - ya) * _ASPECT_Y) / speed, xb, yb))
    return Path(keys)


# Walkers over one cycle. Kept away from the zone (x >= 0.60, y >= 0.53): the far band
# (y < 0.2) may cross above it at any time; nearer paths stay left of x = 0.55 from 3 s to 9 s.
_WALKERS: tuple[Path, ...] = (
    # far band, left to right, slow, crosses walker 5 near the right edge at about 9.8 s
    _walk(-1.0, 0.09, [(-0.05, 0.16), (1.05, 0.12)]),
    # along the walkway, right to left, leaves the right half by 3 s
    _walk(-1.6, 0.12, [(1.05, 0.42), (0.50, 0.37), (-0.05, 0.30)]),
    # in from the left, turns towards the camera and leaves at the bottom
    _walk(0.0, 0.10, [(-0.05, 0.62), (0.35, 0.72), (0.42, 1.25)]),
    # up from the bottom, slow, crosses walker 2's path, leaves at the top after the intrusion
    _walk(-1.0, 0.07, [(0.20, 1.22), (0.30, 0.55), (0.50, 0.30), (0.62, -0.02)]),
    # far band, right to left, late
    _walk(8.5, 0.10, [(1.05, 0.22), (-0.05, 0.26)]),
)

# Enters from the right edge, crosses the top edge of the zone at about 3.5 s, wanders inside
# without stopping, leaves through the zone's right edge at about 8.4 s and then the frame.
_INTRUDER = Path(
    [
        (1.1, 1.06, 0.40),
        (4.3, 0.84, 0.58),
        (5.7, 0.76, 0.68),
        (7.0, 0.80, 0.82),
        (8.0, 0.89, 0.76),
        (9.7, 1.08, 0.70),
    ]
)


def people_for(scenario: str, duration_s: float) -> list[PersonSpec]:
    """Return the people of a scenario that may be seen within ``duration_s`` seconds.

    Walkers get ids 1..5 and the intruder (``intruder`` scenario only) id 6; in videos longer
    than :data:`CYCLE_S` the walkers come back each cycle under new ids.

    Raises:
        ValueError: Unknown scenario.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    people: list[PersonSpec] = []
    next_id = 1
    for path in _WALKERS:
        people.append(PersonSpec(next_id, "walker", path))
        next_id += 1
    if scenario == "intruder":
        people.append(PersonSpec(next_id, "intruder", _INTRUDER))
    next_id = len(_WALKERS) + 2
    cycle = 1
    while cycle * CYCLE_S < duration_s + CYCLE_S:
        for path in _WALKERS:
            later = path.shifted(cycle * CYCLE_S)
            if later.t_start < duration_s:
                people.append(PersonSpec(next_id, "walker", later))
                next_id += 1
        cycle += 1
    return people
