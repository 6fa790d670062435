"""The scene-signal rules on real clips of ../shared, through the whole scan pipeline."""

from __future__ import annotations

from pathlib import Path

from conftest import shared_path
from vsa_stream.cli import main
from vsa_stream.events import Event, decode

SIGNAL_RULES = """
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
