"""A pose model run on crops of candidate persons: :func:`load_pose`, :class:`PoseModel`.

The second stage of ``person_down``: a single-person keypoint model (MoveNet SinglePose and
models with its interface: one ``(1, H, W, 3)`` RGB crop in, ``(1, 1, 17, 3)`` COCO keypoints
``(y, x, score)`` in 0..1 of the crop out) tells lying from sitting, kneeling or bending where a
box cannot. It runs only when a rule asks about one box (:class:`FramePose`, bound to one
frame, with a per-frame budget), never on every person.

Privacy: the keypoints exist only inside :meth:`PoseModel.posture`; what leaves is a
:class:`~vsa_stream.observation.Posture` (two angles, a score, an extent), used for that frame
and never stored with an event.

A crop is a square around the box (with a margin), clipped to the frame and letterboxed by the
Rust pre-processing kernel (YCbCr to RGB and bilinear resize in one pass, GIL released); a box
at the frame edge gives a clipped crop, an empty or degenerate box gives no posture.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.config import PoseConfig
from vsa_stream.detection.model import open_session
from vsa_stream.errors import ModelError
from vsa_stream.observation import Posture

__all__ = ["FramePose", "PoseModel", "crop_window", "load_pose"]

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
Box = tuple[float, float, float, float]

#: COCO keypoint indices (the order of MoveNet's 17 keypoints).
_SHOULDERS, _HIPS, _KNEES, _ANKLES = (5, 6), (11, 12), (13, 14), (15, 16)
_KEYPOINTS = 17
#: A crop is the box's longer side plus this margin, so limbs that stick out stay inside.
_MARGIN = 0.25
#: Crops smaller than this (pixels of the frame) hold no usable person.
_MIN_SIDE = 8
#: Lying: the torso is closer to horizontal than to vertical by a clear margin, and the legs,
#: when seen, are not vertical (kneeling, bending and squatting keep the thighs or shins
#: upright). Geometry, not fitted to any clip.
_TORSO_LYING_DEG = 55.0
_LEGS_LYING_DEG = 45.0
_INPUT_TYPES = {"tensor(uint8)": np.uint8, "tensor(int32)": np.int32, "tensor(float)": np.float32}


def crop_window(box: Box, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The pixel window ``(left, top, right, bottom)`` of the crop around ``box``: a square of
    the box's longer side plus a margin, clipped to the frame, with an even top-left corner (the
    chroma planes are half size). None for an empty, non-finite or off-frame box.

    >>> crop_window((100.0, 100.0, 140.0, 220.0), 640, 480)
    (44, 84, 195, 235)
    >>> crop_window((645.0, 10.0, 700.0, 60.0), 640, 480) is None  # a 2-pixel sliver
    True
    """
    x0, y0, x1, y1 = box
    if not all(math.isfinite(v) for v in box) or x1 <= x0 or y1 <= y0:
        return None
    side = max(x1 - x0, y1 - y0) * (1.0 + _MARGIN)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left = max(0, min(width, math.floor((cx - side / 2.0) / 2.0) * 2))
    top = max(0, min(height, math.floor((cy - side / 2.0) / 2.0) * 2))
    right = max(0, min(width, math.ceil(cx + side / 2.0)))
    bottom = max(0, min(height, math.ceil(cy + side / 2.0)))
    if right - left < _MIN_SIDE or bottom - top < _MIN_SIDE:
        return None
    return left, top, right, bottom


def _angle_from_vertical(dx: float, dy: float) -> float:
    return math.degrees(math.atan2(abs(dx), abs(dy)))


def _mean_point(points: NDArray[np.float64], ok: NDArray[np.bool_], idx: tuple[int, int]) -> Any:
    chosen = [i for i in idx if ok[i]]
    if not chosen:
        return None
    return points[chosen].mean(axis=0)


def posture_of(keypoints: NDArray[np.float64], min_score: float) -> Posture | None:
    """The posture of 17 keypoints ``(x, y, score)`` in frame pixels; None without at least one
    confident shoulder and one confident hip.

    >>> kp = np.zeros((17, 3))
    >>> kp[[5, 6, 11, 12, 15, 16]] = [[10, 50, 1], [10, 60, 1], [60, 50, 1], [60, 60, 1],
    ...                               [110, 50, 1], [110, 60, 1]]
    >>> p = posture_of(kp, 0.3)
    >>> (p.lying, p.bent, round(p.torso_deg), round(p.legs_deg))
    (True, False, 90, 90)
    """
    ok = keypoints[:, 2] >= min_score
    xy = keypoints[:, :2]
    shoulders = _mean_point(xy, ok, _SHOULDERS)
    hips = _mean_point(xy, ok, _HIPS)
    if shoulders is None or hips is None:
        return None
    torso = hips - shoulders
    if float(np.hypot(*torso)) < 1.0:
        return None
    torso_deg = _angle_from_vertical(float(torso[0]), float(torso[1]))
    feet = _mean_point(xy, ok, _ANKLES)
    if feet is None:
        feet = _mean_point(xy, ok, _KNEES)
    legs_deg = None
    if feet is not None and float(np.hypot(*(feet - hips))) >= 1.0:
        legs_deg = _angle_from_vertical(float(feet[0] - hips[0]), float(feet[1] - hips[1]))
    flat = torso_deg >= _TORSO_LYING_DEG
    lying = flat and (legs_deg is None or legs_deg >= _LEGS_LYING_DEG)
    bent = flat and not lying
    seen = keypoints[ok]
    x0, y0 = seen[:, 0].min(), seen[:, 1].min()
    x1, y1 = seen[:, 0].max(), seen[:, 1].max()
    return Posture(
        lying=lying,
        bent=bent,
        torso_deg=round(torso_deg, 1),
        legs_deg=None if legs_deg is None else round(legs_deg, 1),
        score=round(float(seen[:, 2].mean()), 3),
        box=(float(x0), float(y0), float(x1), float(y1)),
    )


