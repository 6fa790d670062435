"""weapon (k of n frames) and fire (real Rust fire evidence on generated planes) rules."""

from __future__ import annotations

import numpy as np
import pytest

from scripted import box, opens, run
from vsa_stream import _core
from vsa_stream.config import FireRule, WeaponRule, Zone
from vsa_stream.observation import Detection, FireEvidence
from vsa_stream.rules.fire import FireRunner
from vsa_stream.rules.weapon import WeaponRunner

KNIFE = box(400, 300, 20, 40, label="weapon", score=0.8, track_id=3)
WEAK = box(400, 300, 20, 40, label="weapon", score=0.3, track_id=3)
BLOB = box(400, 300, 20, 40)


def weapon(**kw: object) -> WeaponRunner:
    return WeaponRunner("cam", WeaponRule(**kw), [])  # type: ignore[arg-type]


def frames(pattern: str, det: Detection = KNIFE) -> list[list[Detection]]:
    return [[det] if c == "1" else [] for c in pattern]


def test_weapon_k_of_n_frames_alerts_on_the_kth_frame() -> None:
    events = run(weapon(k=3, n=5), frames("0011010000" + "0" * 30))
    assert [e.state for e in events] == ["open", "closed"]
    opened = events[0]
    assert opened.evidence.frame_index == 5  # third sighting among frames 1..5
    assert opened.evidence.values["frames"] == 3.0
    assert opened.evidence.values["score"] == 0.8
    assert opened.evidence.track_ids == [3]


def test_weapon_single_frame_false_detections_low_scores_and_blobs_never_alert() -> None:
    assert run(weapon(k=3, n=5), frames("1000100010001000100010001")) == []
    assert run(weapon(), frames("1" * 50, WEAK)) == []
    assert run(weapon(), frames("1" * 50, BLOB)) == []
    assert len(opens(run(weapon(min_score=0.2), frames("1" * 50, WEAK)))) == 1


def test_weapon_zones() -> None:
    zone = Zone(id="gate", polygon=[(0.0, 0.0), (0.25, 0.0), (0.25, 0.25)])
    r = WeaponRunner("cam", WeaponRule(zones=["gate"]), [zone])
    assert run(r, frames("1" * 20)) == []


# --- fire: the Rust kernel on generated yuv420p planes (tests/native/test_fire.py's scenes) -------


