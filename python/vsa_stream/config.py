"""The configuration: YAML decoded into msgspec Structs, validated with path-precise errors.

A configuration file is read in four steps, each of which can fail with a
:class:`~vsa_stream.errors.ConfigError` that names the field (``cameras[2].zones[0].polygon``)
and, where it can, the YAML line:

1. YAML is parsed (duplicate keys are an error, not a silent overwrite);
2. ``${VAR}`` / ``${VAR:-default}`` in string values are replaced from the environment, so
   secrets stay out of the file;
3. the data is converted into the :class:`Config` Structs (unknown keys are errors; a rule
   type outside the legal profile's closed set is an error naming the allowed ones);
4. cross-field checks (unique ids, zones a rule names exist, polygon geometry, ...).

Example:
    >>> cfg = loads("privacy: {legal_profile: lab}\\ncameras: [{id: cam1, url: video.mp4}]")
    >>> cfg.cameras[0].fps
    10.0
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import stat
import zoneinfo
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import msgspec
import numpy as np

from vsa_stream import _core
from vsa_stream.authorisation import (
    PROFILE_LIMITS,
    Authorisation,
    authorisation_problems,
    dates_as_text,
)
from vsa_stream.config_statistics import (
    Statistics,
    statistics_class_problems,
    statistics_problems,
)
from vsa_stream.config_yaml import YamlDocument, parse_yaml
from vsa_stream.detection.spec import ModelSpec
from vsa_stream.errors import ConfigError
from vsa_stream.event_types import SITUATIONS, SYSTEM_EVENTS, Situation
from vsa_stream.redact import redact_text, redact_url
from vsa_stream.tls import TlsFileError, check_server_files, client_context
from vsa_stream.webhook_signature import parse_secret

__all__ = [
    "DAYS",
    "LEGAL_PROFILES",
    "SITUATIONS",
    "AbandonedObjectRule",
    "ApiToken",
    "AuditConfig",
    "Authorisation",
    "Calibration",
    "Camera",
    "Config",
    "CrowdMovementRule",
    "DensityRule",
    "DetectorConfig",
    "FireRule",
    "IntrusionRule",
    "JsonlSink",
    "LoggingConfig",
    "MotionConfig",
    "MqttSink",
    "Notice",
    "OutboxConfig",
    "PersonDownRule",
    "PoseConfig",
    "Privacy",
    "Rule",
    "ScheduleWindow",
    "ServerConfig",
    "ServerTls",
    "Sinks",
    "StdoutSink",
    "Supervision",
    "TrackingConfig",
    "WeaponRule",
    "WebhookEndpoint",
    "WrongWayRule",
    "Zone",
    "class_problems",
    "json_schema",
    "load",
    "loads",
    "normal_host_name",
]

#: Which situation types each legal profile allows (``lab``: recorded files only, see
#: :data:`vsa_stream.authorisation.PROFILE_LIMITS`).
LEGAL_PROFILES: dict[str, tuple[Situation, ...]] = {"fr-2023": SITUATIONS, "lab": SITUATIONS}

_ID = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
_Point = tuple[float, float]


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Zone(_Base):
    """A polygon of the image, in normalised (0..1) or pixel coordinates."""

    id: _ID
    polygon: Annotated[list[_Point], msgspec.Meta(min_length=3)]
    units: Literal["normalized", "pixels"] = "normalized"
    anchor: Literal["bottom_center", "center"] = "bottom_center"
    area_m2: Annotated[float, msgspec.Meta(gt=0.0)] | None = None


_Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)]
_Cooldown = Annotated[float, msgspec.Meta(ge=0.0, le=86400.0)]
_Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = Annotated[str, msgspec.Meta(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
#: The days of the week, Monday first (``datetime.weekday()`` indexes it).
DAYS: tuple[Day, ...] = get_args(Day)


class ScheduleWindow(_Base):
    """When a rule is active: ``start``..``end`` (``HH:MM``) on ``days``; wraps midnight when
    ``end`` is earlier than ``start`` (the night belongs to the day it starts on)."""

    days: list[Day] = msgspec.field(default_factory=lambda: list(DAYS))
    start: _HHMM = "00:00"
    end: _HHMM = "24:00"


#: A problem of a configuration: the path of the field (relative to where it is checked) and
#: the message for a person.
Problem = tuple[tuple[str | int, ...], str]


class _RuleBase(_Base, tag_field="type"):
    """What every rule's settings say about themselves, beyond their fields: each situation's
    config struct overrides what applies to it (the checks below run before any model is
    loaded; see :func:`class_problems` for those after)."""

    @property
    def situation(self) -> Situation:
        """The situation this rule detects: its ``type`` tag."""
        tag = self.__struct_config__.tag
        assert tag in SITUATIONS, tag  # every subclass is tagged with one of them
        return tag

    def problems(self, camera: Camera) -> list[Problem]:
        """Cross-field checks of this rule on ``camera``, paths relative to the rule."""
        return []

    def classified_classes(self) -> list[str] | None:
        """The classes of a rule that can only fire on classified detections (never on
        motion blobs), so that its camera needs a detector; None: it can do without."""
        return None

    def produced_classes(self) -> list[str] | None:
        """The classes one of which a camera's detectors must produce for this rule to fire;
        None: it fires without any (flame colour, motion field, static evidence)."""
        return None


class IntrusionRule(_RuleBase, tag="intrusion"):
    """Presence in a forbidden zone for at least ``min_dwell_s``.

    Without a detector, every moving blob of at least ``motion.min_area`` pixels counts as an
    object; ``classes`` filters only classified objects.
    """

    zones: Annotated[list[_ID], msgspec.Meta(min_length=1)]
    classes: list[str] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    min_dwell_s: Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)] = 1.0
    exit_grace_s: Annotated[float, msgspec.Meta(ge=0.0, le=600.0)] = 1.0
    cooldown_s: Annotated[float, msgspec.Meta(ge=0.0, le=86400.0)] = 10.0
    schedule: list[ScheduleWindow] = msgspec.field(default_factory=list)
    timezone: str = "UTC"

    def problems(self, camera: Camera) -> list[Problem]:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return [(("timezone",), f"unknown time zone {self.timezone!r} (e.g. Europe/Paris)")]
        for n, window in enumerate(self.schedule):
            if window.start == window.end:
                return [(("schedule", n, "end"), "end equals start: the window is empty")]
        return []

    def produced_classes(self) -> list[str] | None:
        return self.classes


class WrongWayRule(_RuleBase, tag="wrong_way"):
    """A track moving against the allowed direction of a zone.

    The allowed direction is ``direction_deg`` (0 = right, 90 = down the image, 180 = left,
    270 = up) or, along a curved lane, the direction of the nearest segment of ``lane`` (a
    polyline drawn in the allowed direction).
    """

    zones: Annotated[list[_ID], msgspec.Meta(min_length=1)]
    direction_deg: Annotated[float, msgspec.Meta(ge=0.0, lt=360.0)] | None = None
    lane: Annotated[list[_Point], msgspec.Meta(min_length=2)] | None = None
    units: Literal["normalized", "pixels"] = "normalized"
    tolerance_deg: Annotated[float, msgspec.Meta(ge=0.0, le=180.0)] = 60.0
    classes: list[str] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    min_track_age_s: _Seconds = 1.0
    min_displacement_px: Annotated[float, msgspec.Meta(ge=0.0)] = 30.0
    min_displacement_m: Annotated[float, msgspec.Meta(gt=0.0)] | None = None
    window_s: Annotated[float, msgspec.Meta(gt=0.0, le=60.0)] = 2.0
    min_duration_s: _Seconds = 0.5
    exit_grace_s: _Seconds = 1.0
    cooldown_s: _Cooldown = 10.0

    def problems(self, camera: Camera) -> list[Problem]:
        if (self.direction_deg is None) == (self.lane is None):
            return [(("direction_deg",), "give exactly one of direction_deg and lane")]
        if self.lane is not None and self.units == "normalized":
            for n, (x, y) in enumerate(self.lane):
                if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                    return [
                        (
                            ("lane", n),
                            f"normalized coordinates must lie in [0, 1], got ({x}, {y}); "
                            "set units: pixels for pixel coordinates",
                        )
                    ]
        if self.min_displacement_m is not None and camera.calibration is None:
            return [
                (
                    ("min_displacement_m",),
                    "metres need the camera's calibration (or use min_displacement_px)",
                )
            ]
        return []

    def produced_classes(self) -> list[str] | None:
        return self.classes


class WeaponRule(_RuleBase, tag="weapon"):
    """A weapon class of a user-supplied detector, seen in ``k`` of ``n`` consecutive frames."""

    zones: list[_ID] = msgspec.field(default_factory=list)
    classes: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["weapon"]
    )
    min_score: _Fraction = 0.5
    k: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    n: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    exit_grace_s: _Seconds = 2.0
    cooldown_s: _Cooldown = 30.0

    def problems(self, camera: Camera) -> list[Problem]:
        if self.k > self.n:
            return [(("k",), f"k ({self.k}) must not exceed n ({self.n})")]
        return []

    def classified_classes(self) -> list[str] | None:
        return self.classes

    def produced_classes(self) -> list[str] | None:
        return self.classes


class FireRule(_RuleBase, tag="fire"):
    """Fire start: flame-colour and flicker evidence (Rust), or fire/smoke detector classes."""

    zones: list[_ID] = msgspec.field(default_factory=list)
    min_score: _Fraction = 0.5
    min_cells: Annotated[int, msgspec.Meta(ge=1)] = 1
    min_growth: Annotated[float, msgspec.Meta(ge=-1.0, le=100.0)] = -0.2
    min_area: _Fraction = 0.001
    max_periodicity: _Fraction = 0.6
    max_drift: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 0.5
    ignore_classes: list[str] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    classes: list[str] = msgspec.field(default_factory=lambda: ["fire", "smoke"])
    min_class_score: _Fraction = 0.5
    min_duration_s: _Seconds = 2.0
    exit_grace_s: _Seconds = 3.0
    cooldown_s: _Cooldown = 60.0


_CrowdKind = Literal["surge", "dispersal", "convergence", "running"]


class CrowdMovementRule(_RuleBase, tag="crowd_movement"):
    """Motion-field anomalies against a baseline learnt on the same camera (robust z-scores)."""

    zones: list[_ID] = msgspec.field(default_factory=list)
    kinds: Annotated[list[_CrowdKind], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["surge", "dispersal", "convergence", "running"]
    )
    baseline_s: Annotated[float, msgspec.Meta(ge=5.0, le=3600.0)] = 120.0
    min_baseline_s: Annotated[float, msgspec.Meta(ge=1.0, le=3600.0)] = 20.0
    z_threshold: Annotated[float, msgspec.Meta(gt=0.0, le=100.0)] = 4.0
    min_speed: Annotated[float, msgspec.Meta(ge=0.0)] = 1.0
    min_divergence: Annotated[float, msgspec.Meta(ge=0.0)] = 0.02
    min_coherence: _Fraction = 0.7
    min_area: _Fraction = 0.1
    min_duration_s: _Seconds = 1.0
    exit_grace_s: _Seconds = 2.0
    cooldown_s: _Cooldown = 30.0
    surge_speed: Annotated[float, msgspec.Meta(gt=0.0, le=20.0)] = 1.5
    min_persons: Annotated[float, msgspec.Meta(ge=1.0, le=1000.0)] = 3.0

    def problems(self, camera: Camera) -> list[Problem]:
        if self.min_baseline_s > self.baseline_s:
            return [(("min_baseline_s",), "must not exceed baseline_s")]
        return []


class PersonDownRule(_RuleBase, tag="person_down"):
    """A person who falls, then stays low and still for ``min_down_s``; or who is found lying
    still, without a fall seen, for ``min_lying_s``."""

    zones: list[_ID] = msgspec.field(default_factory=list)
    exclude_zones: list[_ID] = msgspec.field(default_factory=list)
    classes: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["person"]
    )
    fall_window_s: Annotated[float, msgspec.Meta(gt=0.0, le=10.0)] = 1.5
    min_drop: Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)] = 0.4
    lying_aspect: Annotated[float, msgspec.Meta(gt=0.0, le=10.0)] = 1.2
    max_motion: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] = 0.3
    min_down_s: _Seconds = 5.0
    min_lying_s: _Seconds = 30.0
    relink_s: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] = 3.0
    exit_grace_s: _Seconds = 2.0
    cooldown_s: _Cooldown = 60.0

    def classified_classes(self) -> list[str] | None:
        return self.classes

    def produced_classes(self) -> list[str] | None:
        return self.classes


class DensityRule(_RuleBase, tag="density"):
    """Persons per m² in a zone above a warning or alert level, sustained."""

    zones: Annotated[list[_ID], msgspec.Meta(min_length=1)]
    source: Literal["tracks", "occupancy"] = "tracks"
    classes: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["person"]
    )
    warning: Annotated[float, msgspec.Meta(gt=0.0, le=20.0)] = 2.0
    alert: Annotated[float, msgspec.Meta(gt=0.0, le=20.0)] = 4.0
    full_density: Annotated[float, msgspec.Meta(gt=0.0, le=20.0)] | None = None
    smooth_s: Annotated[float, msgspec.Meta(ge=0.0, le=600.0)] = 2.0
    min_duration_s: _Seconds = 10.0
    exit_grace_s: _Seconds = 5.0
    cooldown_s: _Cooldown = 60.0

    def problems(self, camera: Camera) -> list[Problem]:
        if self.alert <= self.warning:
            return [(("alert",), f"alert ({self.alert}) must exceed warning ({self.warning})")]
        zones = {z.id: z for z in camera.zones}
        for n, zone_id in enumerate(self.zones):
            zone = zones.get(zone_id)
            if zone is not None and zone.area_m2 is None and camera.calibration is None:
                return [
                    (
                        ("zones", n),
                        f"zone {zone_id!r} needs area_m2, or the camera a calibration, "
                        "to measure persons per m²",
                    )
                ]
        return []

    def classified_classes(self) -> list[str] | None:
        return self.classes if self.source == "tracks" else None

    def produced_classes(self) -> list[str] | None:
        return self.classes if self.source == "tracks" else None


class AbandonedObjectRule(_RuleBase, tag="abandoned_object"):
    """An object left still for ``min_static_s`` with no person near it for ``owner_gone_s``."""

    zones: list[_ID] = msgspec.field(default_factory=list)
    exclude_zones: list[_ID] = msgspec.field(default_factory=list)
    classes: list[str] = msgspec.field(default_factory=lambda: ["bag"])
    use_static_evidence: bool = True
    min_static_s: _Seconds = 60.0
    owner_radius: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.1
    owner_gone_s: _Seconds = 10.0
    min_size: _Fraction = 0.0005
    max_size: _Fraction = 0.05
    max_motion: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.2
    exit_grace_s: _Seconds = 2.0
    cooldown_s: _Cooldown = 60.0

    def problems(self, camera: Camera) -> list[Problem]:
        if self.min_size >= self.max_size:
            return [(("max_size",), f"must exceed min_size ({self.min_size})")]
        return []

    def produced_classes(self) -> list[str] | None:
        return None if self.use_static_evidence else self.classes


Rule = (
    WrongWayRule
    | IntrusionRule
    | WeaponRule
    | FireRule
    | CrowdMovementRule
    | PersonDownRule
    | DensityRule
    | AbandonedObjectRule
)


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
    #: of its own, not one of the eight situations (:mod:`vsa_stream.config_statistics`).
    statistics: Statistics | None = None


class TrackingConfig(_Base):
    """The multi-object tracker of each camera (see ``vsa_stream._core.Tracker``)."""

    high_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.5
    low_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.1
    new_track_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.6
    lost_s: Annotated[float, msgspec.Meta(gt=0.0, le=600.0)] = 2.0
    min_hits: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    tentative_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.3
    tentative_hits: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    tentative_travel: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 1.0


class DetectorConfig(_Base):
    """An ONNX object detector, shared by the cameras that use it.

    ``fps`` is each camera's detection rate (a camera's ``detect_fps`` overrides it); with
    ``gating``, a camera whose foreground shows no motion is not detected again until
    ``max_interval_s`` has passed. One onnxruntime session serves every camera, in batches of
    up to ``max_batch`` frames when the model takes a batch, in round-robin otherwise. With
    ``regions``, a frame shrunk at least ``region_min_shrink`` times into the model input is
    also detected on up to ``max_regions`` crops at the model's resolution around its moving
    blobs and small tracked objects (see :mod:`vsa_stream.detection.regions`).
    """

    id: _ID
    model: ModelSpec
    fps: Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] = 5.0
    gating: bool = True
    max_interval_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)] = 2.0
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    regions: bool = True
    max_regions: Annotated[int, msgspec.Meta(ge=1, le=16)] = 4
    region_min_shrink: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 2.0


class PoseConfig(_Base):
    """A single-person pose model (MoveNet-like: one RGB crop in, 17 COCO keypoints out), run
    by ``person_down`` only on crops of candidate persons, never on every person."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    min_keypoint_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.25
    max_crops_per_frame: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    intra_op_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1


