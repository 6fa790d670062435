"""Scene geometry kernels against plain-Python / numpy references (property tests)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from vsa_stream._core import (
    DwellTimers,
    HeadingTracker,
    Homography,
    LineCounter,
    boxes_in_polygon,
    density_grid,
    heading_check,
    polygon_area,
    validate_polygon,
)
from vsa_stream.config import Zone
from vsa_stream.errors import FrameError, GeometryError, ParameterError, VsaError
from vsa_stream.observation import Detection
from vsa_stream.scene import ZoneGeometry, boxes_array, track_ids_array

F64 = NDArray[np.float64]
Point = tuple[float, float]
AnchorName = Literal["bottom_center", "center", "top_center"]
ANCHORS: tuple[AnchorName, ...] = ("bottom_center", "center", "top_center")

# --- references -------------------------------------------------------------------------------


def ref_anchor(b: F64, anchor: str) -> Point:
    x = (b[0] + b[2]) / 2.0
    y = {"bottom_center": b[3], "center": (b[1] + b[3]) / 2.0, "top_center": b[1]}[anchor]
    return float(x), float(y)


def ref_inside(x: float, y: float, polygon: list[Point]) -> bool:
    """PNPOLY, half-open edges."""
    inside = False
    xj, yj = polygon[-1]
    for xi, yi in polygon:
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        xj, yj = xi, yi
    return inside


def ref_area(polygon: F64) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def ref_proper_crossing(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether two segments cross at a point interior to both."""

    def orient(p: Point, q: Point, r: Point) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2, d3, d4 = orient(c, d, a), orient(c, d, b), orient(a, b, c), orient(a, b, d)
    return d1 * d2 < 0 and d3 * d4 < 0


def star_polygon(rng: np.random.Generator, n: int, convex: bool) -> F64:
    """Vertices at increasing angles: convex on a circle, generally concave with random radii."""
    angles = 2 * np.pi * (np.arange(n) + 0.8 * rng.random(n)) / n  # increasing, one turn
    radii = np.full(n, 40.0) if convex else rng.uniform(5.0, 50.0, n)
    return np.stack([60 + radii * np.cos(angles), 50 + radii * np.sin(angles)], axis=1)


# --- polygons ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 14), convex=st.booleans())
def test_boxes_in_polygon_matches_reference_for_all_anchors(
    seed: int, n: int, convex: bool
) -> None:
    rng = np.random.default_rng(seed)
    polygon = star_polygon(rng, n, convex)
    x0 = rng.uniform(0, 120, 300)
    y0 = rng.uniform(0, 100, 300)
    boxes = np.stack([x0, y0, x0 + rng.uniform(0, 30, 300), y0 + rng.uniform(0, 60, 300)], 1)
    # Some boxes with an anchor exactly on a vertex.
    boxes[:3, 1] = boxes[:3, 3] = polygon[:3, 1]
    boxes[:3, 0] = boxes[:3, 2] = polygon[:3, 0]
    verts = [(float(x), float(y)) for x, y in polygon]
    for anchor in ANCHORS:
        got = boxes_in_polygon(boxes, polygon, anchor)
        want = [ref_inside(*ref_anchor(b, anchor), verts) for b in boxes]
        assert got.tolist() == want
    assert (
        boxes_in_polygon(boxes, polygon).tolist()
        == boxes_in_polygon(boxes, polygon, "bottom_center").tolist()
    )


def test_anchor_decides_containment() -> None:
    square = np.array([(0, 0), (10, 0), (10, 10), (0, 10)], dtype=np.float64)
    tall = np.array([[4.0, -30.0, 6.0, 5.0]])  # only its feet are in the zone
    assert boxes_in_polygon(tall, square).tolist() == [True]
    assert boxes_in_polygon(tall, square, "center").tolist() == [False]
    assert boxes_in_polygon(tall, square, "top_center").tolist() == [False]
    assert boxes_in_polygon(np.empty((0, 4)), square).shape == (0,)
    # Strided views are read in place.
    wide = np.array([[9.0, 4.0, -30.0, 6.0, 5.0, 9.0]] * 3)
    assert boxes_in_polygon(wide[::2, 1:5], square).tolist() == [True, True]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 20))
