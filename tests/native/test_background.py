"""DualBackground on synthetic scenes: abandoned bag, people talking, lights, tampering."""

from __future__ import annotations

import numpy as np
import pytest

from background_scenes import FPS, H, W, background, box_blur, paste, person_texture, render
from vsa_stream._core import DualBackground
from vsa_stream.errors import FrameError

STATIC_S = 3.0  # seconds of evidence that make a candidate


def model() -> DualBackground:
    return DualBackground(W, H, static_frames=int(STATIC_S * FPS), tamper_frames=FPS)


def warm(bg: DualBackground, scene: np.ndarray, rng: np.random.Generator, n: int = 30) -> None:
    for _ in range(n):
        bg.update(render(scene, rng))


def test_abandoned_bag_becomes_candidate_then_goes_when_taken() -> None:
    rng = np.random.default_rng(1)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    person = person_texture(7)
    bag = np.full((20, 24), 45.0)
    bag_x, bag_y = 150, 170
    frames: list[tuple[str, np.ndarray]] = []
    for x in range(-24, 141, 8):  # walks in
        frames.append(("walk", _with(scene, (person, x, 110))))
    for _ in range(5):  # stops, puts the bag down
        frames.append(("stand", _with(scene, (person, 140, 110))))
    for x in range(140, W + 8, 8):  # walks away, the bag stays
        frames.append(("away", _with(scene, (bag, bag_x, bag_y), (person, x, 110))))
    drop = next(i for i, (tag, _) in enumerate(frames) if tag == "away")
    first_seen = None
    for i, (_, frame) in enumerate(frames):
        bg.update(render(frame, rng))
        assert not bg.static_candidates() or i >= drop, f"frame {i}: candidate before the drop"
    with_bag = _with(scene, (bag, bag_x, bag_y))
    for i in range(len(frames), len(frames) + 100):
        bg.update(render(with_bag, rng))
        cands = bg.static_candidates()
        if cands and first_seen is None:
            first_seen = i
        if first_seen is not None:
            assert len(cands) == 1
    assert first_seen is not None, "no candidate for the bag"
    delay_s = (first_seen - drop) / FPS
    # Evidence starts once the fast model has absorbed the bag (about 1.5 s at 10 fps).
    assert STATIC_S <= delay_s <= STATIC_S + 3.0, delay_s
    (c,) = bg.static_candidates()
    assert abs(c.x0 - bag_x) <= 8
    assert abs(c.y0 - bag_y) <= 8
    assert abs(c.x1 - (bag_x + 24)) <= 8
    assert abs(c.y1 - (bag_y + 20)) <= 8
    assert c.age > 0
    assert c.evidence >= STATIC_S * FPS
    ev = bg.evidence()
    assert ev.dtype == np.uint16
    assert ev.shape == (H // 4, W // 4)
    for _ in range(10):  # the bag is taken away
        bg.update(render(scene, rng))
    assert bg.static_candidates() == []
    assert bg.evidence()[bag_y // 4 : (bag_y + 20) // 4, bag_x // 4 : (bag_x + 24) // 4].max() < (
        STATIC_S * FPS
    )


def test_a_bag_put_down_is_present_and_one_taken_away_is_a_ghost() -> None:
    """The candidate's outline is in the frame for a bag put down, and in the old background
    for a bag that was there from the start and was taken (a ghost)."""
    rng = np.random.default_rng(2)
    scene = background()
    with_bag = _with(scene, (np.full((20, 24), 45.0), 150, 170))
    for before, after, ghost in [(scene, with_bag, False), (with_bag, scene, True)]:
        bg = model()
        warm(bg, before, rng)
        for _ in range(60):
            bg.update(render(after, rng))
        (c,) = bg.static_candidates()
        assert c.ghost is ghost, c
        assert (c.presence < 0.4) if ghost else (c.presence > 0.6), c


def _with(scene: np.ndarray, *patches: tuple[np.ndarray, int, int]) -> np.ndarray:
    frame = scene.copy()
    for patch, x, y in patches:
        paste(frame, patch, x, y)
    return frame


def test_people_standing_and_talking_are_no_candidate() -> None:
    rng = np.random.default_rng(2)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    people = [(person_texture(11), 80, 90), (person_texture(12), 120, 95)]
    for _ in range(int(3 * STATIC_S * FPS)):
        frame = scene.copy()
        for patch, x, y in people:
            dx, dy = rng.integers(-4, 5, size=2)
            paste(frame, patch, x + int(dx), y + int(dy))
        bg.update(render(frame, rng))
        assert bg.static_candidates() == []
        assert not bg.tamper.flag


def test_illumination_jump_is_background_within_a_second() -> None:
    rng = np.random.default_rng(3)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    fractions = []
    for _ in range(3 * FPS):
        blobs = bg.update(render(scene + 40.0, rng))
        fractions.append(float((bg.fast_foreground() > 0).mean()))
        assert not bg.tamper.flag, bg.tamper
    assert max(fractions[FPS:]) < 0.005, fractions
    assert blobs == []
    assert bg.illumination_offset == pytest.approx(0.0, abs=1.0)
    assert float(np.abs(bg.slow_background() - (scene[::4, ::4] + 40.0)).mean()) < 15.0


@pytest.mark.parametrize("kind", ["covered", "moved", "defocused"])
def test_tamper_is_flagged_after_persisting(kind: str) -> None:
    rng = np.random.default_rng(4)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    if kind == "covered":
        tampered = np.full_like(scene, 12.0)
    elif kind == "moved":
        tampered = np.roll(scene, (37, 61), axis=(0, 1))
    else:
        tampered = box_blur(scene, 13)
    flags = []
    for _ in range(2 * FPS):
        bg.update(render(tampered, rng))
        flags.append(bg.tamper.flag)
        assert bg.tamper.reason == kind, bg.tamper
    assert not any(flags[: FPS - 1]), flags
    assert all(flags[FPS:]), flags
    assert bg.tamper.score > 0.5
    for _ in range(5):  # back to normal: cleared at once (covered, defocused) or soon
        bg.update(render(scene, rng))
    assert not bg.tamper.flag


def test_a_crowd_crossing_is_no_tampering() -> None:
    rng = np.random.default_rng(5)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    crowd = [(person_texture(20 + k), -30 - 35 * k, 60 + (k % 3) * 50) for k in range(10)]
    most_blobs = 0
    for t in range(60):
        frame = scene.copy()
        for patch, x, y in crowd:
            paste(frame, patch, x + 12 * t, y)
        most_blobs = max(most_blobs, len(bg.update(render(frame, rng))))
        assert not bg.tamper.flag, (t, bg.tamper)
        assert bg.static_candidates() == []
    assert most_blobs >= 5


def test_blobs_have_fill_and_bad_input_raises() -> None:
    rng = np.random.default_rng(6)
    scene = background()
    bg = model()
    warm(bg, scene, rng)
    frame = scene.copy()
    frame[100:160, 80:120] -= 60.0
    (blob,) = bg.update(render(frame, rng))
    assert blob.fill > 0.8
    assert abs(blob.x0 - 80) <= 4
    assert abs(blob.y1 - 160) <= 4
    with pytest.raises(FrameError, match="320"):
        bg.update(np.zeros((H, W - 4), np.uint8))
    with pytest.raises(FrameError, match="dtype"):
        bg.update(np.zeros((H, W), np.float32))
    with pytest.raises(ValueError, match="fast_alpha"):
        DualBackground(W, H, fast_alpha=0.0)
    padded = np.zeros((H, W + 32), np.uint8)
    padded[:, :W] = render(scene, rng)
    bg.update(padded[:, :W])
    assert bg.frames == 32
