"""The quality report on an outbox and an audit log filled by a scripted run with known
verdicts and times: the figures are the expected ones, and a tampered report fails verify."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsa_stream.audit import AuditLog
from vsa_stream.cli import main
from vsa_stream.event_types import EventType
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.outbox import Outbox
from vsa_stream.report import Authorisation, build_report
from vsa_stream.report.compute import quantile
from vsa_stream.report.inputs import authorisations_from

H, D = 3600.0, 86400.0
T0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
KEY = "0123456789abcdef0123456789abcdef-report"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _event(camera: str, kind: EventType, started: float, opened: float) -> Event:
    return Event(
        id=new_event_id(started),
        revision=1,
        type=kind,
        camera_id=camera,
        state="open",
        started_at=started,
        updated_at=opened,
        start_s=0.0,
        start_frame=0,
        evidence=Evidence(frame_index=0, stream_time_s=0.0),
    )


def scripted_run(state: Path) -> None:
    """Two cameras over two days: five alerts with known verdicts and times, two outages, the
    daemon stopped for six hours; and alerts that must not count."""
    clock = Clock()
    box = Outbox(state / "outbox.sqlite3", clock=clock)
    log = AuditLog(state / "audit.jsonl", key=KEY.encode(), on_head=box.set_audit_head, clock=clock)

    def at(t: float) -> Clock:
        clock.t = t
        return clock

    def alert(camera: str, kind: EventType, started: float, latency: float) -> Event:
        at(started + latency)
        return box.append([_event(camera, kind, started, started + latency)])[0].event

    at(T0)
    log.append("daemon_start", {"config_sha256": "ab"})
    a1 = alert("gate", "intrusion", T0 + 1 * H, 2.0)
    at(T0 + 1 * H + 30)
    box.review(a1.id, "confirmed")
    a2 = alert("gate", "intrusion", T0 + 2 * H, 4.0)
    at(T0 + 2 * H + 90)
    box.review(a2.id, "false_alarm", cause="animal")
    a5 = alert("hall", "fire", T0 + 5 * H, 1.0)
    at(T0 + 5 * H + 61)
    box.review(a5.id, "dismissed")  # the cause-less verdict of earlier versions
    down = alert("gate", "camera_offline", T0 + 10 * H, 0.0)
    at(T0 + 13 * H)
    box.append([down.revised(state="closed", ended_at=T0 + 13 * H, updated_at=T0 + 13 * H)])
    alert("gate", "alert_storm", T0 + 14 * H, 0.0)  # a signal, not an alert
    alert("gate", "camera_unauthorised", T0 + 15 * H, 0.0)  # health, not an alert
    alert("hall", "camera_tampered", T0 + 16 * H, 0.0)  # health, not an alert
    down = alert("gate", "camera_offline", T0 + 35 * H, 0.0)
    at(T0 + 36 * H)
    box.append([down.revised(state="closed", ended_at=T0 + 36 * H, updated_at=T0 + 36 * H)])
    log.append("daemon_stop", {"events": 5})
    at(T0 + 42 * H)
    log.append("daemon_start", {"config_sha256": "ab"})
    a3 = alert("gate", "intrusion", T0 + D + 3 * H, 6.0)
    at(T0 + D + 3 * H + 150)
    box.review(a3.id, "unclear")
    at(T0 + D + 3 * H + 1000)
    box.review(a3.id, "false_alarm", cause="animal")  # a later verdict: the first time stays
    a4 = alert("gate", "intrusion", T0 + D + 4 * H, 8.0)
    at(T0 + D + 5 * H)
    box.append([a4.revised(state="closed", updated_at=T0 + D + 5 * H)])  # never reviewed
    at(T0 + 48 * H)
    log.append("daemon_stop", {"events": 2})
    # Before the window and after it: not counted.
    alert("gate", "intrusion", T0 - 1 * H, 3.0)
    alert("gate", "intrusion", T0 + 48 * H, 3.0)
    box.close()


def _config(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    key = tmp_path / "report.key"
    key.write_text(KEY)
    key.chmod(0o600)
    scripted_run(state)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"""
cameras:
  - id: gate
    url: {json.dumps(str(tmp_path / "gate.mp4"))}
    zones: [{{id: lawn, polygon: [[0, 0], [1, 0], [1, 1]]}}]
    rules: [{{type: intrusion, zones: [lawn]}}]
  - id: hall
    url: {json.dumps(str(tmp_path / "hall.mp4"))}
    zones: [{{id: floor, polygon: [[0, 0], [1, 0], [1, 1]]}}]
    rules: [{{type: fire}}, {{type: intrusion, zones: [floor]}}]
authorisations:
  - {{reference: PP-2026-1101, start: 2026-11-01, end: 2026-11-30, timezone: Europe/Paris,
     cameras: [gate, hall], situations: [intrusion, fire]}}