def test_area_and_validity_of_star_polygons(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    polygon = star_polygon(rng, n, convex=False)
    assert polygon_area(polygon) == pytest.approx(ref_area(polygon), rel=1e-12)
    validate_polygon(polygon)  # simple by construction
    # Swapping two non-adjacent vertices usually makes edges cross; agree with the reference.
    assume(n >= 5)
    i, j = 0, int(rng.integers(2, n - 2))
    swapped = polygon.copy()
    swapped[[i, j]] = swapped[[j, i]]
    pts = [(float(x), float(y)) for x, y in swapped]
    edges = [(pts[k], pts[(k + 1) % n]) for k in range(n)]
    crossing = any(
        ref_proper_crossing(*edges[a], *edges[b])
        for a in range(n)
        for b in range(a + 2, n)
        if not (a == 0 and b == n - 1)
    )
    if crossing:
        with pytest.raises(GeometryError, match="self-intersecting"):
            validate_polygon(swapped)


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 0)], "at least 3"),
        ([(0, 0), (1, 0), (1, 0), (0, 0)], "at least 3"),
        ([(0, 0), (1, 1), (2, 2)], "zero area"),
        ([(0, 0), (np.nan, 1), (0, 1)], "not finite"),
        ([(0, 0), (2, 2), (2, 0), (0, 2)], "self-intersecting"),
    ],
)
def test_invalid_polygons(polygon: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(GeometryError, match=message):
        validate_polygon(np.array(polygon, dtype=np.float64))


def test_valid_polygon_with_closing_vertex() -> None:
    validate_polygon(np.array([(0, 0), (4, 0), (4, 3), (0, 0)], dtype=np.float64))
    assert polygon_area(np.array([(0, 0), (4, 0), (4, 3)], dtype=np.float64)) == 6.0


# --- line crossing ----------------------------------------------------------------------------


def ref_hysteresis_crossings(ds: list[float], h: float) -> list[int]:
    """Crossings of an infinite line from signed distances alone: settled-side changes."""
    settled, out = 0, []
    for d in ds:
        if abs(d) >= h:
            side = 1 if d >= 0 else -1
            if settled and side != settled:
                out.append(side)
            settled = side
    return out


def box_at(x: float, y: float) -> list[float]:
    """A 20x40 box whose bottom centre is (x, y)."""
    return [x - 10.0, y - 40.0, x + 10.0, y]


def run_counter(counter: LineCounter, path: list[Point], track: int = 1) -> list[int]:
    out: list[int] = []
    for x, y in path:
        ids, dirs = counter.update(np.array([track], np.int64), np.array([box_at(x, y)]))
        assert ids.tolist() == [track] * len(dirs)
        out.extend(dirs.tolist())
    return out


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.floats(0.0, 8.0),
    step=st.floats(0.5, 6.0),
)
def test_random_walk_crossings_match_hysteresis_reference(seed: int, h: float, step: float) -> None:
    rng = np.random.default_rng(seed)
    ys = 100.0 + np.cumsum(rng.normal(0.0, step, 300))
    xs = 500.0 + np.cumsum(rng.normal(0.0, 1.0, 300))
    # A line from right to left (p0 on the right): its right side is ABOVE it on screen.
    counter = LineCounter((5000.0, 100.0), (-5000.0, 100.0), hysteresis_px=h)
    got = run_counter(counter, list(zip(xs.tolist(), ys.tolist(), strict=True)))
    want = ref_hysteresis_crossings([100.0 - y for y in ys.tolist()], h)
    assert got == want
    assert counter.totals == (want.count(1), want.count(-1))


def test_jitter_on_the_line_never_double_counts() -> None:
    rng = np.random.default_rng(0)
    counter = LineCounter((0.0, 100.0), (200.0, 100.0), hysteresis_px=6.0)
    jitter = rng.uniform(-5.9, 5.9, (500, 2))
    path = [(100.0, 80.0)] + [(100.0 + dx, 100.0 + dy) for dx, dy in jitter.tolist()]
    assert run_counter(counter, path) == []
    # Then it walks down through the line: one crossing, left to right (below is right).
    assert run_counter(counter, [(100.0, 104.0), (100.0, 108.0), (100.0, 150.0)]) == [1]
    assert run_counter(counter, [(100.0, 60.0)]) == [-1]
    assert counter.totals == (1, 1)


