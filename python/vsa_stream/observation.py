"""The plain data that flows from perception to rules: objects in one analysed frame."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Detection", "Observation"]


@dataclass(frozen=True, slots=True)
class Detection:
    """One object in a frame, in pixels of that frame.

    ``label`` is None for an unclassified motion blob (no detector configured); a rule's class
    filter only applies to classified objects.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    label: str | None = None
    score: float = 1.0
    track_id: int | None = None

    @property
    def bottom_center(self) -> tuple[float, float]:
        """Where the object touches the ground: the anchor of zone checks."""
        return ((self.x0 + self.x1) / 2.0, self.y1)

    @property
    def center(self) -> tuple[float, float]:
        """The middle of the box."""
        return ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything rules learn from one analysed frame.

    ``detections`` are the camera's tracked objects; ``detected`` is False when no detector
    result arrived on this frame, so they are those of an earlier frame (a detector runs
    slower than the analysis, or motion gating skipped it).
    """

    camera_id: str
    frame_index: int
    time_s: float
    wall_time: float
    width: int
    height: int
    detections: list[Detection] = field(default_factory=list)
    detected: bool = True

    def normalised(self, d: Detection) -> tuple[float, float, float, float]:
        """The box of ``d`` in 0..1 coordinates of this frame."""
        return (d.x0 / self.width, d.y0 / self.height, d.x1 / self.width, d.y1 / self.height)