class StdoutSink(_Base):
    """Alerts as JSON lines on standard output."""

    enabled: bool = True


class JsonlSink(_Base):
    """Alerts appended to a JSON-lines file, fsynced per event."""

    path: Annotated[str, msgspec.Meta(min_length=1)]
    fsync: bool = True


#: Default waits before each webhook attempt: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class WebhookEndpoint(_Base):
    """A receiver of signed webhooks (Standard Webhooks)."""

    name: _ID
    url: Annotated[str, msgspec.Meta(min_length=1)]
    secrets: Annotated[list[str], msgspec.Meta(min_length=1, max_length=8)]
    types: list[str] | None = None
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 16
    timeout_s: Annotated[float, msgspec.Meta(gt=0.0, le=300.0)] = 15.0
    retry_schedule_s: Annotated[
        list[Annotated[float, msgspec.Meta(ge=0.0, le=604800.0)]],
        msgspec.Meta(min_length=1, max_length=32),
    ] = msgspec.field(default_factory=lambda: list(WEBHOOK_RETRY_SCHEDULE_S))
    allow_private: bool = False
    ca_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class MqttSink(_Base):
    """An MQTT broker: events on ``<prefix>/<camera>/<type>``, camera status retained."""

    host: Annotated[str, msgspec.Meta(min_length=1)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[^#+\s]+$")] = "vsa"
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    ca_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    cert_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    key_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class Sinks(_Base):
    """Where alerts go; every alert reaches every configured sink."""

    stdout: StdoutSink | None = None
    jsonl: JsonlSink | None = None
    webhooks: list[WebhookEndpoint] = msgspec.field(default_factory=list)
    mqtt: MqttSink | None = None


class OutboxConfig(_Base):
    """The durable outbox every alert is committed to before delivery."""

    path: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    synchronous: Literal["full", "normal"] = "full"
    keep_delivered_h: Annotated[float, msgspec.Meta(ge=0.0, le=8760.0)] = 24.0
    keep_events_days: Annotated[float, msgspec.Meta(ge=0.0, le=30.0)] = 30.0
    drain_s: Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)] = 10.0


