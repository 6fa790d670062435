"""Motion field (grid pyramidal Lucas-Kanade): accuracy against OpenCV DIS and statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from vsa_stream._core import FlowResult, MotionField, flow_grid
from vsa_stream.bench.flow_synth import (
    Sequence,
    bilinear,
    endpoint_error,
    make_sequences,
    sample_dense,
    texture,
)
from vsa_stream.errors import FrameError, ParameterError

CELL = 16


@pytest.fixture(scope="module")
def sequences() -> dict[str, Sequence]:
    return {s.name: s for s in make_sequences()}


def ours(seq: Sequence) -> FlowResult:
    return flow_grid(seq.prev, seq.next, cell=CELL)


def confident(r: FlowResult) -> NDArray[np.bool_]:
    return np.asarray(r.confidence >= 0.25)


def test_endpoint_error_no_worse_than_dis_fast(sequences: dict[str, Sequence]) -> None:
    cv2 = pytest.importorskip("cv2")
    cv2.setNumThreads(1)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    lines = ["", "| sequence | confident | EPE ours | EPE DIS-fast (same cells) | DIS-fast (all) |"]
    failures = []
    for name, seq in sequences.items():
        r = ours(seq)
        mask = confident(r)
        dense = dis.calc(seq.prev, seq.next, None)
        theirs = sample_dense(dense, r.rows, r.cols, CELL)
        e_ours = endpoint_error(r.flow.astype(np.float64), seq, CELL, mask)
        e_dis = endpoint_error(theirs, seq, CELL, mask)
        e_dis_all = endpoint_error(theirs, seq, CELL, np.ones_like(mask))
        lines.append(
            f"| {name} | {mask.mean():.0%} | {e_ours:.3f} | {e_dis:.3f} | {e_dis_all:.3f} |"
        )
        assert mask.mean() >= 0.8, f"{name}: only {mask.mean():.0%} of cells confident"
        if not e_ours <= e_dis * 1.0 + 0.05:
            failures.append(name)
    print("\n".join(lines))
    assert not failures, f"EPE worse than DIS-fast on {failures}"


def test_translation_statistics(sequences: dict[str, Sequence]) -> None:
    r = ours(sequences["translation"])
    dx, dy = 2.6, -1.4
    speed = math.hypot(dx, dy)
    assert r.coherence > 0.97
    assert r.p50_speed == pytest.approx(speed, abs=0.05)
    assert r.mean_speed == pytest.approx(speed, abs=0.05)
    assert r.p90_speed >= r.p50_speed
    bins = r.histogram.shape[0]
    expected = round(math.atan2(dy, dx) % math.tau / (math.tau / bins)) % bins
    assert int(np.argmax(r.histogram)) == expected
    moving_cells = r.moving_fraction * r.rows * r.cols
    assert r.histogram.sum() == pytest.approx(r.mean_speed * moving_cells, rel=1e-3)
    assert abs(r.mean_divergence) < 2e-3
    assert abs(r.mean_curl) < 2e-3


def test_zoom_has_positive_divergence(sequences: dict[str, Sequence]) -> None:
    seq = sequences["zoom"]
    grow = ours(seq)
    assert grow.mean_divergence == pytest.approx(2 * 0.03, abs=0.006)
    mask = confident(grow)
    assert (grow.divergence[mask] > 0).mean() > 0.95
    assert abs(grow.mean_curl) < 0.005
    assert grow.coherence < 0.2
    shrink = flow_grid(seq.next, seq.prev, cell=CELL)
    assert shrink.mean_divergence < -0.04


def test_rotation_has_curl(sequences: dict[str, Sequence]) -> None:
    r = ours(sequences["rotation"])
    # Clockwise on screen (image y down): curl = 2 sin(angle).
    assert r.mean_curl == pytest.approx(2 * math.sin(math.radians(1.5)), abs=0.005)
    assert abs(r.mean_divergence) < 0.005
    assert r.coherence < 0.2


def test_crossing_groups(sequences: dict[str, Sequence]) -> None:
    r = ours(sequences["crossing"])
    assert r.coherence < 0.1
    bins = r.histogram.shape[0]
    top2 = set(np.argsort(r.histogram)[-2:].tolist())
    assert top2 == {0, bins // 2}
    mid = r.cols // 2
    # The groups converge on the middle: negative divergence there, none elsewhere.
    assert r.divergence[:, mid - 1 : mid + 1].mean() < -0.05
    assert abs(float(r.divergence[:, : mid - 3].mean())) < 0.01
    assert np.all(r.flow[:, : mid - 2, 0] > 2.0)
    assert np.all(r.flow[:, mid + 2 :, 0] < -2.0)


def test_motion_field_keeps_previous_frame(sequences: dict[str, Sequence]) -> None:
    seq = sequences["translation"]
    field = MotionField(seq.prev.shape[1], seq.prev.shape[0], cell=CELL)
    assert field.update(seq.prev) is None
    r = field.update(seq.next)
    assert r is not None
    assert (r.rows, r.cols) == field.grid_shape == (360 // CELL, 640 // CELL)
    assert r.flow.shape == (r.rows, r.cols, 2)
    assert r.flow.dtype == np.float32
    np.testing.assert_array_equal(r.flow, ours(seq).flow)
    assert field.frames == 2
    field.reset()
    assert field.frames == 0
    assert field.update(seq.next) is None


def test_strided_views_read_in_place(sequences: dict[str, Sequence]) -> None:
    seq = sequences["rotation"]
    wide_prev = np.zeros((360, 704), np.uint8)
    wide_next = np.full((360, 704), 255, np.uint8)
    wide_prev[:, :640] = seq.prev
    wide_next[:, :640] = seq.next
    a = flow_grid(wide_prev[:, :640], wide_next[:, :640])
    np.testing.assert_array_equal(a.flow, ours(seq).flow)


def test_flat_frames_are_not_confident() -> None:
    flat = np.full((64, 96), 80, np.uint8)
    r = flow_grid(flat, flat)
    assert not r.confidence.any()
    assert (r.mean_speed, r.coherence, r.confident_fraction) == (0.0, 0.0, 0.0)


def test_bad_input_raises() -> None:
    frame = np.zeros((64, 96), np.uint8)
    field = MotionField(96, 64)
    with pytest.raises(FrameError, match="dtype"):
        field.update(frame.astype(np.float32))
    with pytest.raises(FrameError, match="2-D"):
        field.update(np.zeros((64, 96, 3), np.uint8))
    with pytest.raises(FrameError, match="64×96"):
        field.update(np.zeros((96, 64), np.uint8))
    with pytest.raises(FrameError, match="expected"):
        flow_grid(frame, frame[:32])
    with pytest.raises(ParameterError, match="cell"):
        flow_grid(frame, frame, cell=2)
    for kwargs in ({"levels": 0}, {"step": 9}, {"bins": 0}, {"min_eigen": float("nan")}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            MotionField(96, 64, **kwargs)
    with pytest.raises(ValueError, match="smaller than one"):
        MotionField(8, 8)


def numpy_stats(r: FlowResult, min_conf: float, min_speed: float) -> dict[str, float]:
    u, v = r.flow[..., 0].astype(np.float64), r.flow[..., 1].astype(np.float64)
    mask = r.confidence >= min_conf
    speed = np.hypot(u, v)[mask]
    moving = mask & (np.hypot(u, v) >= min_speed)
    mu, mv = u[moving].sum(), v[moving].sum()
    mag = np.hypot(u, v)[moving].sum()
    return {
        "mean": float(speed.mean()) if speed.size else 0.0,
        "p50": float(np.percentile(speed, 50)) if speed.size else 0.0,
        "p90": float(np.percentile(speed, 90)) if speed.size else 0.0,
        "coherence": float(math.hypot(mu, mv) / mag) if mag > 0 else 0.0,
    }


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 1000),
    dx=st.floats(-4.0, 4.0),
    dy=st.floats(-4.0, 4.0),
    cell=st.sampled_from([8, 12, 16]),
)
def test_statistics_match_numpy_reference(seed: int, dx: float, dy: float, cell: int) -> None:
    base = texture(160, 112, seed)
    prev = np.rint(base[8:104, 8:152]).astype(np.uint8)
    ys, xs = np.mgrid[8:104, 8:152].astype(np.float64)
    nxt = np.rint(bilinear(base, xs - dx, ys - dy)).astype(np.uint8)
    r = flow_grid(prev, nxt, cell=cell)
    ref = numpy_stats(r, 0.25, 0.5)
    assert r.mean_speed == pytest.approx(ref["mean"], abs=1e-4)
    assert r.p50_speed == pytest.approx(ref["p50"], abs=1e-4)
    assert r.p90_speed == pytest.approx(ref["p90"], abs=1e-4)
    assert r.coherence == pytest.approx(ref["coherence"], abs=1e-4)
    u, v = r.flow[..., 0].astype(np.float64), r.flow[..., 1].astype(np.float64)
    div = (np.gradient(u, axis=1) + np.gradient(v, axis=0)) / cell
    curl = (np.gradient(v, axis=1) - np.gradient(u, axis=0)) / cell
    np.testing.assert_allclose(r.divergence, div, atol=1e-5)
    np.testing.assert_allclose(r.curl, curl, atol=1e-5)
    # Interior cells recover the translation.
    inner = confident(r)[1:-1, 1:-1]
    if inner.any():
        err = np.hypot(u[1:-1, 1:-1] - dx, v[1:-1, 1:-1] - dy)[inner]
        assert np.median(err) < 0.15
