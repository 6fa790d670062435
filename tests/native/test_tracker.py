"""The Rust tracker through its binding: assignment, motion, id stability, classes, errors."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from vsa_stream import config
from vsa_stream._core import Tracker, linear_assignment
from vsa_stream.config import TrackingConfig
from vsa_stream.errors import ConfigError, FrameError
from vsa_stream.perception.objects import RecordedTracker

CONFIRMED, LOST = 1, 2


def box(cx: float, cy: float, w: float = 30.0, h: float = 60.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def dets(*boxes: list[float]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.array(boxes, dtype=np.float64).reshape(-1, 4), np.full(len(boxes), 0.9)


def objective(cost: NDArray[np.float64], limit: float, rows: list[int], cols: list[int]) -> float:
    """Matched cost plus limit/2 for each unmatched row and column (lap's cost_limit)."""
    n, m = cost.shape
    k = len(rows)
    matched = float(sum(cost[r, c] for r, c in zip(rows, cols, strict=True)))
    return matched + limit / 2 * float(n + m - 2 * k)


def brute_force(cost: NDArray[np.float64], limit: float) -> float:
    """The best objective over every partial matching of pairs under the limit."""
    n, m = cost.shape
    best = math.inf
    for k in range(min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                if all(cost[r, c] < limit for r, c in zip(rows, cols, strict=True)):
                    best = min(best, objective(cost, limit, list(rows), list(cols)))
    return best


matrices = st.tuples(st.integers(0, 5), st.integers(0, 5)).flatmap(
    lambda shape: st.lists(
        st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.8, 0.95, 1.0, 2.0]),
        min_size=shape[0] * shape[1],
        max_size=shape[0] * shape[1],
    ).map(lambda v: np.array(v, dtype=np.float64).reshape(shape))
)


@settings(max_examples=300, deadline=None)
@given(cost=matrices, limit=st.sampled_from([0.3, 0.8, 1.0, 1.5]))
def test_assignment_is_optimal_against_brute_force(cost: NDArray[np.float64], limit: float) -> None:
    rows, cols = linear_assignment(cost, limit)
    assert len(set(cols.tolist())) == len(cols)
    assert all(cost[r, c] < limit for r, c in zip(rows, cols, strict=True))
    got = objective(cost, limit, rows.tolist(), cols.tolist())
    assert got == pytest.approx(brute_force(cost, limit), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 2**32 - 1),
)
def test_unlimited_assignment_matches_scipy(shape: tuple[int, int], seed: int) -> None:
    cost = np.random.default_rng(seed).random(shape)
    rows, cols = linear_assignment(cost)
    want_rows, want_cols = linear_sum_assignment(cost)
    assert len(rows) == min(shape)
    assert cost[rows, cols].sum() == pytest.approx(cost[want_rows, want_cols].sum())


def test_constant_motion_is_learnt_and_predicted_through_misses() -> None:
    tracker = Tracker(frame_rate=25.0)
    for f in range(30):
        batch = tracker.update(*dets(box(100 + 4 * f, 300 - 2 * f)))
    assert batch.ids.tolist() == [1]
    np.testing.assert_allclose(batch.velocities[0], [4.0, -2.0], atol=0.1)
    for _ in range(5):  # no detection: the lost track keeps moving on its prediction
        batch = tracker.update(*dets(), include_lost=True)
    assert batch.states.tolist() == [LOST]
    assert batch.time_since_update.tolist() == [5]
    np.testing.assert_allclose(batch.boxes[0], box(100 + 4 * 34, 300 - 2 * 34), atol=1.0)
    path = tracker.path(1)
    assert path.shape == (30, 2)
    np.testing.assert_allclose(path[-1], [100 + 4 * 29, 300 - 2 * 29 + 30], atol=1.0)


def test_short_miss_keeps_id_and_long_miss_ends_track() -> None:
    tracker = Tracker(frame_rate=10.0, lost_s=1.0)
    for f in range(10):
        tracker.update(*dets(box(50 + 5 * f, 100)))
    for _ in range(4):
        assert len(tracker.update(*dets())) == 0
    batch = tracker.update(*dets(box(50 + 5 * 14, 100)))
    assert batch.ids.tolist() == [1]
    assert batch.det_index.tolist() == [0]
    removed = None
    for _ in range(11):
        removed = tracker.update(*dets(), include_removed=True)
    assert removed is not None
    assert removed.states.tolist() == [3]
    assert len(tracker) == 0
    with pytest.raises(KeyError):
        tracker.path(1)


