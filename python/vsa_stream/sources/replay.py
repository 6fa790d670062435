"""A load-testing source: recorded detections replayed instead of decoded video.

A camera whose URL is ``replay://PATH`` reads a MOTChallenge detection file (``det.txt``:
``frame, id, left, top, width, height, score, ...`` per line, frames from 1) and hands each
frame's boxes to the camera's tracker and rules at the camera's ``fps``, paced like a live
camera, with no decoding, no motion kernel and no detector. It exists to load the control
plane and the alert path (many cameras on one machine: ``bench/bench_cluster.py --scale``);
it is not a way to analyse video. Options (the camera's ``options``): ``width`` and
``height`` of the recorded frames (default 768×576, PETS09), ``label`` of every box (default
``person``), ``start`` (the first frame to replay, 1-based, default 1: cameras that start at
different frames raise their alerts at different times).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "det.txt"
    >>> _ = path.write_text("1,-1,10,20,30,40,0.9,-1,-1,-1\\n3,-1,0,0,5,5,0.5,-1,-1,-1\\n")
    >>> replay = DetectionReplay.open(f"replay://{path}")
    >>> [(i, [b.box for b in boxes]) for i, boxes in replay.frames]
    [(1, [(10.0, 20.0, 40.0, 60.0)]), (2, []), (3, [(0.0, 0.0, 5.0, 5.0)])]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vsa_stream.errors import SourceError

__all__ = ["REPLAY_SCHEME", "DetectionReplay", "RecordedBox", "is_replay_url"]

#: The URL scheme of a detection replay: ``replay:///data/mot/PETS09-S2L1/det.txt``.
REPLAY_SCHEME = "replay://"


def is_replay_url(url: str) -> bool:
    """Whether ``url`` names a detection replay rather than a video.

    Example:
        >>> is_replay_url("replay:///data/det.txt"), is_replay_url("rtsp://cam/1")
        (True, False)
    """
    return url.lower().startswith(REPLAY_SCHEME)


@dataclass(frozen=True, slots=True)
class RecordedBox:
    """One recorded detection, in pixels of the recorded frame."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    score: float


@dataclass(frozen=True, slots=True)
class DetectionReplay:
    """Every frame of a detection file, in order (frames without a detection included)."""

    path: Path
    frames: tuple[tuple[int, tuple[RecordedBox, ...]], ...]
    width: int
    height: int
    label: str
    start: int

    @classmethod
    def open(cls, url: str, options: Mapping[str, str] | None = None) -> DetectionReplay:
        """Read the detection file of ``url``; SourceError names what is wrong."""
        if not is_replay_url(url):
            raise SourceError(f"not a replay URL: {url!r}")
        options = options or {}
        path = Path(url[len(REPLAY_SCHEME) :])
        try:
            width = int(options.get("width", "768"))
            height = int(options.get("height", "576"))
            start = int(options.get("start", "1"))
        except ValueError as exc:
            raise SourceError(f"replay option width, height or start: {exc}") from None
        if width <= 0 or height <= 0:
            raise SourceError("replay options width and height must be positive")
        try:
            stat = path.stat()
        except OSError as exc:
            raise SourceError(f"cannot read detection file {path}: {exc.strerror}") from None
        frames = _read(path, stat.st_mtime_ns, stat.st_size)
        if not 1 <= start <= len(frames):
            raise SourceError(f"replay option start must be within 1..{len(frames)}")
        return cls(path, frames, width, height, options.get("label", "person"), start)


@functools.lru_cache(maxsize=16)
def _read(path: Path, mtime_ns: int, size: int) -> tuple[tuple[int, tuple[RecordedBox, ...]], ...]:
    """The frames of a detection file, read once per version of the file: a thousand cameras
    replaying the same file share one copy."""
    del mtime_ns, size  # part of the cache key only
    try:
        text = path.read_text()
    except OSError as exc:
        raise SourceError(f"cannot read detection file {path}: {exc.strerror}") from None
    by_frame: dict[int, list[RecordedBox]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            frame = int(float(fields[0]))
            x, y, w, h, score = (float(v) for v in fields[2:7])
        except (ValueError, IndexError):
            raise SourceError(f"{path}:{n}: not a MOTChallenge detection line") from None
        if frame < 1 or w <= 0 or h <= 0:
            raise SourceError(f"{path}:{n}: frame < 1 or an empty box")
        by_frame.setdefault(frame, []).append(RecordedBox((x, y, x + w, y + h), score))
    if not by_frame:
        raise SourceError(f"{path}: no detection")
    return tuple((i, tuple(by_frame.get(i, []))) for i in range(1, max(by_frame) + 1))