state_dir: {json.dumps(str(state))}
audit: {{key_file: {json.dumps(str(key))}}}
"""
    )
    return cfg


def _report(cfg: Path, out: Path, *extra: str) -> int:
    window = ["--from", "2026-11-02", "--to", "2026-11-04"]
    return main(["report", "--config", str(cfg), *window, "-o", str(out), *extra])


def test_the_report_of_a_scripted_run_gives_the_expected_figures(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "report.json"
    assert _report(cfg, out, "--format", "json") == 0
    doc = json.loads(out.read_text())
    report = doc["report"]
    assert (report["window_from"], report["window_to"], report["days"]) == (
        "2026-11-02T00:00:00+00:00",
        "2026-11-04T00:00:00+00:00",
        2.0,
    )
    gate, hall = report["cameras"]
    assert gate["camera_id"] == "gate"
    # Observed: 36 h, then 6 h after a 6-hour stop; offline 3 h + 1 h of it.
    assert (gate["observed_s"], gate["offline_s"], gate["outages"]) == (42 * H, 4 * H, 2)
    assert gate["availability"] == pytest.approx(1 - 4 / 42)
    assert (hall["offline_s"], hall["availability"]) == (0.0, 1.0)
    [intrusion] = gate["situations"]
    f = intrusion["figures"]
    assert intrusion["situation"] == "intrusion"
    assert (f["alerts"], f["alerts_per_day"], f["reviewed"], f["share_reviewed"]) == (
        4,
        2.0,
        3,
        0.75,
    )
    assert (f["confirmed"], f["false_alarm"], f["unclear"]) == (1, 2, 0)
    assert f["precision"] == pytest.approx(1 / 3)
    assert f["causes"] == {"animal": 2}
    # First verdicts 28, 86 and 144 s after the alerts (a3's later verdict does not count).
    assert (f["review_timed"], f["review_p50_s"]) == (3, 86.0)
    assert f["review_p95_s"] == pytest.approx(86 + 0.9 * 58)
    assert (f["latency_timed"], f["latency_p50_s"]) == (4, 5.0)
    assert f["latency_p95_s"] == pytest.approx(7.7)
    assert f["daily"] == {
        "confirmed": [1, 0],
        "false_alarm": [1, 1],
        "unclear": [0, 0],
        "pending": [0, 1],
    }
    fire, hall_intrusion = hall["situations"]
    assert (fire["situation"], hall_intrusion["situation"]) == ("fire", "intrusion")
    assert hall_intrusion["figures"]["alerts"] == 0  # configured, never alerted: listed
    g = fire["figures"]
    assert (g["alerts"], g["false_alarm"], g["causes"], g["precision"]) == (
        1,
        1,
        {"not_given": 1},
        0.0,
    )
    assert (g["review_p50_s"], g["latency_p50_s"]) == (60.0, 1.0)
    total = report["total"]
    assert (total["alerts"], total["reviewed"], total["confirmed"]) == (5, 4, 1)
    assert total["precision"] == 0.25
    assert total["causes"] == {"animal": 2, "not_given": 1}
    audit = report["audit"]
    assert (audit["head_seq"], audit["check"]) == (4, "ok")
    last = json.loads((tmp_path / "state" / "audit.jsonl").read_text().splitlines()[-1])
    assert audit["head_hash"] == last["hash"]
    # The configuration's authorisation, its dates resolved in its own time zone.
    assert report["authorisations_source"] == "configuration"
    [auth] = report["authorisations"]
    assert (auth["reference"], auth["cameras"]) == ("PP-2026-1101", ["gate", "hall"])
    assert auth["start"] == "2026-11-01T00:00:00+01:00"
    assert auth["end"] == "2026-12-01T00:00:00+01:00"  # the whole of 30 November
    # One camera only.
    only = tmp_path / "gate.json"
    assert _report(cfg, only, "--format", "json", "--camera", "gate") == 0
    gate_only = json.loads(only.read_text())["report"]
    assert [c["camera_id"] for c in gate_only["cameras"]] == ["gate"]
    assert gate_only["total"]["alerts"] == 4


def test_a_tampered_report_fails_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    for fmt in ("md", "html", "json"):
        out = tmp_path / f"report.{fmt}"
        assert _report(cfg, out, "--format", fmt) == 0
        assert main(["report", "verify", str(out), "--config", str(cfg)]) == 0
        text = out.read_text()
        # The gate's precision, 33.3 %, made to read 93.3 % (JSON: 0.333... -> 0.933...).
        forged = (
            re.sub(r"33\.3 %", "93.3 %", text)
            if fmt != "json"
            else text.replace('"precision": 0.3333', '"precision": 0.9333', 1)
        )
        assert forged != text
        out.write_text(forged)
        assert main(["report", "verify", str(out), "--config", str(cfg)]) == 4
        assert "altered" in capsys.readouterr().err
    # Re-indenting the JSON changes no value: still intact.
    out = tmp_path / "report.json"
    assert _report(cfg, out, "--format", "json") == 0
    out.write_text(json.dumps(json.loads(out.read_text()), indent=None, sort_keys=True))
    assert main(["report", "verify", str(out), "--config", str(cfg)]) == 0
    # Signed with another key; no signature at all.
    other = tmp_path / "other.key"
    other.write_text("another key, long enough for HMAC!!")
    other.chmod(0o600)
    out = tmp_path / "report.md"
    assert _report(cfg, out) == 0
    assert main(["report", "verify", str(out), "--key-file", str(other)]) == 5
    out.write_text(out.read_text().rsplit("<!-- vsa-report-signature", 1)[0])
    assert main(["report", "verify", str(out), "--config", str(cfg)]) == 3


def test_the_html_report_draws_charts_inline_and_loads_nothing(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "report.html"
    assert _report(cfg, out, "--format", "html") == 0
    html = out.read_text()
    assert html.count("<svg") >= 3  # alerts per day, causes, availability (and per camera)
    assert "false-alarm causes" in html
    assert "camera availability" in html
    assert not re.search(r"""(src|href)\s*=|<script|@import|url\(""", html)
    assert "Camera gate" in html
    assert "90.5 %" in html  # availability 1 - 4/42


def test_a_tampered_audit_log_shows_in_the_report(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    log = tmp_path / "state" / "audit.jsonl"
    lines = log.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["at"] += 3600  # a stop moved an hour later
    lines[1] = json.dumps(entry)
    log.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report.json"
    assert _report(cfg, out, "--format", "json") == 0
    audit = json.loads(out.read_text())["report"]["audit"]
    assert audit["check"] == "entry_hash"


def test_usage_errors_name_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "r.md"
    args = ["report", "--config", str(cfg), "-o", str(out)]
    assert main([*args, "--from", "2026-11-04", "--to", "2026-11-02"]) == 2
    assert "--to must come after --from" in capsys.readouterr().err
    assert main([*args, "--from", "2026-13-01", "--to", "2026-11-02"]) == 2
    assert "--from/--to" in capsys.readouterr().err
    assert main([*args, "--from", "2026-11-02", "--to", "2026-11-04", "--tz", "Mars/Olympus"]) == 2
    assert "--tz" in capsys.readouterr().err
    assert main([*args, "--from", "2026-11-02", "--to", "2026-11-04", "--camera", "gat"]) == 2
    assert "--camera: no camera 'gat'" in capsys.readouterr().err
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    no_key = ["report", "--outbox", str(tmp_path / "state" / "outbox.sqlite3")]
    assert main([*no_key, "--from", "2026-11-02", "--to", "2026-11-04"]) == 2
    assert "no signing key" in capsys.readouterr().err
    assert main([*no_key, "--key-env", "NO_SUCH_KEY_VAR", "--from", "2026-11-02"]) == 2
    assert "NO_SUCH_KEY_VAR" in capsys.readouterr().err
    assert not os.path.exists(out)


def test_dates_in_a_time_zone(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "r.json"
    assert _report(cfg, out, "--format", "json", "--tz", "Europe/Paris") == 0
    report = json.loads(out.read_text())["report"]
    assert report["window_from"] == "2026-11-02T00:00:00+01:00"
    # The window starts an hour earlier in UTC: the alert at 23:00 UTC the day before counts.
    assert report["total"]["alerts"] == 6


def test_the_authorisations_in_force_are_those_overlapping_the_window() -> None:
    records = [
        {"reference": "PP-2026-101", "start": "2026-10-05T00:00:00+02:00",
         "end": "2026-11-04T00:00:00+01:00", "cameras": ["gate"], "situations": ["intrusion"]},
        {"reference": "PP-2026-140", "start": "2026-12-01T00:00:00+01:00",
         "end": "2027-01-01T00:00:00+01:00", "cameras": [], "situations": ["fire"]},
        {"reference": "PP-2026-120", "start": datetime(2026, 11, 3, tzinfo=UTC),
         "end": T0 + 30 * D, "cameras": ["hall"], "situations": ["fire"]},
    ]  # fmt: skip
    known = authorisations_from(records)
    report = build_report([], window=(T0, T0 + 2 * D), now=T0 + 2 * D, authorisations=known)
    assert [a.reference for a in report.authorisations] == ["PP-2026-101", "PP-2026-120"]
    assert report.authorisations[1].end == "2026-12-02T00:00:00+00:00"
    only_gate = build_report(
        [], window=(T0, T0 + 2 * D), now=T0, authorisations=known, only_cameras=["gate"]
    )
    assert [a.reference for a in only_gate.authorisations] == ["PP-2026-101"]
    with pytest.raises(ValueError, match=r"authorisations\[0\]: no end"):
        authorisations_from([{"reference": "x", "start": "2026-11-01"}])
    assert isinstance(known[0], Authorisation)


@given(
    st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=50),
    st.sampled_from([0.5, 0.95]),
)
def test_percentiles_are_numpys_linear_ones(values: list[float], q: float) -> None:
    assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)), rel=1e-9, abs=1e-9)
