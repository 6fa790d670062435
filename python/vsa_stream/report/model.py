"""The quality report's data: what :func:`~vsa_stream.report.compute.build_report` computes and
every format renders (msgspec Structs, so the JSON format is their plain encoding)."""

from __future__ import annotations

import msgspec

__all__ = [
    "AuditRef",
    "Authorisation",
    "CameraSection",
    "Figures",
    "Report",
    "SituationRow",
]

#: The verdict classes of a day's alerts, in the order of the charts.
DAY_CLASSES = ("confirmed", "false_alarm", "unclear", "pending")


class Figures(msgspec.Struct, kw_only=True):
    """The figures of one set of alerts (a camera's situation, a camera, every camera).

    Attributes:
        alerts: alerts whose situation started in the window.
        alerts_per_day: ``alerts`` over the window's length in days.
        reviewed: alerts with a verdict; ``share_reviewed`` = reviewed / alerts.
        confirmed, false_alarm, unclear: alerts per verdict (``false_alarm`` counts the
            cause-less ``dismissed`` of earlier versions, under the cause ``not_given``).
        precision: confirmed / reviewed (None without a reviewed alert).
        causes: false alarms per cause.
        review_p50_s, review_p95_s: time from the alert (its first revision accepted by the
            outbox) to its first verdict, over the ``review_timed`` reviewed alerts whose two
            times are known.
        latency_p50_s, latency_p95_s: detection latency, from the first frame where the
            situation held (the event's ``started_at``) to the alert (its first revision
            accepted), over ``latency_timed`` alerts; it includes the rule's hold time.
        daily: per verdict class (:data:`DAY_CLASSES`), alerts per 24-hour period from the
            window's start.
    """

    alerts: int = 0
    alerts_per_day: float = 0.0
    reviewed: int = 0
    share_reviewed: float | None = None
    confirmed: int = 0
    false_alarm: int = 0
    unclear: int = 0
    precision: float | None = None
    causes: dict[str, int] = msgspec.field(default_factory=dict)
    review_timed: int = 0
    review_p50_s: float | None = None
    review_p95_s: float | None = None
    latency_timed: int = 0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    daily: dict[str, list[int]] = msgspec.field(default_factory=dict)


class SituationRow(msgspec.Struct, kw_only=True):
    """One situation of one camera."""

    situation: str
    figures: Figures


class CameraSection(msgspec.Struct, kw_only=True):
    """One camera: its availability and its situations.

    Attributes:
        observed_s: seconds of the window during which the daemon ran (from the audit log's
            ``daemon_start`` / ``daemon_stop``; the whole window, capped at the report's time,
            when the log records no run).
        offline_s: seconds of ``observed_s`` the camera was offline (``camera_offline`` events,
            from their start to their close); ``outages``: how many such events.
        availability: 1 - offline_s / observed_s (None when nothing was observed).
    """

    camera_id: str
    observed_s: float
    offline_s: float
    outages: int
    availability: float | None
    situations: list[SituationRow]
    total: Figures


class Authorisation(msgspec.Struct, kw_only=True):
    """An authorisation as the report lists it: its reference (the prefectoral order), its
    period (ISO 8601 with offset), the cameras it covers and the situations it allows (an empty
    list of cameras: every camera)."""

    reference: str
    start: str
    end: str
    cameras: list[str] = msgspec.field(default_factory=list)
    situations: list[str] = msgspec.field(default_factory=list)


class AuditRef(msgspec.Struct, kw_only=True):
    """The audit log at the time of the report: its head (``seq``, ``hash``) and what checking
    it found (``ok``, or the failed guarantee of :func:`vsa_stream.audit.verify`)."""

    path: str
    head_seq: int
    head_hash: str
    check: str
    check_detail: str | None = None


class Report(msgspec.Struct, kw_only=True):
    """The quality report of one period (see :mod:`vsa_stream.report`)."""

    kind: str = "vsa-stream quality report"
    version: str
    generated_at: str
    window_from: str
    window_to: str
    days: float
    legal_profile: str | None
    cameras: list[CameraSection]
    total: Figures
    authorisations: list[Authorisation]
    authorisations_source: str
    audit: AuditRef | None
    notes: list[str]
