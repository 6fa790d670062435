"""Moving objects from the Rust background model, as detections for the rules."""

from __future__ import annotations

import math

import numpy as np

from vsa_stream import _core
from vsa_stream.config import MotionConfig
from vsa_stream.log import get_logger
from vsa_stream.observation import Detection, Foreground
from vsa_stream.sources.frame import Frame

__all__ = ["CameraMotion", "MotionPerception"]


class MotionPerception:
    """Foreground blobs of a camera's frames (the default when no detector is configured).

    The Rust detector is built on the first frame, and built again if the resolution changes.
    """

    def __init__(self, config: MotionConfig, camera_id: str = "") -> None:
        self.config = config
        self._detector: _core.MotionDetector | None = None
        self._log = get_logger(camera_id=camera_id)

    @property
    def warming_up(self) -> bool:
        """True until the background model has seen its warm-up frames (it sees no motion
        yet, which does not mean there is none)."""
        d = self._detector
        return d is None or d.frames <= self.config.warmup_frames

    def detect(self, frame: Frame) -> list[Detection]:
        """The moving objects of ``frame``; raises FrameError for a frame the kernel rejects."""
        detector = self._detector
        if detector is None or (detector.width, detector.height) != (frame.width, frame.height):
            if detector is not None:
                self._log.warning(
                    "resolution changed, motion model restarts",
                    old=f"{detector.width}x{detector.height}",
                    new=f"{frame.width}x{frame.height}",
                )
            c = self.config
            detector = _core.MotionDetector(
                frame.width,
                frame.height,
                factor=c.factor,
                alpha=c.alpha,
                threshold=c.threshold,
                min_area=c.min_area,
                warmup_frames=c.warmup_frames,
            )
            self._detector = detector
        blobs = detector.process(frame.luma)
        return [Detection(float(b.x0), float(b.y0), float(b.x1), float(b.y1)) for b in blobs]

    def foreground(self) -> Foreground | None:
        """The cleaned foreground mask of the last frame (downscaled), None before the first."""
        if self._detector is None:
            return None
        return Foreground(self._detector.factor, self._detector.foreground())


class CameraMotion:
    """Detects the camera itself moving (shake, vibration, a knock): the global translation of
    the view between consecutive frames, by phase correlation of a central crop
    (:class:`vsa_stream._core.CameraShift`: a ``crop``-pixel square at half resolution, Hann
    window; the GIL is released meanwhile).

    While the camera moves, foreground blobs are the whole scene sliding, not objects: the
    analyzer drops them from ``hold_s`` seconds around a shift of ``min_shift_px`` or more. It
    asks only on frames with blobs; the shift is then measured against the last frame asked
    about. About 0.1 ms per 1280x720 frame (any frame at least 256 pixels high and wide);
    about 0.3 ms for smaller frames, whose square side is not a power of two.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> scene = rng.integers(0, 255, (200, 300), dtype=np.uint8)
        >>> cm = CameraMotion()
        >>> cm.shift(scene), cm.shift(scene), cm.shift(np.roll(scene, (0, 4), axis=(0, 1)))
        (0.0, 0.0, 4.0)
    """

    def __init__(self, crop: int = 256, min_shift_px: float = 2.0, hold_s: float = 1.0) -> None:
        self.min_shift_px = min_shift_px
        self.hold_s = hold_s
        self._shift = _core.CameraShift(crop)
        self._moved_s = -math.inf

    @property
    def crop(self) -> int:
        """Side of the central square, full-resolution pixels."""
        return self._shift.crop

    def shift(self, luma: np.ndarray) -> float:
        """The translation (full-resolution pixels) of ``luma`` against the previous frame."""
        return self._shift.shift(luma)

    def moving(self, luma: np.ndarray, time_s: float) -> bool:
        """Whether the camera moved within ``hold_s`` of ``time_s`` (this frame included)."""
        if self.shift(luma) >= self.min_shift_px:
            self._moved_s = time_s
        return abs(time_s - self._moved_s) <= self.hold_s
