"""One camera's statistics: line crossings and zone occupancy, folded into intervals.

Fed every observation of the camera (as the rules are), it keeps in memory only what the
current interval needs: per line and class a :class:`~vsa_stream._core.LineCounter` (the Rust
kernel that follows each track's anchor across the line, with hysteresis), the crossings
already counted (so a track crossing a line twice in the same direction counts once), and the
interval's sums. When the wall clock enters the next interval, the finished one becomes a
``statistics`` revision (:class:`~vsa_stream.events.IntervalStats`): counts and occupancy,
counts from 1 to ``min_count - 1`` written ``"< k"``, and nothing else: no track id, no box,
no frame.

Intervals are aligned on the clock (``floor(wall / length)``): a 15-minute interval runs from
10:00 to 10:15. The first and the last interval of a run are partial (``complete: false``), and
so is an interval in which the camera was away (two analysed frames further apart than its
``supervision.offline_after_s``).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from vsa_stream import _core
from vsa_stream.config import Camera, Zone
from vsa_stream.config.statistics import STATISTICS_TYPE, CountingLine, Statistics
from vsa_stream.events import (
    Event,
    Evidence,
    IntervalStats,
    LineCount,
    ZoneOccupancy,
    new_event_id,
)
from vsa_stream.observation import Detection, Observation
from vsa_stream.scene import ZoneGeometry, boxes_array

__all__ = ["StatisticsCounter", "shown"]

# A counted crossing is remembered this many seconds after its track was last seen (at least
# as long as the line counter remembers the track, so a track never counts twice).
_FORGET_S = 3.0


def shown(value: float, min_count: int) -> int | float | str:
    """``value`` as published: ``"< k"`` when above 0 and below ``min_count`` ``k`` (a zero,
    nobody, singles nobody out and is published as it is; ``k = 1`` publishes every figure,
    a mean occupancy of 0.4 included).

    Example:
        >>> shown(3, 5), shown(7, 5), shown(0, 5), shown(0.4, 1)
        ('< 5', 7, 0, 0.4)
    """
    return f"< {min_count}" if min_count > 1 and 0 < value < min_count else value


class _Line:
    """A counting line resolved to a frame size: one kernel counter per class."""

    def __init__(
        self, line: CountingLine, classes: Sequence[str], size: tuple[int, int], max_missed: int
    ) -> None:
        self.config = line
        scale = size if line.units == "normalized" else (1, 1)
        p0, p1 = ((float(x * scale[0]), float(y * scale[1])) for x, y in line.points)
        self.counters = {
            c: _core.LineCounter(
                p0, p1, hysteresis_px=line.hysteresis_px, anchor=line.anchor, max_missed=max_missed
            )
            for c in classes
        }


class StatisticsCounter:
    """The statistics of one camera (see the module docstring).

    Args:
        camera: a camera with a ``statistics`` section.

    Raises:
        ValueError: the camera has no ``statistics`` section.
    """

    def __init__(self, camera: Camera) -> None:
        if camera.statistics is None:
            raise ValueError(f"camera {camera.id!r} has no statistics section")
        self.camera_id = camera.id
        self.config: Statistics = camera.statistics
        self.period_s = self.config.interval_min * 60.0
        self._classes = list(self.config.classes)
        by_id = {z.id: z for z in camera.zones}
        self._zone_configs: list[Zone] = [by_id[z] for z in self.config.zones]
        self._max_missed = max(30, math.ceil(_FORGET_S * camera.fps))
        self._size = (0, 0)
        self._lines: list[_Line] = []
        self._zones: list[ZoneGeometry] = []
        #: (line, class, track, direction) counted -> frame number its track was last seen.
        self._counted: dict[tuple[str, str, int, int], int] = {}
        self._seen: dict[tuple[str, int], int] = {}
        self._frame = 0
        self._slot: int | None = None
        self._complete = False
        # A longer wait between two analysed frames means the camera was away (offline):
        # the intervals it spans were not seen throughout.
        self._max_gap_s = camera.supervision.offline_after_s
        self._prev_wall: float | None = None
        self._reset()
        #: The last interval reported (metrics read it), and how many were reported.
        self.last: IntervalStats | None = None
        self.intervals = 0

    def _reset(self) -> None:
        self._crossings: Counter[tuple[str, str, str]] = Counter()
        self._occupied: Counter[tuple[str, str]] = Counter()
        self._peak: Counter[tuple[str, str]] = Counter()
        self._frames = 0
        self._first: tuple[float, float] | None = None  # (wall, stream time) of its first frame
        self._last_frame: tuple[float, float] = (0.0, 0.0)

    def update(self, obs: Observation) -> list[Event]:
        """Count one frame's observation; returns the revision of an interval that ended."""
        slot = math.floor(obs.wall_time / self.period_s)
        out: list[Event] = []
        prev, self._prev_wall = self._prev_wall, obs.wall_time
        seen = prev is not None and obs.wall_time - prev <= self._max_gap_s
        if self._slot is None:
            self._slot = slot
        elif slot != self._slot:
            if self._frames:
                out.append(self._report(complete=self._complete and seen))
            # the new interval is seen from its start when the camera ran across the boundary
            self._complete = seen and slot == self._slot + 1
            self._slot = slot
            self._reset()
        elif not seen:
            self._complete = False
        self._count(obs)
        return out

    def finish(self) -> list[Event]:
        """Report the interval in progress (partial): the stream ended or the engine stops."""
        if self._slot is None or not self._frames:
            return []
        event = self._report(complete=False)
        self._reset()
        return [event]

    # --- counting ---------------------------------------------------------------------------

    def _count(self, obs: Observation) -> None:
        if self._size != (obs.width, obs.height):
            self._size = (obs.width, obs.height)
            self._lines = [
                _Line(line, self._classes, self._size, self._max_missed)
                for line in self.config.lines
            ]
            self._zones = [ZoneGeometry(z, obs.width, obs.height) for z in self._zone_configs]
        self._frame += 1
        if self._first is None:
            self._first = (obs.wall_time, obs.time_s)
        self._last_frame = (obs.wall_time, obs.time_s)
        self._frames += 1
        by_class: dict[str, list[Detection]] = {c: [] for c in self._classes}
        for d in obs.detections:
            if d.label in by_class:
                by_class[d.label].append(d)
        for cls, found in by_class.items():
            tracked = [d for d in found if d.track_id is not None]
            ids = np.array([d.track_id for d in tracked], dtype=np.int64)
            boxes = boxes_array(tracked) if tracked else np.zeros((0, 4), dtype=np.float64)
            for tid in ids.tolist():
                self._seen[(cls, tid)] = self._frame
            for line in self._lines:
                crossed, directions = line.counters[cls].update(ids, boxes)
                for tid, way in zip(crossed.tolist(), directions.tolist(), strict=True):
                    key = (line.config.id, cls, tid, way)
                    if key in self._counted:
                        continue  # once per track, line and direction
                    self._counted[key] = self._frame
                    name = line.config.directions[0 if way > 0 else 1]
                    self._crossings[(line.config.id, name, cls)] += 1
            for zone in self._zones:
                inside = int(zone.contains_boxes(boxes_array(found)).sum()) if found else 0
                self._occupied[(zone.id, cls)] += inside
                self._peak[(zone.id, cls)] = max(self._peak[(zone.id, cls)], inside)
        if self._frame % self._max_missed == 0:
            self._forget()

    def _forget(self) -> None:
        """Drop the tracks unseen for longer than the line counters remember them."""
        horizon = self._frame - self._max_missed
        self._seen = {k: f for k, f in self._seen.items() if f >= horizon}
        self._counted = {k: f for k, f in self._counted.items() if (k[1], k[2]) in self._seen}

    # --- reporting --------------------------------------------------------------------------

    def _report(self, *, complete: bool) -> Event:
        assert self._slot is not None
        assert self._first is not None
        k = self.config.min_count
        crossings = [
            LineCount(
                line=line.id,
                direction=name,
                object_class=cls,
                count=_as_int(shown(self._crossings[(line.id, name, cls)], k)),
            )
            for line in self.config.lines
            for name in line.directions
            for cls in self._classes
        ]
        occupancy = []
        for zone in self._zone_configs:
            for cls in self._classes:
                mean = self._occupied[(zone.id, cls)] / self._frames
                mean_shown = shown(mean, k)
                occupancy.append(
                    ZoneOccupancy(
                        zone=zone.id,
                        object_class=cls,
                        mean=round(mean_shown, 2) if isinstance(mean_shown, float) else mean_shown,
                        peak=_as_int(shown(self._peak[(zone.id, cls)], k)),
                    )
                )
        stats = IntervalStats(
            start=self._slot * self.period_s,
            end=(self._slot + 1) * self.period_s,
            interval_min=self.config.interval_min,
            complete=complete,
            frames=self._frames,
            min_count=k,
            crossings=crossings,
            occupancy=occupancy,
        )
        self.last = stats
        self.intervals += 1
        now = time.time()
        (wall0, s0), (wall1, s1) = self._first, self._last_frame
        return Event(
            id=new_event_id(now),
            revision=1,
            type=STATISTICS_TYPE,
            camera_id=self.camera_id,
            state="closed",
            started_at=wall0,
            updated_at=now,
            ended_at=wall1,
            start_s=s0,
            end_s=s1,
            start_frame=0,
            evidence=Evidence(frame_index=0, stream_time_s=s1),
            statistics=stats,
        )


def _as_int(value: int | float | str) -> int | str:
    return value if isinstance(value, str) else int(value)
