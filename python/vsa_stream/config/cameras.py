"""A camera and what belongs to it: zones, calibration, motion settings, supervision."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _ID, _Base, _Point
from vsa_stream.config.rules import Rule
from vsa_stream.config.statistics import Statistics

__all__ = ["Calibration", "Camera", "MotionConfig", "Supervision", "Zone"]


class Zone(_Base):
    """A polygon of the image, in normalised (0..1) or pixel coordinates."""

    id: _ID
    polygon: Annotated[list[_Point], msgspec.Meta(min_length=3)]
    units: Literal["normalized", "pixels"] = "normalized"
    anchor: Literal["bottom_center", "center"] = "bottom_center"
    area_m2: Annotated[float, msgspec.Meta(gt=0.0)] | None = None


class Calibration(_Base):
    """Image ↔ ground-plane homography from at least four point pairs (ground in metres)."""

    image_points: Annotated[list[_Point], msgspec.Meta(min_length=4)]
    ground_points: Annotated[list[_Point], msgspec.Meta(min_length=4)]
    units: Literal["normalized", "pixels"] = "normalized"


class MotionConfig(_Base):
    """The Rust motion kernel (background model, foreground blobs)."""

    factor: Annotated[int, msgspec.Meta(ge=1, le=16)] = 4
    alpha: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.05
    threshold: Annotated[float, msgspec.Meta(gt=0.0, le=255.0)] = 20.0
    min_area: Annotated[int, msgspec.Meta(ge=1)] = 400
    warmup_frames: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 5


class Supervision(_Base):
    """How a live camera is watched: timeouts, stall and offline detection, reconnection.

    The defaults are the documented behaviour; shorter values exist for tests and for networks
    where a faster verdict matters more than tolerance of slow cameras.
    """

    open_timeout_s: Annotated[float, msgspec.Meta(gt=0.0, le=600.0)] = 10.0
    read_timeout_s: Annotated[float, msgspec.Meta(gt=0.0, le=600.0)] = 10.0
    stall_after_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)] = 5.0
    offline_after_s: Annotated[float, msgspec.Meta(gt=0.0, le=86400.0)] = 30.0
    backoff_min_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)] = 1.0
    backoff_max_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)] = 60.0
    healthy_after_s: Annotated[float, msgspec.Meta(gt=0.0, le=86400.0)] = 60.0


class Camera(_Base):
    """One video stream and what to watch in it."""

    id: _ID
    url: Annotated[str, msgspec.Meta(min_length=1)]
    options: dict[str, str] = msgspec.field(default_factory=dict)
    fps: Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] = 10.0
    realtime: bool = True
    loop: bool = False
    enabled: bool = True
    skip_loop_filter: bool | None = None
    zones: list[Zone] = msgspec.field(default_factory=list)
    rules: list[Rule] = msgspec.field(default_factory=list)
    motion: MotionConfig | None = None
    calibration: Calibration | None = None
    max_alerts_per_minute: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 20
    detectors: list[_ID] | None = None
    detect_fps: Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] | None = None
    supervision: Supervision = msgspec.field(default_factory=Supervision)
    #: Watch for tampering (covered, moved, defocused): ``camera_tampered`` events. Always on
    #: where an ``abandoned_object`` rule runs the dual-rate background it needs.
    tamper: bool = False
    #: Counting lines and occupancy zones reported per interval (aggregates only); a purpose
    #: of its own, not one of the eight situations (:mod:`vsa_stream.config.statistics`).
    statistics: Statistics | None = None
