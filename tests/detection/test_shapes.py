"""Detector inputs shaped like the camera, and execution providers by name.

A tiny YOLOX-shaped model (pooling per stride, the head's reshape to ``(1, K, -1)``, concat,
transpose, as the real export) is built with a fixed 64x64 input: it must be re-shaped at load
and run at the camera's shape. On the real YOLOX-nano, a 16:9 dev clip's frames must give the
square input's detections from a 416x256 input; NanoDet-m, whose graph reshapes to constant
sizes, keeps its own input and says why.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from conftest import shared_path
from vsa_stream import config as config_mod
from vsa_stream._core import Letterbox
from vsa_stream.detection import ModelDetection, ModelSpec, load_model
from vsa_stream.detection.regions import plan_regions
from vsa_stream.detection.shapes import _dump, _parse, camera_input, reshaped
from vsa_stream.errors import ConfigError, ModelError

onnx: Any = importlib.import_module("onnx")  # a test dependency: never skip
ort: Any = importlib.import_module("onnxruntime")
helper: Any = onnx.helper
U8 = NDArray[np.uint8]
Planes = tuple[U8, U8, U8]


def build_pooled(path: Path, side: int = 64, batch: int | str = 1) -> str:
    """A YOLOX-layout model (1 class) with a fixed ``side`` x ``side`` input whose anchor count
    follows its input: a 1x1 convolution to 6 channels, average-pooled at strides 8, 16, 32,
    each reshaped to (1, 6, -1), concatenated and transposed to (1, anchors, 6)."""
    x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [batch, 3, side, side])
    cells = sum((side // s) ** 2 for s in (8, 16, 32))
    out = helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [batch, cells, 6])
    weight = np.full((6, 3, 1, 1), -1e-3, np.float32)
    nodes = [helper.make_node("Conv", ["images", "w"], ["f"])]
    levels = []
    for s in (8, 16, 32):
        nodes.append(
            helper.make_node("AveragePool", ["f"], [f"p{s}"], kernel_shape=[s, s], strides=[s, s])
        )
        nodes.append(helper.make_node("Reshape", [f"p{s}", "flat"], [f"r{s}"]))
        levels.append(f"r{s}")
    nodes.append(helper.make_node("Concat", levels, ["c"], axis=2))
    nodes.append(helper.make_node("Transpose", ["c"], ["output"], perm=[0, 2, 1]))
    inits = [
        onnx.numpy_helper.from_array(weight, "w"),
        helper.make_tensor("flat", onnx.TensorProto.INT64, [3], [0, 6, -1]),  # 0: the batch
    ]
    graph = helper.make_graph(nodes, "pooled", [x], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)  # value_info with the fixed shapes
    onnx.save(model, str(path))
    return str(path)


def pooled(tmp_path: Path, **options: Any) -> ModelSpec:
    """The spec of a 128x128 pooled model (one class, ``person``)."""
    path = build_pooled(tmp_path / "p.onnx", 128)
    return ModelSpec(path=path, class_names=["person"], **options)


def planes_of(width: int, height: int, seed: int = 0) -> Planes:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    u = rng.integers(0, 256, (height // 2, width // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (height // 2, width // 2), dtype=np.uint8)
    return y, u, v


# --- the shape of a camera ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ((1280, 720), (416, 256)),  # 16:9: content 416x234
        ((1920, 1080), (416, 256)),
        ((640, 480), (416, 320)),  # 4:3: content 416x312
        ((352, 288), (416, 352)),  # CIF: content 416x340
        ((720, 1280), (256, 416)),  # portrait
        ((416, 416), (416, 416)),
        ((4000, 100), (416, 32)),  # never under one stride
    ],
)
def test_camera_input_holds_the_frame_at_the_square_inputs_scale(
    frame: tuple[int, int], expected: tuple[int, int]
) -> None:
    got = camera_input(frame, (416, 416), 32)
    assert got == expected
    scale = min(416 / frame[0], 416 / frame[1])
    assert min(got[0] / frame[0], got[1] / frame[1]) >= scale - 1e-9  # never shrunk more
    assert got[0] % 32 == 0
    assert got[1] % 32 == 0


@settings(max_examples=300, deadline=None)
@given(
    st.integers(16, 4000),
    st.integers(16, 4000),
    st.sampled_from([(416, 416), (320, 320), (640, 640), (640, 384), (300, 300)]),
)
def test_a_frame_fills_the_camera_input_as_it_fills_the_models(
    fw: int, fh: int, model: tuple[int, int]
) -> None:
    """The letterbox puts the same content (size and scale) in both inputs: only padding is
    cut, so the model sees the same pixels."""
    size = camera_input((fw, fh), model, 32)
    assert size[0] <= model[0]
    assert size[1] <= model[1]
    ours, theirs = Letterbox(fw, fh, *size), Letterbox(fw, fh, *model)
    assert (ours.content_width, ours.content_height) == (
        theirs.content_width,
        theirs.content_height,
    )


def test_camera_input_rejects_empty_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        camera_input((0, 720), (416, 416), 32)


# --- re-shaping a fixed-input model ----------------------------------------------------------


def test_protobuf_round_trip_keeps_the_model_byte_for_byte(tmp_path: Path) -> None:
    data = Path(build_pooled(tmp_path / "p.onnx")).read_bytes()
    assert _dump(_parse(data)) == data


def test_reshaped_model_runs_at_the_new_size(tmp_path: Path) -> None:
    data = Path(build_pooled(tmp_path / "p.onnx")).read_bytes()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="images"):  # the model as saved refuses 64x32
        session.run(None, {"images": np.zeros((1, 3, 32, 64), np.float32)})
    edited = reshaped(data, "images", (64, 32))
    session = ort.InferenceSession(edited, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 3, 32, 64]
    (out,) = session.run(None, {"images": np.zeros((1, 3, 32, 64), np.float32)})
    assert out.shape == (1, 8 * 4 + 4 * 2 + 2 * 1, 6)


def test_reshape_of_a_missing_input_names_it(tmp_path: Path) -> None:
    data = Path(build_pooled(tmp_path / "p.onnx")).read_bytes()
    with pytest.raises(ValueError, match="pixels"):
        reshaped(data, "pixels", (64, 32))
    with pytest.raises(ValueError, match="ONNX"):
        reshaped(b"\x08\x01", "images", (64, 32))


def test_fixed_input_model_runs_at_the_camera_shape(tmp_path: Path) -> None:
    model = load_model(pooled(tmp_path))
    assert model.input_note is None
    tensor, lb = model.preprocess(planes_of(256, 64))  # 4:1: content 128x32
    assert tensor.shape == (1, 3, 32, 128)
    assert (lb.content_width, lb.content_height, lb.scale_x) == (128, 32, 0.5)
    assert model.detect(*planes_of(256, 64)) == []
    assert model.runs == 1
    assert model.session_for((128, 32)).get_inputs()[0].shape == [1, 3, 32, 128]


def test_group_input_only_grows_and_keeps_one_shape(tmp_path: Path) -> None:
    model = load_model(pooled(tmp_path))
    assert model.input_for((256, 64)) == (128, 32)
    assert model.input_for((1280, 720)) == (128, 96)  # a 16:9 camera joins: content 128x72
    assert model.input_for((256, 64)) == (128, 96)  # the 4:1 camera now uses the group's
    assert model.input_for((720, 1280)) == (128, 128)  # a portrait camera: the model's own
    frames = [planes_of(256, 64), planes_of(1280, 720, 1)]
    assert model.detect_batch(frames) == [[], []]


def test_a_batch_of_cameras_of_different_shapes_runs_as_one_inference(tmp_path: Path) -> None:
    path = build_pooled(tmp_path / "b.onnx", 128, batch="N")
    model = load_model(ModelSpec(path=path, class_names=["person"]))
    assert model.batched
    frames = [planes_of(256, 64), planes_of(1280, 720, 1), planes_of(640, 480, 2)]
    assert model.detect_batch(frames) == [[], [], []]
    assert model.runs == 1  # one tensor of three 128x96 inputs
    assert model.session_for((128, 96)).get_inputs()[0].shape == ["N", 3, 96, 128]


def test_input_shape_model_keeps_the_models_input(tmp_path: Path) -> None:
    spec = pooled(tmp_path, input_shape="model")
    model = load_model(spec)
    assert model.input_for((256, 64)) == (128, 128)
    assert model.preprocess(planes_of(256, 64))[0].shape == (1, 3, 128, 128)
    assert model.input_note == "input_shape: model"


def test_unknown_input_shape_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "cameras: [{id: a, url: a.mp4, detectors: [d]}]\n"
        "detectors: [{id: d, model: {path: m.onnx, input_shape: wide}}]\n"
    )
    with pytest.raises(ConfigError, match="input_shape"):
        config_mod.load(path)


# --- real models ---------------------------------------------------------------------------


def _frames(video: Path, count: int) -> list[Planes]:
    out: list[Planes] = []
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 10 == 0:
                p = np.asarray(frame.reformat(format="yuv420p").to_ndarray(), np.uint8)
                h, w = frame.height, frame.width
                u = p[h : h + h // 4].reshape(h // 2, w // 2)
                v = p[h + h // 4 :].reshape(h // 2, w // 2)
                out.append((p[:h].copy(), u.copy(), v.copy()))
            if len(out) == count:
                break
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _best_iou(d: ModelDetection, others: list[ModelDetection]) -> float:
    same = [o for o in others if o.engine_class == d.engine_class]
    return max((_iou(d.box, o.box) for o in same), default=0.0)


@pytest.mark.shared
def test_yolox_on_a_16_9_clip_finds_the_square_inputs_persons_from_416x256() -> None:
    path = str(shared_path("models", "yolox_nano.onnx"))
    frames = _frames(shared_path("data", "dev", "falls", "gmdcsa24_S3_Fall_16.mp4"), 6)
    square = load_model(ModelSpec(path=path, input_shape="model"))
    camera = load_model(ModelSpec(path=path))
    assert camera.input_for((1280, 720)) == (416, 256)
    found = 0
    for f in frames:
        a, b = square.detect(*f), camera.detect(*f)
        assert len(a) == len(b)
        for d in a:
            assert _best_iou(d, b) > 0.9
        found += len(a)
    assert found >= 3  # the person is seen: the comparison is not of empty lists
    assert camera.session_for((416, 256)).get_inputs()[0].shape == [1, 3, 256, 416]


@pytest.mark.shared
def test_yolox_regions_use_the_camera_shape() -> None:
    path = str(shared_path("models", "yolox_nano.onnx"))
    camera = load_model(ModelSpec(path=path))
    (f,) = _frames(shared_path("data", "dev", "falls", "gmdcsa24_S3_Fall_16.mp4"), 1)
    size = camera.input_for((1280, 720))
    regions = plan_regions((1280, 720), size, [(600, 300, 640, 380)], max_regions=4, min_shrink=2)
    assert regions == [(412, 212, 828, 468)]
    images = camera._images(f, regions, size)
    assert [i.tensor.shape for i in images] == [(1, 3, 256, 416)] * 2
    assert images[1].letterbox.scale_x == 1.0  # the region is seen at full resolution
    camera.detect(*f, regions=regions)
    assert camera.region_images == 2


@pytest.mark.shared
def test_nanodet_whose_graph_fixes_its_size_keeps_its_input_and_says_why() -> None:
    model = load_model(ModelSpec(path=str(shared_path("models", "nanodet_m_320.onnx"))))
    assert model.input_for((1280, 720)) == (320, 320)
    assert model.input_note is not None
    assert "does not run at 320x192" in model.input_note
    model.detect(*planes_of(1280, 720))  # and still detects


# --- execution providers -------------------------------------------------------------------


def test_short_provider_names_run_on_the_cpu(tmp_path: Path) -> None:
    model = load_model(pooled(tmp_path, providers=["cpu"]))
    assert model.session.get_providers() == ["CPUExecutionProvider"]


@pytest.mark.parametrize(
    ("short", "full", "hint"),
    [
        ("openvino", "OpenVINOExecutionProvider", "vsa-stream[openvino]"),
        ("cuda", "CUDAExecutionProvider", "onnxruntime-gpu"),
        ("tensorrt", "TensorrtExecutionProvider", "onnxruntime-gpu"),
    ],
)
def test_optional_provider_runs_when_installed_or_is_refused_with_what_to_install(
    tmp_path: Path, short: str, full: str, hint: str
) -> None:
    spec = pooled(tmp_path, providers=[short, "cpu"])
    if full in ort.get_available_providers():  # an onnxruntime build that has it
        try:
            model = load_model(spec)
        except ModelError as exc:  # built in, but no device here: refused, never the CPU
            message = str(exc)
        else:
            message = model.session.get_providers()[0]
        assert message == full or "could not start" in message
        return
    with pytest.raises(ModelError, match="providers") as err:
        load_model(spec)
    assert full in str(err.value)
    assert hint in str(err.value)


def test_unknown_provider_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "cameras: [{id: a, url: a.mp4, detectors: [d]}]\n"
        "detectors: [{id: d, model: {path: m.onnx, providers: [gpu]}}]\n"
    )
    with pytest.raises(ConfigError, match="providers") as err:
        config_mod.load(path)
    assert "gpu" in str(err.value)
