"""The settings of each situation's rule: one tagged struct per situation of the closed set.

Each struct also states what it knows of itself: its cross-field checks and the detector
classes it needs (read by :mod:`vsa_stream.config.checks`)."""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import msgspec

from vsa_stream.config._base import _ID, Problem, _Base, _Cooldown, _Fraction, _Point, _Seconds
from vsa_stream.event_types import SITUATIONS, Situation

if TYPE_CHECKING:
    from vsa_stream.config.cameras import Camera

__all__ = [
    "DAYS",
    "LEGAL_PROFILES",
    "AbandonedObjectRule",
    "CrowdMovementRule",
    "Day",
    "DensityRule",
    "FireRule",
    "IntrusionRule",
    "PersonDownRule",
    "Rule",
    "ScheduleWindow",
    "WeaponRule",
    "WrongWayRule",
]


#: Which situation types each legal profile allows (``lab``: recorded files only, see
#: :data:`vsa_stream.authorisation.PROFILE_LIMITS`).
LEGAL_PROFILES: dict[str, tuple[Situation, ...]] = {"fr-2023": SITUATIONS, "lab": SITUATIONS}


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
