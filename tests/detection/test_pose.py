"""The pose second stage: crops at the frame edge, keypoints in frame pixels, bad models refused."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import shared_path
from tiny_detector import build_bright_detector
from vsa_stream import config as config_mod
from vsa_stream.cli import main
from vsa_stream.config import PoseConfig
from vsa_stream.detection.pose import FramePose, crop_window, load_pose, posture_of
from vsa_stream.engine import Engine
from vsa_stream.errors import ModelError
from vsa_stream.observation import Posture

onnx: Any = importlib.import_module("onnx")  # a test dependency: never skip
helper: Any = onnx.helper


def fixed_pose_model(
    path: Path,
    *,
    input_shape: tuple[int, ...] = (1, 64, 64, 3),
    input_type: int = 2,  # uint8
    output_shape: tuple[int, ...] = (1, 1, 17, 3),
) -> str:
    """A model of the pose interface whose keypoints are fixed: every joint at the middle of the
    crop, the shoulders at its top and the ankles at its right edge, all with score 0.9 (so the
    mapping of crop coordinates back to the frame can be checked)."""
    points = np.zeros((17, 3), np.float32)
    points[:] = (0.5, 0.5, 0.9)
    points[[5, 6]] = (0.25, 0.5, 0.9)  # shoulders above the hips: an upright torso
    points[[15, 16]] = (0.5, 1.0, 0.9)  # ankles to the right of the hips: legs horizontal
    size = int(np.prod(output_shape))
    values = np.resize(points.reshape(-1), size).reshape(output_shape).astype(np.float32)
    nodes = [
        helper.make_node("Cast", ["input"], ["as_float"], to=onnx.TensorProto.FLOAT),
        helper.make_node("ReduceMin", ["as_float"], ["low"], keepdims=0),
        helper.make_node("Mul", ["low", "zero"], ["nothing"]),
        helper.make_node("Add", ["points", "nothing"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fixed_pose",
        [helper.make_tensor_value_info("input", input_type, list(input_shape))],
        [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, list(output_shape))],
        [
            onnx.numpy_helper.from_array(values, "points"),
            onnx.numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return str(path)


def planes(width: int, height: int, luma: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cw, ch = (width + 1) // 2, (height + 1) // 2
    y = np.full((height, width), luma, np.uint8)
    return y, np.full((ch, cw), 128, np.uint8), np.full((ch, cw), 128, np.uint8)


def test_crop_window_is_square_clipped_and_never_empty() -> None:
    assert crop_window((100.0, 100.0, 140.0, 220.0), 640, 480) == (44, 84, 195, 235)
    # at the frame edge: clipped, still usable
    left, top, right, bottom = crop_window((600.0, 400.0, 700.0, 520.0), 640, 480) or (0, 0, 0, 0)
    assert (right, bottom) == (640, 480)
    assert left % 2 == 0
    assert top % 2 == 0
    for empty in [(10.0, 10.0, 10.0, 50.0), (5.0, 5.0, 4.0, 4.0), (float("nan"), 0.0, 5.0, 5.0)]:
        assert crop_window(empty, 640, 480) is None
    assert crop_window((-500.0, -500.0, -300.0, -300.0), 640, 480) is None  # off the frame
    assert crop_window((645.0, 10.0, 700.0, 60.0), 640, 480) is None  # a sliver at the edge


def test_keypoints_come_back_in_frame_pixels_and_edge_crops_work(tmp_path: Path) -> None:
    model = load_pose(PoseConfig(model=fixed_pose_model(tmp_path / "pose.onnx")))
    assert model.input_size == (64, 64)
    frame = planes(641, 481)  # odd sizes: chroma planes rounded up
    kp = model.keypoints(frame, (300.0, 200.0, 340.0, 320.0))
    assert kp is not None
    left, top, right, bottom = crop_window((300.0, 200.0, 340.0, 320.0), 641, 481) or (0, 0, 0, 0)
    # the middle of the crop is the middle of the window, in frame pixels
    assert np.allclose(kp[0, :2], ((left + right) / 2, (top + bottom) / 2), atol=2.0)
    assert np.allclose(kp[15, 0], right, atol=3.0)  # the crop's right edge
    # a box hanging over the bottom-right corner: a clipped, letterboxed crop, no error
    edge = model.keypoints(frame, (600.0, 430.0, 700.0, 560.0))
    assert edge is not None
    assert np.isfinite(edge).all()
    assert model.keypoints(frame, (20.0, 20.0, 20.0, 20.0)) is None  # zero-size box
    posture = model.posture(frame, (300.0, 200.0, 340.0, 320.0))
    assert posture is not None
    assert not posture.lying
    assert model.runs == 3  # the zero-size box ran nothing


def test_frame_pose_budget_and_cache(tmp_path: Path) -> None:
    model = load_pose(
        PoseConfig(model=fixed_pose_model(tmp_path / "pose.onnx"), max_crops_per_frame=2)
    )
    frame = planes(320, 240)
    probe = FramePose(model, lambda: frame)
    a = probe((10.0, 10.0, 60.0, 120.0))
    assert probe((10.2, 9.8, 60.0, 120.0)) == a  # the same box: no second run
    assert probe((100.0, 10.0, 150.0, 120.0)) is not None
    assert probe((200.0, 10.0, 250.0, 120.0)) is None  # budget spent for this frame
    assert probe.crops == 2
    assert model.runs == 2

    def unreadable() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise ValueError("planes of a frame in an unsupported format")

    assert FramePose(model, unreadable)((10.0, 10.0, 60.0, 120.0)) is None


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"input_shape": (1, 3, 64, 64), "input_type": 1}, "input input has shape [1, 3, 64, 64]"),
        ({"input_type": 10}, "is tensor(float16)"),
        ({"output_shape": (1, 17, 2)}, "output shape [1, 17, 2]"),
        ({"output_shape": (1, 6, 56)}, "output shape [1, 6, 56]"),
    ],
)
def test_a_model_of_the_wrong_shape_is_refused_naming_the_field(
    tmp_path: Path, kwargs: dict[str, Any], says: str
) -> None:
    path = fixed_pose_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError, match=r"pose\.model") as info:
        load_pose(PoseConfig(model=path))
    assert says in str(info.value)


def test_missing_or_not_onnx_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"pose\.model: file .* does not exist"):
        load_pose(PoseConfig(model=str(tmp_path / "none.onnx")))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"pose\.model: .* is not a usable ONNX model"):
        load_pose(PoseConfig(model=str(junk)))


def test_check_and_scan_refuse_a_detector_given_as_pose_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    detector = fixed_pose_model(tmp_path / "nchw.onnx", input_shape=(1, 3, 64, 64), input_type=1)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"""
pose: {{model: {detector}}}
privacy: {{legal_profile: lab}}
cameras:
  - id: a
    url: a.mp4
    rules: [{{type: intrusion, zones: [z]}}]
    zones: [{{id: z, polygon: [[0, 0], [1, 0], [1, 1]]}}]