class PoseModel:
    """A loaded pose model (use :func:`load_pose`). Thread-safe: onnxruntime sessions are.

    Attributes:
        runs: crops estimated so far (all cameras).
        seconds: wall time spent on them, crop and inference included.
    """

    def __init__(self, config: PoseConfig, session: Any, size: tuple[int, int], dtype: Any):
        self.config = config
        self.session = session
        self.input_name: str = session.get_inputs()[0].name
        self.input_size = size
        self._dtype = dtype
        self.runs = 0
        self.seconds = 0.0

    def __repr__(self) -> str:
        w, h = self.input_size
        return f"PoseModel({Path(self.config.model).name!r}, input={w}x{h})"

    def keypoints(self, planes: Planes, box: Box) -> NDArray[np.float64] | None:
        """The 17 keypoints ``(x, y, score)`` in frame pixels of the person in ``box`` of a
        yuv420p frame; None when the box gives no crop (empty, off the frame)."""
        y, u, v = planes
        height, width = y.shape
        window = crop_window(box, width, height)
        if window is None:
            return None
        start = time.perf_counter()
        left, top, right, bottom = window
        crop = (
            y[top:bottom, left:right],
            u[top // 2 : (bottom + 1) // 2, left // 2 : (right + 1) // 2],
            v[top // 2 : (bottom + 1) // 2, left // 2 : (right + 1) // 2],
        )
        tensor, lb = _core.preprocess_yuv420p(
            *crop, self.input_size, order="rgb", center=True, pad_value=0.0
        )
        image = np.ascontiguousarray(tensor[0].transpose(1, 2, 0)).astype(self._dtype)[None]
        out = self.session.run(None, {self.input_name: image})[0]
        self.seconds += time.perf_counter() - start
        self.runs += 1
        points = np.asarray(out, dtype=np.float64).reshape(_KEYPOINTS, 3)
        w, h = self.input_size
        xs = (points[:, 1] * w - lb.pad_x) / lb.scale_x + left
        ys = (points[:, 0] * h - lb.pad_y) / lb.scale_y + top
        return np.stack([xs, ys, points[:, 2]], axis=1)

    def posture(self, planes: Planes, box: Box) -> Posture | None:
        """The posture of the person in ``box`` (see :func:`posture_of`); the keypoints are
        dropped here."""
        keypoints = self.keypoints(planes, box)
        if keypoints is None:
            return None
        return posture_of(keypoints, self.config.min_keypoint_score)


class FramePose:
    """A :class:`~vsa_stream.observation.PostureProbe` bound to one frame: at most
    ``max_crops_per_frame`` model runs; the same box asked twice runs once.

    Args:
        model: the pose model.
        planes: gives the frame's yuv420p planes (read only when a crop is asked for); a frame
            whose planes cannot be read gives no posture.
    """

    def __init__(self, model: PoseModel, planes: Callable[[], Planes]) -> None:
        self.model = model
        self.planes = planes
        self.crops = 0
        self.seconds = 0.0
        self._seen: dict[tuple[int, int, int, int], Posture | None] = {}

    def __call__(self, box: Box) -> Posture | None:
        key = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
        if key in self._seen:
            return self._seen[key]
        if self.crops >= self.model.config.max_crops_per_frame:
            return None
        self.crops += 1
        try:
            planes = self.planes()
        except ValueError:
            return None
        start = time.perf_counter()
        posture = self._seen[key] = self.model.posture(planes, box)
        self.seconds += time.perf_counter() - start
        return posture


def _session(config: PoseConfig) -> Any:
    try:
        return open_session(
            config.model, ["CPUExecutionProvider"], intra_op_threads=config.intra_op_threads
        )
    except ModelError as exc:
        raise ModelError(f"pose.model: {exc}") from exc


def load_pose(config: PoseConfig) -> PoseModel:
    """Opens and checks a pose model: one ``(1, H, W, 3)`` image input (uint8, int32 or float
    0-255 RGB) and a first output of 17 ``(y, x, score)`` keypoints, tried on a blank crop.

    Raises:
        ModelError: naming ``pose.model``: missing file, not ONNX, wrong input or output shape.
    """
    session = _session(config)
    inp = session.get_inputs()[0]
    shape = list(inp.shape)
    fixed = [d if isinstance(d, int) and d > 0 else None for d in shape]
    if len(shape) != 4 or fixed[3] != 3 or fixed[1] is None or fixed[2] is None:
        raise ModelError(
            f"pose.model: input {inp.name} has shape {shape}; expected [1, H, W, 3] "
            "(one RGB crop, channels last, fixed size)"
        )
    dtype = _INPUT_TYPES.get(inp.type)
    if dtype is None:
        raise ModelError(
            f"pose.model: input {inp.name} is {inp.type}; expected uint8, int32 or float"
        )
    size = (int(fixed[2]), int(fixed[1]))
    blank = np.zeros((1, size[1], size[0], 3), dtype=dtype)
    try:
        out = session.run(None, {inp.name: blank})[0]
    except Exception as exc:
        raise ModelError(f"pose.model: {config.model} fails on a blank crop: {exc}") from exc
    out_shape = tuple(np.shape(out))
    if int(np.prod(out_shape)) != _KEYPOINTS * 3 or out_shape[-2:] != (_KEYPOINTS, 3):
        raise ModelError(
            f"pose.model: output shape {list(out_shape)}; expected [1, 1, 17, 3] "
            "(one person's 17 keypoints as y, x, score)"
        )
    return PoseModel(config, session, size, dtype)
