"""Tests of the native module ``vsa_stream._core`` against plain-numpy references."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream._core import Blob, MotionDetector, downscale_area, points_in_polygon
from vsa_stream.bench.references import numpy_points_in_polygon as ref_points_in_polygon
from vsa_stream.errors import FrameError, GeometryError, ParameterError, VsaError

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


# --- references -------------------------------------------------------------------------


def ref_downscale(plane: U8, factor: int) -> U8:
    """Box average, block sum / factor² rounded half up, remainders dropped."""
    h, w = plane.shape[0] // factor, plane.shape[1] // factor
    blocks = plane[: h * factor, : w * factor].astype(np.int64)
    sums = blocks.reshape(h, factor, w, factor).sum(axis=(1, 3))
    n = factor * factor
    out: U8 = ((sums + n // 2) // n).astype(np.uint8)
    return out


def ref_point_in_polygon(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Pure-Python scalar version, for the property test."""
    inside = False
    xj, yj = polygon[-1]
    for xi, yi in polygon:
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        xj, yj = xi, yi
    return inside


# --- downscale_area -----------------------------------------------------------------------


@pytest.mark.parametrize("factor", range(1, 9))
@pytest.mark.parametrize(("height", "width"), [(8, 8), (37, 53), (64, 101), (9, 200)])
def test_downscale_matches_numpy_reference(height: int, width: int, factor: int) -> None:
    rng = np.random.default_rng(height * 1000 + width)
    plane = rng.integers(0, 256, (height, width), dtype=np.uint8)
    out = downscale_area(plane, factor)
    assert out.dtype == np.uint8
    assert out.shape == (height // factor, width // factor)
    np.testing.assert_array_equal(out, ref_downscale(plane, factor))


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 5, 8])
def test_downscale_reads_strided_views(factor: int) -> None:
    rng = np.random.default_rng(factor)
    h, w = 45, 77
    big = rng.integers(0, 256, (h, w + 19), dtype=np.uint8)
    for view in (big[:, :w], big[::1, 3 : 3 + w]):
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(
            downscale_area(view, factor), ref_downscale(np.ascontiguousarray(view), factor)
        )
    # Every other row: a row stride of two full rows.
    view = big[::2, :w]
    np.testing.assert_array_equal(
        downscale_area(view, factor), ref_downscale(np.ascontiguousarray(view), factor)
    )


def test_downscale_reads_a_padded_buffer_like_pyav() -> None:
    # A PyAV luma plane: line_size > width, exposed as a flat buffer.
    width, height, line_size = 100, 30, 128
    rng = np.random.default_rng(1)
    buffer = rng.integers(0, 256, height * line_size, dtype=np.uint8).tobytes()
    plane = np.frombuffer(buffer, dtype=np.uint8).reshape(height, line_size)[:, :width]
    assert not plane.flags.writeable
    np.testing.assert_array_equal(
        downscale_area(plane, 4), ref_downscale(np.ascontiguousarray(plane), 4)
    )


def test_downscale_extremes_and_rounding() -> None:
    np.testing.assert_array_equal(downscale_area(np.full((6, 6), 255, np.uint8), 3), 255)
    # 0.5 rounds up.
    np.testing.assert_array_equal(downscale_area(np.array([[1, 0], [1, 0]], np.uint8), 2), [[1]])
    # factor 1 is a copy, not a view.
    plane = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = downscale_area(plane, 1)
    out[0, 0] = 99
    assert plane[0, 0] == 0


# --- points_in_polygon ---------------------------------------------------------------------

U_SHAPE = np.array(
    [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)], dtype=np.float64
)


def test_points_in_concave_polygon_match_reference() -> None:
    rng = np.random.default_rng(7)
    points = rng.uniform(-0.5, 3.5, (5000, 2))
    # Include vertices and edge points exactly.
    points = np.concatenate([points, U_SHAPE, [(1.5, 1.0), (0.0, 1.5), (3.0, 1.5)]])
    inside = points_in_polygon(points, U_SHAPE)
    assert inside.dtype == np.bool_
    assert inside.shape == (len(points),)
    np.testing.assert_array_equal(inside, ref_points_in_polygon(points, U_SHAPE))
    # The notch of the U is outside, its arms inside.
    got = points_in_polygon(np.array([(1.5, 2.0), (0.5, 2.5), (2.5, 2.5), (1.5, 0.5)]), U_SHAPE)
    assert got.tolist() == [False, True, True, True]


