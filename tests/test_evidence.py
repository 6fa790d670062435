"""Evidence snapshots: opt-in, persons pixelated, retention, served to operators only, audited."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import av
import numpy as np
import pytest

from api_daemon import OPERATOR, VIEWER, api_config, running_daemon, still_clip
from vsa_stream import config
from vsa_stream.audit import verify
from vsa_stream.daemon import Daemon
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, Evidence
from vsa_stream.evidence import EvidenceStore
from vsa_stream.observation import Detection, Foreground, Observation
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import build_sinks
from vsa_stream.sources.frame import Frame
from vsa_stream.synth import Truth

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


def _decode(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data), "r") as container:
        frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.float64)


def _event(state: str, camera: str = "cam") -> Event:
    return Event(
        id="0190a000-0000-7000-8000-000000000001",
        revision=1,
        type="intrusion",
        camera_id=camera,
        state=state,  # type: ignore[arg-type]
        started_at=1.0,
        updated_at=1.0,
        start_s=0.0,
        start_frame=0,
        evidence=Evidence(frame_index=3, stream_time_s=0.3),
    )


def _noise_frame() -> Frame:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    video = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    luma = np.asarray(video.to_ndarray()[:240], dtype=np.uint8)
    return Frame(index=3, time_s=0.3, wall=time.monotonic(), luma=luma, keepalive=video)


def _observation(*detections: Detection, time_s: float = 0.3) -> Observation:
    return Observation("cam", 3, time_s, time.time(), 320, 240, list(detections))


def _detail(store: EvidenceStore, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference between horizontal neighbours inside ``box`` of the open
    snapshot: noise is high (> 40), pixelated blocks low."""
    path = store.path("cam", _event("open").id, "open")
    assert path is not None
    x0, y0, x1, y1 = box
    region = _decode(path.read_bytes())[y0:y1, x0:x1]
    return float(np.abs(np.diff(region, axis=1)).mean())


@pytest.mark.parametrize("later_s", [0.5, 2.9, 3.5])
def test_persons_seen_in_the_last_seconds_stay_hidden(tmp_path: Path, later_s: float) -> None:
    """The detector saw a person, then lost them (missed, occluded, track lost): the alert's
    snapshot a moment later still hides where they were, for ``hold_s`` (3 s)."""
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=1)
    person = Detection(20, 20, 100, 200, label="person", track_id=7)
    store.remember(_observation(person, time_s=0.0))
    for k in range(1, int(later_s * 10) + 1):
        store.remember(_observation(time_s=k / 10))  # frames without the person
    now = _observation(time_s=later_s)
    store.remember(now)
    store.capture(_noise_frame(), now, [_event("open")])
    store.close()
    hidden = _detail(store, (30, 40, 90, 180)) < 10
    assert hidden is (later_s <= 3.0)
    assert _detail(store, (210, 130, 290, 210)) > 40  # the rest of the frame is untouched


@pytest.mark.parametrize("vehicles", [True, False])
def test_vehicles_are_pixelated_by_default(tmp_path: Path, vehicles: bool) -> None:
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=1, blur_vehicles=vehicles)
    car = Detection(200, 120, 300, 220, label="vehicle")
    store.capture(_noise_frame(), _observation(car), [_event("open")])
    store.close()
    assert (_detail(store, (210, 130, 290, 210)) < 10) is vehicles


def test_foreground_is_pixelated_on_a_camera_without_detector(tmp_path: Path) -> None:
    """Without a detector, a moving region too small to be a blob is hidden all the same."""
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=1)
    mask = np.zeros((60, 80), np.uint8)  # the motion mask at factor 4
    mask[10:30, 10:20] = 255  # frame pixels x 40..80, y 40..120
    store.capture(_noise_frame(), _observation(), [_event("open")], foreground=Foreground(4, mask))
    store.close()
    assert _detail(store, (44, 44, 76, 116)) < 10
    assert _detail(store, (200, 130, 300, 220)) > 40


