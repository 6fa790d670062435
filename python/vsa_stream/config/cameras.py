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

    id: Annotated[_ID, msgspec.Meta(description="unique within the camera")]
    polygon: Annotated[
        list[_Point],
        msgspec.Meta(min_length=3, description="at least 3 points, non-zero area; may be concave"),
    ]
    units: Annotated[
        Literal["normalized", "pixels"], msgspec.Meta(description="coordinate units")
    ] = "normalized"
    anchor: Annotated[
        Literal["bottom_center", "center"],
        msgspec.Meta(
            description=("the point of an object tested against the zone (the feet, by default)")
        ),
    ] = "bottom_center"
    area_m2: Annotated[
        Annotated[float, msgspec.Meta(gt=0.0)] | None,
        msgspec.Meta(
            description=(
                "ground area of the zone in m² (`density` needs it, or the camera's `calibration`)"
            )
        ),
    ] = None


class Calibration(_Base):
    """Image ↔ ground-plane homography from at least four point pairs (ground in metres)."""

    image_points: Annotated[
        list[_Point],
        msgspec.Meta(min_length=4, description="points of the image (no three of four collinear)"),
    ]
    ground_points: Annotated[
        list[_Point],
        msgspec.Meta(min_length=4, description="the same points on the ground, metres"),
    ]
    units: Annotated[
        Literal["normalized", "pixels"], msgspec.Meta(description="units of `image_points`")
    ] = "normalized"


class MotionConfig(_Base):
    """The Rust motion kernel (background model, foreground blobs)."""

    factor: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=16, description="the luma plane is downscaled by this factor (area average)"
        ),
    ] = 4
    alpha: Annotated[
        float,
        msgspec.Meta(gt=0.0, le=1.0, description="background learning rate per analysed frame"),
    ] = 0.05
    threshold: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=255.0,
            description="difference from the background that makes a pixel foreground",
        ),
    ] = 20.0
    min_area: Annotated[
        int, msgspec.Meta(ge=1, description="smallest blob reported, in full-resolution pixels")
    ] = 400
    warmup_frames: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=1000,
            description="frames used to learn the background before anything is reported",
        ),
    ] = 5


class Supervision(_Base):
    """How a live camera is watched: timeouts, stall and offline detection, reconnection.

    The defaults are the documented behaviour; shorter values exist for tests and for networks
    where a faster verdict matters more than tolerance of slow cameras.
    """

    open_timeout_s: Annotated[
        float,
        msgspec.Meta(gt=0.0, le=600.0, description="give up opening a stream after this long"),
    ] = 10.0
    read_timeout_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=600.0,
            description=(
                "FFmpeg's I/O timeout (`timeout` for RTSP, `rw_timeout` for the "
                "other protocols; `options` override it)"
            ),
        ),
    ] = 10.0
    stall_after_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=3600.0,
            description=(
                "no decoded frame for `max(3 frame intervals, stall_after_s)`: "
                "the camera is `stalled` and reconnected (a read stuck in FFmpeg "
                "is abandoned)"
            ),
        ),
    ] = 5.0
    offline_after_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=86400.0,
            description=(
                "no frame for this long: a `camera_offline` event; "
                "`camera_online` with the next frame"
            ),
        ),
    ] = 30.0
    backoff_min_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=3600.0,
            description=("first delay before reconnecting; doubles on each failure (±20 % jitter)"),
        ),
    ] = 1.0
    backoff_max_s: Annotated[
        float, msgspec.Meta(gt=0.0, le=3600.0, description="largest delay; retries never stop")
    ] = 60.0
    healthy_after_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=86400.0,
            description="streaming this long resets the delay to `backoff_min_s`",
        ),
    ] = 60.0


class Camera(_Base):
    """One video stream and what to watch in it."""

    id: Annotated[_ID, msgspec.Meta(description="unique; letters, digits, `_ . -`, at most 64")]
    url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description=(
                "file path, `file://`, `rtsp://`, `rtsps://`, `rtmp://`, "
                "`http(s)://`, `tcp://`, `udp://`, `rtp://` or `srt://` URL; "
                "credentials are masked in logs. `replay://PATH` replays a "
                "MOTChallenge detection file instead of video, for load tests "
                "only (options `width`, `height`, `label`, `start`; see "
                "`vsa_stream.sources.replay`)"
            ),
        ),
    ]
    options: Annotated[
        dict[str, str],
        msgspec.Meta(description="FFmpeg demuxer/protocol options, e.g. `rtsp_transport: tcp`"),
    ] = msgspec.field(default_factory=dict)
    fps: Annotated[
        float,
        msgspec.Meta(
            gt=0.0, le=120.0, description="frames analysed per second (sampled by stream time)"
        ),
    ] = 10.0
    realtime: Annotated[
        bool,
        msgspec.Meta(
            description=("play a file at its native rate, like a live camera (`scan` ignores it)")
        ),
    ] = True
    loop: Annotated[bool, msgspec.Meta(description="start a file again at its end")] = False
    enabled: Annotated[
        bool, msgspec.Meta(description="`false` keeps the camera in the file but does not run it")
    ] = True
    skip_loop_filter: Annotated[
        bool | None,
        msgspec.Meta(
            description=(
                "skip H.264/HEVC deblocking (faster decoding); unset, a camera "
                "that runs a detector keeps it (see *Deblocking* below)"
            )
        ),
    ] = None
    zones: Annotated[list[Zone], msgspec.Meta(description="polygons rules refer to by id")] = (
        msgspec.field(default_factory=list)
    )
    rules: Annotated[list[Rule], msgspec.Meta(description="what to detect")] = msgspec.field(
        default_factory=list
    )
    motion: Annotated[
        MotionConfig | None, msgspec.Meta(description="this camera's motion settings")
    ] = None
    calibration: Annotated[
        Calibration | None,
        msgspec.Meta(description="image ↔ ground homography: metres for `density` and `wrong_way`"),
    ] = None
    max_alerts_per_minute: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=10000,
            description=(
                "storm control: events this camera may open per sliding minute; "
                "beyond, one `alert_storm` summary event counts the suppressed "
                "ones"
            ),
        ),
    ] = 20
    detectors: Annotated[
        list[_ID] | None,
        msgspec.Meta(description="the detectors this camera uses; `[]`: none (motion blobs)"),
    ] = None
    detect_fps: Annotated[
        Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] | None,
        msgspec.Meta(description="this camera's detection rate"),
    ] = None
    supervision: Annotated[
        Supervision,
        msgspec.Meta(
            description=("timeouts, stall and offline detection, reconnection (live streams)")
        ),
    ] = msgspec.field(default_factory=Supervision)
    #: Watch for tampering (covered, moved, defocused): ``camera_tampered`` events. Always on
    #: where an ``abandoned_object`` rule runs the dual-rate background it needs.
    tamper: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "raise `camera_tampered` (health event: open while the view is "
                "covered, moved or defocused for about a second, with the reason "
                "and a score; closed when it is back); runs the dual-rate "
                "background, about 2–4 ms per 720p frame, already running (and so"
                " always on) where an `abandoned_object` rule is"
            )
        ),
    ] = False
    #: Counting lines and occupancy zones reported per interval (aggregates only); a purpose
    #: of its own, not one of the eight situations (:mod:`vsa_stream.config.statistics`).
    statistics: Annotated[
        Statistics | None,
        msgspec.Meta(
            description=(
                "counting lines and occupancy zones reported per interval, "
                "aggregates only; a camera may have it and no `rules`"
            )
        ),
    ] = None
