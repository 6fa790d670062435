"""Fire evidence: the colour rule against numpy, suppression on synthetic scenes, real clips
(the kernel alone, then the whole ``scan`` pipeline with the ``fire`` rule)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from conftest import shared_path
from vsa_stream._core import FireDetector
from vsa_stream.cli import main
from vsa_stream.errors import FrameError
from vsa_stream.events import Event, decode

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]


def colour_rule(
    y: NDArray[np.uint8], u: NDArray[np.uint8], v: NDArray[np.uint8]
) -> NDArray[np.bool_]:
    """Plain-numpy Çelik & Demirel rule at chroma resolution (tau = 40)."""
    h, w = y.shape
    ch, cw = u.shape
    yp = np.pad(y.astype(np.int64), ((0, 2 * ch - h), (0, 2 * cw - w)), mode="edge")
    ys = (yp.reshape(ch, 2, cw, 2).sum(axis=(1, 3)) + 2) // 4
    cb, cr, n = u.astype(np.int64), v.astype(np.int64), ys.size
    return np.asarray(
        (ys > cb)
        & (cr > cb)
        & (ys * n > ys.sum())
        & (cb * n < cb.sum())
        & (cr * n > cr.sum())
        & (np.abs(cb - cr) >= 40)
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_colour_fraction_matches_numpy_rule(w: int, h: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ch, cw = (h + 1) // 2, (w + 1) // 2
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u = rng.integers(40, 168, (ch, cw), dtype=np.uint8)
    v = rng.integers(90, 218, (ch, cw), dtype=np.uint8)
    det = FireDetector(w, h, cell=2, window=2)
    got = det.update(y, u, v).colour
    assert got.shape == (ch, cw)
    np.testing.assert_array_equal(got, colour_rule(y, u, v).astype(np.float32))


def scene(t: int, mode: str, rng: np.random.Generator) -> Planes:
    """A 160x120 grey scene with an orange 32x32 patch at (64, 48)."""
    y = np.full((120, 160), 90, np.uint8)
    u = np.full((60, 80), 128, np.uint8)
    v = np.full((60, 80), 128, np.uint8)
    on = mode != "blink" or (t * 2 * 2 // 30) % 2 == 0  # 2 Hz on/off at 30 fps
    if mode == "reflection":
        # a flame's reflection on a floor: it flickers like the flame, but dim and washed out
        width = int(rng.integers(6, 16))
        u[24:40, 32 : 32 + width] = 112
        v[24:40, 32 : 32 + width] = 146
        y[48:80, 64 : 64 + 2 * width] = int(rng.integers(95, 125))
    elif on:
        width = 16 if mode != "flicker" else int(rng.integers(6, 16))
        luma = 200 if mode != "flicker" else int(rng.integers(140, 250))
        u[24:40, 32 : 32 + width] = 80
        v[24:40, 32 : 32 + width] = 180
        y[48:80, 64 : 64 + 2 * width] = luma
    return y, u, v


@pytest.mark.parametrize(
    ("mode", "alarm"),
    [("static", False), ("blink", False), ("reflection", False), ("flicker", True)],
)
def test_suppression_on_synthetic_scenes(mode: str, alarm: bool) -> None:
    rng = np.random.default_rng(1)
    det = FireDetector(160, 120)
    alarms = [det.update(*scene(t, mode, rng)).alarm for t in range(120)]
    assert any(alarms[40:]) == alarm
    if alarm:
        assert sum(alarms[40:]) > 70


def test_bad_input_raises_frame_error() -> None:
    det = FireDetector(64, 48)
    y = np.zeros((48, 64), np.uint8)
    c = np.zeros((24, 32), np.uint8)
    with pytest.raises(FrameError, match="V plane"):
        det.update(y, c, np.zeros((24, 31), np.uint8))
    with pytest.raises(FrameError, match="dtype"):
        det.update(y.astype(np.float32), c, c)
    with pytest.raises(ValueError, match="cell"):
        FireDetector(64, 48, cell=3)


def planes(path: Path) -> Iterator[Planes]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            f = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
            yield tuple(  # type: ignore[misc]
                np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]
                for p in f.planes
            )


def flame_boxes(path: Path) -> dict[int, list[tuple[int, int, int, int]]]:
    """OpenCV FileStorage XML: frames/_/frameNumber and annotations/_ as 'x y w h'."""
    out: dict[int, list[tuple[int, int, int, int]]] = {}
    for item in ET.parse(path).getroot().iterfind("frames/_"):
        boxes = [
            tuple(int(t) for t in (a.text or "").split()) for a in item.iterfind("annotations/_")
        ]
        out[int(item.findtext("frameNumber", "-1"))] = [
            (b[0], b[1], b[2], b[3]) for b in boxes if len(b) == 4
        ]
    return out


def test_house6_best_cell_overlaps_annotated_flame() -> None:
    video = shared_path("data", "furg_fire", "house6.mp4")
    truth = flame_boxes(video.with_suffix(".xml"))
    det = FireDetector(426, 240)
    hits = total = 0
    for i, (y, u, v) in enumerate(planes(video)):
        result = det.update(y, u, v)
        if i < 30 or not truth.get(i):
            continue
        x0, y0, x1, y1 = result.best_box
        total += 1
        hits += any(x0 < x + w and x < x1 and y0 < yy + h and yy < y1 for x, yy, w, h in truth[i])
    assert total > 800
    assert hits / total >= 0.9, f"{hits}/{total}"


def test_pets_has_no_fire() -> None:
    """Orange pavement occluded by passers-by: no cell may pass the threshold in any frame."""
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    det = FireDetector(480, 360)
    results = [det.update(y, u, v) for y, u, v in planes(video)]
    assert len(results) > 700
    assert not any(r.alarm for r in results)
    assert max(r.best_score for r in results) < 0.5


def test_periodicity_matches_numpy_reference() -> None:
    """The kernel's per-cell periodicity against a plain-numpy autocorrelation."""

    def reference(x: NDArray[np.float64]) -> float:
        n = x.size
        x = x - x.mean()
        var = float((x * x).mean())
        if var < 1e-4:
            return 0.0
        crossed, best = False, 0.0
        for lag in range(1, n // 2 + 1):
            r = float((x[: n - lag] * x[lag:]).mean()) / var
            if not crossed:
                crossed = r <= 0.0
            else:
                best = max(best, r)
        return min(max(best, 0.0), 1.0)

    rng = np.random.default_rng(7)
    det = FireDetector(64, 48, cell=16, window=4, period_window=24)
    fractions = []
    scored = 0
    for t in range(40):
        y = np.full((48, 64), 90, np.uint8)
        u = np.full((24, 32), 128, np.uint8)
        v = np.full((24, 32), 128, np.uint8)
        # a chase (periodic), then a flame (random width and brightness)
        width = (8, 6, 3, 1, 3, 6)[t % 6] if t < 20 else int(rng.integers(1, 9))
        u[0:8, 0:width] = 80
        v[0:8, 0:width] = 180
        y[0:16, 0 : 2 * width] = 150 + 12 * width if t < 20 else int(rng.integers(140, 250))
        r = det.update(y, u, v)
        fractions.append(float(r.colour[0, 0]))
        if t < 11:
            assert np.isnan(r.periodicity[0, 0])  # fewer than half of 24 frames
        elif r.score[0, 0] > 0.0:
            scored += 1
            want = reference(np.array(fractions[-24:], np.float64))
            assert float(r.periodicity[0, 0]) == pytest.approx(want, abs=1e-4)
        else:
            assert float(r.periodicity[0, 0]) == 0.0  # only computed where the cell scores
    assert scored > 20
    with pytest.raises(ValueError, match="period_window"):
        FireDetector(64, 48, period_window=-1)


def scan_fire(video: Path, tmp_path: Path) -> list[Event]:
    """The ``fire`` rule with its defaults, through ``vsa-stream scan``; the open revisions."""
    config = tmp_path / "fire.yaml"
    config.write_text(
        "privacy: {legal_profile: lab}\n"
        "cameras:\n  - id: cam\n    url: placeholder\n    rules:\n      - {type: fire}\n"
    )
    out = tmp_path / "events.jsonl"
    assert main(["scan", str(video), "--config", str(config), "--out", str(out)]) == 0
    events = [decode(line) for line in out.read_bytes().splitlines()] if out.exists() else []
    return [e for e in events if e.state == "open"]


def test_neon_sign_is_never_a_fire(tmp_path: Path) -> None:
    """A flashing neon sign at night, headlights below: no fire alert."""
    assert scan_fire(shared_path("data", "dev", "fire", "neon_sign_night.mp4"), tmp_path) == []


def test_outdoor_ignition_alerts_within_three_seconds(tmp_path: Path) -> None:
    """A tarp set alight at 0 s: one fire alert, at most 3 s in, where the flame is."""
    (opened,) = scan_fire(shared_path("data", "dev", "fire", "outdoor_ignition.mp4"), tmp_path)
    assert opened.type == "fire"
    assert opened.evidence.stream_time_s <= 3.0
    x0, y0, x1, y1 = opened.evidence.boxes[0]
    assert 0.5 < (x0 + x1) / 2 < 0.8  # the burning tarp
    assert 0.6 < (y0 + y1) / 2 < 0.9
