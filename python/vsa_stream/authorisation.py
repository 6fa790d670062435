"""Authorisations: when, where and for what the eight situations may be analysed.

Under the French regime (loi 2023-380, décret 2023-828) an "augmented" camera runs only inside
a prefectoral authorisation: a reference (the order), a limited period (one month at most,
renewable), a perimeter of cameras and a list of situations among the eight. A configuration
says so in ``authorisations:``; each entry is an :class:`Authorisation`.

This module holds what the configuration needs (the Struct, the periods, the checks) and the
question the engine asks before each frame: :meth:`Schedule.allowed`. It depends on nothing
above the configuration.

A period is ``[start, end)`` on the wall clock of the authorisation's time zone. A date
without a time means the whole day: ``start: 2026-12-01`` starts at midnight, ``end:
2026-12-31`` ends at the midnight after it.

Example:
    >>> auth = Authorisation(
    ...     reference="arrêté 2026-117", start="2026-12-01", end="2026-12-31",
    ...     timezone="Europe/Paris", cameras=["gate"], situations=["intrusion"])
    >>> schedule = Schedule([auth])
    >>> start, end = period(auth)
    >>> sorted(schedule.allowed("gate", start.timestamp()))
    ['intrusion']
    >>> schedule.allowed("gate", end.timestamp()) is None
    True
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

__all__ = [
    "PROFILE_LIMITS",
    "Authorisation",
    "ProfileLimits",
    "Schedule",
    "authorisation_problems",
    "authorisation_warnings",
    "dates_as_text",
    "period",
]

_ID = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: An authorisation ending within this many days is announced by ``vsa-stream check``.
ENDING_SOON_DAYS = 7.0


class Authorisation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One authorisation (a prefectoral order): its reference, its period, its cameras and the
    situations it allows.

    ``start`` and ``end`` are ISO 8601 dates or date-times; ``end`` is excluded, a date alone
    covers its whole day. A time without an offset is read in ``timezone``.
    """

    reference: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=200,
            description=("the order's reference, as the audit log, the API and the notice show it"),
        ),
    ]
    start: Annotated[
        str,
        msgspec.Meta(
            min_length=10,
            max_length=40,
            description="first instant in force; a date alone means its midnight",
        ),
    ]
    end: Annotated[
        str,
        msgspec.Meta(
            min_length=10,
            max_length=40,
            description=(
                "first instant no longer in force; a date alone means the whole "
                "day is included (in force until the following midnight). Under "
                "`fr-2023`, at most one calendar month after `start` "
                "(`2026-12-01` → `2026-12-31` or `2027-01-01T00:00`), else an "
                "error naming `authorisations[i].end`"
            ),
        ),
    ]
    timezone: Annotated[
        Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None,
        msgspec.Meta(
            description=(
                "how `start` and `end` without an offset are read "
                "(`Europe/Paris`); required unless both carry an offset "
                "(`2026-12-01T08:00+01:00`)"
            )
        ),
    ] = None
    cameras: Annotated[
        list[_ID],
        msgspec.Meta(min_length=1, description="the perimeter; an unknown id is an error"),
    ]
    situations: Annotated[
        list[str],
        msgspec.Meta(min_length=1, description="what it allows among the profile's eight"),
    ]
    #: The authority that issued it (shown in the public notice), e.g. "Préfecture de police".
    issuer: Annotated[
        Annotated[str, msgspec.Meta(max_length=200)] | None,
        msgspec.Meta(description="who issued it (shown in the public notice)"),
    ] = None


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """What a legal profile asks of authorisations and sources.

    Attributes:
        required: a configuration must give authorisations, and nothing is analysed outside
            them; otherwise they are optional (honoured when given).
        max_months: the longest period of one authorisation, in calendar months; None: no cap.
        live_sources: whether network streams (``rtsp://``, ...) may be analysed at all.
    """

    required: bool
    max_months: int | None
    live_sources: bool


#: The limits of each legal profile. ``fr-2023``: the French regime (authorisation required,
#: one month at most). ``lab``: evaluation on recorded files (tests, examples, ``eval``, the
#: demo): no live source can be configured, so no authorisation is needed.
PROFILE_LIMITS: dict[str, ProfileLimits] = {
    "fr-2023": ProfileLimits(required=True, max_months=1, live_sources=True),
    "lab": ProfileLimits(required=False, max_months=None, live_sources=False),
}


