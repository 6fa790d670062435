"""The per-frame fast paths of the rules return numpy's bits: each is checked for exact equality
against the straightforward numpy form on random inputs (ties, rounding, NaN, signed zeros)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from vsa_stream.observation import Detection, FlowField, Foreground, Observation
from vsa_stream.rules.crowd_movement import _foreground_cells
from vsa_stream.rules.numeric import mean, median, median_columns, pairwise_sum
from vsa_stream.rules.wrong_way import (
    _edge_distance_one,
    _edges,
    _lane_flags,
    _velocity,
    edge_distance,
)
from vsa_stream.scene import ZoneGeometry


def _velocity_numpy(path: list[tuple[float, tuple[float, float]]]) -> tuple[float, float]:
    """``wrong_way._velocity`` in numpy, its reference: least squares of the points over
    their times."""
    t = np.array([p[0] for p in path])
    xy = np.array([p[1] for p in path])
    t = t - t.mean()
    denom = float((t * t).sum())
    if denom == 0.0:
        return 0.0, 0.0
    v = (t[:, None] * (xy - xy.mean(axis=0))).sum(axis=0) / denom
    return float(v[0]), float(v[1])


def _values(rng: np.random.Generator, n: int, i: int) -> NDArray[np.float64]:
    x = rng.normal(size=n) * 10.0 ** rng.uniform(-3, 6, size=n)
    if i % 4 == 0:
        x = np.round(x, 1)  # ties
    return x


def test_pairwise_sum_is_numpys_sum() -> None:
    rng = np.random.default_rng(7)
    for i in range(3000):
        x = _values(rng, int(rng.integers(0, 400)), i)
        if i % 9 == 0:
            x = -np.abs(x) * 0.0  # negative zeros: numpy starts from +0.0
        assert repr(pairwise_sum(x.tolist())) == repr(float(np.add.reduce(x)))


def test_medians_and_means_are_numpys() -> None:
    rng = np.random.default_rng(8)
    for i in range(2000):
        n = int(rng.integers(1, 400))
        a = np.stack([_values(rng, n, i), _values(rng, n, i + 1)], axis=1)
        if i % 50 == 0:
            a[rng.integers(n), rng.integers(2)] = np.nan
        # the values, NaN where numpy's is (the sign of a zero between equal middle values
        # is not numpy's either: its partition does not order 0.0 and -0.0)
        assert np.array_equal(median_columns(a), np.median(a, axis=0), equal_nan=True)
        col = a[:, 0]
        assert np.array_equal(median(col), np.median(col), equal_nan=True)
        if not np.isnan(col).any():
            assert mean(col) == float(np.mean(col))
            assert mean(col.astype(np.float32)) == float(np.mean(col.astype(np.float32)))
            assert mean(col > 0) == float(np.mean(col > 0))
            # plain floats: an event's values are encoded, and msgspec refuses numpy scalars
            for value in (mean(col), mean(col > 0), mean(col.astype(np.float32)), median(col)):
                assert type(value) is float


def test_velocity_is_the_numpy_fit_bit_for_bit() -> None:
    rng = np.random.default_rng(9)
    for i in range(3000):
        n = int(rng.integers(1, 80))
        step = float(rng.choice([0.1, 0.04, 1 / 30, 0.2]))
        t = rng.uniform(0, 1000) + np.arange(n) * step
        if i % 3:
            t = t + rng.normal(0, 0.001, n)
        if i % 11 == 0:
            t = np.full(n, t[0])  # no time spread: no velocity
        xy = rng.uniform(0, 1280, (n, 2))
        if i % 5 == 0:
            xy[:, 1] = xy[0, 1]  # a level walk: a zero component, whose sign must match
        if i % 7 == 0:
            xy = np.round(xy)
        path = [(float(a), (float(b[0]), float(b[1]))) for a, b in zip(t, xy, strict=True)]
        assert repr(_velocity(path)) == repr(_velocity_numpy(path))


def test_edge_distance_of_one_point_is_the_batched_one() -> None:
    rng = np.random.default_rng(10)
    for i in range(2000):
        polygon = rng.uniform(-50, 700, (int(rng.integers(3, 9)), 2))
        if i % 5 == 0:
            polygon = np.round(polygon)
        points = rng.uniform(-100, 800, (6, 2))
        if i % 5 == 0:
            points = np.round(points)
        expected = edge_distance(points, polygon)
        edges = _edges(polygon)
        for j, (x, y) in enumerate(points.tolist()):
            assert _edge_distance_one(x, y, edges) == expected[j]


def test_lane_flags_one_entry_at_a_time_equal_all_at_once() -> None:
    """The runner judges a track's new entry alone, frame by frame: the same flags as the
    whole history judged at once."""
    from vsa_stream.config import Zone

    rng = np.random.default_rng(11)
    for anchor in ("bottom_center", "center"):
        zone = ZoneGeometry(
            Zone(
                id="lane", polygon=[(0.1, 0.2), (0.9, 0.25), (0.8, 0.9), (0.2, 0.8)], anchor=anchor
            ),
            640,
            360,
        )
        edges = _edges(zone.polygon)
        entries = []
        for k in range(400):
            x0, y0 = rng.uniform(0, 620), rng.uniform(0, 330)
            w, h = rng.uniform(2, 60), rng.uniform(2, 90)
            if k % 3 == 0:
                x0, y0, w, h = round(x0), round(y0), round(w), round(h)
            entries.append((k * 0.1, Detection(x0, y0, x0 + w, y0 + h, None, 1.0, 1)))
        at_once = _lane_flags(entries, zone, edges)
        alone = [_lane_flags([e], zone, edges)[0] for e in entries]
        assert [f[1:] for f in alone] == [f[1:] for f in at_once]
        assert any(f[3] for f in at_once)  # in the lane and out of it both occur
        assert not all(f[3] for f in at_once)


@pytest.mark.parametrize(
    ("k", "rows", "cols", "mask_shape"),
    [(12, 15, 26, (180, 320)), (4, 9, 16, (34, 60)), (1, 5, 7, (5, 7))],
)
def test_foreground_cells_are_the_straightforward_fractions(
    k: int, rows: int, cols: int, mask_shape: tuple[int, int]
) -> None:
    rng = np.random.default_rng(12)
    factor = 4
    for density in (0.0, 0.01, 0.05, 0.3):
        mask = ((rng.random(mask_shape) < density) * rng.integers(1, 256, mask_shape)).astype(
            np.uint8
        )
        flow = FlowField(
            k * factor,
            np.zeros((rows, cols, 2), np.float32),
            np.ones((rows, cols), np.float32),
            np.zeros((rows, cols), np.float32),
            1,
        )
        size = (cols * k * factor, rows * k * factor)
        obs = Observation("c", 0, 0.0, 0.0, *size, [], foreground=Foreground(factor, mask))
        # reference: the mask padded to the grid, the on pixels of each k x k cell over k * k
        grid = np.zeros((rows * k, cols * k), bool)
        h, w = min(rows * k, mask_shape[0]), min(cols * k, mask_shape[1])
        grid[:h, :w] = mask[:h, :w] != 0
        counts = grid.reshape(rows, k, cols, k).sum(axis=(1, 3))
        fraction = counts.astype(np.float32) / np.float32(k * k)
        cells = _foreground_cells(obs, flow)
        assert cells is not None
        assert np.array_equal(cells, fraction >= 0.05)
        if density in (0.0, 0.3):  # both outcomes are exercised
            assert cells.any() == (density == 0.3)


def test_is_person_vectorised_equals_the_person_by_person_test() -> None:
    """abandoned_object asks whether a static region is a person keeping still against every
    person remembered over 10 s at once: the same answer as asking them one by one."""
    from vsa_stream.config import AbandonedObjectRule
    from vsa_stream.rules.abandoned_object import (
        _PERSON_MEMORY_S,
        AbandonedObjectRunner,
        _area,
        _box,
        _covered,
        _Past,
    )

    rng = np.random.default_rng(13)
    height = 480
    answers = set()
    for trial in range(60):
        runner = AbandonedObjectRunner("cam", AbandonedObjectRule(), [])
        runner._now = 20.0
        for k in range(int(rng.integers(0, 150))):
            people = []
            for _ in range(int(rng.integers(0, 6))):
                x0, y0 = rng.uniform(0, 600), rng.uniform(0, 440)
                w, h = rng.uniform(4, 120), rng.uniform(4, 200)
                if trial % 2:
                    x0, y0, w, h = round(x0), round(y0), round(w), round(h)
                label = "person" if rng.random() < 0.2 else None
                people.append(Detection(x0, y0, x0 + w, y0 + h, label, 1.0, k))
                if label == "person":
                    runner._scale.append((y0 + h, h))
                    runner._scale_arrays = None
            runner._history.appendleft(_Past(20.0 - 0.1 * k, people))
        for past in runner._history:
            runner._rows.push(past)  # as the runner remembers them, oldest first
        for _ in range(20):
            x0, y0 = rng.uniform(0, 600), rng.uniform(0, 440)
            box = (x0, y0, x0 + rng.uniform(4, 60), y0 + rng.uniform(4, 40))
            obs = Observation("cam", 0, 20.0, 0.0, 640, height, [])
            expected = runner._person_shaped(box, height) or any(
                _covered(box, _box(p)) >= 0.3
                and _area(box) >= 0.6 * _area(_box(p))
                and (p.label == "person" or runner._person_shaped(_box(p), height))
                for past in runner._history
                if runner._now - past.time_s <= _PERSON_MEMORY_S
                for p in past.people
            )
            assert runner._is_person(obs, box) == expected
            answers.add(expected)
    assert answers == {True, False}


def test_person_shape_from_the_scale_arrays_equals_the_scan() -> None:
    import statistics

    from vsa_stream.config import AbandonedObjectRule
    from vsa_stream.rules.abandoned_object import (
        _FLAT,
        _LYING,
        _PERSON_FRAME,
        _SITTING,
        _TALL,
        AbandonedObjectRunner,
    )

    def reference(scale: list[tuple[float, float]], box: tuple[float, ...], frame_h: int) -> bool:
        w, h = box[2] - box[0], box[3] - box[1]
        if h >= _TALL * w or w >= _FLAT * h:
            return True
        near = [ph for y, ph in scale if abs(y - box[3]) <= 0.1 * frame_h]
        if len(near) < 5:
            return h >= _SITTING * _PERSON_FRAME * frame_h
        person_h = statistics.median(near)
        return h >= _SITTING * person_h or w >= _LYING * person_h

    rng = np.random.default_rng(14)
    runner = AbandonedObjectRunner("cam", AbandonedObjectRule(), [])
    answers = set()
    for _ in range(3000):
        y, h = float(rng.uniform(50, 480)), float(rng.uniform(20, 200))
        runner._scale.append((round(y) if rng.random() < 0.5 else y, h))
        runner._scale_arrays = None
        x0, y0 = rng.uniform(0, 600), rng.uniform(0, 440)
        box = (x0, y0, x0 + rng.uniform(4, 90), y0 + rng.uniform(4, 60))
        got = runner._person_shaped(box, 480)
        assert got == reference(list(runner._scale), box, 480)
        answers.add(got)
    assert answers == {True, False}


def test_arrived_alone_vectorised_equals_the_track_by_track_test() -> None:
    """Whether a static region's blob moved in by itself, over 30 s of remembered tracks at
    once: the same answer as the person-by-person scan."""
    from vsa_stream.config import AbandonedObjectRule
    from vsa_stream.rules.abandoned_object import AbandonedObjectRunner, _Past

    rng = np.random.default_rng(15)
    answers = set()
    for trial in range(80):
        runner = AbandonedObjectRunner("cam", AbandonedObjectRule(), [])
        frames: list[list[Detection]] = [[] for _ in range(int(rng.integers(1, 120)))]
        ends = []
        for track in range(int(rng.integers(0, 8))):
            w, h = rng.uniform(10, 80), rng.uniform(10, 80)
            start, end = rng.uniform(0, 500, 2), rng.uniform(0, 500, 2)
            first = int(rng.integers(0, len(frames)))
            label = None if rng.random() < 0.8 else "person"
            for k in range(first, len(frames)):
                f = (k - first) / max(1, len(frames) - 1 - first)
                x, y = start + f * (end - start) + rng.normal(0, 1, 2)
                grow = 1.0 if rng.random() < 0.7 else rng.uniform(0.3, 3.0)
                if trial % 2:
                    x, y = round(x), round(y)
                box = (x, y, x + w * grow, y + h * grow)
                frames[k].append(Detection(*box, label, 1.0, track))
            ends.append((end[0], end[1], end[0] + w, end[1] + h))
        for k, people in enumerate(frames):
            runner._history.append(_Past(float(k) * 0.1, people))
            runner._rows.push(runner._history[-1])
        regions = [*ends, *[(*rng.uniform(0, 500, 2).tolist(), 0.0, 0.0) for _ in range(3)]]
        for x0, y0, x1, y1 in regions:
            box = (x0, y0, max(x1, x0 + 20.0), max(y1, y0 + 20.0))
            expected = runner._arrived_alone_reference(box)
            assert runner._arrived_alone(box) == expected
            answers.add(expected)
    assert answers == {True, False}


def test_rows_follow_the_history_through_adds_drops_and_reads() -> None:
    from vsa_stream.rules.abandoned_object import _Past, _Rows

    rng = np.random.default_rng(16)
    rows, history = _Rows(), []
    for k in range(1500):
        people = [
            Detection(float(k), float(j), k + 5.0, j + 9.0, None if j % 2 else "person", 1.0, j)
            for j in range(int(rng.integers(0, 4)))
        ]
        history.append(_Past(k * 0.1, people))
        rows.push(history[-1])
        while len(history) > 40 or (history and rng.random() < 0.1):
            rows.drop(len(history.pop(0).people))
        if rng.random() < 0.05 or k == 1499:  # read now and then (and past the pending bound)
            expected = [p for past in history for p in past.people]
            got = rows.synced()
            assert got.people == expected
            assert got.boxes.tolist() == [[p.x0, p.y0, p.x1, p.y1] for p in expected]
            assert got.blob.tolist() == [p.label is None for p in expected]
            assert got.ids.tolist() == [p.track_id for p in expected]
            assert got.times.tolist() == [past.time_s for past in history for _ in past.people]
