"""Small objects in large frames: detection regions at the model's resolution.

Real pedestrians of PETS 2009 S2.L1 (about 50 px tall) pasted, pixel for pixel, into a
1280x720 frame: letterboxed whole into YOLOX-nano's 416x416 input they shrink to about 16 px
and many are missed; the regions around them (as their motion blobs or tracks would seed them)
see them at full resolution.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import detect_ref as ref
from conftest import shared_path
from tiny_detector import build_bright_detector
from tiny_models import KNOWN, build, layout_outputs
from vsa_stream.config import DetectorConfig, TrackingConfig
from vsa_stream.detection import Model, ModelSpec, load_model
from vsa_stream.detection.regions import crop, cut_by_edge, plan_regions
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.observation import Detection
from vsa_stream.perception import ObjectPerception
from vsa_stream.sources.frame import Frame, luma_view

U8 = NDArray[np.uint8]
Planes = tuple[U8, U8, U8]
FRAME = (1280, 720)
ORIGIN = (700, 300)  # where the 480x360 PETS picture is pasted
FRAMES = tuple(range(20, 700, 60))  # video frame k is MOT frame k + 1
SCALE = 480 / 768  # MOT boxes are in the original 768x576 frames


# --- planning (pure geometry) ---------------------------------------------------------------


def test_small_frames_keep_the_single_full_frame_pass() -> None:
    seed = [(100.0, 100.0, 120.0, 150.0)]
    for frame in [(480, 360), (768, 432), (640, 480)]:  # shrunk < 2x into 416x416
        assert plan_regions(frame, (416, 416), seed, max_regions=4, min_shrink=2.0) == []
    assert plan_regions((1280, 720), (416, 416), seed, max_regions=4, min_shrink=2.0) != []


def test_large_seeds_are_left_to_the_full_frame_and_covered_seeds_add_no_region() -> None:
    big = (100.0, 100.0, 400.0, 600.0)  # taller than half a region
    near = [(600.0, 300.0, 620.0, 350.0), (610.0, 320.0, 640.0, 380.0)]
    regions = plan_regions(FRAME, (416, 416), [big, *near], max_regions=4, min_shrink=2.0)
    assert len(regions) == 1
    x0, y0, x1, y1 = regions[0]
    assert (x1 - x0, y1 - y0) == (416, 416)
    assert x0 <= 600
    assert x1 >= 640
    assert y0 <= 300
    assert y1 >= 380


@settings(max_examples=200, deadline=None)
@given(
    w=st.integers(1, 4000), h=st.integers(1, 3000), mw=st.integers(32, 640),
    mh=st.integers(32, 640), n=st.integers(0, 12), most=st.integers(1, 6),
    data=st.data(),
)  # fmt: skip
def test_regions_lie_in_the_frame_start_even_and_are_never_empty(
    w: int, h: int, mw: int, mh: int, n: int, most: int, data: Any
) -> None:
    coord = st.floats(-500, 5000) | st.sampled_from([np.nan, np.inf, -np.inf])
    seeds = [tuple(data.draw(coord) for _ in range(4)) for _ in range(n)]
    regions = plan_regions((w, h), (mw, mh), seeds, max_regions=most, min_shrink=1.0)
    assert len(regions) <= most
    for x0, y0, x1, y1 in regions:
        assert 0 <= x0 < x1 <= w
        assert 0 <= y0 < y1 <= h
        assert x0 % 2 == 0
        assert y0 % 2 == 0
        assert x1 - x0 == min(mw, w - x0)
        assert y1 - y0 == min(mh, h - y0)


def test_crops_at_the_edge_are_clipped_and_empty_ones_are_none() -> None:
    y = np.zeros((720, 1280), np.uint8)
    u = v = np.zeros((360, 640), np.uint8)
    got = crop((y, u, v), (1001, 501, 1500, 900))
    assert got is not None
    (cy, cu, cv), origin = got
    assert origin == (1000, 500)
    assert cy.shape == (220, 280)
    assert cu.shape == cv.shape == (110, 140)
    for empty in [(5, 5, 5, 9), (1280, 0, 1300, 20), (-40, -40, 0, 10), (10, 30, 20, 10)]:
        assert crop((y, u, v), empty) is None
    boxes = np.array([[1000.5, 600, 1010, 650], [1100, 600, 1279, 719.5]])
    assert cut_by_edge(boxes, (1000, 500, 1280, 720), FRAME).tolist() == [True, False]


# --- a real model on real pedestrians --------------------------------------------------------


@pytest.fixture(scope="module")
def yolox() -> Model:
    return load_model(ModelSpec(path=str(shared_path("models", "yolox_nano.onnx"))))


@pytest.fixture(scope="module")
def pets() -> dict[int, tuple[Planes, NDArray[np.float64]]]:
    """PETS frames pasted into 1280x720 grey frames, with the MOT people in frame pixels."""
    boxes: dict[int, list[list[float]]] = defaultdict(list)
    for line in shared_path("data", "mot", "PETS09-S2L1", "det.txt").read_text().splitlines():
        f, _, x, y, w, h, score = (float(v) for v in line.split(",")[:7])
        if score > 0.5:
            boxes[int(f)].append([x * SCALE, y * SCALE, (x + w) * SCALE, (y + h) * SCALE])
    got: dict[int, tuple[Planes, NDArray[np.float64]]] = {}
    ox, oy = ORIGIN
    with av.open(str(shared_path("data", "pets09_s2l1_480x360.avi"))) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in FRAMES:
                a = frame.to_ndarray(format="yuv420p")
                yy = np.full((720, 1280), 110, np.uint8)
                uu = np.full((360, 640), 128, np.uint8)
                vv = uu.copy()
                yy[oy : oy + 360, ox : ox + 480] = a[:360]
                uu[oy // 2 : oy // 2 + 180, ox // 2 : ox // 2 + 240] = a[360:450].reshape(180, 240)
                vv[oy // 2 : oy // 2 + 180, ox // 2 : ox // 2 + 240] = a[450:].reshape(180, 240)
                got[i] = (yy, uu, vv), np.array(boxes[i + 1]) + np.array([ox, oy, ox, oy])
            if i >= max(FRAMES):
                break
    return got


def found(people: NDArray[np.float64], boxes: Sequence[tuple[float, ...]]) -> NDArray[np.bool_]:
    """Which people a box overlaps with IoU >= 0.4."""
    if not boxes:
        return np.zeros(len(people), bool)
    b = np.array(boxes)
    return np.array([ref.iou_one(p, b).max() >= 0.4 for p in people])


def test_regions_find_the_small_people_the_full_frame_misses(
    yolox: Model, pets: dict[int, tuple[Planes, NDArray[np.float64]]]
) -> None:
    heights = np.concatenate([p[:, 3] - p[:, 1] for _, p in pets.values()])
    assert 40 <= np.median(heights) <= 60  # about 50 px tall in a 1280x720 frame
    full, regional, total = 0, 0, 0
    for planes, people in pets.values():
        seeds = [(b[0], b[1], b[2], b[3]) for b in people.tolist()]  # as motion blobs
        regions = plan_regions(FRAME, yolox.input_size, seeds, max_regions=4, min_shrink=2.0)
        assert regions
        whole = [d.box for d in yolox.detect(*planes) if d.engine_class == "person"]
        detections = yolox.detect(*planes, regions=regions)
        merged = [d.box for d in detections if d.engine_class == "person"]
        full += int(found(people, whole).sum())
        regional += int(found(people, merged).sum())
        total += len(people)
        # merged across the frame and its regions: no two boxes of a class overlap more than
        # nms_iou (one box per object, not one per region that saw it)
        for i, d in enumerate(detections):
            others = [e.box for e in detections[i + 1 :] if e.class_name == d.class_name]
            if others:
                assert ref.iou_one(np.array(d.box), np.array(others)).max() <= 0.45
    # measured: whole frame 44/63, with regions 63/63
    assert full <= 0.8 * total
    assert regional >= 0.95 * total


def test_regions_at_the_edge_or_empty_never_crash(
    yolox: Model, pets: dict[int, tuple[Planes, NDArray[np.float64]]]
) -> None:
    planes, _ = pets[FRAMES[0]]
    before = yolox.region_images
    odd = [(1270, 710, 1300, 800), (-50, -50, 10, 10), (5, 5, 5, 5), (600, 300, 600, 900),
           (1279, 0, 1280, 720), (1281, 721, 1500, 900), (0, 719, 1280, 720)]  # fmt: skip
    detections = yolox.detect(*planes, regions=odd)
    assert yolox.region_images - before == 4  # the empty ones are skipped
    for d in detections:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= 1280
        assert 0 <= y0 < y1 <= 720


def video_frame(index: int, planes: Planes) -> Frame:
    y, u, v = planes
    packed = np.concatenate([y, u.reshape(-1, y.shape[1]), v.reshape(-1, y.shape[1])])
    decoded = av.VideoFrame.from_ndarray(packed, format="yuv420p")
    luma, keep = luma_view(decoded)
    return Frame(index, index / 10.0, 0.0, luma, keep)


@pytest.mark.parametrize("regions", [False, True])
def test_a_camera_tracks_the_small_people_with_regions_only(
    yolox: Model, pets: dict[int, tuple[Planes, NDArray[np.float64]]], regions: bool
) -> None:
    # One PETS frame repeated, its people given as the frame's moving blobs: the camera's
    # detector plans the regions itself and its tracker confirms what they find.
    service = DetectorService("people", yolox)
    config = DetectorConfig(
        id="people", model=ModelSpec(path="unused"), fps=10.0, gating=False, regions=regions
    )
    objects = ObjectPerception("cam", [(service, config)], TrackingConfig(), wait=True)
    planes, people = pets[FRAMES[1]]
    blobs = [Detection(*b) for b in people.tolist()]
    service.start()
    try:
        for i in range(3):
            tracked, detected = objects.update(video_frame(i, planes), moving=True, blobs=blobs)
            assert detected
    finally:
        service.close()
    seen = found(people, [(d.x0, d.y0, d.x1, d.y1) for d in tracked if d.label == "person"])
    # measured: 1/6 people tracked without regions, 6/6 with
    if regions:
        assert seen.all()
    else:
        assert seen.sum() <= len(people) - 2


# --- seeds: tracked objects and blobs (a tiny model that finds bright pixels) ---------------


@pytest.fixture(scope="module")
def bright(tmp_path_factory: pytest.TempPathFactory) -> Model:
    folder = tmp_path_factory.mktemp("bright")
    return load_model(ModelSpec(path=build_bright_detector(folder / "b.onnx", ["person"])))


def bright_frame(index: int, boxes: list[tuple[int, int, int, int]]) -> Frame:
    y = np.full((720, 1280), 40, np.uint8)
    for x0, y0, x1, y1 in boxes:
        y[y0:y1, x0:x1] = 235
    chroma = np.full((360, 640), 128, np.uint8)
    return video_frame(index, (y, chroma, chroma))


def camera(model: Model) -> tuple[DetectorService, ObjectPerception]:
    service = DetectorService("d", model)
    config = DetectorConfig(id="d", model=ModelSpec(path="unused"), fps=10.0, gating=False)
    tracking = TrackingConfig(min_hits=1)
    return service, ObjectPerception("cam", [(service, config)], tracking, wait=True)


def test_a_small_object_that_stops_moving_stays_detected(bright: Model) -> None:
    # An 8x8 px object of a 1280x720 frame falls between the samples of the 96x96 full-frame
    # input (shrunk 13 times): only a region sees it. Once found (its motion blob seeded the
    # region), its track seeds the next regions: it stays tracked for 3 s without moving.
    square = (22, 22, 30, 30)
    assert bright.detect(*bright_frame(0, [square]).yuv420p()) == []
    service, objects = camera(bright)
    service.start()
    try:
        blob = [Detection(20.0, 20.0, 32.0, 32.0)]
        for i in range(31):
            tracked, detected = objects.update(
                bright_frame(i, [square]), moving=i == 0, blobs=blob if i == 0 else []
            )
            assert detected
            (obj,) = tracked
            assert (obj.x0, obj.y0, obj.x1, obj.y1) == pytest.approx(square, abs=1.0)
    finally:
        service.close()


def test_motion_inside_a_large_tracked_object_seeds_no_region(bright: Model) -> None:
    # A large object is seen by the full frame; a blob inside it (a limb moving) needs no
    # closer look, a blob elsewhere does.
    large = (400, 200, 700, 600)
    service, objects = camera(bright)
    service.start()
    try:
        objects.update(bright_frame(0, [large]), moving=True)
        before = bright.region_images
        objects.update(
            bright_frame(1, [large]), moving=True, blobs=[Detection(500.0, 300.0, 530.0, 340.0)]
        )
        assert bright.region_images == before
        objects.update(
            bright_frame(2, [large]), moving=True, blobs=[Detection(900.0, 300.0, 930.0, 340.0)]
        )
        assert bright.region_images == before + 1
    finally:
        service.close()


def test_a_batched_model_runs_frames_and_regions_in_one_inference(tmp_path: Path) -> None:
    # A model answering the same boxes for every input: the frames and their regions run in
    # one inference, with the results of one inference per image.
    outputs = layout_outputs("yolox", KNOWN, 80)
    one = load_model(ModelSpec(path=build(tmp_path / "1.onnx", outputs)))
    batched = load_model(ModelSpec(path=build(tmp_path / "n.onnx", outputs, batch="N")))
    frames = [bright_frame(0, []).yuv420p(), bright_frame(1, []).yuv420p()]
    regions = [[(0, 0, 160, 120)], [(1000, 600, 1400, 800), (5, 5, 5, 5), (300, 300, 460, 420)]]
    runs = batched.runs
    got = batched.detect_batch(frames, regions)
    assert batched.runs == runs + 1  # two frames and their three non-empty regions
    expected = [one.detect(*f, regions=r) for f, r in zip(frames, regions, strict=True)]
    assert got == expected
    assert all(got)