def planes(
    t: int, mode: str, rng: np.random.Generator, grow: bool = False
) -> tuple[np.ndarray, ...]:
    y = np.full((120, 160), 90, np.uint8)
    u = np.full((60, 80), 128, np.uint8)
    v = np.full((60, 80), 128, np.uint8)
    on = mode != "blink" or (t * 2 * 2 // 30) % 2 == 0  # 2 Hz emergency light at 30 fps
    if on:
        width = 16 if mode != "flicker" else int(rng.integers(6, 16))
        if grow:
            width = min(30, 4 + t // 6 + int(rng.integers(0, 4)))
        luma = 200 if mode != "flicker" else int(rng.integers(140, 250))
        u[24:40, 32 : 32 + width] = 80
        v[24:40, 32 : 32 + width] = 180
        y[48:80, 64 : 64 + 2 * width] = luma
    return y, u, v


def fire_frames(
    mode: str, n: int = 150, grow: bool = False
) -> list[tuple[list[Detection], dict[str, object]]]:
    rng = np.random.default_rng(1)
    det = _core.FireDetector(160, 120)
    out: list[tuple[list[Detection], dict[str, object]]] = []
    for t in range(n):
        r = det.update(*planes(t, mode, rng, grow))
        out.append(([], {"fire": FireEvidence(16, r.score, r.colour, r.growth)}))
    return out


def fire(**kw: object) -> FireRunner:
    return FireRunner("cam", FireRule(**kw), [])  # type: ignore[arg-type]


def test_flickering_flame_alerts_after_min_duration() -> None:
    events = run(fire(min_duration_s=1.0), fire_frames("flicker"), fps=30, size=(160, 120))
    (opened,) = opens(events)
    v = opened.evidence.values
    assert v["score"] >= 0.5
    assert v["cells"] >= 1
    assert opened.evidence.stream_time_s - opened.start_s >= 1.0 - 1e-6
    assert opened.evidence.stream_time_s <= 3.0  # window fill (1 s) + 1 s + slack
    x0, y0, x1, y1 = opened.evidence.boxes[0]
    assert x0 <= 64 / 160 < x1
    assert y0 <= 48 / 120 < y1


@pytest.mark.parametrize("mode", ["static", "blink", "reflection"])
def test_red_sign_flashing_light_and_reflection_never_alert(mode: str) -> None:
    assert run(fire(min_duration_s=1.0), fire_frames(mode), fps=30, size=(160, 120)) == []


def test_growth_requirement() -> None:
    steady = fire_frames("flicker")
    growing = fire_frames("flicker", grow=True)
    strict = {"min_duration_s": 1.0, "min_growth": 0.3}
    assert opens(run(fire(**strict), steady, fps=30, size=(160, 120))) == []
    assert len(opens(run(fire(**strict), growing, fps=30, size=(160, 120)))) == 1


def test_fire_and_smoke_classes_of_a_detector() -> None:
    smoke = [[box(400, 300, 60 + i, 60 + i, label="smoke", score=0.7)] for i in range(40)]
    (opened,) = opens(run(fire(), smoke))
    assert opened.evidence.values["class_score"] == 0.7
    assert opened.start_s == 0.0
    assert opened.evidence.stream_time_s == 2.0
    weak = [[box(400, 300, 60, 60, label="smoke", score=0.3)]] * 40
    assert run(fire(), weak) == []


# --- fire regions: scripted evidence on a 640x480 frame (16-pixel cells: 30 x 40) ----------

GRID = (30, 40)
Frames = list[tuple[list[Detection], dict[str, object]]]


def evidence(
    cells: list[tuple[int, int]],
    rng: np.random.Generator,
    periodicity: float = 0.0,
) -> FireEvidence:
    """Flickering fire evidence on ``cells``: scores 0.7-1, colour fractions 0.3-0.9."""
    score = np.zeros(GRID, np.float32)
    colour = np.zeros(GRID, np.float32)
    for r, c in cells:
        score[r, c] = rng.uniform(0.7, 1.0)
        colour[r, c] = rng.uniform(0.3, 0.9)
    period = np.full(GRID, periodicity, np.float32)
    return FireEvidence(16, score, colour, np.zeros(GRID, np.float32), period)


def block(row: int, col: int, rows: int, cols: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(row, row + rows) for c in range(col, col + cols)]


def walker(t: int, **kw: object) -> Detection:
    """A person walking right at 60 px/s (6 px per frame at 10 fps), 60x160 px."""
    return box(100 + 6 * t, 400, 60, 160, **kw)


def shirt(t: int) -> list[tuple[int, int]]:
    """The cells of the walker's orange shirt: 2 rows x 3 cols around the box's centre."""
    return block(17, int((100 + 6 * t) / 16) - 1, 2, 3)


def test_fire_coloured_region_moving_with_a_tracked_person_never_alerts() -> None:
    rng = np.random.default_rng(2)
    person: Frames = [
        ([walker(t, label="person", track_id=1)], {"fire": evidence(shirt(t), rng)})
        for t in range(60)
    ]
    assert run(fire(), person, size=(640, 480)) == []
    # ... by the box that carries it alone, whatever the drift allowed
    assert run(fire(max_drift=100.0), person, size=(640, 480)) == []
    # the same shirt without a detector: the region itself travels (centroid drift)
    alone: Frames = [([], {"fire": evidence(shirt(t), rng)}) for t in range(60)]
    assert run(fire(), alone, size=(640, 480)) == []
    # a flame burning in place beside the walker (his box never covers it) alerts
    beside: Frames = [
        (
            [walker(t, label="person", track_id=1)],
            {"fire": evidence(block(5, 30, 2, 2), rng)},
        )
        for t in range(60)
    ]
    (opened,) = opens(run(fire(), beside, size=(640, 480)))
    assert opened.evidence.stream_time_s == pytest.approx(2.0)
    # a person standing at a flame, their box over it (a firefighter lighting it): the flame
    # does not travel with the box, so it is no shirt
    tending = [
        ([box(488, 112, 60, 100, label="person", track_id=2)], {"fire": evidence(flame, rng)})
        for flame in [block(5, 29, 2, 2)] * 60
    ]
    (opened,) = opens(run(fire(), tending, size=(640, 480)))
    assert opened.evidence.stream_time_s == pytest.approx(2.0)


def test_single_isolated_cell_never_alerts() -> None:
    rng = np.random.default_rng(3)
    lone: Frames = [([], {"fire": evidence([(10, 10)], rng)}) for _ in range(60)]
    assert run(fire(), lone, size=(640, 480)) == []


def test_growing_irregular_flickering_region_alerts() -> None:
    rng = np.random.default_rng(4)
    frames: Frames = []
    for t in range(60):
        size = 1 + t // 12  # grows from 1x2 to 5x6 cells over 6 s
        core = block(20 - size, 20, size, size + 1)
        ragged = [(r - 1, c) for r, c in core if r == 20 - size and rng.uniform() < 0.5]
        frames.append(([], {"fire": evidence(core + ragged, rng, rng.uniform(0.0, 0.4))}))
    (opened,) = opens(run(fire(), frames, size=(640, 480)))
    assert opened.evidence.stream_time_s <= 3.0
    assert opened.evidence.values["drift"] <= 1.0


def chase_sign(t: int) -> tuple[np.ndarray, ...]:
    """A 160x120 night scene with a neon letter whose bulbs chase in a 0.8 s cycle (10 fps):
    the lit part of its 32x32 px cell block sweeps wide and narrow, brightening and dimming."""
    y = np.full((120, 160), 40, np.uint8)
    u = np.full((60, 80), 128, np.uint8)
    v = np.full((60, 80), 128, np.uint8)
    width = (16, 13, 10, 7, 5, 7, 10, 13)[t % 8]
    u[24:40, 32 : 32 + width] = 80
    v[24:40, 32 : 32 + width] = 180
    y[48:80, 64 : 64 + 2 * width] = (240, 225, 205, 185, 165, 185, 205, 225)[t % 8]
    return y, u, v


def test_periodic_chasing_sign_never_alerts_a_flame_does() -> None:
    det = _core.FireDetector(160, 120, window=10, period_window=60)
    sign: Frames = []
    for t in range(200):
        r = det.update(*chase_sign(t))
        sign.append(([], {"fire": FireEvidence(16, r.score, r.colour, r.growth, r.periodicity)}))
    scores = [e.score for _, s in sign if isinstance(e := s["fire"], FireEvidence)]
    assert max(float(s.max()) for s in scores) >= 0.5  # it scores like a flame
    assert run(fire(), sign, fps=10, size=(160, 120)) == []
    rng = np.random.default_rng(1)
    det = _core.FireDetector(160, 120, window=10, period_window=60)
    flame: Frames = []
    for t in range(200):
        r = det.update(*planes(t, "flicker", rng))
        flame.append(([], {"fire": FireEvidence(16, r.score, r.colour, r.growth, r.periodicity)}))
    assert len(opens(run(fire(), flame, fps=10, size=(160, 120)))) == 1


def test_small_flame_hovering_around_the_threshold_alerts() -> None:
    """A small flame whose cells score 0.6 for half a second, then 0.4 for 0.8 s, and so on:
    the region lives on while it scores 0.7 of ``min_score`` (hysteresis), so it alerts."""
    rng = np.random.default_rng(5)
    frames: Frames = []
    for t in range(60):
        ev = evidence(block(12, 12, 2, 2), rng)
        ev.score[ev.score > 0] = 0.6 if t % 13 < 5 else 0.4
        frames.append(([], {"fire": ev}))
    (opened,) = opens(run(fire(), frames, size=(640, 480)))
    assert opened.evidence.stream_time_s == pytest.approx(2.0)
    # cells falling to 0.3 between the bursts while the place stays fire-coloured: the flame's
    # region keeps its age through the gaps (as the event's condition does), so it alerts
    for _, signals in frames:
        low = signals["fire"]
        assert isinstance(low, FireEvidence)
        low.score[(low.score > 0) & (low.score < 0.5)] = 0.3
    (opened,) = opens(run(fire(), frames, size=(640, 480)))
    assert opened.evidence.stream_time_s == pytest.approx(2.6)  # the first burst after 2 s
    # ... but a light whose colour goes with its score between the bursts (irregular flashes):
    # each burst is a new region, never 2 s old
    for _, signals in frames:
        low = signals["fire"]
        assert isinstance(low, FireEvidence)
        low.colour[low.score < 0.5] = 0.0
    assert run(fire(), frames, size=(640, 480)) == []


def test_flame_whose_flicker_fades_for_a_second_keeps_its_age() -> None:
    """A small flame scores for 1.4 s, then its flicker is weak for a second (the score falls
    under 0.35, its cells stay fire-coloured), then it scores again: the region has been seen
    since the start, so it alerts as soon as it scores again, 2.4 s after it began (a new
    region would wait 2 s more). The same gap of 3.5 s, longer than the rule's exit grace,
    starts it again."""

    def flame(gap: range) -> Frames:
        rng = np.random.default_rng(6)
        out: Frames = []
        for t in range(80):
            ev = evidence(block(12, 12, 2, 2), rng)
            if t in gap:
                ev.score[ev.score > 0] = 0.1
            out.append(([], {"fire": ev}))
        return out

    (opened,) = opens(run(fire(), flame(range(14, 24)), size=(640, 480)))
    assert opened.start_s == 0.0
    assert opened.evidence.stream_time_s == pytest.approx(2.4)
    (late,) = opens(run(fire(exit_grace_s=3.0), flame(range(14, 49)), size=(640, 480)))
    assert late.evidence.stream_time_s == pytest.approx(4.9 + 2.0)