"""
    )
    assert main(["check", str(config)]) == 2
    err = capsys.readouterr().err
    assert "pose.model: input input has shape [1, 3, 64, 64]" in err


def test_posture_tells_lying_from_kneeling_and_sitting() -> None:
    def skeleton(
        shoulder: tuple[float, float], hip: tuple[float, float], foot: tuple[float, float]
    ) -> Posture | None:
        kp = np.zeros((17, 3))
        kp[[5, 6]] = (*shoulder, 0.8)
        kp[[11, 12]] = (*hip, 0.8)
        kp[[15, 16]] = (*foot, 0.8)
        return posture_of(kp, 0.3)

    lying = skeleton((100, 300), (160, 305), (240, 310))
    kneeling = skeleton((100, 250), (160, 255), (165, 320))  # torso flat, thighs upright
    sitting = skeleton((100, 200), (105, 260), (170, 265))  # torso upright, legs forward
    assert lying is not None
    assert lying.lying
    assert not lying.bent
    assert kneeling is not None
    assert kneeling.bent
    assert not kneeling.lying
    assert sitting is not None
    assert not sitting.lying
    assert not sitting.bent
    kp = np.zeros((17, 3))
    kp[[5, 6], 2] = 0.9
    assert posture_of(kp, 0.3) is None  # no hip seen: no posture


def test_movenet_on_a_real_fall_crop_at_the_frame_edge() -> None:
    path = shared_path("models", "pose", "movenet_singlepose_lightning_int8_4.onnx")
    model = load_pose(PoseConfig(model=str(path)))
    assert model.input_size == (192, 192)
    frame = planes(640, 480, luma=60)
    for box in [
        (560.0, 300.0, 700.0, 520.0),
        (-50.0, -50.0, 80.0, 200.0),
        (0.0, 0.0, 640.0, 480.0),
    ]:
        kp = model.keypoints(frame, box)
        assert kp is not None
        assert kp.shape == (17, 3)
        assert np.isfinite(kp).all()


@pytest.mark.anyio
async def test_engine_keeps_a_person_down_camera_off_when_its_pose_model_is_refused(
    tmp_path: Path,
) -> None:
    detector = build_bright_detector(tmp_path / "bright.onnx", ["person"])
    bad = fixed_pose_model(tmp_path / "bad.onnx", output_shape=(1, 17, 2))
    config = config_mod.loads(
        f"""
detectors: [{{id: people, model: {{path: {detector}}}}}]
pose: {{model: {bad}}}
privacy: {{legal_profile: lab}}
cameras:
  - {{id: down, url: {tmp_path / "none.mp4"}, rules: [{{type: person_down}}]}}
"""
    )
    result = await Engine(config, [], scan=True).run()
    (status,) = result.cameras
    assert status.state == "failed"
    assert status.error is not None
    assert "pose model unavailable: pose.model: output shape [1, 17, 2]" in status.error
