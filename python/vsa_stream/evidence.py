"""Evidence snapshots: opt-in JPEG images of an event's frame, persons pixelated, kept a while.

Minimisation (DESIGN.md, invariant 4): nothing is stored unless ``privacy.snapshots: true``.
Then, when an event opens and when it closes, the analysis thread takes the frame it has just
analysed as RGB and pixelates (``privacy.blur_persons``, on by default) the boxes of every
person, every vehicle (its plate; ``privacy.blur_vehicles``) and every unclassified motion blob
seen on that camera in the last ``privacy.blur_hold_s`` seconds (a person the detector missed
on this very frame, or whose track was just lost, is still hidden), and, on a camera without a
detector, every foreground region of the frame; a writer thread then encodes it to JPEG
with PyAV and writes it (two images per event at most; the analysis never waits for the encoder,
and a snapshot that finds the writer 16 images behind is dropped and logged). Files live in
``<state_dir>/evidence/<camera>/<event id>-<open|closed>.jpg`` and are deleted
``privacy.retention_days`` after they were written (30 days at most) by
:meth:`EvidenceStore.prune`, which the daemon runs hourly.

Example:
    >>> import numpy as np
    >>> img = np.arange(64, dtype=np.uint8).reshape(8, 8).repeat(3).reshape(8, 8, 3)
    >>> out = pixelate(img.copy(), [(0, 0, 4, 4)], block=4)
    >>> bool((out[:4, :4] == out[0, 0]).all()), bool((out[4:] == img[4:]).all())
    (True, True)
"""

from __future__ import annotations

import collections
import os
import queue
import re
import threading
import time
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from vsa_stream.config.statistics import STATISTICS_TYPE
from vsa_stream.events import Event
from vsa_stream.log import get_logger
from vsa_stream.observation import Foreground, Observation
from vsa_stream.private import private_dir, write_private
from vsa_stream.sources.frame import Frame

__all__ = ["PERSON_LABELS", "VEHICLE_LABELS", "EvidenceStore", "encode_jpeg", "pixelate"]

#: Detection labels treated as persons (plus every unclassified motion blob).
PERSON_LABELS = frozenset({"person"})
#: Detection labels pixelated with ``privacy.blur_vehicles`` (number plates).
VEHICLE_LABELS = frozenset({"vehicle"})

_Box = tuple[int, int, int, int]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KINDS = ("open", "closed")


def pixelate(
    rgb: NDArray[np.uint8], boxes: Iterable[tuple[int, int, int, int]], *, block: int = 0
) -> NDArray[np.uint8]:
    """Replace each box ``(x0, y0, x1, y1)`` (pixels) by blocks of its mean colour, in place.

    ``block`` is the block side in pixels; 0 picks one from the box (at least 8, about a sixth
    of its smaller side), coarse enough that no face or silhouette detail survives.
    """
    h, w = rgb.shape[:2]
    for x0, y0, x1, y1 in boxes:
        x0, y0 = max(0, min(w, x0)), max(0, min(h, y0))
        x1, y1 = max(0, min(w, x1)), max(0, min(h, y1))
        if x1 <= x0 or y1 <= y0:
            continue
        side = block or max(8, min(x1 - x0, y1 - y0) // 6)
        for by in range(y0, y1, side):
            for bx in range(x0, x1, side):
                cell = rgb[by : min(by + side, y1), bx : min(bx + side, x1)]
                cell[...] = cell.reshape(-1, rgb.shape[2]).mean(axis=0).astype(np.uint8)
    return rgb


def encode_jpeg(rgb: NDArray[np.uint8], quality: int = 5) -> bytes:
    """Encode an RGB image (``h × w × 3`` uint8) to JPEG with PyAV's MJPEG encoder.

    ``quality`` is FFmpeg's ``qscale`` (2: best, 31: worst).
    """
    h, w = rgb.shape[:2]
    even = rgb[: h - h % 2, : w - w % 2]
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = even.shape[1], even.shape[0]
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"qscale": str(quality)}
    codec.flags |= av.codec.context.Flags.qscale
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24")
    frame = frame.reformat(format="yuvj420p")
    packets = [*codec.encode(frame), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)


def _rgb(frame: Frame) -> NDArray[np.uint8]:
    if isinstance(frame.keepalive, av.VideoFrame):
        rgb = np.asarray(frame.keepalive.to_ndarray(format="rgb24"), dtype=np.uint8)
        return rgb
    luma = np.asarray(frame.luma)
    return np.repeat(luma[:, :, None], 3, axis=2)