def dates_as_text(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a parsed configuration) with the YAML dates and times of its authorisations
    written back as ISO 8601 text: ``start: 2026-12-01`` unquoted is a date to YAML."""
    auths = data.get("authorisations")
    if not isinstance(auths, list):
        return data
    fixed = [
        {
            k: v.isoformat() if k in ("start", "end") and isinstance(v, dt.date) else v
            for k, v in auth.items()
        }
        if isinstance(auth, dict)
        else auth
        for auth in auths
    ]
    return {**data, "authorisations": fixed}


def _zone(auth: Authorisation) -> dt.tzinfo | None:
    if auth.timezone is None:
        return None
    return zoneinfo.ZoneInfo(auth.timezone)


def _instant(text: str, zone: dt.tzinfo | None, *, end: bool) -> dt.datetime:
    """An aware datetime from an ISO 8601 date or date-time (ValueError when unusable)."""
    if _DATE.match(text):
        day = dt.date.fromisoformat(text)
        if end:
            day += dt.timedelta(days=1)
        value = dt.datetime.combine(day, dt.time())
    else:
        value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        if zone is None:
            raise ValueError(
                f"{text!r} has no UTC offset: give the authorisation a timezone "
                "(e.g. Europe/Paris) or write the offset (2026-12-01T00:00+01:00)"
            )
        value = value.replace(tzinfo=zone)
    return value


def period(auth: Authorisation) -> tuple[dt.datetime, dt.datetime]:
    """``(start, end)`` of ``auth`` as aware datetimes, ``end`` excluded.

    Raises:
        ValueError: a date or the time zone is not usable (the message says which).
    """
    try:
        zone = _zone(auth)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {auth.timezone!r} (e.g. Europe/Paris)") from None
    return _instant(auth.start, zone, end=False), _instant(auth.end, zone, end=True)


def _add_months(value: dt.datetime, months: int) -> dt.datetime:
    """The same wall-clock time ``months`` later (the day clamped to the month's length)."""
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last_day = (following - dt.timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, last_day))


Problem = tuple[tuple[str | int, ...], str]


def authorisation_problems(
    authorisations: Sequence[Authorisation],
    profile: str,
    camera_ids: Sequence[str],
    situations: Sequence[str],
    watching: bool = True,
) -> list[Problem]:
    """Configuration errors of ``authorisations`` under ``profile``, each with its field path.

    Checked: an authorisation is required (``fr-2023``); periods parse, end after start, no
    longer than the profile's cap; cameras exist; situations belong to the profile; two
    authorisations of one camera whose periods overlap allow the same situations (otherwise
    they contradict each other: which one is in force?).

    Args:
        authorisations: the configuration's ``authorisations``.
        profile: ``privacy.legal_profile``.
        camera_ids: the configured cameras.
        situations: the situations the profile allows.
        watching: some camera does more than count (a configuration whose cameras have
            ``statistics`` and no rule needs no authorisation).
    """
    limits = PROFILE_LIMITS[profile]
    if limits.required and not authorisations and watching:
        return [
            (
                ("authorisations",),
                f"the legal profile {profile} analyses only under an authorisation: give "
                "authorisations (reference, start, end, timezone, cameras, situations); "
                "to evaluate recorded files, set privacy.legal_profile: lab",
            )
        ]
    problems: list[Problem] = []
    periods: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    known = set(camera_ids)
    for i, auth in enumerate(authorisations):
        at: tuple[str | int, ...] = ("authorisations", i)
        try:
            zone = _zone(auth)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(
                ((*at, "timezone"), f"unknown time zone {auth.timezone!r} (e.g. Europe/Paris)")
            )
            continue
        bounds: list[dt.datetime] = []
        for key in ("start", "end"):
            try:
                bounds.append(_instant(getattr(auth, key), zone, end=key == "end"))
            except ValueError as exc:
                message = str(exc)
                if "offset" not in message:
                    message = f"expected an ISO 8601 date or date-time, got {getattr(auth, key)!r}"
                problems.append(((*at, key), message))
        for k, camera in enumerate(auth.cameras):
            if camera not in known:
                problems.append(
                    ((*at, "cameras", k), f"unknown camera {camera!r}; cameras: {', '.join(known)}")
                )
        for k, kind in enumerate(auth.situations):
            if kind not in situations:
                problems.append(
                    (
                        (*at, "situations", k),
                        f"{kind!r} is not a situation the legal profile {profile} allows; "
                        f"allowed: {', '.join(situations)}",
                    )
                )
        if len(bounds) != 2:
            continue
        start, end = bounds
        if end <= start:
            problems.append(((*at, "end"), f"must come after start ({auth.start})"))
            continue
        if limits.max_months is not None and end > _add_months(start, limits.max_months):
            problems.append(
                (
                    (*at, "end"),
                    f"the legal profile {profile} caps an authorisation at {limits.max_months} "
                    f"month(s): end at {_add_months(start, limits.max_months).isoformat()} at "
                    "the latest, and renew it with a new authorisation",
                )
            )
            continue
        periods[i] = (start, end)
    problems.extend(_contradictions(authorisations, periods))
    return problems