class ApiToken(_Base):
    """A bearer token of the HTTP API and the role it grants (``operator`` includes ``viewer``)."""

    name: _ID
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=512)]
    role: Literal["viewer", "operator"] = "viewer"


class ServerTls(_Base):
    """The API's certificate (PEM, chain included) and its private key (PEM, unencrypted)."""

    cert: Annotated[str, msgspec.Meta(min_length=1)]
    key: Annotated[str, msgspec.Meta(min_length=1)]


class ServerConfig(_Base):
    """The HTTP API and the operator page, served inside the daemon."""

    enabled: bool = False
    host: Annotated[str, msgspec.Meta(min_length=1)] = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8080
    tokens: list[ApiToken] = msgspec.field(default_factory=list)
    tls: ServerTls | None = None
    allowed_hosts: list[str] = msgspec.field(default_factory=list)

    def host_names(self) -> frozenset[str]:
        """The names a request's ``Host`` may give: the loopback names, ``host`` unless it is
        a wildcard (``0.0.0.0``, ``::``), and ``allowed_hosts``; lower case, IPv6 without
        brackets.

        Example:
            >>> sorted(ServerConfig(host="0.0.0.0", allowed_hosts=["Cam.example"]).host_names())
            ['127.0.0.1', '::1', 'cam.example', 'localhost']
        """
        names = {"127.0.0.1", "localhost", "::1"}
        if not _is_wildcard_host(self.host):
            names.add(normal_host_name(self.host))
        names.update(normal_host_name(name) for name in self.allowed_hosts)
        return frozenset(names)