def test_points_in_polygon_edges_are_half_open() -> None:
    square = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=np.float64)
    pts = np.array([(0, 0.5), (0.5, 0), (1, 0.5), (0.5, 1), (0.5, 0.5)], dtype=np.float64)
    assert points_in_polygon(pts, square).tolist() == [True, True, False, False, True]


def test_points_in_polygon_accepts_strided_and_empty_inputs() -> None:
    rng = np.random.default_rng(3)
    wide = rng.uniform(0, 3, (200, 5))
    points = wide[::2, 1:3]
    np.testing.assert_array_equal(
        points_in_polygon(points, U_SHAPE), ref_points_in_polygon(points, U_SHAPE)
    )
    assert points_in_polygon(np.empty((0, 2)), U_SHAPE).shape == (0,)


coords = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    polygon=st.lists(st.tuples(coords, coords), min_size=3, max_size=12),
    points=st.lists(st.tuples(coords, coords), min_size=1, max_size=40),
)
def test_points_in_polygon_property(
    polygon: list[tuple[float, float]], points: list[tuple[float, float]]
) -> None:
    # Snap some points onto vertices to exercise the boundary rule.
    points = points + polygon[:2]
    got = points_in_polygon(np.array(points), np.array(polygon)).tolist()
    assert got == [ref_point_in_polygon(x, y, polygon) for x, y in points]


# --- MotionDetector -------------------------------------------------------------------------

W, H = 1280, 720


