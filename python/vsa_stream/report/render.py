"""Render a :class:`~vsa_stream.report.model.Report` as Markdown, HTML (inline SVG charts, no
external asset, no script) or JSON. Rendering is deterministic: the same report gives the same
bytes, which is what the signature covers."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

import msgspec

from vsa_stream.report.model import DAY_CLASSES, CameraSection, Figures, Report

__all__ = ["to_dict", "to_html", "to_markdown"]

_COLOURS = {
    "confirmed": "#b00020",
    "false_alarm": "#8a8f98",
    "unclear": "#e08a00",
    "pending": "#4a78c2",
}


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON data."""
    data: dict[str, Any] = msgspec.to_builtins(report)
    return data


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _s(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def _hours(x: float) -> str:
    """A duration in the unit that reads best (s, min, h)."""
    if x < 120:
        return f"{x:.0f} s"
    if x < 7200:
        return f"{x / 60:.1f} min"
    return f"{x / 3600:.1f} h"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _days(x: float) -> str:
    return f"{x:g} day" + ("" if x == 1 else "s")


def _causes(f: Figures) -> str:
    return ", ".join(f"{k} {v}" for k, v in f.causes.items()) or "none"


_HEAD = (
    "situation",
    "alerts",
    "per day",
    "reviewed",
    "confirmed",
    "false alarm",
    "unclear",
    "precision",
    "false-alarm causes",
    "first review p50",
    "p95",
    "latency p50",
    "p95",
)


def _cells(name: str, f: Figures) -> list[str]:
    return [
        name,
        str(f.alerts),
        f"{f.alerts_per_day:.2f}",
        _pct(f.share_reviewed),
        str(f.confirmed),
        str(f.false_alarm),
        str(f.unclear),
        _pct(f.precision),
        _causes(f),
        _s(f.review_p50_s),
        _s(f.review_p95_s),
        _s(f.latency_p50_s),
        _s(f.latency_p95_s),
    ]


def _authorisation_lines(report: Report) -> list[list[str]]:
    return [
        [a.reference, a.start, a.end, ", ".join(a.cameras) or "all", ", ".join(a.situations)]
        for a in report.authorisations
    ]


def _md_table(head: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(head), "|" + "---|" * len(head), *(line(r) for r in rows)]


def to_markdown(report: Report) -> str:
    """The report as Markdown (tables)."""
    out = [
        "# Quality report",
        "",
        f"Period: {report.window_from} to {report.window_to} ({_days(report.days)}). "
        f"Generated {report.generated_at} by vsa-stream {report.version}"
        + (f", legal profile {report.legal_profile}." if report.legal_profile else "."),
        "",
        "## All cameras",
        "",
        *_md_table(_HEAD, [_cells("all situations", report.total)]),
        "",
        "## Authorisations in force",
        "",
    ]
    if report.authorisations:
        head = ["reference", "from", "to", "cameras", "situations"]
        out += _md_table(head, _authorisation_lines(report))
    else:
        out.append(f"None listed ({report.authorisations_source}).")
    out.append("")
    for cam in report.cameras:
        out += [
            f"## Camera {cam.camera_id}",
            "",
            f"Availability {_pct(cam.availability)}: offline {_hours(cam.offline_s)} of "
            f"{_hours(cam.observed_s)} observed, {_count(cam.outages, 'outage')}.",
            "",
        ]
        rows = [_cells(r.situation, r.figures) for r in cam.situations]
        rows.append(_cells("all", cam.total))
        out += [*_md_table(_HEAD, rows), ""]
    out += ["## Audit log", ""]
    if report.audit is None:
        out.append("No audit log was read.")
    else:
        a = report.audit
        out.append(
            f"Head: seq {a.head_seq}, hash `{a.head_hash}` ({a.path}); check: {a.check}"
            + (f" ({a.check_detail})" if a.check_detail else "")
            + "."
        )
    out += ["", "## Definitions", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(out)


# --- HTML ------------------------------------------------------------------------------------


def _svg_daily(f: Figures, title: str, first_day: str) -> str:
    """Stacked bars: alerts per day, by verdict, the days labelled from ``first_day`` (ISO)."""
    days = len(next(iter(f.daily.values()), []))
    if not days or not f.alerts:
        return ""
    totals = [sum(f.daily[c][d] for c in DAY_CLASSES) for d in range(days)]
    top = max(totals) or 1
    width, height, pad = 640, 180, 24
    day0 = datetime.fromisoformat(first_day)
    every = max(1, -(-days // 10))
    bar = (width - 2 * pad) / days
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 44}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for d in range(days):
        y = float(height)
        for c in DAY_CLASSES:
            n = f.daily[c][d]
            if not n:
                continue
            h = (height - pad) * n / top
            y -= h
            parts.append(
                f'<rect x="{pad + d * bar:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{_COLOURS[c]}"><title>day {d + 1}: {n} {c}</title></rect>'
            )
        if d % every == 0:
            label = (day0 + timedelta(days=d)).strftime("%d %b")
            parts.append(
                f'<text x="{pad + d * bar:.1f}" y="{height + 11}" font-size="10">{label}</text>'
            )
    parts.append(
        f'<text x="{pad}" y="14" font-size="12">alerts a day (peak {top}), {days} days</text>'
    )
    x = pad
    for c in DAY_CLASSES:
        parts.append(
            f'<rect x="{x}" y="{height + 22}" width="10" height="10" fill="{_COLOURS[c]}"/>'
            f'<text x="{x + 14}" y="{height + 31}" font-size="11">{c}</text>'
        )
        x += 110
    parts.append("</svg>")
    return "".join(parts)


def _svg_bars(values: list[tuple[str, float, str]], title: str, scale: float) -> str:
    """Horizontal bars: (label, value, text shown) with values over ``scale``."""
    if not values:
        return ""
    row, width, label_w = 20, 640, 180
    height = row * len(values) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value, text) in enumerate(values):
        y = 5 + i * row
        w = (width - label_w - 80) * (value / scale if scale > 0 else 0.0)
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="#4a78c2"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _html_table(head: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _camera_html(cam: CameraSection, first_day: str) -> str:
    rows = [_cells(r.situation, r.figures) for r in cam.situations]
    rows.append(_cells("all", cam.total))
    return (
        f"<section><h2>Camera {escape(cam.camera_id)}</h2>"
        f"<p>Availability {_pct(cam.availability)}: offline {_hours(cam.offline_s)} of "
        f"{_hours(cam.observed_s)} observed, {_count(cam.outages, 'outage')}.</p>"
        + _html_table(_HEAD, rows)
        + _svg_daily(cam.total, f"alerts per day on {cam.camera_id}, by verdict", first_day)
        + "</section>"
    )


_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#1d2329}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:left}th{background:#f0f2f5}svg{display:block;margin:.5em 0}"
)


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page with inline SVG charts."""
    total = report.total
    causes = [(k, float(v), str(v)) for k, v in total.causes.items()]
    availability = [
        (c.camera_id, c.availability or 0.0, _pct(c.availability)) for c in report.cameras
    ]
    if report.authorisations:
        head = ["reference", "from", "to", "cameras", "situations"]
        auth = _html_table(head, _authorisation_lines(report))
    else:
        auth = f"<p>None listed ({escape(report.authorisations_source)}).</p>"
    if report.audit is None:
        audit = "<p>No audit log was read.</p>"
    else:
        a = report.audit
        detail = f" ({escape(a.check_detail)})" if a.check_detail else ""
        audit = (
            f"<p>Head: seq {a.head_seq}, hash <code>{escape(a.head_hash)}</code> "
            f"({escape(a.path)}); check: {escape(a.check)}{detail}.</p>"
        )
    profile = f", legal profile {escape(report.legal_profile)}" if report.legal_profile else ""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Quality report</title>'
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Quality report</h1>",
        f"<p>Period: {escape(report.window_from)} to {escape(report.window_to)} "
        f"({_days(report.days)}). Generated {escape(report.generated_at)} by vsa-stream "
        f"{escape(report.version)}{profile}.</p>",
        "<h2>All cameras</h2>",
        _html_table(_HEAD, [_cells("all situations", total)]),
        _svg_daily(total, "alerts per day, every camera, by verdict", report.window_from),
        "<h3>False-alarm causes</h3>",
        _svg_bars(causes, "false-alarm causes", max((v for _, v, _ in causes), default=0.0))
        or "<p>No false alarm.</p>",
        "<h3>Camera availability</h3>",
        _svg_bars(availability, "camera availability", 1.0),
        "<h2>Authorisations in force</h2>",
        auth,
        *(_camera_html(c, report.window_from) for c in report.cameras),
        "<h2>Audit log</h2>",
        audit,
        "<h2>Definitions</h2><ul>",
        *(f"<li>{escape(n)}</li>" for n in report.notes),
        "</ul></body></html>",
    ]
    return "\n".join(parts) + "\n"
