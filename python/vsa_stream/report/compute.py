"""Compute the quality report from data the engine already holds: the outbox's events (with
when each alert was accepted and first reviewed) and the audit log's daemon runs.

Everything here is a pure function of its inputs (no clock, no file), so a scripted outbox
gives known figures.

Example:
    >>> from vsa_stream.events import Event, Evidence
    >>> from vsa_stream.outbox import EventFacts
    >>> def alert(t, review="pending", cause=None):
    ...     ev = Event(id=f"e{t}", revision=1, type="intrusion", camera_id="gate",
    ...                state="closed", review=review, review_cause=cause, started_at=t,
    ...                updated_at=t, start_s=0.0, start_frame=0,
    ...                evidence=Evidence(frame_index=0, stream_time_s=0.0))
    ...     return EventFacts(ev, t + 2.0, None if review == "pending" else t + 60.0)
    >>> facts = [alert(10.0, "confirmed"), alert(20.0, "false_alarm", "animal"), alert(30.0)]
    >>> r = build_report(facts, window=(0.0, 86400.0), now=86400.0)
    >>> f = r.cameras[0].situations[0].figures
    >>> f.alerts, f.reviewed, f.precision, f.causes, f.review_p50_s, f.latency_p95_s
    (3, 2, 0.5, {'animal': 1}, 58.0, 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from vsa_stream import __version__
from vsa_stream.event_types import OFFLINE_TYPE, SITUATIONS
from vsa_stream.events import Event
from vsa_stream.outbox import EventFacts
from vsa_stream.report.model import (
    DAY_CLASSES,
    AuditRef,
    Authorisation,
    CameraSection,
    Figures,
    Report,
    SituationRow,
)

__all__ = ["DEFINITIONS", "build_report", "quantile", "runs_from_audit"]

_DAY_S = 86400.0

#: How each figure is defined: printed in every report.
DEFINITIONS = (
    "Alerts: events of a situation whose start lies in [from, to); per day: over the window's "
    "length in days.",
    "Reviewed: alerts with a verdict (confirmed, false_alarm, unclear); precision = confirmed "
    "/ reviewed.",
    "A 'dismissed' verdict (earlier versions, no cause) counts as a false alarm of cause "
    "'not_given'.",
    "Time to first review: from the alert's first revision accepted by the outbox to its first "
    "verdict; p50/p95 by linear interpolation.",
    "Detection latency: from the first frame where the rule's condition held to the alert's "
    "first revision accepted (includes the rule's hold time; abandoned_object's condition "
    "already includes min_static_s).",
    "Availability: 1 - offline time / observed time, where observed time is when the daemon "
    "ran (audit log) and offline time comes from camera_offline events.",
)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` by linear interpolation between closest ranks (numpy's
    default); None for no value.

    Example:
        >>> quantile([1.0, 2.0, 3.0, 4.0], 0.5), quantile([5.0], 0.95), quantile([], 0.5)
        (2.5, 5.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def runs_from_audit(entries: Iterable[dict[str, Any]], now: float) -> list[tuple[float, float]]:
    """The daemon's runs ``(start, end)`` from the audit log's ``daemon_start`` and
    ``daemon_stop`` entries; a run with no stop ends at the next start (a crash), or ``now``.

    Example:
        >>> log = [{"kind": "daemon_start", "at": 0.0}, {"kind": "daemon_stop", "at": 5.0},
        ...        {"kind": "daemon_start", "at": 9.0}]
        >>> runs_from_audit(log, now=12.0)
        [(0.0, 5.0), (9.0, 12.0)]
    """
    runs: list[tuple[float, float]] = []
    started: float | None = None
    for entry in entries:
        kind, at = entry.get("kind"), entry.get("at")
        if not isinstance(at, int | float):
            continue
        if kind == "daemon_start":
            if started is not None:
                runs.append((started, float(at)))
            started = float(at)
        elif kind == "daemon_stop" and started is not None:
            runs.append((started, float(at)))
            started = None
    if started is not None:
        runs.append((started, max(started, now)))
    return runs


def _merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds covered by both merged interval lists."""
    total = 0.0
    for s0, e0 in a:
        for s1, e1 in b:
            total += max(0.0, min(e0, e1) - max(s0, s1))
    return total


def _figures(alerts: list[EventFacts], days: float, n_days: int, start: float) -> Figures:
    daily = {c: [0] * n_days for c in DAY_CLASSES}
    counts = dict.fromkeys(("confirmed", "false_alarm", "unclear"), 0)
    causes: dict[str, int] = {}
    review_s: list[float] = []
    latency_s: list[float] = []
    for fact in alerts:
        ev = fact.event
        verdict = "false_alarm" if ev.review == "dismissed" else ev.review
        day = min(n_days - 1, max(0, int((ev.started_at - start) // _DAY_S)))
        daily[verdict][day] += 1
        if verdict == "pending":
            continue
        counts[verdict] += 1
        if verdict == "false_alarm":
            cause = ev.review_cause or "not_given"
            causes[cause] = causes.get(cause, 0) + 1
        if fact.opened_at is not None and fact.reviewed_at is not None:
            review_s.append(max(0.0, fact.reviewed_at - fact.opened_at))
    for fact in alerts:
        if fact.opened_at is not None:
            latency_s.append(max(0.0, fact.opened_at - fact.event.started_at))
    reviewed = sum(counts.values())
    return Figures(
        alerts=len(alerts),
        alerts_per_day=len(alerts) / days if days > 0 else 0.0,
        reviewed=reviewed,
        share_reviewed=reviewed / len(alerts) if alerts else None,
        confirmed=counts["confirmed"],
        false_alarm=counts["false_alarm"],
        unclear=counts["unclear"],
        precision=counts["confirmed"] / reviewed if reviewed else None,
        causes=dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))),
        review_timed=len(review_s),
        review_p50_s=quantile(review_s, 0.5),
        review_p95_s=quantile(review_s, 0.95),
        latency_timed=len(latency_s),
        latency_p50_s=quantile(latency_s, 0.5),
        latency_p95_s=quantile(latency_s, 0.95),
        daily=daily,
    )