def ref_segment_counter(path: list[Point], h: float) -> list[int]:
    """The crossing rule for the segment (0, 100)-(200, 100), written out plainly."""
    settled, through, out = 0, False, []
    last: Point | None = None
    for x, y in path:
        d = y - 100.0
        if last is not None and ((last[1] - 100.0) >= 0) != (d >= 0):
            dl = last[1] - 100.0
            a = dl / (dl - d)
            through = 0.0 <= last[0] + a * (x - last[0]) <= 200.0
        if last is not None and abs(d) >= h:
            side = 1 if d >= 0 else -1
            if settled and side != settled and through:
                out.append(side)
            settled = side
        elif last is None:
            settled = (1 if d >= 0 else -1) if abs(d) >= h else 0
        last = (x, y)
    return out


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.floats(0.0, 6.0))
def test_crossings_outside_the_segment_do_not_count(seed: int, h: float) -> None:
    rng = np.random.default_rng(seed)
    # Walks around the right end of the segment (x = 200).
    xs = 200.0 + np.cumsum(rng.normal(0.0, 8.0, 200))
    ys = 100.0 + np.cumsum(rng.normal(0.0, 5.0, 200))
    path = list(zip(xs.tolist(), ys.tolist(), strict=True))
    counter = LineCounter((0.0, 100.0), (200.0, 100.0), hysteresis_px=h)
    assert run_counter(counter, path) == ref_segment_counter(path, h)


def test_walking_round_the_end_does_not_count() -> None:
    counter = LineCounter((0.0, 100.0), (200.0, 100.0), hysteresis_px=5.0)
    assert run_counter(counter, [(150, 60), (260, 60), (260, 140), (150, 140)]) == []
    assert run_counter(counter, [(150, 60)], track=2) == []
    assert run_counter(counter, [(150, 140)], track=2) == [1]


@pytest.mark.parametrize("anchor", ANCHORS)
def test_line_at_the_frame_edge(anchor: AnchorName) -> None:
    """A person leaves a 640x480 frame at the bottom; the line is 10 px above the edge."""
    counter = LineCounter(
        (640.0, 470.0),
        (0.0, 470.0),
        hysteresis_px=4.0,
        anchor=anchor,
        max_missed=2,
    )
    dirs: list[int] = []
    for k in range(60):
        top = 300.0 + 4.0 * k
        box = [300.0, min(top, 479.0), 330.0, min(top + 120.0, 480.0)]  # clipped at the edge
        _, d = counter.update(np.array([3], np.int64), np.array([box]))
        dirs.extend(d.tolist())
    # The line runs right to left, so below it is its left: crossing it downwards is -1.
    assert dirs == [-1]
    assert counter.totals == (0, 1)
    for _ in range(3):
        counter.update(np.empty(0, np.int64), np.empty((0, 4)))
    assert counter.tracked == 0


# --- direction ------------------------------------------------------------------------------


def test_heading_check_cases() -> None:
    v = np.array([[10.0, 0.5], [-10.0, 0.0], [0.0, 20.0], [-10.0, 0.0], [0.0, 0.0]])
    disp = np.array([[40.0, 2.0], [-40.0, 0.0], [0.0, 80.0], [-5.0, 0.0], [50.0, 0.0]])
    judged, against, heading, speed = heading_check(v, disp, 0.0, 45.0, 20.0)
    assert judged.tolist() == [True, True, True, False, False]  # too little / no motion
    assert against.tolist() == [False, True, True, False, False]
    assert heading[2] == 90.0  # down the image
    assert heading[1] == 180.0
    assert math.isnan(heading[4])
    np.testing.assert_allclose(speed, np.hypot(v[:, 0], v[:, 1]))


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    allowed=st.floats(-720.0, 720.0),
    tolerance=st.floats(0.0, 180.0),
    min_disp=st.floats(0.0, 50.0),
)
def test_heading_check_matches_numpy(
    seed: int, allowed: float, tolerance: float, min_disp: float
) -> None:
    rng = np.random.default_rng(seed)
    v = rng.normal(0.0, 10.0, (50, 2))
    disp = v * rng.uniform(0.0, 6.0, (50, 1))
    judged, against, heading, speed = heading_check(v, disp, allowed, tolerance, min_disp)
    ref_heading = np.degrees(np.arctan2(v[:, 1], v[:, 0])) % 360.0
    np.testing.assert_allclose(heading, ref_heading, atol=1e-9)
    ref_judged = np.hypot(disp[:, 0], disp[:, 1]) >= min_disp
    diff = np.abs((ref_heading - allowed + 180.0) % 360.0 - 180.0)
    decided = np.abs(diff - tolerance) > 1e-9  # leave ties at the cone's edge alone
    assert judged.tolist() == ref_judged.tolist()
    np.testing.assert_array_equal(against[decided], (ref_judged & (diff > tolerance))[decided])
    np.testing.assert_allclose(speed, np.hypot(v[:, 0], v[:, 1]))


