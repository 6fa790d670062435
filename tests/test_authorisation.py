"""Authorisations: the configuration that needs them, the engine that analyses only inside them
(on its own clock, driven here), and what an operator sees while a camera is outside them."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_daemon import VIEWER, api_config, running_daemon, still_clip
from authorised import LAB
from collect import Collect
from mosquitto import MOSQUITTO, Broker, Subscriber, run_engine_until
from vsa_stream import config
from vsa_stream.cli import main
from vsa_stream.engine import Engine
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.sinks.mqtt import camera_status
from vsa_stream.synth import Truth

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _iso_ms(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="milliseconds")


def auth(
    ref: str, start: str, end: str, cameras: str = "[a]", situations: str = "[intrusion]"
) -> str:
    return (
        f"  - {{reference: {ref}, start: '{start}', end: '{end}', timezone: Europe/Paris, "
        f"cameras: {cameras}, situations: {situations}}}\n"
    )


def load(*auths: str, url: str = "rtsp://cam.example/live") -> config.Config:
    text = f"cameras: [{{id: a, url: '{url}'}}, {{id: b, url: 'rtsp://cam.example/b'}}]\n"
    return config.loads(text + "authorisations:\n" + "".join(auths), env={})


def refused(*auths: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(*auths)
    return info.value


# --- the configuration ----------------------------------------------------------------------


def test_fr_2023_without_authorisations_is_an_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        config.loads("cameras: [{id: a, url: rtsp://cam.example/live}]")
    assert info.value.path == "authorisations"
    assert "legal_profile: lab" in str(info.value)


def test_the_lab_profile_takes_recorded_files_only() -> None:
    assert config.loads(LAB + "cameras: [{id: a, url: a.mp4}]").privacy.legal_profile == "lab"
    with pytest.raises(ConfigError) as info:
        config.loads(LAB + "cameras: [{id: a, url: a.mp4}, {id: b, url: 'rtsp://c/live'}]")
    assert info.value.path == "cameras[1].url"
    assert "recorded files only" in str(info.value)


def test_periods_dates_and_time_zones() -> None:
    cfg = load(auth("A", "2026-12-01", "2026-12-31"))  # the whole of December
    assert cfg.authorisations[0].start == "2026-12-01"
    # unquoted YAML dates are dates to YAML: read back as text
    text = "cameras: [{id: a, url: rtsp://c/l}]\nauthorisations:\n"
    text += "  - {reference: A, start: 2026-12-01, end: 2026-12-31, timezone: Europe/Paris,"
    text += " cameras: [a], situations: [fire]}\n"
    assert config.loads(text).authorisations[0].end == "2026-12-31"
    naive = refused(
        auth("A", "2026-12-01T08:00", "2026-12-02T08:00").replace(", timezone: Europe/Paris", "")
    )
    assert naive.path == "authorisations[0].start"
    assert "timezone" in str(naive)
    zone = refused(auth("A", "2026-12-01", "2026-12-02").replace("Europe/Paris", "Mars/Olympus"))
    assert zone.path == "authorisations[0].timezone"
    assert refused(auth("A", "2026-12-01", "soon")).path == "authorisations[0].end"
    assert refused(auth("A", "2026-12-05", "2026-12-01")).path == "authorisations[0].end"


def test_fr_2023_caps_an_authorisation_at_one_month() -> None:
    load(auth("A", "2026-12-01T00:00", "2027-01-01T00:00"))  # exactly one month
    load(auth("A", "2027-01-31", "2027-02-27"))  # a short month: clamped to Feb 28, 00:00
    assert refused(auth("A", "2027-01-31", "2027-02-28")).path == "authorisations[0].end"
    too_long = refused(auth("A", "2026-12-01", "2027-01-01"))  # through Jan 1st: a day more
    assert too_long.path == "authorisations[0].end"
    assert "1 month" in str(too_long)
    # the lab profile has no cap (evaluation on recorded files)
    lab = LAB + "cameras: [{id: a, url: a.mp4}]\nauthorisations:\n"
    config.loads(lab + auth("A", "2026-01-01", "2026-12-31"))


def test_cameras_and_situations_are_checked() -> None:
    assert refused(auth("A", "2026-12-01", "2026-12-02", cameras="[a, zz]")).path == (
        "authorisations[0].cameras[1]"
    )
    face = refused(auth("A", "2026-12-01", "2026-12-02", situations="[face_recognition]"))
    assert face.path == "authorisations[0].situations[0]"
    assert "not a situation" in str(face)


def test_overlapping_authorisations_that_contradict_each_other_fail() -> None:
    first = auth("A", "2026-12-01", "2026-12-20", situations="[intrusion]")
    other = auth("B", "2026-12-15", "2027-01-10", situations="[intrusion, fire]")
    error = refused(first, other)
    assert error.path == "authorisations[1]"
    assert "overlaps authorisations[0]" in str(error)
    # the same situations (a renewal that overlaps), another camera, or back to back: fine
    load(first, auth("B", "2026-12-15", "2027-01-10", situations="[intrusion]"))
    load(first, auth("B", "2026-12-15", "2027-01-10", cameras="[b]", situations="[fire]"))
    load(first, auth("B", "2026-12-21", "2027-01-10", situations="[fire]"))


def test_check_warns_a_week_before_the_end_and_about_cameras_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    file = tmp_path / "c.yaml"
    file.write_text(
        "cameras:\n"
        "  - {id: a, url: 'rtsp://c/a', zones: [{id: z, polygon: [[0,0],[1,0],[1,1]]}],\n"
        "     rules: [{type: intrusion, zones: [z]}, {type: fire}]}\n"
        "  - {id: b, url: 'rtsp://c/b'}\n"
        "authorisations:\n"
        f"  - {{reference: A, start: '{_iso(now - 20 * 86400)}', end: '{_iso(now + 3 * 86400)}',"
        " cameras: [a], situations: [intrusion]}\n"
    )
    assert main(["check", str(file)]) == 0
    err = capsys.readouterr().err
    assert "authorisations[0] (A) ends in 3.0 days" in err
    assert "camera b: no authorisation in force now" in err
    assert "camera a: its fire rule is in no authorisation" in err


# --- the engine, on its own clock -----------------------------------------------------------


class SteppingClock:
    """The engine's clock for a test: each reading is ``step`` seconds after the previous one.
    The engine reads it once per frame about to be analysed, so frame k is at t0 + k·step."""

    def __init__(self, t0: float, step: float) -> None:
        self.now, self.step = t0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def scan(
    video: Path, head: str, clock: SteppingClock | None = None, rules: str | None = None
) -> tuple[list[int], list[Event], Engine]:
    """Scan ``video`` (camera ``cam``); the frame indices analysed, the events, the engine."""
    rules = rules or "[{type: intrusion, zones: [restricted]}]"
    cfg = config.loads(
        head + f"cameras: [{{id: cam, url: {json.dumps(str(video))}, fps: 10, "
        f"zones: [{{id: restricted, polygon: {ZONE}}}], rules: {rules}}}]\n"
    )
    analysed: list[int] = []

    def observe(obs: Observation) -> None:
        analysed.append(obs.frame_index)

    sink = Collect()
    engine = Engine(cfg, [sink], scan=True, observe=observe, clock=clock or time.time)
    await engine.run()
    return analysed, sink.events, engine


@pytest.mark.anyio
async def test_analysis_stops_at_the_end_and_resumes_at_the_next_start_without_a_restart(
    small_intruder: tuple[Path, Truth],
) -> None:
    video, _ = small_intruder
    everything, _, _ = await scan(video, LAB)  # no authorisation needed in the lab: every frame
    n = len(everything)
    assert n >= 60
    t0, step = 1796112000.0, 0.1  # 2026-12-01T08:00Z, frame k read at t0 + (k + 1) step
    # two windows with bounds between frame readings: frames [k1, k2) and [k3, k4)
    k1, k2, k3, k4 = n // 6, n // 3, n // 2, 5 * n // 6
    at = [_iso_ms(t0 + (k + 0.5) * step) for k in (k1, k2, k3, k4)]
    head = (
        "authorisations:\n"
        f"  - {{reference: A-1, start: '{at[0]}', end: '{at[1]}', cameras: [cam], "
        "situations: [intrusion]}\n"
        f"  - {{reference: A-2, start: '{at[2]}', end: '{at[3]}', cameras: [cam], "
        "situations: [intrusion]}\n"
    )
    inside = [*range(k1, k2), *range(k3, k4)]
    assert 0 < len(inside) < n
    analysed, events, engine = await scan(video, head, SteppingClock(t0, step))
    assert analysed == [everything[k] for k in inside]  # no frame analysed outside
    assert engine.result.cameras[0].analysed == len(inside)
    health = [e for e in events if e.type == "camera_unauthorised"]
    assert [e.state for e in health] == ["open", "closed", "open", "closed", "open", "closed"]
    assert len({e.id for e in health}) == 3  # out, between the two, after the second
    assert "no authorisation in force" in (health[0].reason or "")


@pytest.mark.anyio
async def test_a_rule_outside_the_authorisation_does_not_run(
    small_intruder: tuple[Path, Truth],
) -> None:
    video, _ = small_intruder
    now = time.time()
    period = f"start: '{_iso(now - 86400)}', end: '{_iso(now + 86400)}'"
    allowed = f"authorisations: [{{reference: A, {period}, cameras: [cam], situations: [%s]}}]\n"
    everything, alerts, _ = await scan(video, allowed % "intrusion")
    assert any(e.type == "intrusion" for e in alerts)
    analysed, events, _ = await scan(video, allowed % "fire")  # the camera, not its intrusion rule
    assert analysed == everything  # the camera analyses (tampering, the allowed rules)
    assert not any(e.type == "intrusion" for e in events)
    (opened, *_) = [e for e in events if e.type == "camera_unauthorised"]
    assert "not authorised now: intrusion" in str(opened.reason)


def test_an_unauthorised_camera_says_so_in_the_api_metrics_mqtt_and_audit_log(
    tmp_path: Path,
) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    later = time.time() + 86400
    extra = (
        f"authorisations: [{{reference: A-9, start: '{_iso(later)}', "
        f"end: '{_iso(later + 86400)}', cameras: [cam], situations: [intrusion]}}]"
    )
    cfg = api_config(tmp_path / "state", clip, extra=extra)  # lab, authorisations honoured
    with running_daemon(cfg) as run, run.client(VIEWER) as http:
        for _ in range(400):  # a hang guard: the first frame decides
            (camera,) = http.get("/api/cameras").json()["cameras"]
            if camera["state"] == "unauthorised":
                break
            time.sleep(0.05)
        assert camera["state"] == "unauthorised"
        assert camera["authorised"] == []
        assert camera["analysed"] == 0
        metrics = http.get("/metrics").text
        assert 'vsa_camera_state{camera="cam",state="unauthorised"} 1.0' in metrics
        assert 'vsa_camera_state{camera="cam",state="streaming"} 0.0' in metrics
    assert camera_status("unauthorised") == "unauthorised"  # MQTT's retained status
    (opened, closed) = [e for e in run.sink.events if e.type == "camera_unauthorised"]
    assert (opened.state, closed.state) == ("open", "closed")
    audit = (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in audit]
    start = next(e for e in entries if e["kind"] == "daemon_start")
    assert start["data"]["authorisations"][0]["reference"] == "A-9"
    (change,) = [e for e in entries if e["kind"] == "authorisation"]
    assert change["data"]["camera"] == "cam"
    assert change["data"]["change"] == "stop"
    assert change["data"]["unauthorised"] == []


def test_webhook_filters_accept_the_health_event() -> None:
    hook = "{name: ops, url: 'https://alerts.example.org/vsa', secrets: [whsec_%s], types: [%s]}"
    text = LAB + "cameras: [{id: a, url: a.mp4}]\nsinks: {webhooks: [" + hook + "]}\n"
    cfg = config.loads(text % ("A" * 44, "camera_unauthorised, intrusion"))
    assert cfg.sinks.webhooks[0].types == ["camera_unauthorised", "intrusion"]


@pytest.mark.anyio
async def test_the_lab_profile_refuses_a_pipe_that_may_carry_a_live_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "live.pipe"
    os.mkfifo(fifo)
    cfg = config.loads(LAB + f"cameras: [{{id: cam, url: {json.dumps(str(fifo))}}}]\n")
    result = await Engine(cfg, [], scan=True).run()
    (status,) = result.cameras
    assert status.state == "failed"
    assert "reads recorded files only" in str(status.error)
    assert status.decoded == 0


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (Debian package mosquitto, .ci/apt-packages)")
    broker = Broker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.mark.anyio
async def test_mqtt_publishes_the_unauthorised_status(
    mqtt_broker: Broker, small_intruder: tuple[Path, Truth]
) -> None:
    broker = mqtt_broker
    video, _ = small_intruder
    later = time.time() + 86400
    cfg = config.loads(
        f"""
