"""Tests of the synthetic scene renderer (vsa_stream.synth)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from vsa_stream.synth import SCENARIOS, Truth, TruthBox, load_truth, render

MARGIN = 0.06


# Reference geometry, written independently of the package.
def inside(x: float, y: float, poly: Sequence[tuple[float, float]]) -> bool:
    crossings = 0
    for (xa, ya), (xb, yb) in zip(poly, [*poly[1:], poly[0]], strict=True):
        if (ya <= y < yb or yb <= y < ya) and x < xa + (y - ya) * (xb - xa) / (yb - ya):
            crossings += 1
    return crossings % 2 == 1


def boundary_distance(x: float, y: float, poly: Sequence[tuple[float, float]]) -> float:
    best = math.inf
    for (xa, ya), (xb, yb) in zip(poly, [*poly[1:], poly[0]], strict=True):
        a, b = np.array([xa, ya]), np.array([xb, yb])
        u = float(np.clip(np.dot([x - xa, y - ya], b - a) / np.dot(b - a, b - a), 0.0, 1.0))
        best = min(best, float(np.hypot(*(np.array([x, y]) - (a + u * (b - a))))))
    return best


def anchor(box: TruthBox, truth: Truth) -> tuple[float, float]:
    return (box.x0 + box.x1) / 2 / truth.width, box.y1 / truth.height


def gap(a: TruthBox, b: TruthBox) -> float:
    return math.hypot(max(0.0, a.x0 - b.x1, b.x0 - a.x1), max(0.0, a.y0 - b.y1, b.y0 - a.y1))


def decode_luma(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [
            np.asarray(f.to_ndarray(format="gray"), dtype=np.uint8)
            for f in container.decode(video=0)
        ]


def relative(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Difference of two frames, less the global lighting change between them."""
    d = a - b
    return d - np.float32(np.median(d))


@pytest.fixture(scope="module")
def intruder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Truth, Path, Path]:
    d = tmp_path_factory.mktemp("intruder")
    video, truth_path = d / "intruder.mp4", d / "intruder.json"
    truth = render("intruder", video, truth_path, seed=3, width=320, height=180)
    return truth, video, truth_path


@pytest.fixture(scope="module")
def walkers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Truth, Path]:
    video = tmp_path_factory.mktemp("walkers") / "walkers.mp4"
    return render("walkers", video, seed=1, width=320, height=180), video


def test_scenarios_listed() -> None:
    assert {"walkers", "intruder"} <= set(SCENARIOS)


def test_video_decodes_with_truth_geometry(tmp_path: Path) -> None:
    video = tmp_path / "w.mp4"
    truth = render("walkers", video, duration_s=1.0)
    assert (truth.width, truth.height, truth.fps, truth.n_frames) == (1280, 720, 25.0, 25)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (1280, 720)
        assert stream.average_rate == Fraction(25)
        frames = list(container.decode(stream))
    assert len(frames) == truth.n_frames
    assert frames[0].format.name == "yuv420p"


def test_other_container_and_rate(tmp_path: Path) -> None:
    video = tmp_path / "w.mkv"
    truth = render("walkers", video, width=128, height=64, fps=10.0, duration_s=2.0)
    assert truth.n_frames == 20
    assert len(decode_luma(video)) == 20


def test_deterministic(tmp_path: Path) -> None:
    a = render("intruder", tmp_path / "a.mp4", seed=7, duration_s=9.0, width=320, height=180)
    b = render("intruder", tmp_path / "b.mp4", seed=7, duration_s=9.0, width=320, height=180)
    c = render("intruder", tmp_path / "c.mp4", seed=8, duration_s=9.0, width=320, height=180)
    assert a == b
    assert a.events == c.events  # paths are fixed; the seed changes the look
    fa, fb, fc = (
        decode_luma(tmp_path / n)[0].astype(np.int16) for n in ("a.mp4", "b.mp4", "c.mp4")
    )
    assert np.abs(fa - fb).max() <= 1
    assert np.abs(fa - fc).mean() > 3


def test_round_trip(intruder: tuple[Truth, Path, Path]) -> None:
    truth, _, truth_path = intruder
    assert load_truth(truth_path) == truth