class Privacy(_Base):
    """Legal profile and data minimisation."""

    legal_profile: Literal["fr-2023", "lab"] = "fr-2023"
    snapshots: bool = False
    blur_persons: bool = True
    #: Why snapshots keep persons visible: required with ``blur_persons: false`` (logged and
    #: audited at every start).
    blur_off_reason: Annotated[str, msgspec.Meta(min_length=10, max_length=500)] | None = None
    blur_vehicles: bool = True
    blur_hold_s: Annotated[float, msgspec.Meta(ge=0.0, le=30.0)] = 3.0
    retention_days: Annotated[float, msgspec.Meta(gt=0.0, le=30.0)] = 7.0


class AuditConfig(_Base):
    """The audit log's key (HMAC-SHA256 chain) and its checkpoints to the sinks."""

    key_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    key_env: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    checkpoint_every_s: Annotated[float, msgspec.Meta(ge=10.0, le=86400.0)] = 300.0


class LoggingConfig(_Base):
    """Log level and format (``auto``: JSON lines unless the log stream is a terminal)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Notice(_Base):
    """What ``vsa-stream notice`` tells the public besides what the configuration already says
    (cameras, situations, authorisations, retention): who is responsible and how to exercise
    one's rights."""

    controller: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    contact: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    dpo: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    places: dict[str, Annotated[str, msgspec.Meta(min_length=1, max_length=300)]] = msgspec.field(
        default_factory=dict
    )
    complaints: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] = (
        "CNIL, 3 place de Fontenoy, 75007 Paris, www.cnil.fr"
    )