class EvidenceStore:
    """Snapshots of one daemon (see the module docstring).

    Args:
        folder: where snapshots go (``<state_dir>/evidence``).
        blur_persons: pixelate persons and unclassified blobs (and foreground without a
            detector).
        retention_days: age after which :meth:`prune` deletes a snapshot.
        blur_vehicles: pixelate vehicles too.
        hold_s: what was seen this many seconds (stream time) before the frame is hidden too.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        blur_persons: bool,
        retention_days: float,
        blur_vehicles: bool = True,
        hold_s: float = 3.0,
    ) -> None:
        self.folder = Path(folder)
        self.blur_persons = blur_persons
        self.labels = PERSON_LABELS | (VEHICLE_LABELS if blur_vehicles else frozenset())
        self.hold_s = hold_s
        # per camera: (stream time, boxes to hide) of the recent frames, oldest first
        self._recent: dict[str, collections.deque[tuple[float, list[_Box]]]] = {}
        self.retention_s = retention_days * 86400.0
        self.written = 0
        self.dropped = 0
        self._log = get_logger()
        self._queue: queue.Queue[tuple[NDArray[np.uint8], list[Path]] | None] = queue.Queue(16)
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def path(self, camera_id: str, event_id: str, kind: str) -> Path | None:
        """Where the ``kind`` (``open`` or ``closed``) snapshot of an event is, or None for
        identifiers that could not be file names (never a path outside the folder)."""
        if kind not in _KINDS or not _SAFE.match(camera_id) or not _SAFE.match(event_id):
            return None
        return self.folder / camera_id / f"{event_id}-{kind}.jpg"

    def remember(self, observation: Observation | None) -> None:
        """Called by the analysis thread after every analysed frame: keeps the boxes to hide
        of the last ``hold_s`` seconds of its camera (a few boxes a frame)."""
        if observation is None or not self.blur_persons:
            return
        recent = self._recent.setdefault(observation.camera_id, collections.deque())
        while recent and (
            recent[0][0] < observation.time_s - self.hold_s or recent[0][0] > observation.time_s
        ):
            recent.popleft()  # too old, or from before a rewind (a looped file)
        recent.append((observation.time_s, _boxes(observation, self.labels)))

    def capture(
        self,
        frame: Frame,
        observation: Observation | None,
        events: Sequence[Event],
        *,
        foreground: Foreground | None = None,
    ) -> None:
        """Called by the analysis thread after a frame: a snapshot per event that opened or
        closed on it, with what :meth:`remember` kept and this frame's boxes hidden, and the
        ``foreground`` regions (given on a camera without a detector). Never raises: a failed
        snapshot is logged and the alert goes on."""
        # a statistics revision is an aggregate, never a reason to keep an image
        wanted = [e for e in events if e.state in _KINDS and e.type != STATISTICS_TYPE]
        if not wanted:
            return
        targets = [self.path(e.camera_id, e.id, e.state) for e in wanted]
        paths = [t for t in targets if t is not None]
        if not paths:
            return
        try:
            rgb = _rgb(frame)
            if self.blur_persons:
                boxes = _boxes(observation, self.labels) if observation is not None else []
                recent = self._recent.get(wanted[0].camera_id, ())
                boxes += [box for _, kept in recent for box in kept]
                if foreground is not None:
                    boxes += _foreground_boxes(foreground)
                pixelate(rgb, boxes)
        except Exception as exc:
            self._log.error("snapshot failed", camera_id=wanted[0].camera_id, error=repr(exc))
            return
        self._start_writer()
        try:
            self._queue.put_nowait((rgb, paths))
        except queue.Full:
            self.dropped += 1
            self._log.warning("snapshot dropped: writer behind", camera_id=wanted[0].camera_id)

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="evidence", daemon=True)
                self._writer.start()

    def _write(self) -> None:
        while (job := self._queue.get()) is not None:
            rgb, paths = job
            try:
                data = encode_jpeg(rgb)
                for target in paths:
                    private_dir(target.parent)
                    partial = target.with_suffix(".part")
                    write_private(partial, data)
                    os.replace(partial, target)
                    self.written += 1
            except Exception as exc:
                self._log.error("snapshot failed", path=str(paths[0]), error=repr(exc))

    def close(self) -> None:
        """Write what is queued, then stop the writer thread (blocking)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def prune(self, now: float | None = None) -> list[Path]:
        """Delete snapshots older than the retention period; returns what was deleted."""
        limit = (time.time() if now is None else now) - self.retention_s
        deleted: list[Path] = []
        if not self.folder.is_dir():
            return deleted
        for path in self.folder.glob("*/*.jpg"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    deleted.append(path)
            except FileNotFoundError:
                continue
        return deleted


def _foreground_boxes(foreground: Foreground, cell: int = 4) -> list[_Box]:
    """Pixel boxes of the foreground mask's cells (``cell`` × ``cell`` mask pixels each)."""
    mask = np.asarray(foreground.mask) > 0
    h, w = mask.shape
    rows, cols = -(-h // cell), -(-w // cell)
    padded = np.zeros((rows * cell, cols * cell), dtype=bool)
    padded[:h, :w] = mask
    hit = padded.reshape(rows, cell, cols, cell).any(axis=(1, 3))
    side = cell * foreground.factor
    return [
        (int(c * side), int(r * side), int((c + 1) * side), int((r + 1) * side))
        for r, c in zip(*np.nonzero(hit), strict=True)
    ]


def _boxes(observation: Observation, labels: frozenset[str]) -> list[_Box]:
    """Pixel boxes of the objects with ``labels`` and of unclassified blobs, a little
    enlarged."""
    boxes = []
    for d in observation.detections:
        if d.label is None or d.label in labels:
            pad_x, pad_y = 0.1 * (d.x1 - d.x0), 0.1 * (d.y1 - d.y0)
            boxes.append(
                (
                    int(d.x0 - pad_x),
                    int(d.y0 - pad_y),
                    int(np.ceil(d.x1 + pad_x)),
                    int(np.ceil(d.y1 + pad_y)),
                )
            )
    return boxes
