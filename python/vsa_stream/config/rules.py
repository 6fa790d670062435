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

    days: Annotated[list[Day], msgspec.Meta(description="days the window starts on")] = (
        msgspec.field(default_factory=lambda: list(DAYS))
    )
    start: Annotated[_HHMM, msgspec.Meta(description="start, local time")] = "00:00"
    end: Annotated[
        _HHMM, msgspec.Meta(description="end; earlier than `start` wraps past midnight")
    ] = "24:00"


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


#: The hysteresis and cooldown of the rules whose reference says nothing more of them.
_ExitGrace = Annotated[
    _Seconds,
    msgspec.Meta(description="how long the condition must stay false before the alert closes"),
]
_CooldownAfter = Annotated[
    _Cooldown,
    msgspec.Meta(
        description=(
            "after an alert closes, no new one of the same key (zone or object) for this long"
        )
    ),
]


class IntrusionRule(_RuleBase, tag="intrusion"):
    """Presence in a forbidden zone for at least ``min_dwell_s``.

    Without a detector, every moving blob of at least ``motion.min_area`` pixels counts as an
    object; ``classes`` filters only classified objects.
    """

    zones: Annotated[
        list[_ID], msgspec.Meta(min_length=1, description="forbidden zones of this camera")
    ]
    classes: Annotated[
        list[str],
        msgspec.Meta(
            description=("object classes that count; without a detector every moving blob counts")
        ),
    ] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    min_dwell_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=3600.0,
            description=(
                "presence needed before an alert opens (the alert is dated from "
                "the first frame of presence)"
            ),
        ),
    ] = 1.0
    exit_grace_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=600.0,
            description="how long the zone must stay empty before the alert closes",
        ),
    ] = 1.0
    cooldown_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=86400.0,
            description=(
                "after an alert closes, no new one in that zone for this long for"
                " the same objects; a track the closed event did not contain "
                "alerts as usual"
            ),
        ),
    ] = 10.0
    schedule: Annotated[
        list[ScheduleWindow],
        msgspec.Meta(
            description=("when the rule is active; presence outside every window does not count")
        ),
    ] = msgspec.field(default_factory=list)
    timezone: Annotated[
        str, msgspec.Meta(description="time zone of the schedule, e.g. `Europe/Paris`")
    ] = "UTC"

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

    zones: Annotated[
        list[_ID], msgspec.Meta(min_length=1, description="where the direction applies")
    ]
    direction_deg: Annotated[
        Annotated[float, msgspec.Meta(ge=0.0, lt=360.0)] | None,
        msgspec.Meta(description="allowed heading: 0 right, 90 down the image, 180 left, 270 up"),
    ] = None
    lane: Annotated[
        Annotated[list[_Point], msgspec.Meta(min_length=2)] | None,
        msgspec.Meta(
            description=(
                "polyline drawn in the allowed direction; the nearest segment gives the direction"
            )
        ),
    ] = None
    units: Annotated[
        Literal["normalized", "pixels"], msgspec.Meta(description="units of `lane`")
    ] = "normalized"
    tolerance_deg: Annotated[
        float,
        msgspec.Meta(
            ge=0.0, le=180.0, description="headings within this of the allowed one are fine"
        ),
    ] = 60.0
    classes: Annotated[
        list[str], msgspec.Meta(description="classes that count (unclassified blobs count too)")
    ] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    min_track_age_s: Annotated[
        _Seconds, msgspec.Meta(description="a younger track is not judged")
    ] = 1.0
    min_displacement_px: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description=(
                "displacement along the lane's axis (the allowed direction) over "
                "`window_s`, counted only while the anchor stays a quarter of the"
                " object's width inside the zone, before judging"
            ),
        ),
    ] = 30.0
    min_displacement_m: Annotated[
        Annotated[float, msgspec.Meta(gt=0.0)] | None,
        msgspec.Meta(description="the same on the ground (needs `calibration`)"),
    ] = None
    window_s: Annotated[
        float, msgspec.Meta(gt=0.0, le=60.0, description="length of the recent path")
    ] = 2.0
    min_duration_s: Annotated[
        _Seconds, msgspec.Meta(description="wrong-way motion sustained this long")
    ] = 0.5
    exit_grace_s: _ExitGrace = 1.0
    cooldown_s: Annotated[
        _Cooldown,
        msgspec.Meta(
            description=(
                "after an alert closes, the zone's wrong-way tracks do not alert "
                "again for this long; another track alerts as usual"
            )
        ),
    ] = 10.0

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

    zones: Annotated[list[_ID], msgspec.Meta(description="where to look")] = msgspec.field(
        default_factory=list
    )
    classes: Annotated[
        list[str],
        msgspec.Meta(min_length=1, description="weapon classes of the user's detector model"),
    ] = msgspec.field(default_factory=lambda: ["weapon"])
    min_score: Annotated[_Fraction, msgspec.Meta(description="detector score threshold")] = 0.5
    k: Annotated[int, msgspec.Meta(ge=1, le=100, description="frames with a weapon ...")] = 3
    n: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100, description="... among the last `n` analysed frames (`k` ≤ `n`)"
        ),
    ] = 5
    exit_grace_s: _ExitGrace = 2.0
    cooldown_s: _CooldownAfter = 30.0

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

    zones: Annotated[list[_ID], msgspec.Meta(description="where to look")] = msgspec.field(
        default_factory=list
    )
    min_score: Annotated[_Fraction, msgspec.Meta(description="cell fire score that counts")] = 0.5
    min_cells: Annotated[int, msgspec.Meta(ge=1, description="scoring cells a region needs")] = 1
    min_growth: Annotated[
        float,
        msgspec.Meta(
            ge=-1.0,
            le=100.0,
            description=(
                "fire-coloured area of the zone in the newer half of the "
                "confirmation period over the older half, minus 1: −0.2 lets a "
                "steady fire alert but not one shrinking by a fifth (a light "
                "going out); 0.2 asks for 20% growth"
            ),
        ),
    ] = -0.2
    min_area: Annotated[
        _Fraction,
        msgspec.Meta(
            description=(
                "fire-coloured area a region needs, as a share of the frame (0.1 "
                "%: 31×31 px at 1280×720, 10×10 px at 352×288); one cell of "
                "colour noise in a large frame is no fire"
            )
        ),
    ] = 0.001
    max_periodicity: Annotated[
        _Fraction,
        msgspec.Meta(
            description=(
                "a region whose scoring cells' periodicity (Rust, over the last 6"
                " s; mean of the last second) reaches this blinks like a sign or "
                "beacon and does not count"
            )
        ),
    ] = 0.6
    max_drift: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=100.0,
            description=(
                "a region alerts only if the spread (RMS) of its scoring cells' "
                "centroid over the last 3 s is at most this times the square root"
                " of its area in cells (at least one cell): a flame stays in "
                "place, a shirt or a car moves"
            ),
        ),
    ] = 0.5
    ignore_classes: Annotated[
        list[str],
        msgspec.Meta(
            description=(
                "a region carried by a tracked object of these classes does not "
                "count: one track's box held most of its scoring cells over the "
                "last 2 s and moved by a quarter of its height (orange clothes, a"
                " load, a car's lights); a person standing at a fire does not "
                "hide it; only with a detector"
            )
        ),
    ] = msgspec.field(default_factory=lambda: ["person", "vehicle"])
    classes: Annotated[list[str], msgspec.Meta(description="detector classes that count")] = (
        msgspec.field(default_factory=lambda: ["fire", "smoke"])
    )
    min_class_score: Annotated[_Fraction, msgspec.Meta(description="their score threshold")] = 0.5
    min_duration_s: Annotated[
        _Seconds, msgspec.Meta(description="evidence sustained this long")
    ] = 2.0
    exit_grace_s: _ExitGrace = 3.0
    cooldown_s: _CooldownAfter = 60.0