def test_heading_tracker_with_against_and_too_slow() -> None:
    tracker = HeadingTracker(90.0, tolerance_deg=45.0, min_displacement_px=30.0, window_s=1.5)
    rng = np.random.default_rng(4)
    ids = np.array([1, 2, 3], np.int64)
    for k in range(60):
        t = k / 20.0
        anchors = [(100.0, 50.0 + 50.0 * t), (300.0, 400.0 - 50.0 * t), (500.0 + 3.0 * t, 200.0)]
        boxes = np.array([box_at(x + rng.normal(), y + rng.normal()) for x, y in anchors])
        judged, against, heading, speed = tracker.update(t, ids, boxes)
        if k < 5:
            assert not judged.any()
    assert judged.tolist() == [True, True, False]
    assert against.tolist() == [False, True, False]
    assert heading[0] == pytest.approx(90.0, abs=5.0)
    assert heading[1] == pytest.approx(270.0, abs=5.0)
    assert speed[0] == pytest.approx(50.0, rel=0.1)
    with pytest.raises(FrameError, match="backwards"):
        tracker.update(1.0, ids, boxes)


# --- homography -------------------------------------------------------------------------------


def apply_h(m: F64, pts: F64) -> F64:
    q = np.c_[pts, np.ones(len(pts))] @ m.T
    out: F64 = q[:, :2] / q[:, 2:]
    return out