def textured_scene(width: int, height: int, seed: int = 0) -> F64:
    """Random 8-pixel texture in 40..200, lightly smoothed."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(40, 200, (height // 8 + 1, width // 8 + 1))
    scene = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:height, :width]
    return (scene + np.roll(scene, 3, axis=0) + np.roll(scene, 3, axis=1)) / 3


def noisy(scene: F64, rng: np.random.Generator, sigma: float = 4.0, offset: float = 0.0) -> U8:
    frame = scene + offset + rng.normal(0.0, sigma, scene.shape)
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def warm_up(detector: MotionDetector, scene: F64, rng: np.random.Generator, n: int = 6) -> None:
    for _ in range(n):
        assert detector.process(noisy(scene, rng)) == []


@pytest.mark.parametrize("delta", [35, -30])
def test_moving_person_sized_rectangle_is_one_blob(delta: int) -> None:
    scene = textured_scene(W, H)
    rng = np.random.default_rng(1)
    detector = MotionDetector(W, H)
    warm_up(detector, scene, rng)
    for step in range(12):
        x0, y0, bw, bh = 101 + 13 * step, 300 + 3 * step, 40, 110
        frame = scene.copy()
        frame[y0 : y0 + bh, x0 : x0 + bw] += delta
        blobs = detector.process(noisy(frame, rng))
        assert len(blobs) == 1, (step, blobs)
        (blob,) = blobs
        tolerance = 2 * detector.factor
        assert abs(blob.x0 - x0) <= tolerance, blob
        assert abs(blob.y0 - y0) <= tolerance, blob
        assert abs(blob.x1 - (x0 + bw)) <= tolerance, blob
        assert abs(blob.y1 - (y0 + bh)) <= tolerance, blob
        assert abs(blob.cx - (x0 + bw / 2)) <= tolerance
        assert abs(blob.cy - (y0 + bh / 2)) <= tolerance
        assert 0.6 * bw * bh <= blob.area <= 1.4 * bw * bh
        assert isinstance(blob.x0, int)
        assert isinstance(blob.cx, float)
    assert detector.frames == 18


def test_pure_noise_gives_no_blobs() -> None:
    scene = textured_scene(W, H, seed=2)
    rng = np.random.default_rng(2)
    detector = MotionDetector(W, H)
    for i in range(40):
        assert detector.process(noisy(scene, rng, sigma=4.0)) == [], i
    assert not detector.foreground().any()


@pytest.mark.parametrize("slope", [1.0, -1.0])
def test_brightness_ramp_gives_no_blobs(slope: float) -> None:
    scene = textured_scene(W, H, seed=3)
    rng = np.random.default_rng(3)
    detector = MotionDetector(W, H)
    for i in range(40):
        assert detector.process(noisy(scene, rng, offset=slope * i)) == [], i


def test_foreground_and_background_are_new_downscaled_arrays() -> None:
    scene = textured_scene(640, 360, seed=4)
    rng = np.random.default_rng(4)
    detector = MotionDetector(640, 360, factor=4)
    assert (detector.width, detector.height, detector.factor, detector.frames) == (640, 360, 4, 0)
    assert not detector.background().any()
    warm_up(detector, scene, rng)
    frame = scene.copy()
    frame[100:200, 300:340] += 60
    blobs = detector.process(noisy(frame, rng))
    assert len(blobs) == 1

    fg, bg = detector.foreground(), detector.background()
    assert fg.shape == bg.shape == (90, 160)
    assert fg.dtype == bg.dtype == np.uint8
    assert set(np.unique(fg).tolist()) == {0, 255}
    assert fg[25:50, 75:85].all()
    assert np.abs(bg.astype(int) - ref_downscale(noisy(scene, rng, 0.0), 4)).max() <= 6
    fg[:] = 7  # a copy: the detector's mask is untouched
    assert detector.foreground().max() == 255

    detector.reset()
    assert detector.frames == 0
    assert not detector.background().any()


def test_min_area_is_in_full_resolution_pixels() -> None:
    scene = textured_scene(640, 360, seed=5)
    rng = np.random.default_rng(5)
    detector = MotionDetector(640, 360, min_area=40 * 40 + 1)
    warm_up(detector, scene, rng)
    frame = scene.copy()
    frame[100:140, 100:140] += 60  # 1600 px: too small
    frame[100:140, 300:348] += 60  # 1920 px
    blobs = detector.process(noisy(frame, rng))
    assert [(b.x0, b.x1) for b in blobs] == [(300, 348)]


def test_strided_luma_gives_the_same_blobs() -> None:
    scene = textured_scene(640, 360, seed=6)
    rng = np.random.default_rng(6)
    packed, strided = MotionDetector(640, 360), MotionDetector(640, 360)
    padded = np.full((360, 704), 255, dtype=np.uint8)
    for step in range(10):
        frame = scene.copy()
        if step > 5:
            frame[50:160, 20 * step : 20 * step + 40] += 50
        luma = noisy(frame, rng)
        padded[:, :640] = luma
        a, b = packed.process(luma), strided.process(padded[:, :640])
        assert [repr(x) for x in a] == [repr(x) for x in b]
    np.testing.assert_array_equal(packed.background(), strided.background())


def test_blob_is_frozen_with_repr() -> None:
    scene = textured_scene(320, 240, seed=7)
    rng = np.random.default_rng(7)
    detector = MotionDetector(320, 240, min_area=100)
    warm_up(detector, scene, rng)
    frame = scene.copy()
    frame[40:80, 40:80] += 60
    (blob,) = detector.process(noisy(frame, rng))
    assert isinstance(blob, Blob)
    assert repr(blob).startswith("Blob(x0=40, y0=40, x1=80, y1=80, area=1600")
    with pytest.raises(AttributeError):
        blob.x0 = 3  # type: ignore[misc]


def test_detector_works_from_a_worker_thread() -> None:
    detector = MotionDetector(320, 240)
    frame = np.zeros((240, 320), np.uint8)
    results: list[list[Blob]] = []
    worker = threading.Thread(target=lambda: results.append(detector.process(frame)))
    worker.start()
    worker.join()
    assert results == [[]]
    assert detector.frames == 1


def test_version() -> None:
    assert isinstance(_core.__version__, str)
    assert _core.__version__.count(".") >= 2


# --- bad input ------------------------------------------------------------------------------

good = np.zeros((48, 64), np.uint8)
BAD_PLANES: dict[str, object] = {
    "float": good.astype(np.float32),
    "3-D": np.zeros((48, 64, 3), np.uint8),
    "1-D": np.zeros(64, np.uint8),
    "strided last axis": np.zeros((48, 128), np.uint8)[:, ::2],
    "reversed rows": good[::-1],
    "empty": np.zeros((0, 64), np.uint8),
    "list": good.tolist(),
    "int16": good.astype(np.int16),
}


@pytest.mark.parametrize("name", BAD_PLANES)
def test_downscale_rejects_bad_planes(name: str) -> None:
    with pytest.raises(FrameError) as info:
        downscale_area(BAD_PLANES[name], 2)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", BAD_PLANES)
def test_process_rejects_bad_planes(name: str) -> None:
    detector = MotionDetector(64, 48)
    with pytest.raises(FrameError):
        detector.process(BAD_PLANES[name])  # type: ignore[arg-type]
    assert detector.frames == 0


def test_messages_name_the_problem() -> None:
    detector = MotionDetector(1280, 720)
    with pytest.raises(
        FrameError, match="640\u00d7480 but the detector was built for 1280\u00d7720"
    ):
        detector.process(np.zeros((480, 640), np.uint8))
    with pytest.raises(FrameError, match="dtype uint8, got float32"):
        detector.process(np.zeros((720, 1280), np.float32))
    with pytest.raises(FrameError, match="contiguous along its last axis"):
        downscale_area(np.zeros((8, 16), np.uint8)[:, ::2], 2)


@pytest.mark.parametrize(
    ("factor", "error"), [(0, ParameterError), (-1, ParameterError), (9, FrameError)]
)
def test_downscale_rejects_bad_factors(factor: int, error: type[VsaError]) -> None:
    # A factor below 1 is a bad parameter; one larger than the plane, a plane too small for it.
    with pytest.raises(error):
        downscale_area(np.zeros((8, 8), np.uint8), factor)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"factor": 0},
        {"factor": -2},
        {"alpha": float("nan")},
        {"alpha": 0.0},
        {"alpha": 1.5},
        {"threshold": float("inf")},
        {"threshold": -1.0},
        {"min_area": -1},
        {"warmup_frames": -1},
        {"factor": 100},
    ],
)
def test_detector_rejects_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per parameter
        MotionDetector(64, 48, **kwargs)  # type: ignore[arg-type]


def test_detector_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        MotionDetector(-1, 48)
    with pytest.raises(ValueError):  # noqa: PT011
        MotionDetector(0, 0)


@pytest.mark.parametrize(
    ("points", "polygon", "error"),
    [
        (np.zeros((4, 3)), U_SHAPE, FrameError),
        (np.zeros((4, 2)), U_SHAPE[:2], GeometryError),
        (np.zeros((4, 2), np.float32), U_SHAPE, FrameError),
        (np.zeros(4), U_SHAPE, FrameError),
        (np.zeros((4, 2)), np.array([(0, 0), (1, np.nan), (1, 1)]), GeometryError),
    ],
)
def test_points_in_polygon_rejects_bad_arrays(
    points: object, polygon: object, error: type[VsaError]
) -> None:
    with pytest.raises(error):
        points_in_polygon(points, polygon)  # type: ignore[arg-type]


# --- the GIL is released --------------------------------------------------------------------


def _process_job(frame: U8) -> Callable[[], object]:
    detector = MotionDetector(frame.shape[1], frame.shape[0])
    return lambda: detector.process(frame)


def _downscale_job(frame: U8) -> Callable[[], object]:
    return lambda: downscale_area(frame, 2)


def _hold_the_gil(job: Callable[[], object], calls: int) -> int:
    """How often a second Python thread ran while this one made ``calls`` calls of ``job``.

    The switch interval is set so long that a thread holding the GIL never hands it over by
    itself: the second thread can only run while the calling thread has released the GIL, in
    ``job`` (the second thread sleeps between its steps, which releases the GIL back). The
    garbage collector is off meanwhile: a finalizer of an earlier test's object (a socket
    closed) releases the GIL too, and would let the other thread run once.
    """
    steps = [0]
    stop = threading.Event()

    def other() -> None:
        while not stop.is_set():
            steps[0] += 1
            time.sleep(0.0001)

    previous = sys.getswitchinterval()
    thread = threading.Thread(target=other)
    thread.start()
    time.sleep(0.05)  # the other thread is started and sleeping
    gc.collect()
    gc.disable()
    sys.setswitchinterval(1000.0)
    try:
        before = steps[0]
        for _ in range(calls):
            job()
        during = steps[0] - before
    finally:
        sys.setswitchinterval(previous)
        gc.enable()
        stop.set()
        thread.join()
    return during


@pytest.mark.parametrize("make_job", [_process_job, _downscale_job])
def test_kernels_release_the_gil(make_job: Callable[[U8], Callable[[], object]]) -> None:
    rng = np.random.default_rng(8)
    frame = rng.integers(0, 256, (1080, 1920), dtype=np.uint8)
    # A Python loop that holds the GIL lets nothing run: the method itself is sound.
    assert _hold_the_gil(lambda: sum(range(20_000)), 200) == 0
    # The kernel releases it: the other thread runs during the calls.
    assert _hold_the_gil(make_job(frame), 200) > 0
