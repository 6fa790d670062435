"""Real detectors on real footage: YOLOX-nano, NanoDet-m and PicoDet-S on PETS 2009 S2.L1.

Frames are decoded with PyAV and pre-processed straight from their yuv420p planes; the people
found must be where the MOTChallenge public detections say, and the Rust decoders must agree
with the numpy references on the real model outputs.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import av
import numpy as np
import pytest
from numpy.typing import NDArray

import detect_ref as ref
from conftest import shared_path
from vsa_stream import config as config_mod
from vsa_stream._core import Detections, decode_nanodet, decode_yolox, preprocess_yuv420p
from vsa_stream.cli import main
from vsa_stream.detection import ModelSpec, load_model
from vsa_stream.engine import Engine

ort: Any = importlib.import_module("onnxruntime")  # a runtime dependency: never skip

SCALE = 480 / 768  # the MOT boxes are in the original 768x576 frames
FRAMES = (40, 150, 400)  # video frame k is MOT frame k + 1
U8 = NDArray[np.uint8]


def planes(frame: av.VideoFrame) -> tuple[U8, U8, U8]:
    """The three yuv420p planes as strided views of the decoder's buffers (no copy)."""
    assert frame.format.name == "yuv420p"
    out = []
    for p in frame.planes:
        flat = np.frombuffer(memoryview(p), np.uint8)
        out.append(flat[: p.height * p.line_size].reshape(p.height, p.line_size)[:, : p.width])
    y, u, v = out
    return y, u, v


@pytest.fixture(scope="module")
def frames() -> dict[int, tuple[U8, U8, U8]]:
    video = shared_path("data", "pets09_s2l1_480x360.avi")
    got: dict[int, tuple[U8, U8, U8]] = {}
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in FRAMES:
                y, u, v = planes(frame)
                got[i] = (y.copy(), u.copy(), v.copy())  # the frame buffer is reused
            if i >= max(FRAMES):
                break
    return got


@pytest.fixture(scope="module")
def people() -> dict[int, NDArray[np.float64]]:
    boxes: dict[int, list[list[float]]] = defaultdict(list)
    for line in shared_path("data", "mot", "PETS09-S2L1", "det.txt").read_text().splitlines():
        f, _, x, y, w, h, score = (float(v) for v in line.split(",")[:7])
        if score > 0.5:
            boxes[int(f)].append([x * SCALE, y * SCALE, (x + w) * SCALE, (y + h) * SCALE])
    return {k: np.array(v) for k, v in boxes.items()}


def session(name: str) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # NanoDet's export lists its weights as inputs: noisy
    path: Path = shared_path("models", name)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def matches(d: Detections, truth: NDArray[np.float64], min_score: float) -> list[bool]:
    """For each confident person, whether a MOT detection overlaps it with IoU >= 0.4."""
    persons = d.boxes[(d.class_ids == 0) & (d.scores >= min_score)]
    assert len(persons) >= 2, "too few confident people"
    return [bool(ref.iou_one(b, truth).max() >= 0.4) for b in persons]


def test_yolox_nano_finds_the_pedestrians(
    frames: dict[int, tuple[U8, U8, U8]], people: dict[int, NDArray[np.float64]]
) -> None:
    model = session("yolox_nano.onnx")
    hits: list[bool] = []
    for k, (y, u, v) in frames.items():
        tensor, lb = preprocess_yuv420p(y, u, v, (416, 416))  # BGR 0-255, pad 114, top-left
        (out,) = model.run(None, {"images": tensor})
        d = decode_yolox(out, lb, score_threshold=0.3, iou_threshold=0.45)
        hits += matches(d, people[k + 1], 0.5)
        geo = ref.letterbox((480, 360), (416, 416), True, False)
        expected = ref.finish(*ref.yolox(out, (416, 416)), geo, (480, 360), 0.3, 0.45)
        np.testing.assert_allclose(d.boxes, expected[0], atol=1e-4, rtol=0)
        np.testing.assert_allclose(d.scores, expected[1], atol=1e-4, rtol=0)
        np.testing.assert_array_equal(d.class_ids, expected[2])
    # measured: 14/17 and 10/12; the misses are people the 2015 public detections lack (a
    # distant group at the top of the frame) and a person-like post at the left edge.
    assert sum(hits) / len(hits) >= 0.7