def random_ground_to_image(rng: np.random.Generator) -> F64:
    """A camera-like ground -> image map: 20x20 m in front of it fills a 640x480 frame."""
    m = np.array(
        [
            [30.0 + rng.uniform(-5, 5), rng.uniform(-5, 5), 320.0 + rng.uniform(-50, 50)],
            [rng.uniform(-3, 3), -15.0 + rng.uniform(-3, 3), 470.0 + rng.uniform(-10, 10)],
            [rng.uniform(-0.005, 0.005), rng.uniform(0.01, 0.05), 1.0],
        ]
    )
    return m


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 30))
def test_homography_round_trips(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    g2i = random_ground_to_image(rng)
    corners = np.array([(-8.0, 1.0), (8.0, 1.0), (8.0, 18.0), (-8.0, 18.0)])
    ground = np.concatenate([corners, rng.uniform((-8, 1), (8, 18), (n - 4, 2))])
    image = apply_h(g2i, ground)
    h = Homography(image, ground)
    np.testing.assert_allclose(h.to_ground(image), ground, atol=1e-7)
    np.testing.assert_allclose(h.to_image(ground), image, atol=1e-6)
    assert h.reprojection_error(image, ground).max() < 1e-6
    pixels = rng.uniform((0, 240), (640, 480), (200, 2))
    back = h.to_image(h.to_ground(pixels))
    np.testing.assert_allclose(back, pixels, atol=1e-6)
    np.testing.assert_allclose(
        h.matrix, np.linalg.inv(g2i) / np.linalg.inv(g2i)[2, 2], rtol=1e-7, atol=1e-10
    )
    np.testing.assert_allclose(
        h.inverse_matrix @ h.matrix / (h.inverse_matrix @ h.matrix)[0, 0], np.eye(3), atol=1e-9
    )
    # A ground rectangle seen in the image has its true area.
    rect = np.array([(-3.0, 4.0), (5.0, 4.0), (5.0, 10.0), (-3.0, 10.0)])
    assert h.ground_area(apply_h(g2i, rect)) == pytest.approx(48.0, rel=1e-9)
    same = Homography.from_matrix(h.matrix, image[:1])
    np.testing.assert_allclose(same.to_ground(pixels), h.to_ground(pixels), atol=1e-9)


def test_known_square_and_horizon() -> None:
    px = np.array([(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)])
    m = np.array([(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)])
    h = Homography(px, m)
    want = np.array([[0.01, 0.0, -1.0], [0.0, 0.01, -1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(h.matrix, want, atol=1e-15)
    assert h.ground_area(px) == pytest.approx(4.0)
    # With perspective, points above the horizon map to NaN.
    g2i = np.array([[30.0, 0.0, 320.0], [0.0, -15.0, 470.0], [0.0, 0.04, 1.0]])
    ground = np.array([(-5.0, 2.0), (5.0, 2.0), (5.0, 30.0), (-5.0, 30.0)])
    h = Homography(apply_h(g2i, ground), ground)
    horizon_y = apply_h(g2i, np.array([(0.0, 1e9)]))[0, 1]
    sky = np.array([(320.0, horizon_y - 20.0), (320.0, horizon_y + 20.0)])
    out = h.to_ground(sky)
    assert np.isnan(out[0]).all()
    assert np.isfinite(out[1]).all()
    with pytest.raises(ParameterError, match="horizon"):
        h.ground_area(np.array([(0.0, 470.0), (640.0, 470.0), (320.0, horizon_y - 5)]))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ([(0, 0), (1, 1), (2, 2), (3, 3)], "collinear"),
        ([(0, 0), (1, 0), (2, 0), (0, 1)], "collinear"),
        ([(0, 0), (1, 0), (1, 1)], "at least 4"),
        ([(0, 0), (1, 0), (1, np.nan), (0, 1)], "not finite"),
        ([(5, 5)] * 4, "coincide|collinear"),
    ],
)
def test_degenerate_homography_is_rejected(image: list[Point], message: str) -> None:
    ground = np.array([(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)])[: len(image)]
    with pytest.raises(GeometryError, match=message):
        Homography(np.array(image, dtype=np.float64), ground)


# --- density ----------------------------------------------------------------------------------


def ref_density(
    points: F64, origin: Point, cell: float, shape: tuple[int, int], sigma: float
) -> F64:
    """Per-axis Gaussian cell masses (math.erf), truncated at 3 sigma and renormalised."""
    grid = np.zeros(shape)

    def weights(x: float, o: float) -> tuple[int, list[float]]:
        if sigma == 0:
            return math.floor((x - o) / cell), [1.0]
        first = math.floor((x - 3 * sigma - o) / cell)
        last = math.floor((x + 3 * sigma - o) / cell)

        def cdf(e: float) -> float:
            return math.erf(min(max((e - x) / sigma, -3.0), 3.0) / math.sqrt(2))

        w = [cdf(o + (k + 1) * cell) - cdf(o + k * cell) for k in range(first, last + 1)]
        return first, [v / sum(w) for v in w]

    for x, y in points:
        c0, wx = weights(float(x), origin[0])
        r0, wy = weights(float(y), origin[1])
        for i, a in enumerate(wy):
            for j, b in enumerate(wx):
                r, c = r0 + i, c0 + j
                if 0 <= r < shape[0] and 0 <= c < shape[1]:
                    grid[r, c] += a * b / cell**2
    return grid


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 30),
    cell=st.floats(0.25, 2.0),
    sigma=st.floats(0.0, 1.5),
)
def test_density_grid_integrates_to_n_and_matches_reference(
    seed: int, n: int, cell: float, sigma: float
) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(20 / cell), int(30 / cell))
    origin = (-3.0, 2.0)
    margin = 3 * sigma + 1e-9
    lo = (origin[0] + margin, origin[1] + margin)
    hi = (origin[0] + shape[1] * cell - margin, origin[1] + shape[0] * cell - margin)
    pts = rng.uniform(lo, hi, (n, 2))
    grid = density_grid(pts, origin, cell, shape, sigma)
    assert grid.shape == shape
    assert (grid >= 0).all()
    assert grid.sum() * cell**2 == pytest.approx(n, abs=1e-9)
    np.testing.assert_allclose(grid, ref_density(pts, origin, cell, shape, sigma), atol=1e-9)