@pytest.mark.anyio
async def test_keeping_persons_visible_needs_a_reason_logged_and_audited(
    small_intruder: tuple[Path, Truth], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, _ = small_intruder
    rules = "    realtime: false\n    rules: [{type: intrusion, zones: [gate]}]"
    off = "privacy: {legal_profile: lab, snapshots: true, blur_persons: false}"
    with pytest.raises(ConfigError) as err:
        api_config(tmp_path / "state", video, extra=off, camera=rules, zone=ZONE)
    assert err.value.path == "privacy.blur_persons"
    assert "blur_off_reason" in str(err.value)
    reason = "court order 2026-117: faces needed by the investigating judge"
    extra = (
        "privacy: {legal_profile: lab, snapshots: true, blur_persons: false, "
        f"blur_off_reason: '{reason}'}}"
    )
    await _run_once(api_config(tmp_path / "state", video, extra=extra, camera=rules, zone=ZONE))
    assert "snapshots keep persons recognisable" in capsys.readouterr().err
    audit = [
        json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    ]
    start = next(e["data"] for e in audit if e["kind"] == "daemon_start")
    assert (start["blur_persons"], start["blur_off_reason"]) == (False, reason)


@pytest.mark.parametrize("blur", [True, False])
def test_persons_and_blobs_are_pixelated_other_classes_not(tmp_path: Path, blur: bool) -> None:
    store = EvidenceStore(tmp_path, blur_persons=blur, retention_days=1)
    person = Detection(20, 20, 100, 200, label="person")
    blob = Detection(120, 20, 180, 100, label=None)
    car = Detection(200, 120, 300, 220, label="bag")  # a class that is no person nor vehicle
    store.capture(_noise_frame(), _observation(person, blob, car), [_event("open")])
    store.close()
    path = store.path("cam", _event("open").id, "open")
    assert path is not None
    image = _decode(path.read_bytes())
    assert image.shape == (240, 320, 3)

    def detail(x0: int, y0: int, x1: int, y1: int) -> float:
        """Mean absolute difference between horizontal neighbours: noise is high, blocks low."""
        region = image[y0:y1, x0:x1]
        return float(np.abs(np.diff(region, axis=1)).mean())

    car_detail = detail(210, 130, 290, 210)
    assert car_detail > 40  # noise survives JPEG
    for box in ((30, 40, 90, 180), (125, 25, 175, 95)):  # inside the person and the blob
        assert (detail(*box) < car_detail / 4) is blur


def test_only_opening_and_closing_events_are_captured(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=1)
    store.capture(_noise_frame(), _observation(), [_event("updated")])
    store.close()
    assert store.written == 0
    assert not list(tmp_path.rglob("*.jpg"))
    store.capture(_noise_frame(), _observation(), [_event("closed")])
    store.close()
    assert [p.name for p in tmp_path.rglob("*.jpg")] == [f"{_event('closed').id}-closed.jpg"]
    assert store.path("../etc", "x", "open") is None
    assert store.path("cam", "x", "passwd") is None


def test_retention_deletes_only_old_evidence(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, blur_persons=True, retention_days=2)
    old, new = tmp_path / "cam" / "a-open.jpg", tmp_path / "cam" / "b-open.jpg"
    old.parent.mkdir()
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    assert store.prune() == [old]
    assert not old.exists()
    assert new.exists()


def test_retention_is_capped_at_30_days() -> None:
    base = "cameras: [{id: c, url: v.mp4}]\nprivacy: {legal_profile: lab, retention_days: %s}"
    assert config.loads(base % 30).privacy.retention_days == 30
    with pytest.raises(ConfigError, match=r"privacy\.retention_days"):
        config.loads(base % 31)
    defaults = config.loads("privacy: {legal_profile: lab}\ncameras: [{id: c, url: v.mp4}]").privacy
    assert (defaults.snapshots, defaults.blur_persons) == (False, True)


async def _run_once(cfg: config.Config) -> None:
    outbox = Outbox(cfg.outbox_path())
    try:
        daemon = Daemon(cfg, build_sinks(cfg.sinks), outbox, source="test")
        await daemon.run(handle_signals=False)
    finally:
        outbox.close()


@pytest.mark.anyio
async def test_snapshots_of_a_real_alert_served_to_operators_and_audited(
    small_intruder: tuple[Path, Truth], tmp_path: Path
) -> None:
    video, _ = small_intruder
    state = tmp_path / "state"
    jsonl = json.dumps(str(tmp_path / "events.jsonl"))
    privacy = (
        f"privacy: {{legal_profile: lab, snapshots: true}}\nsinks: {{jsonl: {{path: {jsonl}}}}}"
    )
    rules = "    realtime: false\n    rules: [{type: intrusion, zones: [gate]}]"
    await _run_once(api_config(state, video, extra=privacy, camera=rules, zone=ZONE))
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    events = [e for e in map(json.loads, lines) if e["type"] != "audit_checkpoint"]
    assert [e["state"] for e in events] == ["open", "closed"]
    event_id = events[0]["id"]
    files = sorted(p.name for p in (state / "evidence" / "cam").iterdir())
    assert files == [f"{event_id}-closed.jpg", f"{event_id}-open.jpg"]
    assert _decode((state / "evidence" / "cam" / files[1]).read_bytes()).shape == (360, 640, 3)

    # Later run: the API serves the stored snapshot, to operators only, each read audited.
    still = still_clip(tmp_path / "still.mp4")
    with running_daemon(
        api_config(state, still, extra="privacy: {legal_profile: lab, snapshots: true}")
    ) as run:
        url = f"/api/events/{event_id}/snapshot"
        with run.client(VIEWER) as viewer:
            assert viewer.get(url).status_code == 403
        with run.client(OPERATOR) as operator:
            shot = operator.get(url)
            assert shot.status_code == 200
            assert shot.headers["content-type"] == "image/jpeg"
            assert shot.headers["cache-control"] == "no-store"
            assert shot.content == (state / "evidence" / "cam" / files[1]).read_bytes()
            assert operator.get(url, params={"kind": "closed"}).status_code == 200
            assert operator.get(url, params={"kind": "../x"}).status_code == 404
    audit = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    reads = [e["data"] for e in audit if e["kind"] == "evidence_access"]
    assert reads == [
        {"actor": "alice", "event_id": event_id, "kind": "open"},
        {"actor": "alice", "event_id": event_id, "kind": "closed"},
    ]
    assert [e["kind"] for e in audit].count("daemon_start") == 2
    assert verify(state / "audit.jsonl").ok


@pytest.mark.anyio
async def test_no_snapshot_without_opting_in(
    small_intruder: tuple[Path, Truth], tmp_path: Path
) -> None:
    video, _ = small_intruder
    rules = "    realtime: false\n    rules: [{type: intrusion, zones: [gate]}]"
    extra = f"sinks: {{jsonl: {{path: {json.dumps(str(tmp_path / 'events.jsonl'))}}}}}"
    await _run_once(api_config(tmp_path / "state", video, extra=extra, camera=rules, zone=ZONE))
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines].count("intrusion") == 2
    assert not (tmp_path / "state" / "evidence").exists()