_CrowdKind = Literal["surge", "dispersal", "convergence", "running"]


class CrowdMovementRule(_RuleBase, tag="crowd_movement"):
    """Motion-field anomalies against a baseline learnt on the same camera (robust z-scores)."""

    zones: Annotated[list[_ID], msgspec.Meta(description="where to look")] = msgspec.field(
        default_factory=list
    )
    kinds: Annotated[
        list[_CrowdKind], msgspec.Meta(min_length=1, description="anomalies that alert")
    ] = msgspec.field(default_factory=lambda: ["surge", "dispersal", "convergence", "running"])
    baseline_s: Annotated[
        float, msgspec.Meta(ge=5.0, le=3600.0, description="rolling baseline window")
    ] = 120.0
    min_baseline_s: Annotated[
        float,
        msgspec.Meta(
            ge=1.0, le=3600.0, description="baseline needed before judging (≤ `baseline_s`)"
        ),
    ] = 20.0
    z_threshold: Annotated[
        float, msgspec.Meta(gt=0.0, le=100.0, description="robust z-score of an anomaly")
    ] = 4.0
    min_speed: Annotated[
        float, msgspec.Meta(ge=0.0, description="a surge or run is at least this fast")
    ] = 1.0
    min_divergence: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description=(
                "a dispersal (convergence) has at least this (minus this) mean divergence"
            ),
        ),
    ] = 0.02
    min_coherence: Annotated[
        _Fraction,
        msgspec.Meta(description="a surge this coherent (everyone the same way) is `running`"),
    ] = 0.7
    min_area: Annotated[
        _Fraction, msgspec.Meta(description="fraction of the zone's cells moving")
    ] = 0.1
    min_duration_s: Annotated[
        _Seconds, msgspec.Meta(description="how long an anomaly must hold before an alert opens")
    ] = 1.0
    exit_grace_s: _ExitGrace = 2.0
    cooldown_s: _CooldownAfter = 30.0
    surge_speed: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=20.0,
            description=(
                "with a person scale (calibration or person detections), before "
                "the baseline exists: a crowd moving this fast (about 2.5 m/s, a "
                "jog; walking is about 0.8) one way, or spreading out (gathering "
                "in), alerts"
            ),
        ),
    ] = 1.5
    min_persons: Annotated[
        float,
        msgspec.Meta(
            ge=1.0,
            le=1000.0,
            description=(
                "with a person scale: the moving foreground must cover at least "
                "this many person-sized areas (the last one or two runners of a "
                "rendered crowd read 1.1 to 1.6; a packed crowd of 20 reads 5 to "
                "7, persons overlap)"
            ),
        ),
    ] = 3.0

    def problems(self, camera: Camera) -> list[Problem]:
        if self.min_baseline_s > self.baseline_s:
            return [(("min_baseline_s",), "must not exceed baseline_s")]
        return []