def test_nanodet_m_finds_the_pedestrians(
    frames: dict[int, tuple[U8, U8, U8]], people: dict[int, NDArray[np.float64]]
) -> None:
    model = session("nanodet_m_320.onnx")
    names = [o.name for o in model.get_outputs()]
    hits: list[bool] = []
    mean, std = (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)  # BGR, NanoDet's config
    for k, (y, u, v) in frames.items():
        tensor, lb = preprocess_yuv420p(y, u, v, (320, 320), mean=mean, std=std)
        outputs = dict(zip(names, model.run(None, {"input.1": tensor}), strict=True))
        cls = [outputs[f"cls_pred_stride_{s}"] for s in (8, 16, 32)]
        dis = [outputs[f"dis_pred_stride_{s}"] for s in (8, 16, 32)]
        assert min(c.min() for c in cls) >= 0
        assert max(c.max() for c in cls) <= 1
        d = decode_nanodet(cls, dis, lb, score_threshold=0.3, iou_threshold=0.5)
        hits += matches(d, people[k + 1], 0.4)
        geo = ref.letterbox((480, 360), (320, 320), True, False)
        expected = ref.finish(*ref.nanodet(cls, dis, (320, 320)), geo, (480, 360), 0.3, 0.5)
        np.testing.assert_allclose(d.boxes, expected[0], atol=1e-4, rtol=0)
        np.testing.assert_allclose(d.scores, expected[1], atol=1e-4, rtol=0)
        np.testing.assert_array_equal(d.class_ids, expected[2])
    # measured: 14/17 and 10/12; the misses are people the 2015 public detections lack (a
    # distant group at the top of the frame) and a person-like post at the left edge.
    assert sum(hits) / len(hits) >= 0.7


@pytest.mark.parametrize("size", [320, 416])
def test_picodet_s_is_recognised_and_finds_the_pedestrians(
    frames: dict[int, tuple[U8, U8, U8]], people: dict[int, NDArray[np.float64]], size: int
) -> None:
    path = shared_path("models", "picodet", f"picodet_s_{size}_coco.onnx")
    model = load_model(ModelSpec(path=str(path)))  # layout auto
    assert (model.layout, model.input_size, len(model.class_names)) == ("picodet", (size, size), 80)
    mean, std = (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)  # BGR, PaddleDetection's
    dst = (size, size)
    hits: list[bool] = []
    for k, (y, u, v) in frames.items():
        found = model.detect(y, u, v)
        persons = [d.box for d in found if d.engine_class == "person" and d.score >= 0.5]
        assert len(persons) >= 2, "too few confident people"
        truth = people[k + 1]
        hits += [bool(ref.iou_one(np.array(b), truth).max() >= 0.4) for b in persons]
        # The model's input is the plain resize (no letterbox) and its outputs decode as the
        # numpy reference of the four-level GFL head says.
        tensor, lb = model.preprocess((y, u, v))
        expected_in = ref.preprocess_yuv(y, u, v, dst, keep=False, mean=mean, std=std)
        np.testing.assert_allclose(tensor, expected_in, atol=1e-3, rtol=0)
        out = model.session.run(None, {"image": tensor})
        assert all(o.min() >= 0 and o.max() <= 1 for o in out[:4])  # sigmoid-ed scores
        strides = (8, 16, 32, 64)
        d = decode_nanodet(out[:4], out[4:], lb, score_threshold=0.3, iou_threshold=0.5,
                           strides=strides)  # fmt: skip
        geo = ref.letterbox((480, 360), dst, False, False)
        expected = ref.finish(
            *ref.nanodet(out[:4], out[4:], dst, strides=strides), geo, (480, 360), 0.3, 0.5
        )
        np.testing.assert_allclose(d.boxes, expected[0], atol=1e-4, rtol=0)
        np.testing.assert_allclose(d.scores, expected[1], atol=1e-4, rtol=0)
    # measured: see docs/detectors.md (PicoDet-S against YOLOX-nano on PETS).
    assert sum(hits) / len(hits) >= 0.7


def test_a_model_of_the_wrong_shape_is_refused_at_start_naming_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A pose model (uint8 NHWC input) given as a detector, and YOLOX-nano forced to PicoDet's
    # layout (one output, not eight): refused when the engine starts, the field named.
    pose = shared_path("models", "pose", "movenet_singlepose_lightning_int8_4.onnx")
    yolox = shared_path("models", "yolox_nano.onnx")
    text = f"""
detectors:
  - {{id: people, model: {{path: {yolox}}}}}
  - {{id: pose, model: {{path: {pose}}}}}
  - {{id: pico, model: {{path: {yolox}, layout: picodet}}}}
privacy: {{legal_profile: lab}}
cameras:
  - {{id: a, url: a.mp4, detectors: [pose]}}
  - {{id: b, url: b.mp4, detectors: [pico]}}
"""
    config = config_mod.loads(text)
    engine = Engine(config, [], scan=True)
    by_id = {c.camera_id: c for c in anyio.run(engine.run).cameras}
    assert by_id["a"].state == by_id["b"].state == "failed"
    assert "detectors[1].model: input input has shape [1, 192, 192, 3]" in str(by_id["a"].error)
    error_b = str(by_id["b"].error)
    assert "detectors[2].model: not a PicoDet layout: PicoDet has 8 outputs" in error_b
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["check", str(path)]) == 2
    assert "detectors[1].model (pose)" in capsys.readouterr().err