class Config(_Base):
    """The whole configuration of one daemon."""

    cameras: Annotated[list[Camera], msgspec.Meta(min_length=1)]
    privacy: Privacy = msgspec.field(default_factory=Privacy)
    motion: MotionConfig = msgspec.field(default_factory=MotionConfig)
    detectors: list[DetectorConfig] = msgspec.field(default_factory=list)
    tracking: TrackingConfig = msgspec.field(default_factory=TrackingConfig)
    pose: PoseConfig | None = None
    sinks: Sinks = msgspec.field(default_factory=lambda: Sinks(stdout=StdoutSink()))
    state_dir: Annotated[str, msgspec.Meta(min_length=1)] = "vsa-state"
    outbox: OutboxConfig = msgspec.field(default_factory=OutboxConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    audit: AuditConfig = msgspec.field(default_factory=AuditConfig)
    authorisations: list[Authorisation] = msgspec.field(default_factory=list)
    notice: Notice | None = None

    def motion_for(self, camera: Camera) -> MotionConfig:
        """The motion settings of ``camera``: its own when given, else the global ones."""
        return camera.motion if camera.motion is not None else self.motion

    def detectors_for(self, camera: Camera) -> list[str]:
        """The names of the detectors ``camera`` uses: its own list, else every detector."""
        if camera.detectors is None:
            return [d.id for d in self.detectors]
        return list(camera.detectors)

    def detector(self, detector_id: str) -> DetectorConfig:
        """The detector called ``detector_id`` (KeyError if there is none)."""
        for d in self.detectors:
            if d.id == detector_id:
                return d
        raise KeyError(detector_id)

    def outbox_path(self) -> str:
        """The outbox database: ``outbox.path``, else ``outbox.sqlite3`` in ``state_dir``."""
        if self.outbox.path is not None:
            return self.outbox.path
        return os.path.join(self.state_dir, "outbox.sqlite3")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the configuration, generated from the Structs."""
    schema = msgspec.json.schema(Config)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vsa_stream configuration"
    return schema


def load(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    cluster_node: bool = False,
) -> Config:
    """Read and validate a YAML configuration file.

    Args:
        path: the file.
        env: variables for ``${VAR}`` substitution; the process environment by default.
        cluster_node: a cluster daemon's own configuration (see :func:`loads`).

    Raises:
        ConfigError: the file cannot be read or is invalid; the error names the field.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", source=source) from None
    return loads(text, source=source, env=env, cluster_node=cluster_node)


def loads(
    text: str,
    *,
    source: str | None = None,
    env: Mapping[str, str] | None = None,
    cluster_node: bool = False,
) -> Config:
    """Validate a configuration given as YAML text (see :func:`load`).

    With ``cluster_node``, the text is a cluster daemon's own configuration: no ``cameras``
    (they come from the cluster; the result has one placeholder camera, never run) and no sink
    needed (alerts go to the cluster's ``ALERTS`` stream).
    """
    doc = parse_yaml(text, source=source)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level (cameras: ...)", source=source)
    data = _substitute_env(doc, doc.data, (), os.environ if env is None else env)
    if cluster_node:
        if "cameras" in data:
            raise ConfigError(
                "a cluster daemon's configuration has no cameras: they come from the cluster "
                "(vsa-stream cluster apply FLEET_CONFIG)",
                path="cameras",
                line=doc.line_of(("cameras",)),
                source=source,
            )
        data = {**data, "cameras": [{"id": "cluster-node", "url": "cluster"}]}
    _check_rule_types(doc, data)
    data = dates_as_text(data)
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        path, message = _explain(str(exc), data)
        raise ConfigError(
            message, path=_format_path(path), line=doc.line_of(path), source=source
        ) from None
    for path, message in _semantic_problems(config):
        if cluster_node and path in (("sinks",), ("authorisations",)):
            continue  # the ALERTS stream is a sink; authorisations come with the cameras
        raise ConfigError(message, path=_format_path(path), line=doc.line_of(path), source=source)
    return config


# --- environment substitution -------------------------------------------------------------

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


def _substitute_env(
    doc: YamlDocument, value: Any, path: tuple[str | int, ...], env: Mapping[str, str]
) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"environment variable {name} is not set (write ${{{name}:-default}} "
                "to give a default)",
                path=_format_path(path),
                line=doc.line_of(path),
                source=doc.source,
            )

        return _ENV.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute_env(doc, v, (*path, k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(doc, v, (*path, i), env) for i, v in enumerate(value)]
    return value


# --- the closed set -------------------------------------------------------------------------


def _check_rule_types(doc: YamlDocument, data: dict[str, Any]) -> None:
    privacy = data.get("privacy")
    profile = privacy.get("legal_profile", "fr-2023") if isinstance(privacy, dict) else "fr-2023"
    allowed = LEGAL_PROFILES.get(profile) if isinstance(profile, str) else None
    if allowed is None:
        raise ConfigError(
            f"unknown legal profile {profile!r}; known: {', '.join(LEGAL_PROFILES)}",
            path="privacy.legal_profile",
            line=doc.line_of(("privacy", "legal_profile")),
            source=doc.source,
        )
    cameras = data.get("cameras")
    for i, camera in enumerate(cameras if isinstance(cameras, list) else []):
        rules = camera.get("rules") if isinstance(camera, dict) else None
        for j, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                continue
            path: tuple[str | int, ...] = ("cameras", i, "rules", j, "type")
            kind = rule.get("type")
            if kind is None:
                message = f"missing rule type; one of: {', '.join(allowed)}"
                path = path[:-1]
            elif kind not in allowed:
                message = (
                    f"{kind!r} is not a situation the legal profile {profile} allows; "
                    f"allowed: {', '.join(allowed)}"
                )
            else:
                continue
            raise ConfigError(
                message, path=_format_path(path), line=doc.line_of(path), source=doc.source
            )


# --- msgspec errors into field paths --------------------------------------------------------

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\.\.\.\]")
_FIELD = re.compile(r"^Object (contains unknown|missing required) field `([^`]+)`$")
_LENGTH = re.compile(r"^Expected `array` of length (>=|<=|) ?(\d+)")


def _parse_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for match in _SEGMENT.finditer(text):
        if match.group(1) is not None:
            parts.append(match.group(1))
        elif match.group(2) is not None:
            parts.append(int(match.group(2)))
    return tuple(parts)


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        if isinstance(data, list) != isinstance(part, int):
            return None
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _explain(text: str, data: Any) -> tuple[tuple[str | int, ...], str]:
    """Turn a msgspec validation message into (path, message for a person)."""
    match = _AT.match(text)
    message = match.group("msg") if match else text
    path = _parse_path(match.group("path") or "") if match else ()
    field = _FIELD.match(message)
    if field:
        path = (*path, field.group(2))
        if field.group(1) == "contains unknown":
            return path, "unknown key" + _known_keys_hint(path[:-1], data)
        return path, "required field is missing"
    length = _LENGTH.match(message)
    value = _lookup(data, path)
    if length and isinstance(value, list):
        bound = int(length.group(2))
        noun = "entry" if bound == 1 else "entries"
        noun = "points" if path and path[-1] == "polygon" else noun
        relation = {">=": "at least", "<=": "at most", "": "exactly"}[length.group(1)]
        return path, f"expected {relation} {bound} {noun}, got {len(value)}"
    message = message.replace("`", "")
    secret = any(p in _SECRET_FIELDS for p in path if isinstance(p, str))
    if value is not None and not isinstance(value, dict | list) and not secret:
        message += f" (value: {redact_text(repr(value))})"
    return path, message[:1].lower() + message[1:]


#: Fields whose values never appear in an error message.
_SECRET_FIELDS = ("secrets", "password", "token", "tokens")


def _known_keys_hint(path: tuple[str | int, ...], data: Any) -> str:
    struct = _struct_at(path, data)
    if struct is None:
        return ""
    return "; expected one of: " + ", ".join(struct.__struct_fields__)


def _struct_at(path: tuple[str | int, ...], data: Any) -> type[msgspec.Struct] | None:
    """The Struct type found at ``path`` of a Config; a tagged union (the rules) resolves to
    the member whose tag the document's ``type`` names there."""
    current: Any = Config
    for depth, part in enumerate(path):
        if isinstance(part, int):
            continue
        by_name = {f.name: f.type for f in msgspec.structs.fields(current)}
        if part not in by_name:
            return None
        members = _structs_in(by_name[part])
        if len(members) > 1:
            # the item of this field that the path goes on into: its tag picks the member
            item = _lookup(data, path[: depth + 2] if _indexed(path, depth) else path[: depth + 1])
            tag = item.get("type") if isinstance(item, dict) else None
            members = [m for m in members if m.__struct_config__.tag == tag]
        if len(members) != 1:
            return None
        current = members[0]
    return current if isinstance(current, type) and issubclass(current, msgspec.Struct) else None