def test_crossing_objects_keep_their_ids() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(1)
    for f in range(60):
        a, b = box(50 + 5 * f, 100), box(350 - 5 * f, 108)
        order = [b, a] if f % 2 else [a, b]
        boxes = np.array(order) + rng.normal(0, 0.5, (2, 4))
        batch = tracker.update(boxes, np.array([0.9, 0.85]))
        if f == 0:
            first = dict(zip(batch.det_index.tolist(), batch.ids.tolist(), strict=True))
            id_a = first[0]
        is_a = [(d == 0) != bool(f % 2) for d in batch.det_index.tolist()]
        ids_a = [i for i, x in zip(batch.ids.tolist(), is_a, strict=True) if x]
        assert ids_a == [id_a], f"frame {f}"


def test_same_detections_same_ids() -> None:
    rng = np.random.default_rng(4)
    frames = []
    for f in range(40):
        keep = rng.random(25) > 0.15
        boxes = np.array([box(30 * i + 2 * f, 100 + 5 * i) for i in range(25)])[keep]
        frames.append((boxes + rng.normal(0, 1, boxes.shape), rng.uniform(0.2, 1.0, len(boxes))))

    def run() -> list[tuple[int, ...]]:
        tracker = Tracker()
        out = []
        for boxes, scores in frames:
            batch = tracker.update(boxes, scores)
            out.append(tuple(batch.ids.tolist()) + tuple(batch.det_index.tolist()))
        return out

    first = run()
    assert len(set(itertools.chain.from_iterable(first))) > 10
    assert first == run()


def test_detections_only_continue_tracks_of_their_class() -> None:
    tracker = Tracker()
    same = np.array([box(100, 100), box(101, 100)])
    for _ in range(5):
        batch = tracker.update(same, np.array([0.9, 0.9]), np.array([0, 7]))
    assert batch.classes.tolist() == [0, 7]
    for _ in range(5):  # the class-0 object disappears; class 7 must not take its place
        batch = tracker.update(same[:1], np.array([0.9]), np.array([7]), include_lost=True)
    cls = dict(zip(batch.ids.tolist(), batch.classes.tolist(), strict=True))
    states = dict(zip(batch.ids.tolist(), batch.states.tolist(), strict=True))
    assert (states[1], cls[1]) == (LOST, 0)
    assert (states[2], cls[2]) == (CONFIRMED, 7)


def test_tentative_tracks_wait_for_a_second_hit() -> None:
    tracker = Tracker()
    tracker.update(*dets(box(100, 100)))  # first frame: confirmed at once (ByteTrack)
    batch = tracker.update(*dets(box(100, 100), box(400, 100)), include_tentative=True)
    assert batch.states.tolist() == [CONFIRMED, 0]
    assert len(tracker.update(*dets(box(100, 100), box(400, 100)))) == 2
    tracker.reset()
    assert tracker.frame == 0
    assert tracker.update(*dets(box(5, 5))).ids.tolist() == [1]


@pytest.mark.parametrize(
    ("boxes", "scores", "classes", "message"),
    [
        (np.zeros((2, 3)), np.zeros(2), None, "shape (N, 4)"),
        (np.zeros((2, 4), np.float32), np.zeros(2), None, "dtype float64"),
        (np.zeros((2, 4)), np.zeros(3), None, "same length"),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(2, np.int32), "dtype int64"),
        (np.array([[0.0, 0.0, np.nan, 1.0]]), np.ones(1), None, "NaN"),
        (np.array([[5.0, 0.0, 1.0, 1.0]]), np.ones(1), None, "x0 <= x1"),
        ([[0.0, 0.0, 1.0, 1.0]], np.ones(1), None, "numpy array"),
    ],
)
def test_bad_arrays_raise_frame_error(
    boxes: NDArray[np.float64],
    scores: NDArray[np.float64],
    classes: NDArray[np.int64] | None,
    message: str,
) -> None:
    tracker = Tracker()
    with pytest.raises(FrameError, match=re.escape(message)):
        tracker.update(boxes, scores, classes)
    assert tracker.frame == 0


def test_bad_parameters_raise_value_error() -> None:
    with pytest.raises(ValueError, match="frame_rate"):
        Tracker(frame_rate=0.0)
    with pytest.raises(ValueError, match="min_hits"):
        Tracker(min_hits=0)


