"""Moving objects from the Rust background model, as detections for the rules."""

from __future__ import annotations

from vsa_stream import _core
from vsa_stream.config import MotionConfig
from vsa_stream.log import get_logger
from vsa_stream.observation import Detection, Foreground
from vsa_stream.sources.frame import Frame

__all__ = ["MotionPerception"]


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