def test_density_from_boxes_through_the_homography() -> None:
    px = np.array([(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)])
    h = Homography(px, np.array([(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]))
    boxes = np.array([[140.0, 50.0, 160.0, 150.0], [240.0, 150.0, 260.0, 250.0]])
    np.testing.assert_allclose(h.ground_anchors(boxes), [(0.5, 0.5), (1.5, 1.5)])
    grid = h.density(boxes, (0.0, 0.0), 1.0, (2, 2), 0.0)
    np.testing.assert_array_equal(grid, [[1.0, 0.0], [0.0, 1.0]])
    grid = h.density(boxes, (-1.0, -1.0), 0.1, (40, 40), 0.1, anchor="center")
    assert grid.sum() * 0.01 == pytest.approx(2.0)
    # Centres at ground (0.5, 0.0) and (1.5, 1.0): cells (10, 15) and (20, 25) peak equally.
    assert grid[10, 15] == pytest.approx(grid.max())
    assert grid[20, 25] == pytest.approx(grid.max())


# --- dwell ------------------------------------------------------------------------------------


def test_dwell_timer_gaps() -> None:
    zone = np.array([(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)])
    timers = DwellTimers([zone, zone + 100.0], grace_s=1.0)
    inside, outside = np.array([box_at(50, 50)]), np.array([box_at(500, 50)])
    one = np.array([9], np.int64)
    assert timers.update(0.0, one, inside)[2].tolist() == [0.0]
    assert timers.update(2.0, one, inside)[2].tolist() == [2.0]  # consecutive updates
    timers.update(2.5, one, outside)  # out for 0.8 s: within the grace
    ids, zones, dwell = timers.update(2.8, one, inside)
    assert (ids.tolist(), zones.tolist(), dwell.tolist()) == ([9], [0], [2.8])
    timers.update(3.0, one, outside)
    timers.update(4.0, one, outside)  # out for 1.2 s: forgotten
    assert timers.remembered == 0
    assert timers.update(4.5, one, inside)[2].tolist() == [0.0]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), grace=st.floats(0.0, 2.0))
def test_dwell_matches_reference(seed: int, grace: float) -> None:
    rng = np.random.default_rng(seed)
    zones = [star_polygon(rng, 6, convex=False) for _ in range(2)]
    timers = DwellTimers(zones, grace_s=grace, anchor="center")
    verts = [[(float(x), float(y)) for x, y in z] for z in zones]
    stays: dict[tuple[int, int], tuple[float, float]] = {}
    t, prev = 0.0, None
    for _ in range(80):
        t += float(rng.choice([0.1, 0.4, 1.5]))
        ids = np.flatnonzero(rng.random(4) < 0.7).astype(np.int64)
        centres = rng.uniform(10, 110, (len(ids), 2))
        boxes = np.c_[centres - 5, centres + 5]
        want = []
        for tid, b in zip(ids.tolist(), boxes, strict=True):
            x, y = ref_anchor(b, "center")
            for z, poly in enumerate(verts):
                if ref_inside(x, y, poly):
                    entered, last = stays.get((tid, z), (t, t))
                    if last != prev and t - last > grace:
                        entered = t
                    stays[(tid, z)] = (entered, t)
                    want.append((tid, z, t - entered))
        stays = {k: v for k, v in stays.items() if v[1] == t or t - v[1] <= grace}
        prev = t
        got_ids, got_zones, got_dwell = timers.update(t, ids, boxes)
        got = list(zip(got_ids.tolist(), got_zones.tolist(), got_dwell.tolist(), strict=True))
        assert [(a, b) for a, b, _ in got] == [(a, b) for a, b, _ in want]
        np.testing.assert_allclose([c for *_, c in got], [c for *_, c in want], atol=1e-9)
        assert timers.remembered == len(stays)


# --- bad input --------------------------------------------------------------------------------