def _indexed(path: tuple[str | int, ...], depth: int) -> bool:
    return depth + 1 < len(path) and isinstance(path[depth + 1], int)


def _structs_in(tp: Any) -> list[type[msgspec.Struct]]:
    """The Struct types inside ``list[X]``, ``X | Y | None``, ``Annotated[X, ...]``."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [tp]
    if getattr(tp, "__metadata__", None) is not None:
        return _structs_in(tp.__origin__)
    return [s for arg in getattr(tp, "__args__", ()) for s in _structs_in(arg)]


def _format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- cross-field checks ---------------------------------------------------------------------

_SCHEMES = (
    "file", "rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "rtp", "srt",
    "replay",  # recorded detections, for load tests (vsa_stream.sources.replay)
)  # fmt: skip


def _looks_like_a_broken_url(url: str) -> bool:
    """A file path that does not exist and has the marks of a URL whose ``://`` is mistyped
    (``rtsp//user:pw@host``, ``rtsp:/host``): a config error rather than a camera that fails
    with "no such file" at run time."""
    path = url.removeprefix("file://")
    if os.path.exists(path):
        return False
    return "@" in path or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*(:/?|//)", path))


def _tracking_problems(tracking: TrackingConfig) -> list[tuple[tuple[str | int, ...], str]]:
    at = ("tracking",)
    if tracking.low_score > tracking.high_score:
        return [
            (
                (*at, "low_score"),
                f"must not exceed high_score ({tracking.high_score:g}), got {tracking.low_score:g}",
            )
        ]
    if tracking.tentative_score > tracking.new_track_score:
        return [
            (
                (*at, "tentative_score"),
                f"must not exceed new_track_score ({tracking.new_track_score:g}), "
                f"got {tracking.tentative_score:g}",
            )
        ]
    return []


def _semantic_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen_cameras: dict[str, int] = {}
    live_ok = PROFILE_LIMITS[config.privacy.legal_profile].live_sources
    for i, camera in enumerate(config.cameras):
        at: tuple[str | int, ...] = ("cameras", i)
        if camera.id in seen_cameras:
            problems.append(
                (
                    (*at, "id"),
                    f"duplicate camera id {camera.id!r} (also cameras[{seen_cameras[camera.id]}])",
                )
            )
        seen_cameras.setdefault(camera.id, i)
        scheme = camera.url.split("://", 1)[0].lower() if "://" in camera.url else "file"
        if scheme not in _SCHEMES:
            problems.append(
                (
                    (*at, "url"),
                    f"unsupported URL scheme {scheme!r} in {redact_url(camera.url)}; "
                    f"expected a file path or one of: {', '.join(_SCHEMES)}",
                )
            )
        elif scheme not in ("file", "replay") and not live_ok:
            problems.append(
                (
                    (*at, "url"),
                    f"the legal profile {config.privacy.legal_profile} analyses recorded files "
                    f"only, not a live stream ({scheme}://): a live camera needs "
                    "privacy.legal_profile: fr-2023 and an authorisation",
                )
            )
        elif scheme == "file" and _looks_like_a_broken_url(camera.url):
            problems.append(
                (
                    (*at, "url"),
                    f"{redact_url(camera.url)} is neither an existing file nor a URL: write "
                    "scheme://host/path (rtsp://, http://, ...)",
                )
            )
        if camera.supervision.backoff_min_s > camera.supervision.backoff_max_s:
            problems.append(
                (
                    (*at, "supervision", "backoff_min_s"),
                    "must not exceed supervision.backoff_max_s "
                    f"({camera.supervision.backoff_max_s:g})",
                )
            )
        zone_ids: dict[str, int] = {}
        for k, zone in enumerate(camera.zones):
            zat = (*at, "zones", k)
            if zone.id in zone_ids:
                problems.append(((*zat, "id"), f"duplicate zone id {zone.id!r} in this camera"))
            zone_ids.setdefault(zone.id, k)
            problems.extend(((*zat, *p), m) for p, m in _polygon_problems(zone))
        for k, rule in enumerate(camera.rules):
            for key in ("zones", "exclude_zones"):
                for n, zone_id in enumerate(getattr(rule, key, [])):
                    if zone_id not in zone_ids:
                        known = ", ".join(zone_ids) or "none defined"
                        problems.append(
                            (
                                (*at, "rules", k, key, n),
                                f"unknown zone {zone_id!r}; this camera's zones: {known}",
                            )
                        )
            problems.extend(((*at, "rules", k, *p), m) for p, m in rule.problems(camera))
            classes = rule.classified_classes()
            if classes is not None and not config.detectors_for(camera):
                problems.append(
                    (
                        (*at, "rules", k, "type"),
                        f"{rule.__struct_config__.tag} needs classified detections "
                        f"({', '.join(classes)}): give this camera a detector (detectors)",
                    )
                )
        if camera.calibration is not None:
            problems.extend(
                ((*at, "calibration", *p), m) for p, m in _calibration_problems(camera.calibration)
            )
        if camera.statistics is not None:
            problems.extend(
                ((*at, "statistics", *p), m)
                for p, m in statistics_problems(
                    camera.statistics, list(zone_ids), bool(config.detectors_for(camera))
                )
            )
    if not any(camera.enabled for camera in config.cameras):
        problems.append((("cameras",), "every camera has enabled: false; nothing would run"))
    detector_ids: dict[str, int] = {}
    for i, detector in enumerate(config.detectors):
        if detector.id in detector_ids:
            problems.append(
                (
                    ("detectors", i, "id"),
                    f"duplicate detector id {detector.id!r} "
                    f"(also detectors[{detector_ids[detector.id]}])",
                )
            )
        detector_ids.setdefault(detector.id, i)
    for i, camera in enumerate(config.cameras):
        for k, name in enumerate(camera.detectors or []):
            if name not in detector_ids:
                known = ", ".join(detector_ids) or "none defined"
                problems.append(
                    (
                        ("cameras", i, "detectors", k),
                        f"unknown detector {name!r}; detectors: {known}",
                    )
                )
    problems.extend(_tracking_problems(config.tracking))
    problems.extend(_server_problems(config.server))
    problems.extend(_audit_problems(config))
    stdout_on = config.sinks.stdout is not None and config.sinks.stdout.enabled
    sinks = config.sinks
    if not stdout_on and sinks.jsonl is None and not sinks.webhooks and sinks.mqtt is None:
        problems.append((("sinks",), "no sink enabled: alerts would go nowhere"))
    if config.sinks.jsonl is not None:
        problem = _writable_file_problem(config.sinks.jsonl.path)
        if problem:
            problems.append((("sinks", "jsonl", "path"), problem))
    problems.extend(_webhook_problems(config))
    if config.sinks.mqtt is not None:
        problems.extend(_mqtt_problems(config.sinks.mqtt))
    if config.outbox.path is None:
        problem = _writable_file_problem(config.outbox_path())
        if problem:
            problems.append((("state_dir",), problem))
    else:
        problem = _writable_file_problem(config.outbox.path)
        if problem:
            problems.append((("outbox", "path"), problem))
    problems.extend(
        authorisation_problems(
            config.authorisations,
            config.privacy.legal_profile,
            [c.id for c in config.cameras],
            LEGAL_PROFILES[config.privacy.legal_profile],
            watching=any(c.rules or c.statistics is None for c in config.cameras),
        )
    )
    if config.notice is not None:
        for camera_id in config.notice.places:
            if camera_id not in seen_cameras:
                problems.append((("notice", "places", camera_id), f"unknown camera {camera_id!r}"))
    if not config.privacy.blur_persons and config.privacy.blur_off_reason is None:
        problems.append(
            (
                ("privacy", "blur_persons"),
                "false keeps persons recognisable in snapshots: give the reason in "
                "privacy.blur_off_reason (it is logged and audited at every start)",
            )
        )
    return problems


def class_problems(
    camera: Camera, produced: Mapping[str, Collection[str]]
) -> list[tuple[str, str]]:
    """Rules of ``camera`` that need detector classes none of its detectors produces.

    Checked once the models are loaded (``vsa-stream check``, the engine at start): only a
    model says which classes it has. With detectors, a camera's objects are their detections
    (no motion blobs), so every rule filtering on ``classes`` needs one of them produced,
    except ``fire`` (flame colour needs no class), ``density`` from occupancy and
    ``abandoned_object`` with static evidence.

    Args:
        camera: a validated camera.
        produced: each detector of the camera -> the engine classes its model produces (its
            class map); no detector: nothing to check.

    Returns:
        ``(path, message)`` per problem, the path relative to the camera (``rules[1].classes``).

    Example:
        >>> cam = Camera(id="c", url="v.mp4", rules=[WeaponRule()])
        >>> class_problems(cam, {"coco": ["person", "vehicle", "bag"]})[0][0]
        'rules[0].classes'
    """
    if not produced:
        return []
    made = {c for classes in produced.values() for c in classes}
    problems: list[tuple[str, str]] = []
    for k, rule in enumerate(camera.rules):
        classes = rule.produced_classes()
        if classes is None or made.intersection(classes):
            continue
        kind = rule.__struct_config__.tag
        detectors = "; ".join(
            f"{d} produces {', '.join(sorted(classes)) or 'nothing'}"
            for d, classes in produced.items()
        )
        problems.append(
            (
                _format_path(("rules", k, "classes")),
                f"the {kind} rule needs class {' or '.join(classes)}, which no detector of "
                f"camera {camera.id!r} produces ({detectors}); give the camera a detector whose "
                "model has it (or map a model class to it with class_map)",
            )
        )
    if camera.statistics is not None:
        made_by = "; ".join(
            f"{d} produces {', '.join(sorted(c)) or 'nothing'}" for d, c in produced.items()
        )
        problems.extend(
            (_format_path(("statistics", *p)), m)
            for p, m in statistics_class_problems(camera.statistics, made, made_by)
        )
    return problems


def _calibration_problems(cal: Calibration) -> list[tuple[tuple[str | int, ...], str]]:
    if len(cal.image_points) != len(cal.ground_points):
        return [
            (
                ("ground_points",),
                f"expected as many points as image_points ({len(cal.image_points)}), "
                f"got {len(cal.ground_points)}",
            )
        ]
    for key, points in (("image_points", cal.image_points), ("ground_points", cal.ground_points)):
        for n, (x, y) in enumerate(points):
            if not (math.isfinite(x) and math.isfinite(y)):
                return [((key, n), f"coordinates must be finite numbers, got ({x}, {y})")]
            if (
                key == "image_points"
                and cal.units == "normalized"
                and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0)
            ):
                return [((key, n), f"normalized coordinates must lie in [0, 1], got ({x}, {y})")]
    try:
        _core.Homography(
            np.array(cal.image_points, dtype=np.float64),
            np.array(cal.ground_points, dtype=np.float64),
        )
    except ValueError as exc:
        return [(("image_points",), f"no usable homography: {exc}")]
    return []


def _webhook_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: dict[str, int] = {}
    known_types = (*LEGAL_PROFILES[config.privacy.legal_profile], *SYSTEM_EVENTS)
    for i, hook in enumerate(config.sinks.webhooks):
        at: tuple[str | int, ...] = ("sinks", "webhooks", i)
        if hook.name in names:
            problems.append(((*at, "name"), f"duplicate webhook name {hook.name!r}"))
        names.setdefault(hook.name, i)
        url = urlsplit(hook.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            problems.append(
                ((*at, "url"), f"expected an http:// or https:// URL, got {redact_url(hook.url)}")
            )
        elif not hook.allow_private and _is_private_host(url.hostname):
            problems.append(
                (
                    (*at, "url"),
                    f"{url.hostname} is a private, loopback or link-local address (refused to "
                    "protect internal services); set allow_private: true to allow it",
                )
            )
        if hook.ca_file is not None:
            if url.scheme != "https":
                problems.append(((*at, "ca_file"), "a CA file is for an https:// URL"))
            problems.extend(_tls_file_problems(at, ca_file=hook.ca_file))
        for k, secret in enumerate(hook.secrets):
            try:
                parse_secret(secret)
            except ValueError as exc:
                problems.append(((*at, "secrets", k), str(exc)))
        for k, kind in enumerate(hook.types or []):
            if kind not in known_types:
                problems.append(
                    (
                        (*at, "types", k),
                        f"unknown event type {kind!r}; known: {', '.join(known_types)}",
                    )
                )
    return problems


def _audit_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    """The audit key file must exist, be private, and live outside the state folder (whoever
    can write the log there would read the key beside it)."""
    audit = config.audit
    if audit.key_file is not None and audit.key_env is not None:
        return [(("audit", "key_env"), "give key_file or key_env, not both")]
    if audit.key_file is None:
        return []
    at: tuple[str | int, ...] = ("audit", "key_file")
    key = Path(audit.key_file).resolve()
    state = Path(config.state_dir).resolve()
    if key == state or state in key.parents:
        return [(at, f"the audit key must be kept outside state_dir ({config.state_dir})")]
    try:
        mode = stat.S_IMODE(key.stat().st_mode)
    except OSError as exc:
        return [(at, f"cannot read the audit key: {exc.strerror or exc}")]
    if mode & 0o077:
        return [(at, f"the audit key is open to other users (mode {mode:04o}): chmod 600 it")]
    return []


def _server_problems(server: ServerConfig) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: dict[str, int] = {}
    values: dict[str, int] = {}
    for i, token in enumerate(server.tokens):
        at: tuple[str | int, ...] = ("server", "tokens", i)
        if token.name in names:
            problems.append(((*at, "name"), f"duplicate token name {token.name!r}"))
        names.setdefault(token.name, i)
        if token.token in values:
            problems.append(((*at, "token"), f"same token as server.tokens[{values[token.token]}]"))
        values.setdefault(token.token, i)
    if server.tls is not None:
        try:
            check_server_files(server.tls.cert, server.tls.key)
        except TlsFileError as exc:
            problems.append((("server", "tls", exc.which), str(exc)))
    for i, name in enumerate(server.allowed_hosts):
        if not _is_host_name(name):
            problems.append(
                (
                    ("server", "allowed_hosts", i),
                    f"expected a host name or an IP address (no scheme, port or wildcard), "
                    f"got {name[:80]!r}",
                )
            )
    if server.enabled and not server.tokens and not _is_loopback_host(server.host):
        problems.append(
            (
                ("server", "host"),
                f"{server.host} is not a loopback address: give server.tokens, or the API "
                "would be open to the network without authentication",
            )
        )
    return problems


def _mqtt_problems(mqtt: MqttSink) -> list[tuple[tuple[str | int, ...], str]]:
    at: tuple[str | int, ...] = ("sinks", "mqtt")
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name in ("ca_file", "cert_file", "key_file"):
        if getattr(mqtt, name) is not None and not mqtt.tls:
            problems.append(((*at, name), f"{name} needs tls: true"))
    if mqtt.key_file is not None and mqtt.cert_file is None:
        problems.append(((*at, "key_file"), "a key without its certificate: give cert_file"))
    if not problems:
        problems.extend(
            _tls_file_problems(
                at, ca_file=mqtt.ca_file, cert_file=mqtt.cert_file, key_file=mqtt.key_file
            )
        )
    return problems


def _tls_file_problems(
    at: tuple[str | int, ...],
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> list[tuple[tuple[str | int, ...], str]]:
    """The problem of the first unusable file of a client's TLS settings, under ``at``."""
    try:
        client_context(ca_file, cert_file, key_file)
    except TlsFileError as exc:
        if exc.which == "key" and key_file is None:
            return [((*at, "cert_file"), f"{exc} (or give key_file)")]
        return [((*at, f"{exc.which}_file"), str(exc))]
    return []


def normal_host_name(name: str) -> str:
    """A host name as the API compares them: lower case, an IPv6 address without brackets,
    no final dot.

    Example:
        >>> normal_host_name("[::1]"), normal_host_name("Cam.Example.")
        ('::1', 'cam.example')
    """
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.rstrip(".")


_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def _is_host_name(text: str) -> bool:
    """True for a DNS name or an IP address (IPv6 with or without brackets)."""
    name = normal_host_name(text)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return bool(_HOST_NAME.match(name))
    return True


def _is_wildcard_host(host: str) -> bool:
    """True for an address that binds every interface (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(normal_host_name(host)).is_unspecified
    except ValueError:
        return False


def _is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_private_host(host: str) -> bool:
    """True for an IP literal that is not globally routable, and for ``localhost``."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: checked when it is resolved, before each request
    return not address.is_global or address.is_multicast


def _writable_file_problem(path: str) -> str | None:
    """Why a file could not be appended to, without creating it; None when it could."""
    target = Path(path)
    if target.is_dir():
        return f"{path} is a directory; expected a file"
    if target.exists():
        return None if os.access(target, os.W_OK) else f"{path} is not writable"
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # missing folders are created: the first existing one decides
    if not parent.is_dir():
        return f"{parent} is not a directory"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"cannot create files in {parent}"


def _polygon_problems(zone: Zone) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for n, (x, y) in enumerate(zone.polygon):
        if not (x == x and y == y) or abs(x) == float("inf") or abs(y) == float("inf"):
            problems.append((("polygon", n), f"coordinates must be finite numbers, got ({x}, {y})"))
        elif zone.units == "normalized" and not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            problems.append(
                (
                    ("polygon", n),
                    f"normalized coordinates must lie in [0, 1], got ({x}, {y}); "
                    "set units: pixels for pixel coordinates",
                )
            )
        elif x < 0 or y < 0:
            problems.append((("polygon", n), f"pixel coordinates must be >= 0, got ({x}, {y})"))
    if not problems:
        try:  # the very check the geometry kernels make: the rules will use this polygon
            _core.validate_polygon(np.asarray(zone.polygon, dtype=np.float64))
        except ValueError as exc:
            problems.append((("polygon",), str(exc)))
    return problems


def dumps_schema() -> bytes:
    """The JSON Schema, pretty-printed."""
    return msgspec.json.format(msgspec.json.encode(json_schema()), indent=2)
