"""The plain data that flows from perception to rules: objects in one analysed frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Detection",
    "FireEvidence",
    "FlowField",
    "Foreground",
    "Observation",
    "Posture",
    "PostureProbe",
    "StaticObject",
    "Tampering",
]


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
class FlowField:
    """The grid motion field between the previous analysed frame and this one.

    Cell ``(r, c)`` covers pixels ``[c*cell, (c+1)*cell) x [r*cell, (r+1)*cell)`` of the frame.
    The field is measured on the frame reduced ``scale`` times (about 384 pixels wide, see
    :func:`vsa_stream.perception.signals.flow_scale`), so that a crowd moving the same way
    gives the same field whatever the camera's resolution; speeds are in pixels of that reduced
    frame per analysed frame (``flow * scale``: pixels of the frame).

    Attributes:
        cell: cell side in pixels of the frame.
        flow: ``(rows, cols, 2)`` float32 ``(dx, dy)`` per cell, pixels of the reduced frame.
        confidence: ``(rows, cols)`` float32 in [0, 1]; low for flat or lost cells.
        divergence: ``(rows, cols)`` float32, > 0 where the motion spreads out (1/frame: the
            same in both frames).
        scale: frame pixels per pixel of the reduced frame (1: measured on the frame itself).
    """

    cell: int
    flow: NDArray[np.float32]
    confidence: NDArray[np.float32]
    divergence: NDArray[np.float32]
    scale: int = 1


@dataclass(frozen=True, slots=True)
class FireEvidence:
    """Flame-colour and flicker evidence per grid cell (see ``_core.FireDetector``).

    Attributes:
        cell: cell side in pixels of the frame.
        score: ``(rows, cols)`` float32 fire score in [0, 1].
        colour: ``(rows, cols)`` float32 fire-coloured fraction of each cell in this frame.
        growth: ``(rows, cols)`` float32 change of the colour fraction over the window.
        periodicity: ``(rows, cols)`` float32 in [0, 1], how periodic each cell's colour
            fraction has been over the last seconds (blinking signs, beacons); NaN where not
            known yet (a camera's first seconds); None: not measured.
    """

    cell: int
    score: NDArray[np.float32]
    colour: NDArray[np.float32]
    growth: NDArray[np.float32]
    periodicity: NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class StaticObject:
    """A region of the frame that appeared and stayed still (static-object evidence).

    Attributes:
        x0, y0, x1, y1: its box in pixels.
        since_s: stream time at which it became still.
        presence: which image holds its outline, in [0, 1]: near 1 the current frame (an
            object arrived), below 0.5 the old background (a ghost: something that was there
            has left), around 0.5 both (a change of light on what was there). 1 when not
            measured.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    since_s: float
    presence: float = 1.0


@dataclass(frozen=True, slots=True)
class Tampering:
    """The camera-tampering signal of a frame.

    Attributes:
        flag: the condition has held long enough to be reported.
        reason: ``covered``, ``moved`` or ``defocused`` (None: nothing unusual).
        score: strength of the strongest indicator, in [0, 1].
    """

    flag: bool
    reason: str | None
    score: float


@dataclass(frozen=True, slots=True)
class Foreground:
    """The foreground mask of the frame, downscaled by ``factor`` (non-zero: foreground)."""

    factor: int
    mask: NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Posture:
    """How one person's body lies in one frame, from a pose model run on a crop around them.

    Only these derived measures leave the pose stage: never the keypoints themselves, which
    are not stored and say nothing of who the person is.

    Attributes:
        lying: the body is along the ground (torso and legs far from vertical).
        bent: the torso is far from vertical but the legs are upright: kneeling, bending
            over, on all fours (not lying, whatever the box looks like).
        torso_deg: angle of the shoulders-to-hips axis from the image vertical (0: upright,
            90: horizontal).
        legs_deg: angle of the hips-to-ankles (or knees) axis from the vertical; None when no
            leg joint was seen.
        score: mean score of the keypoints used.
        box: ``(x0, y0, x1, y1)`` pixels around the confident keypoints (the person's extent).
    """

    lying: bool
    bent: bool
    torso_deg: float
    legs_deg: float | None
    score: float
    box: tuple[float, float, float, float]


class PostureProbe(Protocol):
    """The posture of the person in a pixel box of the current frame (None: no confident
    pose there, or the frame's pose budget is spent). Costs a model run: call it only for
    candidates."""

    def __call__(self, box: tuple[float, float, float, float]) -> Posture | None: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything rules learn from one analysed frame.

    ``detections`` are the camera's tracked objects; ``detected`` is False when no detector
    result arrived on this frame, so they are those of an earlier frame (a detector runs
    slower than the analysis, or motion gating skipped it). ``posture``, when a pose model is
    configured, estimates the posture of a person in a box of this frame, on demand.
    """

    camera_id: str
    frame_index: int
    time_s: float
    wall_time: float
    width: int
    height: int
    detections: list[Detection] = field(default_factory=list)
    detected: bool = True
    # Scene signals, computed only when a rule of the camera needs them (None otherwise).
    flow: FlowField | None = None
    fire: FireEvidence | None = None
    static_objects: list[StaticObject] | None = None
    foreground: Foreground | None = None
    tamper: Tampering | None = None
    # A pose model bound to this frame, when one is configured and a rule asks for it.
    posture: PostureProbe | None = None

    def normalised(self, d: Detection) -> tuple[float, float, float, float]:
        """The box of ``d`` in 0..1 coordinates of this frame."""
        return (d.x0 / self.width, d.y0 / self.height, d.x1 / self.width, d.y1 / self.height)

    def normalised_box(
        self, x0: float, y0: float, x1: float, y1: float
    ) -> tuple[float, float, float, float]:
        """A pixel box in 0..1 coordinates of this frame."""
        return (x0 / self.width, y0 / self.height, x1 / self.width, y1 / self.height)
