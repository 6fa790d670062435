"""person_down on real falls and everyday movements of ../shared/data/dev, through the whole
scan pipeline with the real models (YOLOX-nano, MoveNet): ``examples/falls.yaml``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import shared_path
from vsa_stream.cli import main
from vsa_stream.events import Event, decode

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "falls.yaml"


def opened(clip: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    models = shared_path("models", "pose", "movenet_singlepose_lightning_int8_4.onnx").parent
    monkeypatch.setenv("VSA_MODELS", str(models.parent))
    video = shared_path("data", "dev", clip)
    out = tmp_path / "events.jsonl"
    assert main(["scan", str(video), "--config", str(EXAMPLE), "--out", str(out)]) == 0
    events = [decode(line) for line in out.read_bytes().splitlines()] if out.exists() else []
    return [e for e in events if e.state == "open"]


def truth(clip: str) -> dict[str, float]:
    entry = json.loads(shared_path("data", "dev", "truth.json").read_text())[clip]
    situation: dict[str, float] = entry["situations"][0]
    return situation


@pytest.mark.parametrize(
    "clip",
    [
        "falls/gmdcsa24_S2_Fall_12.mp4",  # lost by the detector on the floor: the pose finds him
        "falls/gmdcsa24_S1_Fall_13.mp4",  # on his back, knees up, never detected again
        "falls/gmdcsa24_S2_Fall_13.mp4",  # collapses at night, found under a new track
    ],
)
def test_real_fall_alerts_within_two_seconds_of_the_confirmation(
    clip: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (event,) = opened(clip, tmp_path, monkeypatch)
    assert event.type == "person_down"
    assert event.evidence.stream_time_s <= truth(clip)["from_s"] + 1.0 + 2.0
    assert event.evidence.values["fall_s"] >= truth(clip)["onset_s"] - 0.5
    assert not any(k.startswith(("keypoint", "nose", "hip")) for k in event.evidence.values)


@pytest.mark.parametrize(
    "clip",
    [
        "daily/gmdcsa24_S2_ADL_26.mp4",  # kneels on hands and knees to reach under the bed
        "daily/gmdcsa24_S4_ADL_21.mp4",  # lowers himself slowly to sleep on the floor
        "daily/gmdcsa24_S3_ADL_07.mp4",  # deep squats
    ],
)
def test_everyday_movement_never_alerts(
    clip: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert opened(clip, tmp_path, monkeypatch) == []
