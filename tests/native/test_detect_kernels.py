"""Detector pre- and post-processing (``vsa_stream._core``) against the numpy references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import detect_ref as ref
from vsa_stream._core import (
    Detections,
    Letterbox,
    decode_nanodet,
    decode_yolov5,
    decode_yolov8,
    decode_yolox,
    nms,
    preprocess_packed,
    preprocess_yuv420p,
)
from vsa_stream.errors import FrameError

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
NANO_MEAN, NANO_STD = (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)


def padded(a: U8, extra: int) -> U8:
    """``a`` as a view of a wider array (rows padded like a PyAV plane)."""
    big = np.zeros((a.shape[0], a.shape[1] + extra, *a.shape[2:]), np.uint8)
    big[:, : a.shape[1]] = a
    return big[:, : a.shape[1]]


def yuv(rng: np.random.Generator, w: int, h: int) -> tuple[U8, U8, U8]:
    cw, ch = (w + 1) // 2, (h + 1) // 2
    planes = (rng.integers(0, 256, s, dtype=np.uint8) for s in ((h, w), (ch, cw), (ch, cw)))
    y, u, v = planes
    return y, u, v


# --- pre-processing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "dst", "keep", "center"),
    [((1280, 720), (416, 416), True, False), ((480, 360), (320, 320), True, True),
     ((7, 31), (64, 48), True, True), ((640, 480), (320, 256), False, False)],
)  # fmt: skip
def test_letterbox_geometry(
    src: tuple[int, int], dst: tuple[int, int], keep: bool, center: bool
) -> None:
    lb = Letterbox(*src, *dst, keep_ratio=keep, center=center)
    cw, ch, px, py, sx, sy = ref.letterbox(src, dst, keep, center)
    assert (lb.content_width, lb.content_height, lb.pad_x, lb.pad_y) == (cw, ch, px, py)
    assert (lb.scale_x, lb.scale_y) == pytest.approx((sx, sy))
    corners = np.array([[px, py, px + cw, py + ch]], np.float64)
    np.testing.assert_allclose(lb.to_source(corners), [[0, 0, *src]], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    w=st.integers(1, 48), h=st.integers(1, 48), dw=st.integers(1, 40), dh=st.integers(1, 40),
    keep=st.booleans(), center=st.booleans(), order=st.sampled_from(["bgr", "rgb"]),
    matrix=st.sampled_from(["bt601", "bt709"]), full=st.booleans(), pad=st.integers(0, 9),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_preprocess_yuv_matches_reference(
    w: int, h: int, dw: int, dh: int, keep: bool, center: bool, order: str, matrix: str,
    full: bool, pad: int, seed: int,
) -> None:  # fmt: skip
    # Odd sizes (chroma planes of ceil(w/2)), up- and downscaling, padded rows.
    y, u, v = yuv(np.random.default_rng(seed), w, h)
    tensor, lb = preprocess_yuv420p(
        padded(y, pad), padded(u, pad), padded(v, pad), (dw, dh), order=order,
        keep_ratio=keep, center=center, matrix=matrix, full_range=full, pad_value=7.0,
    )  # fmt: skip
    expected = ref.preprocess_yuv(
        y, u, v, (dw, dh), order=order, keep=keep, center=center, pad=7.0, matrix=matrix,
        full=full,
    )  # fmt: skip
    assert tensor.dtype == np.float32
    assert tensor.shape == (1, 3, dh, dw)
    assert (lb.src_width, lb.src_height, lb.dst_width, lb.dst_height) == (w, h, dw, dh)
    # float32 arithmetic against float64: a few thousandths of a grey level at most.
    np.testing.assert_allclose(tensor, expected, atol=2e-3, rtol=0)


def test_preprocess_yuv_720p_for_nanodet_matches_reference() -> None:
    y, u, v = yuv(np.random.default_rng(1), 1280, 720)
    tensor, lb = preprocess_yuv420p(y, u, v, (320, 320), mean=NANO_MEAN, std=NANO_STD)
    expected = ref.preprocess_yuv(y, u, v, (320, 320), mean=NANO_MEAN, std=NANO_STD)
    np.testing.assert_allclose(tensor, expected, atol=1e-4, rtol=0)
    assert (lb.content_width, lb.content_height) == (320, 180)
    assert np.allclose(
        tensor[0, :, 180:], (114 - np.array(NANO_MEAN)[:, None, None]) / 57.5, atol=0.02
    )


@settings(max_examples=40, deadline=None)
@given(
    w=st.integers(1, 40), h=st.integers(1, 40), dw=st.integers(1, 40), dh=st.integers(1, 40),
    center=st.booleans(), image_order=st.sampled_from(["bgr", "rgb"]),
    order=st.sampled_from(["bgr", "rgb"]), pad=st.integers(0, 5), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_preprocess_packed_matches_reference(
    w: int, h: int, dw: int, dh: int, center: bool, image_order: str, order: str, pad: int,
    seed: int,
) -> None:  # fmt: skip
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    tensor, _ = preprocess_packed(
        padded(img, pad), (dw, dh), image_order=image_order, order=order, center=center
    )
    expected = ref.preprocess_packed(
        img, (dw, dh), image_order=image_order, order=order, center=center
    )
    np.testing.assert_allclose(tensor, expected, atol=2e-3, rtol=0)


def test_preprocess_packed_is_within_one_level_of_opencv() -> None:
    cv2: Any = pytest.importorskip("cv2")
    img = np.random.default_rng(3).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    tensor, lb = preprocess_packed(img, (320, 320))
    ours = tensor[0, :, : lb.content_height, : lb.content_width].transpose(1, 2, 0)
    theirs = cv2.resize(img, (lb.content_width, lb.content_height), interpolation=cv2.INTER_LINEAR)
    # OpenCV uses 11-bit fixed-point weights and rounds to uint8; we keep float32.
    assert np.abs(ours - theirs).max() <= 1.0


def test_yuv_and_packed_agree_on_a_flat_colour() -> None:
    # Limited-range BT.601 (81, 90, 240) is pure red (255, 0, 0) up to the 8-bit rounding.
    y, u, v = (np.full(s, c, np.uint8) for s, c in (((8, 8), 81), ((4, 4), 90), ((4, 4), 240)))
    tensor, _ = preprocess_yuv420p(y, u, v, (8, 8), order="rgb")
    np.testing.assert_allclose(tensor[0, :, 0, 0], [255, 0, 0], atol=1.5)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros((8, 8), np.float32),), "dtype"),
        ((np.zeros((8, 8, 1), np.uint8),), "2-D"),
        ((np.zeros((8, 8), np.uint8)[:, ::2],), "contiguous"),
        ((np.zeros((0, 8), np.uint8),), "empty"),
    ],
)
def test_preprocess_yuv_rejects_bad_luma(args: tuple[Any], match: str) -> None:
    c = np.zeros((4, 4), np.uint8)
    with pytest.raises(FrameError, match=match):
        preprocess_yuv420p(args[0], c, c, (16, 16))


def test_preprocess_rejects_bad_inputs() -> None:
    y, u, v = yuv(np.random.default_rng(0), 9, 7)
    with pytest.raises(FrameError, match="chroma"):
        preprocess_yuv420p(y, u[:, :-1], v, (16, 16))
    with pytest.raises(FrameError, match="shape"):
        preprocess_packed(np.zeros((4, 4, 4), np.uint8), (8, 8))
    with pytest.raises(FrameError, match="strides"):
        preprocess_packed(np.zeros((4, 8, 3), np.uint8)[:, ::2], (8, 8))
    with pytest.raises(ValueError, match="order"):
        preprocess_yuv420p(y, u, v, (16, 16), order="bgra")
    with pytest.raises(ValueError, match="mean"):
        preprocess_yuv420p(y, u, v, (16, 16), mean=(1.0, 2.0))
    with pytest.raises(ValueError, match="std"):
        preprocess_yuv420p(y, u, v, (16, 16), std=(1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        preprocess_yuv420p(y, u, v, (0, 16))


# --- decoders -----------------------------------------------------------------------------

SRC, DST = (640, 480), (416, 416)


def assert_same(d: Detections, expected: ref.Out) -> None:
    boxes, scores, classes = expected
    assert len(d) == len(scores) > 0
    np.testing.assert_allclose(d.boxes, boxes, atol=1e-4, rtol=0)
    np.testing.assert_allclose(d.scores, scores, atol=1e-4, rtol=0)
    np.testing.assert_array_equal(d.class_ids, classes)


def anchors(dst: tuple[int, int]) -> int:
    return sum(-(-dst[0] // s) * -(-dst[1] // s) for s in (8, 16, 32))


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize(("agnostic", "max_det"), [(False, None), (True, None), (False, 7)])
def test_decode_yolox_matches_reference(center: bool, agnostic: bool, max_det: int | None) -> None:
    rng = np.random.default_rng(5)
    n = anchors(DST)
    out = np.concatenate(
        [rng.uniform(-0.5, 1.5, (n, 2)), rng.normal(0.5, 1.0, (n, 2)),
         rng.uniform(0, 1, (n, 1)) ** 3, rng.uniform(0, 1, (n, 80))], 1,
    ).astype(np.float32)[None]  # fmt: skip
    lb = Letterbox(*SRC, *DST, center=center)
    geo = ref.letterbox(SRC, DST, True, center)
    got = decode_yolox(
        out, lb, score_threshold=0.3, iou_threshold=0.5, class_agnostic=agnostic,
        max_detections=max_det,
    )  # fmt: skip
    assert_same(got, ref.finish(*ref.yolox(out, DST), geo, SRC, 0.3, 0.5, agnostic, max_det))


def test_decode_yolov5_matches_reference() -> None:
    rng = np.random.default_rng(6)
    n = 3000
    out = np.concatenate(
        [rng.uniform(0, 416, (n, 2)), rng.uniform(4, 120, (n, 2)), rng.uniform(0, 1, (n, 1)) ** 2,
         rng.uniform(0, 1, (n, 3))], 1,
    ).astype(np.float32)[None]  # fmt: skip
    lb = Letterbox(*SRC, *DST, center=True)
    geo = ref.letterbox(SRC, DST, True, True)
    got = decode_yolov5(out, lb, score_threshold=0.4, iou_threshold=0.4)
    assert_same(got, ref.finish(*ref.yolov5(out), geo, SRC, 0.4, 0.4))


def test_decode_yolov8_matches_reference() -> None:
    rng = np.random.default_rng(7)
    n, dst = 8400, (640, 640)
    rows = np.concatenate(
        [rng.uniform(0, 640, (2, n)), rng.uniform(4, 150, (2, n)), rng.uniform(0, 1, (80, n)) ** 8]
    ).astype(np.float32)[None]  # fmt: skip
    lb = Letterbox(1280, 720, *dst, center=True)
    geo = ref.letterbox((1280, 720), dst, True, True)
    got = decode_yolov8(rows, lb, score_threshold=0.5, iou_threshold=0.6)
    assert_same(got, ref.finish(*ref.yolov8(rows), geo, (1280, 720), 0.5, 0.6))


@pytest.mark.parametrize("offset", [0.5, 0.0])
def test_decode_nanodet_matches_reference(offset: float) -> None:
    rng = np.random.default_rng(8)
    dst = (320, 320)
    sizes = [(dst[0] // s) * (dst[1] // s) for s in (8, 16, 32)]
    cls = [(rng.uniform(0, 1, (1, k, 80)) ** 6).astype(np.float32) for k in sizes]
    dis = [rng.normal(0, 2, (1, k, 32)).astype(np.float32) for k in sizes]
    lb = Letterbox(*SRC, *dst)
    geo = ref.letterbox(SRC, dst, True, False)
    got = decode_nanodet(
        cls, dis, lb, score_threshold=0.35, iou_threshold=0.6, center_offset=offset
    )
    expected = ref.finish(*ref.nanodet(cls, dis, dst, offset=offset), geo, SRC, 0.35, 0.6)
    assert_same(got, expected)


def test_decode_picodet_head_matches_reference() -> None:
    # PicoDet-S 416: a fourth level at stride 64 whose 7x7 grid overhangs the input (416 / 64 =
    # 6.5), on a 720p frame resized to the whole input (no letterbox).
    rng = np.random.default_rng(9)
    dst, src = (416, 416), (1280, 720)
    strides = (8, 16, 32, 64)
    sizes = [-(-dst[0] // s) * -(-dst[1] // s) for s in strides]
    assert sizes == [2704, 676, 169, 49]
    cls = [(rng.uniform(0, 1, (1, k, 80)) ** 6).astype(np.float32) for k in sizes]
    dis = [rng.normal(0, 2, (1, k, 32)).astype(np.float32) for k in sizes]
    lb = Letterbox(*src, *dst, keep_ratio=False)
    geo = ref.letterbox(src, dst, False, False)
    got = decode_nanodet(cls, dis, lb, score_threshold=0.35, iou_threshold=0.6, strides=strides)
    expected = ref.finish(*ref.nanodet(cls, dis, dst, strides=strides), geo, src, 0.35, 0.6)
    assert_same(got, expected)
    assert (got.boxes[:, 2] <= 1280).all()
    assert (got.boxes[:, 3] <= 720).all()


def test_preprocess_yuv_720p_for_picodet_matches_reference() -> None:
    # Plain resize: the 16:9 frame fills the square input, nothing is padded.
    y, u, v = yuv(np.random.default_rng(2), 1280, 720)
    tensor, lb = preprocess_yuv420p(
        y, u, v, (416, 416), keep_ratio=False, mean=NANO_MEAN, std=NANO_STD
    )
    expected = ref.preprocess_yuv(y, u, v, (416, 416), keep=False, mean=NANO_MEAN, std=NANO_STD)
    np.testing.assert_allclose(tensor, expected, atol=1e-4, rtol=0)
    assert (lb.content_width, lb.content_height, lb.pad_x, lb.pad_y) == (416, 416, 0, 0)


def test_an_empty_or_one_pixel_crop_never_crashes_a_kernel() -> None:
    # A detection region clipped at the frame's edge can be tiny or empty: an error (empty)
    # or a valid input (one pixel), never a crash.
    y, u, v = yuv(np.random.default_rng(3), 64, 48)
    for sl in (np.s_[48:, :], np.s_[:, 64:], np.s_[10:10, 5:9]):
        with pytest.raises(FrameError, match="empty"):
            preprocess_yuv420p(y[sl], u[sl], v[sl], (416, 416))
    for keep in (True, False):
        tensor, lb = preprocess_yuv420p(
            y[47:, 63:], u[23:, 31:], v[23:, 31:], (416, 416), keep_ratio=keep
        )
        assert np.isfinite(tensor).all()
        assert (lb.src_width, lb.src_height) == (1, 1)
        d = decode_yolox(np.zeros((1, anchors((416, 416)), 85), np.float32), lb)
        assert len(d) == 0


def test_decoders_reject_bad_outputs() -> None:
    lb = Letterbox(*SRC, *DST)
    good = np.zeros((1, anchors(DST), 85), np.float32)
    with pytest.raises(FrameError, match="anchors"):
        decode_yolox(good[:, 1:], lb)
    with pytest.raises(FrameError, match="dtype"):
        decode_yolox(good.astype(np.float64), lb)
    with pytest.raises(FrameError, match="shape"):
        decode_yolox(good[0, :, :, None], lb)
    with pytest.raises(FrameError, match="contiguous"):
        decode_yolov5(np.zeros((1, 85, 100), np.float32).transpose(0, 2, 1), lb)
    with pytest.raises(FrameError, match="transpose"):
        decode_yolov8(np.zeros((1, 3, 100), np.float32), lb)
    cls, dis = np.zeros((1, 1600, 80), np.float32), np.zeros((1, 1600, 32), np.float32)
    with pytest.raises(FrameError, match="levels"):
        decode_nanodet([cls, cls], [dis, dis], Letterbox(*SRC, 320, 320))
    with pytest.raises(ValueError, match="iou_threshold"):
        decode_yolox(good, lb, iou_threshold=1.5)
    with pytest.raises(ValueError, match="max_detections"):
        decode_yolox(good, lb, max_detections=-1)


def test_non_finite_outputs_are_dropped_not_fatal() -> None:
    out = np.zeros((1, 2, 6), np.float32)
    out[0, 0] = [np.nan, 10, 5, 5, 1, 1]  # NaN box
    out[0, 1] = [20, 20, 5, 5, np.nan, 1]  # NaN score
    assert len(decode_yolov5(out, Letterbox(64, 64, 64, 64))) == 0


# --- NMS ----------------------------------------------------------------------------------


@st.composite
def box_sets(draw: st.DrawFn) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    n = draw(st.integers(0, 40))
    coords = st.integers(0, 30).map(float)
    pairs = st.lists(st.tuples(coords, coords), min_size=n, max_size=n)
    xy = np.array(draw(pairs), np.float64).reshape(n, 2)
    wh = np.array(draw(pairs), np.float64).reshape(n, 2)  # zero sizes included
    boxes = np.concatenate([xy, xy + wh], 1)
    # Few distinct scores, so ties happen.
    scores = np.array(draw(st.lists(st.sampled_from([0.1, 0.5, 0.9]), min_size=n, max_size=n)))
    classes = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), np.int64)
    return boxes, scores.astype(np.float64), classes


@settings(max_examples=150, deadline=None)
@given(data=box_sets(), thr=st.sampled_from([0.0, 0.3, 0.5, 0.9]), agnostic=st.booleans())
def test_nms_properties(
    data: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]],
    thr: float,
    agnostic: bool,
) -> None:
    boxes, scores, classes = data
    cls = None if agnostic else classes
    keep = nms(boxes, scores, thr, cls)
    assert keep.dtype == np.int64
    assert keep.tolist() == ref.nms(boxes, scores, cls, thr)
    kept = set(keep.tolist())
    assert len(kept) == len(keep)
    assert kept <= set(range(len(scores)))
    same = np.ones((len(scores),) * 2, bool) if agnostic else classes[:, None] == classes[None]
    for i in keep:  # kept boxes of a class overlap each other at most `thr`
        others = np.array([k for k in keep if k != i and same[i, k]], np.int64)
        if len(others):
            assert (ref.iou_one(boxes[i], boxes[others]) <= thr).all()
    for j in set(range(len(scores))) - kept:  # every dropped box has a better kept cover
        cover = [k for k in keep if same[j, k] and scores[k] >= scores[j]]
        assert len(cover)
        assert (ref.iou_one(boxes[j], boxes[np.array(cover)]) > thr).any()
    again = nms(boxes[keep], scores[keep], thr, None if agnostic else classes[keep])
    assert again.tolist() == list(range(len(keep)))  # idempotent
    assert nms(boxes, scores, thr, cls, max_detections=2).tolist() == keep[:2].tolist()


def test_nms_breaks_ties_by_index_and_rejects_bad_input() -> None:
    boxes = np.array([[0, 0, 10, 10]] * 3, np.float64)
    assert nms(boxes, np.array([0.5, 0.7, 0.7]), 0.5).tolist() == [1]
    with pytest.raises(FrameError, match="finite"):
        nms(np.array([[0, 0, np.inf, 1]]), np.array([1.0]), 0.5)
    with pytest.raises(FrameError, match="NaN"):
        nms(boxes, np.array([0.5, np.nan, 0.7]), 0.5)
    with pytest.raises(FrameError, match=r"shape \(3,\)"):
        nms(boxes, np.array([0.5, 0.7]), 0.5)
    with pytest.raises(FrameError, match="int64"):
        nms(boxes, np.ones(3), 0.5, np.zeros(3, np.int32))
