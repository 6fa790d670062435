"""The scene-signal rules on real clips of ../shared, through the whole scan pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_path
from vsa_stream.cli import main
from vsa_stream.events import Event, decode

SIGNAL_RULES = """
privacy: {legal_profile: lab}
cameras:
  - id: cam
    url: placeholder
    rules:
      - {type: fire}
      - {type: crowd_movement}
      - {type: abandoned_object}
sinks:
  stdout: {}
"""


def scan(video: Path, tmp_path: Path) -> list[Event]:
    config = tmp_path / "c.yaml"
    config.write_text(SIGNAL_RULES)
    out = tmp_path / "events.jsonl"
    assert main(["scan", str(video), "--config", str(config), "--out", str(out)]) == 0
    return [decode(line) for line in out.read_bytes().splitlines()] if out.exists() else []


def test_house6_fire_alert_within_three_seconds_of_the_first_flame(tmp_path: Path) -> None:
    events = scan(shared_path("data", "furg_fire", "house6.mp4"), tmp_path)
    opened = [e for e in events if e.state == "open"]
    assert [e.type for e in opened] == ["fire"]
    # the flame is annotated from frame 0
    assert opened[0].evidence.stream_time_s <= 3.0


def test_pets_and_traffic_have_no_fire_crowd_or_abandoned_alert(tmp_path: Path) -> None:
    assert scan(shared_path("data", "pets09_s2l1_480x360.avi"), tmp_path) == []
    assert scan(shared_path("data", "intel", "car-detection.mp4"), tmp_path) == []


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def scan_with(video: Path, config: Path, tmp_path: Path) -> list[Event]:
    out = tmp_path / "events.jsonl"
    assert main(["scan", str(video), "--config", str(config), "--out", str(out)]) == 0
    return [decode(line) for line in out.read_bytes().splitlines()] if out.exists() else []


def test_pets_example_intrusion_on_the_lawn_wrong_way_walkers_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VSA_MODELS", str(shared_path("models", "yolox_nano.onnx").parent))
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    opened = [e for e in scan_with(video, EXAMPLES / "pets.yaml", tmp_path) if e.state == "open"]
    kinds = {e.type for e in opened}
    assert kinds <= {"intrusion", "wrong_way"}, kinds  # no fire, person_down, abandoned, density
    # the woman who crosses the lawn (from about 67 s; checked on the frames)
    (lawn,) = [e for e in opened if e.type == "intrusion"]
    assert lawn.zone_id == "lawn"
    assert 66.0 <= lawn.start_s <= 70.0
    # walkers going left along the walkway, against its left-to-right direction
    ways = [e for e in opened if e.type == "wrong_way"]
    assert ways
    assert all(120.0 <= e.evidence.values["heading_deg"] <= 240.0 for e in ways)


def test_house6_example_fires_within_three_seconds(tmp_path: Path) -> None:
    video = shared_path("data", "furg_fire", "house6.mp4")
    opened = [e for e in scan_with(video, EXAMPLES / "house6.yaml", tmp_path) if e.state == "open"]
    assert [e.type for e in opened] == ["fire"]
    assert opened[0].evidence.stream_time_s <= 3.0  # flames are annotated from frame 0


def test_traffic_with_a_person_detector_has_no_fire_person_down_or_abandoned_alert(
    tmp_path: Path,
) -> None:
    model = shared_path("models", "yolox_nano.onnx")
    config = tmp_path / "traffic.yaml"
    config.write_text(
        f"""
detectors:
  - {{id: coco, model: {{path: {model}}}, fps: 5}}
privacy: {{legal_profile: lab}}
cameras:
  - id: traffic
    url: placeholder
    rules:
      - {{type: fire}}
      - {{type: person_down}}
      - {{type: abandoned_object}}
"""
    )
    video = shared_path("data", "intel", "car-detection.mp4")
    assert scan_with(video, config, tmp_path) == []
