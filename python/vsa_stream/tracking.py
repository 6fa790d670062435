"""Tracking MOTChallenge detection files: reader, writer and the run loop of ``vsa-stream track``.

A MOTChallenge detection line is ``frame,id,x,y,w,h,score[,x,y,z]``: the frame number from 1,
an id (-1 in detection files), the box's top-left corner and size in pixels, and a detector
score. The tracker's output uses the same layout, one line per confirmed track and frame:
``frame,id,x,y,w,h,1,-1,-1,-1``, sorted by frame then id.

Example:
    >>> import numpy as np
    >>> from vsa_stream._core import Tracker
    >>> from vsa_stream.tracking import track_frames
    >>> boxes = np.array([[10.0, 10.0, 30.0, 50.0]])
    >>> frames = {1: (boxes, np.array([0.9])), 2: (boxes + 2, np.array([0.9]))}
    >>> rows = track_frames(frames, Tracker(frame_rate=25.0))
    >>> [(frame, track_id) for frame, track_id, _ in rows]
    [(1, 1), (2, 1)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vsa_stream._core import Tracker
from vsa_stream.errors import ConfigError

__all__ = [
    "MotFrame",
    "MotPredictor",
    "TrackRow",
    "TrackRun",
    "read_mot",
    "track_file",
    "track_frames",
    "write_mot",
]

MotFrame = tuple[NDArray[np.float64], NDArray[np.float64]]
"""One frame of detections: boxes ``(N, 4)`` as ``(x0, y0, x1, y1)``, scores ``(N,)``."""

TrackRow = tuple[int, int, tuple[float, float, float, float]]
"""One output line: frame, track id, ``(x, y, w, h)``."""


@dataclass(frozen=True)
class TrackRun:
    """What a run over a detection file did."""

    frames: int
    detections: int
    rows: int
    tracks: int


def _parse_line(text: str, source: str, number: int) -> tuple[int, list[float]]:
    fields = [f.strip() for f in text.split(",")]
    if not 7 <= len(fields) <= 10:
        raise ConfigError(
            f"expected 7 to 10 comma-separated fields "
            f"(frame,id,x,y,w,h,score[,x,y,z]), got {len(fields)}",
            line=number,
            source=source,
        )
    try:
        values = [float(f) for f in fields[:7]]
    except ValueError:
        bad = next(f for f in fields[:7] if not _is_number(f))
        raise ConfigError(f"not a number: {bad!r}", line=number, source=source) from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError("fields must be finite numbers", line=number, source=source)
    frame = values[0]
    if frame != int(frame) or frame < 1:
        raise ConfigError(
            f"frame must be a positive integer, got {fields[0]}", line=number, source=source
        )
    w, h = values[4], values[5]
    if w <= 0 or h <= 0:
        raise ConfigError(
            f"box width and height must be > 0, got {fields[4]} x {fields[5]}",
            line=number,
            source=source,
        )
    return int(frame), values[2:7]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_mot(path: str | Path, *, min_score: float = -math.inf) -> dict[int, MotFrame]:
    """Reads a MOTChallenge detection file into frames of ``(x0, y0, x1, y1)`` boxes and scores.

    Blank lines are skipped; detections scoring below ``min_score`` are dropped.

    Args:
        path: the ``det.txt`` file.
        min_score: lowest score kept.

    Returns:
        Frame number -> ``(boxes, scores)``, only for frames with at least one detection.

    Raises:
        ConfigError: a malformed line (wrong field count, not a number, a frame that is not a
            positive integer, zero or negative size); its ``source`` and ``line`` say where.
        OSError: the file cannot be read.
    """
    source = str(path)
    per_frame: dict[int, list[list[float]]] = {}
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            frame, (x, y, w, h, score) = _parse_line(text, source, number)
            if score >= min_score:
                per_frame.setdefault(frame, []).append([x, y, x + w, y + h, score])
    out: dict[int, MotFrame] = {}
    for frame in sorted(per_frame):
        rows = np.asarray(per_frame[frame], dtype=np.float64)
        out[frame] = (np.ascontiguousarray(rows[:, :4]), np.ascontiguousarray(rows[:, 4]))
    return out


def track_frames(
    frames: Mapping[int, MotFrame], tracker: Tracker, *, last_frame: int | None = None
) -> list[TrackRow]:
    """Runs ``tracker`` over frames 1..last frame, frames without detections included.

    Args:
        frames: frame number -> ``(boxes, scores)``, as :func:`read_mot` returns.
        tracker: a fresh :class:`~vsa_stream._core.Tracker` (frame rate and thresholds set).
        last_frame: the last frame to process (default: the last frame with detections).

    Returns:
        One row per confirmed track and frame (its filtered box), sorted by frame then id.
    """
    end = last_frame if last_frame is not None else max(frames, default=0)
    empty: MotFrame = (np.empty((0, 4)), np.empty(0))
    rows: list[TrackRow] = []
    for frame in range(1, end + 1):
        boxes, scores = frames.get(frame, empty)
        batch = tracker.update(boxes, scores)
        for track_id, (x0, y0, x1, y1) in zip(
            batch.ids.tolist(), batch.boxes.tolist(), strict=True
        ):
            rows.append((frame, track_id, (x0, y0, x1 - x0, y1 - y0)))
    return rows


class MotPredictor:
    """Boxes of the tracked objects on the frames between two detector results.

    A camera whose detector runs on every other frame (``fps: 5`` on a 10 fps stream) has
    tracked objects measured on half of its frames only; a MOT file of every frame then misses
    every object on the other half. Each object of the last result is carried forward at the
    constant velocity of its last two results (its box's centre; the size is kept), for at most
    ``max_frames`` frames, then held; an object seen in one result only is held where it was.
    What a causal tracker would report between its updates: nothing after the frame is used.

    Args:
        max_frames: frames after a result over which an object is moved on (a detector
            skipping a still scene by motion gating does not drift its objects away).

    Example:
        >>> predictor = MotPredictor()
        >>> predictor.observe(1, [(7, (10.0, 10.0, 30.0, 50.0))])
        >>> predictor.observe(3, [(7, (14.0, 10.0, 34.0, 50.0))])
        >>> predictor.predict(4)
        [(7, (16.0, 10.0, 36.0, 50.0))]
    """

    def __init__(self, *, max_frames: int = 10) -> None:
        self.max_frames = max_frames
        self._frame = 0
        self._last: dict[int, tuple[int, tuple[float, float, float, float]]] = {}
        self._velocity: dict[int, tuple[float, float]] = {}

    def observe(self, frame: int, objects: Iterable[tuple[int, Sequence[float]]]) -> None:
        """Records a detector result: frame number and the tracked ``(id, (x0, y0, x1, y1))``."""
        last: dict[int, tuple[int, tuple[float, float, float, float]]] = {}
        velocity: dict[int, tuple[float, float]] = {}
        for track_id, box in objects:
            x0, y0, x1, y1 = (float(v) for v in box)
            before = self._last.get(track_id)
            if before is not None and before[0] < frame:
                steps = frame - before[0]
                b = before[1]
                velocity[track_id] = (
                    ((x0 + x1) - (b[0] + b[2])) / (2 * steps),
                    ((y0 + y1) - (b[1] + b[3])) / (2 * steps),
                )
            last[track_id] = (frame, (x0, y0, x1, y1))
        self._frame, self._last, self._velocity = frame, last, velocity

    def predict(self, frame: int) -> list[tuple[int, tuple[float, float, float, float]]]:
        """The objects of the last result moved on to ``frame`` (a later frame), by id."""
        steps = min(max(frame - self._frame, 0), self.max_frames)
        out = []
        for track_id in sorted(self._last):
            x0, y0, x1, y1 = self._last[track_id][1]
            vx, vy = self._velocity.get(track_id, (0.0, 0.0))
            dx, dy = vx * steps, vy * steps
            out.append((track_id, (x0 + dx, y0 + dy, x1 + dx, y1 + dy)))
        return out


def write_mot(path: str | Path, rows: Iterable[TrackRow]) -> int:
    """Writes tracks as MOTChallenge lines ``frame,id,x,y,w,h,1,-1,-1,-1``; returns the count."""
    lines = [
        f"{frame},{track_id},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,-1,-1,-1\n"
        for frame, track_id, (x, y, w, h) in sorted(rows, key=lambda r: (r[0], r[1]))
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return len(lines)


def track_file(
    det: str | Path,
    out: str | Path,
    *,
    frame_rate: float = 30.0,
    min_score: float = -math.inf,
) -> TrackRun:
    """Tracks a MOTChallenge detection file and writes the tracks (``vsa-stream track``).

    Raises:
        ConfigError: a malformed detection line (see :func:`read_mot`).
        OSError: a file cannot be read or written.
    """
    frames = read_mot(det, min_score=min_score)
    rows = track_frames(frames, Tracker(frame_rate=frame_rate))
    written = write_mot(out, rows)
    return TrackRun(
        frames=max(frames, default=0),
        detections=sum(len(s) for _, s in frames.values()),
        rows=written,
        tracks=len({r[1] for r in rows}),
    )