def test_intruder_has_one_intrusion(intruder: tuple[Truth, Path, Path]) -> None:
    truth, _, _ = intruder
    assert truth.scenario == "intruder"
    assert truth.n_frames == 300
    assert [z.id for z in truth.zones] == ["restricted"]
    assert len(truth.events) == 1
    event = truth.events[0]
    assert (event.type, event.zone) == ("intrusion", "restricted")
    assert abs(event.start_s - 3.5) <= 1.0
    assert 4.0 <= event.end_s - event.start_s <= 5.5
    assert event.start_s == event.start_frame / truth.fps
    assert event.end_s == event.end_frame / truth.fps

    poly = truth.zones[0].polygon
    (obj,) = (o for o in truth.objects if o.id == event.object)
    in_zone = [b.frame for b in obj.boxes if inside(*anchor(b, truth), poly)]
    assert in_zone == list(range(event.start_frame, event.end_frame + 1))  # never stands outside
    # It keeps moving while inside: the anchor shifts between any two frames 0.4 s apart.
    by_frame = {b.frame: anchor(b, truth) for b in obj.boxes}
    for k in in_zone[:-10]:
        (xa, ya), (xb, yb) = by_frame[k], by_frame[k + 10]
        assert math.hypot(xb - xa, yb - ya) > 0.01

    boxes = {b.frame: b for b in obj.boxes}
    for other in truth.objects:
        if other.id != obj.id:
            for b in other.boxes:
                if b.frame in in_zone:
                    assert gap(b, boxes[b.frame]) > 0.1 * truth.width


@pytest.mark.parametrize("which", ["walkers", "intruder"])
def test_walkers_stay_out_of_zone(
    which: str, walkers: tuple[Truth, Path], intruder: tuple[Truth, Path, Path]
) -> None:
    truth = walkers[0] if which == "walkers" else intruder[0]
    poly = truth.zones[0].polygon
    intruders = {e.object for e in truth.events}
    if which == "walkers":
        assert truth.events == []
    assert len(truth.objects) - len(intruders) >= 3
    for obj in truth.objects:
        assert obj.kind == "person"
        if obj.id in intruders:
            continue
        for box in obj.boxes:
            x, y = anchor(box, truth)
            assert not inside(x, y, poly)
            assert boundary_distance(x, y, poly) >= MARGIN


def test_long_video_walkers_come_back_outside_zone(tmp_path: Path) -> None:
    truth = render("walkers", tmp_path / "long.mp4", width=64, height=64, duration_s=30.0)
    poly = truth.zones[0].polygon
    assert len(truth.objects) > 8
    assert truth.objects[-1].boxes[-1].frame > 25 * 25
    for obj in truth.objects:
        for box in obj.boxes:
            assert boundary_distance(*anchor(box, truth), poly) >= MARGIN


def test_boxes_within_frame(intruder: tuple[Truth, Path, Path]) -> None:
    truth, _, _ = intruder
    for obj in truth.objects:
        frames = [b.frame for b in obj.boxes]
        assert frames == sorted(set(frames))
        for b in obj.boxes:
            assert 0 <= b.frame < truth.n_frames
            assert 0.0 <= b.x0 < b.x1 <= truth.width
            assert 0.0 <= b.y0 < b.y1 <= truth.height
    # Walkers overlap each other at times.
    overlapping = {
        (a.id, b.id)
        for a in truth.objects
        for b in truth.objects
        if a.id < b.id
        for ba in a.boxes
        for bb in b.boxes
        if ba.frame == bb.frame and gap(ba, bb) == 0.0
    }
    assert overlapping


def test_people_drawn_where_truth_says(intruder: tuple[Truth, Path, Path]) -> None:
    truth, video, _ = intruder
    luma = [f.astype(np.float32) for f in decode_luma(video)]
    assert len(luma) == truth.n_frames
    for obj in truth.objects:
        box = max(obj.boxes, key=lambda b: (b.x1 - b.x0) * (b.y1 - b.y0))
        others = [b for o in truth.objects for b in o.boxes]
        busy = {b.frame for b in others if gap(b, box) == 0.0}
        empty = next(k for k in range(truth.n_frames) if k not in busy)
        rows = slice(math.ceil(box.y0), math.floor(box.y1))
        cols = slice(math.ceil(box.x0), math.floor(box.x1))
        diff = np.abs(relative(luma[box.frame], luma[empty])[rows, cols]).mean()
        assert diff > 15.0, (obj.id, box, empty)
    # Without people, frames differ by noise and lighting drift only.
    region = TruthBox(0, 0.0, 100.0, 60.0, 160.0)
    busy = {b.frame for b in others if gap(b, region) == 0.0}
    free = [k for k in range(truth.n_frames) if k not in busy]
    diff = np.abs(relative(luma[free[0]], luma[free[-1]])[100:160, :60]).mean()
    assert diff < 6.0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"scenario": "parade"}, ["parade", "walkers", "intruder"]),
        ({"width": 321}, ["width", "even"]),
        ({"height": 32}, ["height", "64"]),
        ({"fps": 0.0}, ["fps"]),
        ({"scenario": "intruder", "duration_s": 4.0}, ["too short", "intruder"]),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], words: list[str]) -> None:
    args: dict[str, object] = {"scenario": "walkers", "width": 320, "height": 180, **kwargs}
    out = tmp_path / "x.mp4"
    with pytest.raises(ValueError, match=words[0]) as info:
        render(out=out, **args)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)
    assert not out.exists()