SQUARE = np.array([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
BOX = np.array([[1.0, 1.0, 2.0, 2.0]])
ONE = np.array([1], np.int64)


@pytest.mark.parametrize(
    ("call", "message", "error"),
    [
        (lambda: boxes_in_polygon(BOX[:, :3], SQUARE), r"\(N, 4\)", FrameError),
        (lambda: boxes_in_polygon(BOX.astype(np.float32), SQUARE), "float64", FrameError),
        (
            lambda: boxes_in_polygon(np.array([[0.0, 0.0, np.nan, 1.0]]), SQUARE),
            "finite",
            FrameError,
        ),
        (
            lambda: boxes_in_polygon(np.array([[2.0, 0.0, 1.0, 1.0]]), SQUARE),
            "x0 <= x1",
            FrameError,
        ),
        (lambda: boxes_in_polygon(BOX, SQUARE, "feet"), "anchor", ParameterError),  # type: ignore[arg-type]
        (lambda: boxes_in_polygon(BOX, SQUARE[:2]), "M >= 3", GeometryError),
        (
            lambda: polygon_area(np.array([(0.0, 0.0), (1.0, np.inf), (0.0, 1.0)])),
            "finite",
            GeometryError,
        ),
        (lambda: LineCounter((0.0, 0.0), (0.0, 0.0)), "differ", ParameterError),
        (
            lambda: LineCounter((0.0, 0.0), (1.0, 0.0), hysteresis_px=-1.0),
            "hysteresis",
            ParameterError,
        ),
        (
            lambda: LineCounter((0.0, 0.0), (1.0, 0.0)).update(ONE.astype(np.int32), BOX),
            "int64",
            FrameError,
        ),
        (
            lambda: LineCounter((0.0, 0.0), (1.0, 0.0)).update(np.array([1, 1]), np.r_[BOX, BOX]),
            "twice",
            FrameError,
        ),
        (
            lambda: LineCounter((0.0, 0.0), (1.0, 0.0)).update(np.array([1, 2]), BOX),
            "entries",
            FrameError,
        ),
        (
            lambda: heading_check(BOX[:, :2], BOX[:, :2], 0.0, 200.0, 0.0),
            "tolerance",
            ParameterError,
        ),
        (lambda: HeadingTracker(0.0, window_s=0.0), "window_s", ParameterError),
        (lambda: HeadingTracker(0.0).update(float("nan"), ONE, BOX), "time_s", FrameError),
        (
            lambda: density_grid(np.array([(np.nan, 0.0)]), (0, 0), 1.0, (2, 2), 0.0),
            "finite",
            FrameError,
        ),
        (
            lambda: density_grid(np.zeros((1, 2)), (0, 0), 0.0, (2, 2), 0.0),
            "cell_m",
            ParameterError,
        ),
        (
            lambda: density_grid(np.zeros((1, 2)), (0, 0), 1.0, (-1, 2), 0.0),
            "shape",
            ParameterError,
        ),
        (
            lambda: density_grid(np.zeros((1, 2)), (0, 0), 1.0, (2, 2), -1.0),
            "sigma_m",
            ParameterError,
        ),
        (lambda: DwellTimers([SQUARE[:2]]), "zones", GeometryError),
        (
            lambda: DwellTimers([np.array([(0.0, 0.0), (2, 2), (2, 0), (0, 2)])]),
            "self-intersecting",
            GeometryError,
        ),
        (lambda: DwellTimers([SQUARE], grace_s=-1.0), "grace_s", ParameterError),
        (lambda: Homography(SQUARE, SQUARE[:3]), "pair", ParameterError),
        (lambda: Homography.from_matrix(np.eye(2), SQUARE), r"\(3, 3\)", ParameterError),
        (lambda: Homography.from_matrix(np.zeros((3, 3)), SQUARE), "singular", GeometryError),
    ],
)
def test_bad_input_raises_its_class(call: object, message: str, error: type[VsaError]) -> None:
    # A per-frame input (boxes, track ids, a timestamp, points) is a FrameError: that frame fails.
    # A parameter fixed at construction is a ParameterError; a degenerate polygon or homography
    # a GeometryError (a ParameterError too).
    assert callable(call)
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error


def test_failed_updates_change_nothing() -> None:
    counter = LineCounter((0.0, 100.0), (200.0, 100.0), hysteresis_px=2.0)
    run_counter(counter, [(100.0, 90.0)])
    with pytest.raises(FrameError):
        counter.update(np.array([1, 1]), np.array([box_at(100, 120)] * 2))
    assert run_counter(counter, [(100.0, 120.0)]) == [1]


# --- scene.py helpers ----------------------------------------------------------------------------


def test_scene_helpers_feed_the_kernels() -> None:
    zone = ZoneGeometry(Zone(id="z", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)]), 200, 100)
    dets = [Detection(10, 0, 30, 50, track_id=4), Detection(150, 0, 170, 50, track_id=5)]
    boxes = boxes_array(dets)
    assert boxes.tolist() == [[10, 0, 30, 50], [150, 0, 170, 50]]
    assert track_ids_array(dets).tolist() == [4, 5]
    assert zone.contains_boxes(boxes).tolist() == [True, False]
    assert zone.inside(dets) == dets[:1]
    assert zone.area_px == 10000.0
    assert boxes_array([]).shape == (0, 4)
    with pytest.raises(ValueError, match="track_id"):
        track_ids_array([Detection(0, 0, 1, 1)])