def walker(frame: int) -> NDArray[np.float64]:
    """One person (30 x 60 px) walking right, 12 px per update (5 detections/s)."""
    return np.array([box(100 + 12 * frame, 200)], dtype=np.float64)


def test_an_object_seen_every_frame_at_weak_scores_is_tracked_within_a_second() -> None:
    # A detector scoring a far or dark person 0.35-0.55, never reaching new_track_thresh.
    scores = [0.38, 0.52, 0.41, 0.55, 0.36, 0.47, 0.44, 0.50]
    tracker = Tracker(frame_rate=5.0)
    reported = [tracker.update(walker(f), np.array([s])).ids.tolist() for f, s in enumerate(scores)]
    # Matched 3 times in a row (tentative_hits), then once it has moved its size (42 px).
    assert reported == [[], [], [], [], [1], [1], [1], [1]]
    # Until confirmed, it is there only for whoever asks for tentative tracks.
    tracker = Tracker(frame_rate=5.0)
    batch = tracker.update(walker(0), np.array([0.4]), include_tentative=True)
    assert (batch.ids.tolist(), batch.states.tolist()) == ([1], [0])


def test_weak_one_frame_detections_never_become_tracks() -> None:
    tracker = Tracker(frame_rate=5.0)
    rng = np.random.default_rng(7)
    for f in range(300):
        # A weak false detection somewhere new in most frames (a reflection, a shadow).
        n = int(rng.integers(0, 3))
        centres = rng.uniform([0, 0], [640, 480], size=(n, 2))
        boxes = np.array([box(x, y) for x, y in centres], dtype=np.float64).reshape(-1, 4)
        batch = tracker.update(boxes, rng.uniform(0.3, 0.59, n))
        assert len(batch) == 0, f"frame {f}"
    # Twice at the same place, then gone, is not enough either (tentative_hits = 3).
    for scores in ([0.5], [0.5], []):
        batch = tracker.update(walker(0)[: len(scores)], np.array(scores))
        assert len(batch) == 0


def test_weak_starts_can_be_switched_off_and_are_checked() -> None:
    tracker = Tracker(frame_rate=5.0, tentative_thresh=0.6)
    for f in range(10):
        assert len(tracker.update(walker(f), np.array([0.5]))) == 0
    with pytest.raises(ValueError, match=re.escape("tentative_thresh (0.7) must not exceed")):
        Tracker(tentative_thresh=0.7)
    with pytest.raises(ValueError, match="tentative_hits"):
        Tracker(tentative_hits=0)


def test_the_tracking_section_reaches_a_camera_tracker_and_is_checked() -> None:
    weak = [(tuple(walker(f)[0].tolist()), 0.45) for f in range(6)]

    def tracked(tracking: TrackingConfig) -> list[list[int | None]]:
        recorded = RecordedTracker(tracking, 5.0, "person")
        return [[d.track_id for d in recorded.track([b], [s])] for b, s in weak]

    assert tracked(TrackingConfig()) == [[], [], [], [], [1], [1]]
    assert tracked(TrackingConfig(tentative_travel=0.0)) == [[], [], [1], [1], [1], [1]]
    assert tracked(TrackingConfig(tentative_travel=0.0, tentative_hits=4)) == [[]] * 3 + [[1]] * 3
    assert tracked(TrackingConfig(tentative_score=0.6)) == [[]] * 6
    text = (
        "privacy: {legal_profile: lab}\n"
        "cameras: [{id: a, url: a.mp4}]\ntracking: {new_track_score: 0.5, tentative_score: 0.55}"
    )
    with pytest.raises(ConfigError) as info:
        config.loads(text, source="c.yaml", env={})
    assert info.value.path == "tracking.tentative_score"
    assert "must not exceed new_track_score (0.5)" in info.value.message


def test_a_weak_detection_that_stays_in_place_is_not_reported() -> None:
    # A sign the detector takes for a person at 0.48-0.51 in every frame (PETS 2009 has one).
    sign = np.array([box(25, 80, 11, 21)], dtype=np.float64)
    tracker = Tracker(frame_rate=10.0)
    for f in range(200):
        assert len(tracker.update(sign + f % 2, np.array([0.48 + 0.01 * (f % 4)]))) == 0
    still = Tracker(frame_rate=10.0, tentative_travel=0.0)
    assert [len(still.update(sign, np.array([0.5]))) for _ in range(4)] == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="tentative_travel"):
        Tracker(tentative_travel=-0.5)