privacy: {{legal_profile: lab}}
cameras: [{{id: cam, url: {json.dumps(str(video))}, loop: true}}]
sinks:
  mqtt: {{host: 127.0.0.1, port: {broker.port}, client_id: vsa-engine}}
authorisations: [{{reference: A, start: '{_iso(later)}', end: '{_iso(later + 3600)}',
                   cameras: [cam], situations: [intrusion]}}]
"""
    )
    sub = Subscriber(broker.port)
    try:
        assert await run_engine_until(cfg, sub, "vsa/cam/status", b"unauthorised")
        assert b"online" not in sub.payloads("vsa/cam/status")
        health = sub.payloads("vsa/cam/camera_unauthorised")
        assert health
        assert json.loads(health[0])["state"] == "open"
    finally:
        sub.close()


@pytest.mark.anyio
async def test_an_ongoing_alert_is_closed_when_its_authorisation_ends(
    small_intruder: tuple[Path, Truth],
) -> None:
    video, truth = small_intruder
    (entry,) = [e for e in truth.events if e.type == "intrusion"]
    t0, step = 1796112000.0, 0.1  # the frame sampled at stream time k/10 is read at t0 + k + 1
    k_end = round((entry.start_s + 2.5) * 10)  # the intruder is still in the zone then
    assert entry.end_s > (k_end + 1) / 10
    head = (
        f"authorisations: [{{reference: A, start: '{_iso_ms(t0)}', "
        f"end: '{_iso_ms(t0 + (k_end + 0.5) * step)}', cameras: [cam], situations: [intrusion]}}]\n"
    )
    _, events, _ = await scan(video, head, SteppingClock(t0, step))
    intrusion = [e for e in events if e.type == "intrusion"]
    assert [e.state for e in intrusion] == ["open", "closed"]
    closed = intrusion[-1]
    assert closed.reason == "outside the authorisations in force"
    assert closed.end_s is not None
    assert closed.end_s < entry.end_s


def test_a_camera_that_only_counts_needs_no_authorisation() -> None:
    # Statistics (counting, occupancy) are the use open to communes, not one of the eight.
    head = "detectors: [{id: coco, model: {path: m.onnx}}]\ncameras:\n"
    counts = (
        "  - {id: a, url: rtsp://cam.example/live, %s"
        "statistics: {lines: [{id: kerb, points: [[0, 0.5], [1, 0.5]]}], classes: [person]}}\n"
    )
    assert config.loads(head + counts % "").cameras[0].statistics is not None
    # ... but a camera with a rule beside its statistics, or with nothing at all, still does.
    for text in (
        head + counts % "rules: [{type: fire}], ",
        head + counts % "" + "  - {id: b, url: rtsp://cam.example/other}\n",
    ):
        with pytest.raises(ConfigError) as info:
            config.loads(text)
        assert info.value.path == "authorisations"