class PersonDownRule(_RuleBase, tag="person_down"):
    """A person who falls, then stays low and still for ``min_down_s``; or who is found lying
    still, without a fall seen, for ``min_lying_s``."""

    zones: Annotated[list[_ID], msgspec.Meta(description="where to look")] = msgspec.field(
        default_factory=list
    )
    exclude_zones: Annotated[
        list[_ID], msgspec.Meta(description="never alert there (benches, lawns, flower beds)")
    ] = msgspec.field(default_factory=list)
    classes: Annotated[
        list[str], msgspec.Meta(min_length=1, description="person classes of the detector")
    ] = msgspec.field(default_factory=lambda: ["person"])
    fall_window_s: Annotated[
        float, msgspec.Meta(gt=0.0, le=10.0, description="a fall happens within this time")
    ] = 1.5
    min_drop: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            lt=1.0,
            description=(
                "drop of the box's top edge, as a fraction of the upright height, that makes a fall"
            ),
        ),
    ] = 0.4
    lying_aspect: Annotated[
        float, msgspec.Meta(gt=0.0, le=10.0, description="a box this much wider than tall is lying")
    ] = 1.2
    max_motion: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=10.0,
            description="largest centre motion over a second of someone lying still",
        ),
    ] = 0.3
    min_down_s: Annotated[
        _Seconds, msgspec.Meta(description="lying still this long after a fall")
    ] = 5.0
    min_lying_s: Annotated[
        _Seconds,
        msgspec.Meta(
            description=(
                "lying still this long when no fall was seen (someone found on the ground)"
            )
        ),
    ] = 30.0
    relink_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=10.0,
            description=(
                "how long a person lost by the detector is looked for where they "
                "were: a low or wide box there (any track), or a lying pose, is "
                "them"
            ),
        ),
    ] = 3.0
    exit_grace_s: _ExitGrace = 2.0
    cooldown_s: Annotated[_Cooldown, msgspec.Meta(description="per track")] = 60.0

    def classified_classes(self) -> list[str] | None:
        return self.classes

    def produced_classes(self) -> list[str] | None:
        return self.classes


