"""The replay source (load tests): recorded detections through the tracker and the rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collect import Collect
from vsa_stream import config
from vsa_stream.engine import Engine
from vsa_stream.errors import SourceError
from vsa_stream.sources.replay import DetectionReplay


def walker(path: Path, frames: int = 60) -> Path:
    """One person walking left to right across a 640×480 view, one box per frame."""
    lines = [f"{i},-1,{10 + i * 10},200,40,100,0.95,-1,-1,-1" for i in range(1, frames + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def camera_config(det: Path, *, zone_x0: float) -> config.Config:
    zone = f"[[{zone_x0}, 0.0], [1.0, 0.0], [1.0, 1.0], [{zone_x0}, 1.0]]"
    return config.loads(
        f"""
privacy: {{legal_profile: lab}}
cameras:
  - id: replayed
    url: {json.dumps(f"replay://{det}")}
    options: {{width: "640", height: "480"}}
    fps: 10
    zones: [{{id: restricted, polygon: {zone}}}]
    rules: [{{type: intrusion, zones: [restricted], min_dwell_s: 0.5}}]
"""
    )


@pytest.mark.anyio
async def test_a_replayed_walker_entering_a_zone_raises_an_intrusion(tmp_path: Path) -> None:
    det = walker(tmp_path / "det.txt")
    sink = Collect()
    result = await Engine(camera_config(det, zone_x0=0.5), [sink], scan=True).run()
    (status,) = result.cameras
    assert (status.state, status.analysed) == ("ended", 60)
    assert {e.type for e in sink.events} == {"intrusion"}
    assert [e.state for e in sink.events] == ["open", "closed"]
    opened = sink.events[0].evidence
    assert opened.track_ids
    assert opened.boxes[0][0] >= 0.5 - 40 / 640


@pytest.mark.anyio
async def test_no_alert_when_the_walker_stays_out_of_the_zone(tmp_path: Path) -> None:
    det = walker(tmp_path / "det.txt")
    sink = Collect()
    # The zone starts past the walker's last position (x ≤ 650 px of 640: never inside).
    result = await Engine(camera_config(det, zone_x0=0.999), [sink], scan=True).run()
    assert result.cameras[0].analysed == 60
    assert sink.events == []


@pytest.mark.anyio
async def test_a_broken_detection_file_fails_only_its_camera(tmp_path: Path) -> None:
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,20,oops\n")
    with pytest.raises(SourceError, match=r"det\.txt:1: not a MOTChallenge detection line"):
        DetectionReplay.open(f"replay://{det}")
    result = await Engine(camera_config(det, zone_x0=0.5), [Collect()], scan=True).run()
    (status,) = result.cameras
    assert status.state == "failed"
    assert status.error is not None
    assert "not a MOTChallenge detection line" in status.error


def test_start_option_skips_the_first_frames(tmp_path: Path) -> None:
    det = walker(tmp_path / "det.txt")
    replay = DetectionReplay.open(f"replay://{det}", {"start": "31"})
    assert replay.start == 31
    assert len(replay.frames) == 60
    with pytest.raises(SourceError, match=r"start must be within 1\.\.60"):
        DetectionReplay.open(f"replay://{det}", {"start": "61"})