def _contradictions(
    authorisations: Sequence[Authorisation], periods: dict[int, tuple[dt.datetime, dt.datetime]]
) -> list[Problem]:
    """Pairs of authorisations of a camera, with overlapping periods, allowing different
    situations."""
    problems: list[Problem] = []
    for j, later in periods.items():
        for i, earlier in periods.items():
            if i >= j or not (earlier[0] < later[1] and later[0] < earlier[1]):
                continue
            a, b = authorisations[i], authorisations[j]
            shared = sorted(set(a.cameras) & set(b.cameras))
            if shared and set(a.situations) != set(b.situations):
                problems.append(
                    (
                        ("authorisations", j),
                        f"overlaps authorisations[{i}] ({a.reference}) on camera {shared[0]} "
                        f"with other situations ({', '.join(sorted(set(b.situations)))} "
                        f"against {', '.join(sorted(set(a.situations)))}): one period, one "
                        "list of situations per camera",
                    )
                )
                break
    return problems


def authorisation_warnings(
    authorisations: Sequence[Authorisation],
    camera_ids: Sequence[str],
    rule_types: dict[str, Sequence[str]],
    now: float,
) -> list[str]:
    """What ``vsa-stream check`` announces about valid authorisations at time ``now``.

    Warns when an authorisation in force ends within 7 days, when one has ended, when a camera
    has none in force now, and when a configured rule's situation is in no authorisation of its
    camera (that rule never runs).

    Args:
        authorisations: the configuration's (already validated).
        camera_ids: the enabled cameras.
        rule_types: each camera -> the situations of its rules.
        now: Unix seconds.
    """
    warnings: list[str] = []
    soon = ENDING_SOON_DAYS * 86400.0
    for i, auth in enumerate(authorisations):
        start, end = (t.timestamp() for t in period(auth))
        name = f"authorisations[{i}] ({auth.reference})"
        if start <= now < end and end - now <= soon:
            days = (end - now) / 86400.0
            warnings.append(
                f"{name} ends in {days:.1f} days ({auth.end}): renew it, or analysis stops then"
            )
        elif end <= now:
            warnings.append(f"{name} has ended ({auth.end})")
    schedule = Schedule(authorisations)
    for camera in camera_ids:
        allowed = schedule.allowed(camera, now)
        if allowed is None:
            upcoming = schedule.next_change(camera, now)
            when = (
                f"; the next starts at {dt.datetime.fromtimestamp(upcoming, dt.UTC).isoformat()}"
                if upcoming is not None
                else ""
            )
            warnings.append(
                f"camera {camera}: no authorisation in force now, it analyses nothing{when}"
            )
        covered = {s for a in authorisations if camera in a.cameras for s in a.situations}
        for kind in sorted(set(rule_types.get(camera, ())) - covered):
            warnings.append(
                f"camera {camera}: its {kind} rule is in no authorisation of this camera and "
                "never runs"
            )
    return warnings


class Schedule:
    """The authorisations of a configuration, asked per camera and instant.

    Args:
        authorisations: validated authorisations (periods that parse).
    """

    def __init__(self, authorisations: Sequence[Authorisation]) -> None:
        self._windows: list[tuple[float, float, frozenset[str], frozenset[str], str]] = []
        for auth in authorisations:
            start, end = period(auth)
            self._windows.append(
                (
                    start.timestamp(),
                    end.timestamp(),
                    frozenset(auth.cameras),
                    frozenset(auth.situations),
                    auth.reference,
                )
            )

    def allowed(self, camera_id: str, now: float) -> frozenset[str] | None:
        """The situations ``camera_id`` may analyse at ``now`` (Unix seconds); None when no
        authorisation covers the camera then (it analyses nothing)."""
        found: frozenset[str] | None = None
        for start, end, cameras, situations, _ in self._windows:
            if start <= now < end and camera_id in cameras:
                found = situations if found is None else found | situations
        return found

    def references(self, camera_id: str, now: float) -> list[str]:
        """The references of the authorisations in force for ``camera_id`` at ``now``."""
        return [
            ref
            for start, end, cameras, _, ref in self._windows
            if start <= now < end and camera_id in cameras
        ]

    def next_change(self, camera_id: str, now: float) -> float | None:
        """The next instant after ``now`` at which an authorisation of ``camera_id`` starts or
        ends; None when none does."""
        times = [
            t
            for start, end, cameras, _, _ in self._windows
            if camera_id in cameras
            for t in (start, end)
            if t > now
        ]
        return min(times, default=None)