class DensityRule(_RuleBase, tag="density"):
    """Persons per m² in a zone above a warning or alert level, sustained."""

    zones: Annotated[
        list[_ID],
        msgspec.Meta(min_length=1, description="each with `area_m2`, or a camera `calibration`"),
    ]
    source: Annotated[
        Literal["tracks", "occupancy"],
        msgspec.Meta(
            description=(
                "detector person tracks (and, where the detector sees at least 3 "
                "persons in the zone, the occupancy estimate when larger: a "
                "detector sees only a few of a dense crowd), or foreground "
                "occupancy without a detector"
            )
        ),
    ] = "tracks"
    classes: Annotated[
        list[str], msgspec.Meta(min_length=1, description="classes counted (`tracks`)")
    ] = msgspec.field(default_factory=lambda: ["person"])
    warning: Annotated[
        float, msgspec.Meta(gt=0.0, le=20.0, description="warning level (event level 1)")
    ] = 2.0
    alert: Annotated[
        float, msgspec.Meta(gt=0.0, le=20.0, description="alert level (level 2; > `warning`)")
    ] = 4.0
    full_density: Annotated[
        Annotated[float, msgspec.Meta(gt=0.0, le=20.0)] | None,
        msgspec.Meta(
            description=(
                "the density of a fully occupied zone, for the old occupancy "
                "proxy: none uses the coverage estimate scaled by the person size"
                " (calibration or person detections) and the zone's area, and 5 "
                "where no scale exists yet; a value forces the proxy"
            )
        ),
    ] = None
    smooth_s: Annotated[
        float, msgspec.Meta(ge=0.0, le=600.0, description="density averaged over this window")
    ] = 2.0
    min_duration_s: Annotated[_Seconds, msgspec.Meta(description="level sustained this long")] = (
        10.0
    )
    exit_grace_s: _ExitGrace = 5.0
    cooldown_s: _CooldownAfter = 60.0

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

    zones: Annotated[list[_ID], msgspec.Meta(description="where to look")] = msgspec.field(
        default_factory=list
    )
    exclude_zones: Annotated[
        list[_ID], msgspec.Meta(description="never alert there (benches, bins, shop fronts)")
    ] = msgspec.field(default_factory=list)
    classes: Annotated[list[str], msgspec.Meta(description="detector classes of objects")] = (
        msgspec.field(default_factory=lambda: ["bag"])
    )
    use_static_evidence: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "also use static-object evidence of the background model (no detector needed)"
            )
        ),
    ] = True
    min_static_s: Annotated[
        _Seconds, msgspec.Meta(description="the object has been still this long")
    ] = 60.0
    owner_radius: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=1.0,
            description=(
                "a person whose box is closer than this to the object's box is "
                "with it; those within it when the object appeared are its owners"
            ),
        ),
    ] = 0.1
    owner_gone_s: Annotated[
        _Seconds,
        msgspec.Meta(
            description=(
                "its owners (anyone, when nobody was near at its appearance) not "
                "within the radius for this long"
            )
        ),
    ] = 10.0
    min_size: Annotated[_Fraction, msgspec.Meta(description="smaller objects are ignored")] = 0.0005
    max_size: Annotated[
        _Fraction, msgspec.Meta(description="larger ones too (furniture, parked things)")
    ] = 0.05
    max_motion: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="a track moving more is not still")
    ] = 0.2
    exit_grace_s: Annotated[
        _Seconds,
        msgspec.Meta(
            description=(
                "the object gone this long: taken, the event closes (a static "
                "object hidden by a passer-by gets 8 s more for its evidence to "
                "come back)"
            )
        ),
    ] = 2.0
    cooldown_s: Annotated[
        _Cooldown,
        msgspec.Meta(
            description=(
                "per object; an object that reappears within it where it was is the same object"
            )
        ),
    ] = 60.0

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