def _iso(t: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


def build_report(
    facts: Iterable[EventFacts],
    *,
    window: tuple[float, float],
    now: float,
    tz: tzinfo = UTC,
    cameras: Sequence[str] = (),
    situations: Mapping[str, Sequence[str]] | None = None,
    only_cameras: Sequence[str] = (),
    runs: Sequence[tuple[float, float]] | None = None,
    authorisations: Sequence[Authorisation] = (),
    authorisations_source: str = "none recorded",
    audit: AuditRef | None = None,
    legal_profile: str | None = None,
) -> Report:
    """The report of ``window`` = ``[from, to)`` (Unix seconds).

    Args:
        facts: the outbox's events (:meth:`~vsa_stream.outbox.Outbox.facts`).
        now: the report's time: the open end of an ongoing run or outage.
        tz: the zone the report's times are written in.
        cameras: the configured cameras (listed even without an alert); cameras with events
            are added.
        situations: per camera, the situations its rules watch (listed even without an alert).
        only_cameras: restrict the report to these cameras (``--camera``).
        runs: the daemon's runs (:func:`runs_from_audit`); None: unknown, the whole window
            (up to ``now``) counts as observed.
        authorisations: every known authorisation; those overlapping the window (and, with
            ``only_cameras``, covering one of them) are listed.
    """
    start, end = window
    if end <= start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    days = (end - start) / _DAY_S
    n_days = max(1, math.ceil(days - 1e-9))
    wanted = set(only_cameras)
    by_camera: dict[str, dict[str, list[EventFacts]]] = {}
    offline: dict[str, list[Event]] = {}
    order = list(dict.fromkeys(cameras))
    for fact in facts:
        ev = fact.event
        if wanted and ev.camera_id not in wanted:
            continue
        if ev.type == OFFLINE_TYPE:  # the availability; never an alert
            offline.setdefault(ev.camera_id, []).append(ev)
            continue
        if ev.type not in SITUATIONS or not start <= ev.started_at < end:
            continue
        by_camera.setdefault(ev.camera_id, {}).setdefault(ev.type, []).append(fact)
        if ev.camera_id not in order:
            order.append(ev.camera_id)
    if wanted:
        order = [c for c in order if c in wanted] + sorted(wanted - set(order))
    window_runs = _merge(
        [(max(start, s), min(end, e, now)) for s, e in runs]
        if runs is not None
        else [(start, min(end, now))]
    )
    observed = sum(e - s for s, e in window_runs)
    sections = []
    everything: list[EventFacts] = []
    for camera_id in order:
        per_type = by_camera.get(camera_id, {})
        kinds = list(dict.fromkeys([*(situations or {}).get(camera_id, ()), *sorted(per_type)]))
        rows = [
            SituationRow(situation=k, figures=_figures(per_type.get(k, []), days, n_days, start))
            for k in kinds
        ]
        alerts = [f for k in kinds for f in per_type.get(k, [])]
        everything += alerts
        outages = offline.get(camera_id, [])
        down = _merge(
            (max(start, ev.started_at), min(end, ev.ended_at if ev.ended_at is not None else now))
            for ev in outages
        )
        offline_s = _overlap(down, window_runs)
        sections.append(
            CameraSection(
                camera_id=camera_id,
                observed_s=observed,
                offline_s=offline_s,
                outages=sum(
                    1 for e in outages if e.started_at < end and (e.ended_at or now) > start
                ),
                availability=1.0 - offline_s / observed if observed > 0 else None,
                situations=rows,
                total=_figures(alerts, days, n_days, start),
            )
        )
    in_force = [
        a
        for a in authorisations
        if _instant(a.start) < end
        and _instant(a.end) > start
        and (not wanted or not a.cameras or wanted & set(a.cameras))
    ]
    notes = list(DEFINITIONS)
    if runs is None:
        notes.append("The daemon's runs are unknown (no audit log): the whole window counts.")
    return Report(
        version=__version__,
        generated_at=_iso(now, tz),
        window_from=_iso(start, tz),
        window_to=_iso(end, tz),
        days=days,
        legal_profile=legal_profile,
        cameras=sections,
        total=_figures(everything, days, n_days, start),
        authorisations=in_force,
        authorisations_source=authorisations_source,
        audit=audit,
        notes=notes,
    )


def _instant(iso: str) -> float:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
