"""Scene signals for the rules: computed by the Rust kernels only when a rule needs them."""

from __future__ import annotations

import av
import numpy as np

from vsa_stream.config import loads
from vsa_stream.perception.signals import SceneSignals
from vsa_stream.rules import needed_signals
from vsa_stream.sources.frame import Frame, luma_view


def frame_of(
    index: int, y: np.ndarray, u: np.ndarray | None = None, v: np.ndarray | None = None
) -> Frame:
    h, w = y.shape
    if u is None or v is None:
        u = v = np.full((h // 2, w // 2), 128, np.uint8)
    packed = np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)])
    video = av.VideoFrame.from_ndarray(packed, format="yuv420p")
    luma, keep = luma_view(video)
    return Frame(index, index / 10.0, 0.0, luma, keep)


def test_needed_signals_follow_the_rules() -> None:
    text = """
privacy: {legal_profile: lab}
cameras:
  - id: a
    url: a.mp4
    zones: [{id: z, area_m2: 10, polygon: [[0, 0], [1, 0], [1, 1]]}]
    rules:
      - {type: intrusion, zones: [z]}
      - {type: crowd_movement}
      - {type: fire}
      - {type: abandoned_object}
      - {type: density, zones: [z], source: occupancy}
  - id: b
    url: b.mp4
    rules:
      - {type: abandoned_object, use_static_evidence: false}
      - {type: wrong_way, zones: [y], direction_deg: 0}
    zones: [{id: y, polygon: [[0, 0], [1, 0], [1, 1]]}]
"""
    a, b = loads(text).cameras
    # the dual background of static objects measures tampering too
    assert needed_signals(a) == {"flow", "fire", "static_objects", "foreground", "tamper"}
    assert needed_signals(b) == frozenset()
    watched = loads(
        "privacy: {legal_profile: lab}\ncameras: [{id: c, url: c.mp4, tamper: true}]"
    ).cameras[0]
    assert needed_signals(watched) == {"tamper"}
    assert (
        SceneSignals(needed_signals(b), 10.0).observe(frame_of(0, np.zeros((96, 128), np.uint8)))
        == {}
    )


def test_flow_follows_a_moving_texture() -> None:
    rng = np.random.default_rng(0)
    texture = (rng.random((96, 160)) * 255).astype(np.uint8)
    signals = SceneSignals({"flow"}, 10.0)
    assert "flow" not in signals.observe(frame_of(0, np.ascontiguousarray(texture[:, 16:144])))
    flow = signals.observe(frame_of(1, np.ascontiguousarray(texture[:, 14:142])))["flow"]
    confident = flow.confidence >= 0.25
    assert confident.mean() > 0.5
    assert abs(float(np.median(flow.flow[confident][:, 0])) - 2.0) < 0.3  # content moved right


def test_the_flow_of_a_large_frame_is_measured_at_the_size_of_a_small_one() -> None:
    """A 1152x648 camera is reduced three times before its motion field: the same scene at
    384x216 and at 3x that size gives the same field (cells of 48 frame pixels, speeds in
    pixels of the reduced frame), not a field of 16-pixel cells that sees bits of bodies."""
    rng = np.random.default_rng(0)
    texture = (rng.random((216, 392)) * 255).astype(np.uint8)
    large = np.repeat(np.repeat(texture, 3, axis=0), 3, axis=1)
    fields = []
    for image, k in ((texture, 1), (large, 3)):
        signals = SceneSignals({"flow"}, 10.0)
        signals.observe(frame_of(0, np.ascontiguousarray(image[:, 4 * k : (4 + 384) * k])))
        moved = np.ascontiguousarray(image[:, 2 * k : (2 + 384) * k])  # 2k px to the right
        fields.append(signals.observe(frame_of(1, moved))["flow"])
    small, big = fields
    assert (small.scale, small.cell, big.scale, big.cell) == (1, 16, 3, 48)
    assert big.flow.shape == small.flow.shape == (13, 24, 2)
    np.testing.assert_array_equal(big.flow, small.flow)
    np.testing.assert_array_equal(big.confidence, small.confidence)
    confident = big.confidence >= 0.25
    assert abs(float(np.median(big.flow[confident][:, 0])) - 2.0) < 0.3


def test_fire_evidence_from_the_chroma_planes() -> None:
    rng = np.random.default_rng(1)
    signals = SceneSignals({"fire"}, 30.0)
    best = 0.0
    for t in range(60):
        y = np.full((120, 160), 90, np.uint8)
        u = np.full((60, 80), 128, np.uint8)
        v = np.full((60, 80), 128, np.uint8)
        width = int(rng.integers(6, 16))
        u[24:40, 32 : 32 + width] = 80
        v[24:40, 32 : 32 + width] = 180
        y[48:80, 64 : 64 + 2 * width] = int(rng.integers(140, 250))
        fire = signals.observe(frame_of(t, y, u, v))["fire"]
        best = max(best, float(fire.score.max()))
    assert best >= 0.5
    assert fire.score.shape == (8, 10)  # 16-pixel cells, the last row partial
    # A gray source is converted to yuv420p: evidence, and no flame colour in it.
    gray = av.VideoFrame.from_ndarray(np.zeros((120, 160), np.uint8), format="gray")
    luma, keep = luma_view(gray)
    assert float(signals.observe(Frame(61, 6.1, 0.0, luma, keep))["fire"].colour.max()) == 0.0
    # A bare luma array (no decoded frame to take colour from): no fire evidence at all.
    assert "fire" not in signals.observe(Frame(62, 6.2, 0.0, np.ascontiguousarray(luma)))


def test_static_object_evidence_dates_when_the_object_was_left() -> None:
    rng = np.random.default_rng(2)
    signals = SceneSignals({"static_objects"}, 10.0)
    found = []
    for i in range(150):
        y = np.clip(rng.normal(100, 2, (120, 160)), 0, 255).astype(np.uint8)
        if i >= 20:
            y[60:84, 70:94] = 200  # a bag put down at 2.0 s
        found = signals.observe(frame_of(i, y))["static_objects"]
    assert len(found) == 1
    obj = found[0]
    assert obj.x0 <= 72
    assert obj.x1 >= 92
    assert obj.y0 <= 62
    assert obj.y1 >= 82
    assert 1.0 <= obj.since_s <= 4.0


def test_a_static_object_keeps_one_since_s_while_frames_come_unevenly() -> None:
    """A 25 fps camera analysed at 10 fps hands frames 0.08 or 0.12 s apart: the object's
    since_s is fixed when it becomes a candidate, the same value on every later frame (rules
    key regions on it), not worked out again from its age in frames."""
    rng = np.random.default_rng(3)
    signals = SceneSignals({"static_objects"}, 10.0)
    seen: list[float] = []
    time_s = 0.0
    for i in range(160):
        time_s += 0.08 if i % 2 else 0.12
        y = np.clip(rng.normal(100, 2, (120, 160)), 0, 255).astype(np.uint8)
        if i >= 20:
            y[60:84, 70:94] = 200  # a bag put down at the 20th analysed frame (2.0 s)
        packed = np.concatenate([y, np.full((120, 160), 128, np.uint8)[:60].reshape(-1, 160)])
        luma, keep = luma_view(av.VideoFrame.from_ndarray(packed, format="yuv420p"))
        found = signals.observe(Frame(i, time_s, 0.0, luma, keep))["static_objects"]
        seen += [o.since_s for o in found]
    assert len(seen) >= 50  # candidate for the last 50 frames or more
    assert len(set(seen)) == 1, sorted(set(seen))[:5]
    assert 1.0 <= seen[0] <= 4.0
