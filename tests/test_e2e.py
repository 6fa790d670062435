"""End to end: synthetic video -> PyAV -> Rust motion -> zone -> intrusion -> sinks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from authorised import LAB, authorised
from vsa_stream.cli import main
from vsa_stream.cli.demo import demo_config_text
from vsa_stream.events import Event, decode
from vsa_stream.synth import Truth

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


def write_config(path: Path, cameras: str, sinks: str = "stdout: {}", head: str = LAB) -> Path:
    """``head``: the lawful frame (the lab profile for files, else authorisations)."""
    path.write_text(f"{head}cameras:\n{cameras}\nsinks:\n  {sinks}\n")
    return path


def camera(cam_id: str, url: Path | str, **extra: object) -> str:
    lines = [
        f"  - id: {cam_id}",
        f"    url: {json.dumps(str(url))}",
        f"    zones: [{{id: restricted, polygon: {ZONE}}}]",
        "    rules: [{type: intrusion, zones: [restricted], min_dwell_s: 1.0}]",
    ]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines)


def read_events(path: Path) -> list[Event]:
    """The alerts of a sink's file (a daemon's audit checkpoints left out)."""
    events = [decode(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [e for e in events if e.type != "audit_checkpoint"]


def scan(video: Path, tmp_path: Path) -> list[Event]:
    cfg = write_config(tmp_path / "c.yaml", camera("cam", "placeholder"))
    out = tmp_path / "events.jsonl"
    assert main(["scan", str(video), "--config", str(cfg), "--out", str(out)]) == 0
    return read_events(out) if out.exists() else []


def test_scan_720p_reports_exactly_the_true_intrusion(
    clips: dict[str, tuple[Path, Truth]], tmp_path: Path
) -> None:
    video, truth = clips["intruder"]
    assert (truth.width, truth.height) == (1280, 720)
    (true_event,) = truth.events
    events = scan(video, tmp_path)
    assert {e.id for e in events} == {events[0].id}, "more than one event"
    opened, closed = events
    assert (opened.state, closed.state) == ("open", "closed")
    assert opened.type == "intrusion"
    assert opened.zone_id == "restricted"
    assert abs(opened.start_s - true_event.start_s) <= 0.5
    assert closed.end_s is not None
    assert abs(closed.end_s - true_event.end_s) <= 1.0
    # the evidence box is where the intruder is, in normalised coordinates
    x0, _, x1, y1 = opened.evidence.boxes[0]
    frame = round(opened.evidence.stream_time_s * truth.fps)
    intruder = next(o for o in truth.objects if o.id == true_event.object)
    box = min(intruder.boxes, key=lambda b: abs(b.frame - frame))
    assert abs((x0 + x1) / 2 - (box.x0 + box.x1) / 2 / truth.width) < 0.03
    assert abs(y1 - box.y1 / truth.height) < 0.03


def test_scan_walkers_reports_nothing(clips: dict[str, tuple[Path, Truth]], tmp_path: Path) -> None:
    video, truth = clips["walkers"]
    assert truth.events == []
    assert scan(video, tmp_path) == []


def test_scan_prints_throughput_and_fails_cleanly_on_a_bad_file(
    clips: dict[str, tuple[Path, Truth]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, _ = clips["walkers"]
    assert main(["scan", str(video), "--out", str(tmp_path / "e.jsonl")]) == 0
    assert "frames/s" in capsys.readouterr().err
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(50_000))
    assert main(["scan", str(garbage), "--out", str(tmp_path / "e.jsonl")]) == 1
    assert "cannot open" in capsys.readouterr().err


def test_daemon_one_bad_camera_never_stops_the_others(
    clips: dict[str, tuple[Path, Truth]], tmp_path: Path
) -> None:
    video, _ = clips["intruder"]
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(50_000))
    sound = tmp_path / "sound.wav"  # a valid file with no video in it
    with wave.open(str(sound), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(16000))
    out = tmp_path / "events.jsonl"
    cameras = "\n".join(
        [
            camera("missing", tmp_path / "nope.mp4"),
            camera("garbage", garbage),
            camera("audio-only", sound),
            camera("unreachable", "rtsp://user:topsecret@127.0.0.1:9/none"),
            camera("good", video, realtime=False),
        ]
    )
    live = authorised(["missing", "garbage", "audio-only", "unreachable", "good"])
    sinks = f"jsonl: {{path: {json.dumps(str(out))}}}"
    cfg = write_config(tmp_path / "c.yaml", cameras, sinks, head=live)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsa_stream", "--log-format", "json", "run", str(cfg)],
        cwd=tmp_path,  # the outbox goes to ./vsa-state
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    logs: list[dict[str, object]] = []
    try:
        # Files fail for good; the unreachable live stream is retried until the daemon stops.
        for line in proc.stderr:
            logs.append(json.loads(line))
            done = {r["camera_id"] for r in logs if r["event"] == "camera finished"}
            retried = any(r["event"] == "camera unavailable" for r in logs)
            if {"missing", "garbage", "audio-only", "good"} <= done and retried:
                break
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=10)
    finally:
        proc.kill()
    logs += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 0
    failed = {r["camera_id"]: r["error"] for r in logs if r["event"] == "camera failed"}
    assert set(failed) == {"missing", "garbage", "audio-only"}
    assert "has no video stream" in str(failed["audio-only"])
    assert "No such file" in str(failed["missing"])
    unavailable = [r for r in logs if r["event"] == "camera unavailable"]
    assert {r["camera_id"] for r in unavailable} == {"unreachable"}
    assert all(float(str(r["retry_in_s"])) >= 0.8 for r in unavailable)
    stopped = [
        r for r in logs if r["event"] == "camera finished" and r["camera_id"] == "unreachable"
    ]
    assert [r["state"] for r in stopped] == ["stopped"]
    assert "topsecret" not in json.dumps(logs)
    events = read_events(out)
    assert {e.camera_id for e in events} == {"good"}
    assert [e.state for e in events] == ["open", "closed"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_closes_open_events_drains_and_exits_0_within_5_s(
    small_intruder: tuple[Path, Truth], tmp_path: Path, signum: signal.Signals
) -> None:
    video, _ = small_intruder
    cfg = write_config(tmp_path / "c.yaml", camera("cam", video, loop=True, realtime=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vsa_stream", "run", str(cfg)],
        cwd=tmp_path,  # the outbox goes to ./vsa-state
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        first = decode(proc.stdout.readline())  # blocks until the intrusion opens (~5 s)
        while first.type == "audit_checkpoint":  # the daemon's start checkpoint comes first
            first = decode(proc.stdout.readline())
        assert first.state == "open"
        proc.send_signal(signum)
        sent = time.monotonic()
        rest, _ = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert took < 5.0
    closing = [e for e in map(decode, rest.splitlines()) if e.type != "audit_checkpoint"]
    assert [(e.id, e.state, e.reason) for e in closing] == [(first.id, "closed", "engine stopped")]


def test_demo_fast_prints_an_intrusion_alert() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vsa_stream", "demo", "--fast"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    events = [decode(line) for line in proc.stdout.splitlines()]
    assert any(e.type == "intrusion" and e.state == "open" for e in events)
    assert "intrusion alert" in proc.stderr


def test_demo_config_is_a_valid_packaged_file() -> None:
    text = demo_config_text()
    assert "${VSA_DEMO_VIDEO}" in text
    assert ZONE in text  # the demo's zone is the synthetic scene's restricted zone
