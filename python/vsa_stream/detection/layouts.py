"""The four output layouts: recognising them, their pre-processing, decoding one image.

Recognition works on the output names and the shapes of one trial inference (so dynamic
output dimensions are concrete): NanoDet exports ``cls_pred_stride_S``/``dis_pred_stride_S``
pairs; YOLOX is one ``(1, N, 5 + C)`` output with ``N`` the cells of the stride 8/16/32 grids;
YOLOv5 the same with three anchors per cell; YOLOv8/YOLO11 one ``(1, 4 + C, N)`` output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.errors import ModelError

__all__ = ["Decoder", "Preprocessing", "detect_layout", "preprocessing_for"]

STRIDES = (8, 16, 32)
_NANODET = re.compile(r"^(cls|dis)_pred_stride_(\d+)$")
NANO_MEAN = (103.53, 116.28, 123.675)
NANO_STD = (57.375, 57.12, 58.395)


@dataclass(frozen=True, slots=True)
class Preprocessing:
    """Keyword arguments of ``preprocess_yuv420p`` for one layout."""

    order: str
    center: bool
    pad_value: float
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None


def preprocessing_for(layout: str) -> Preprocessing:
    """The pre-processing the reference exports of ``layout`` were trained with."""
    if layout == "yolox":
        return Preprocessing("bgr", False, 114.0, None, None)
    if layout == "nanodet":
        return Preprocessing("bgr", False, 114.0, NANO_MEAN, NANO_STD)
    return Preprocessing("rgb", True, 114.0, None, (255.0, 255.0, 255.0))  # Ultralytics


def cells(size: tuple[int, int]) -> int:
    """Grid cells of the stride 8, 16 and 32 levels for an input ``(width, height)``."""
    w, h = size
    return sum((w // s) * (h // s) for s in STRIDES)


@dataclass(frozen=True, slots=True)
class Decoder:
    """How to read a model's outputs: layout, class count and, for NanoDet, output order."""

    layout: str
    num_classes: int
    nanodet_strides: tuple[int, ...] = ()
    nanodet_cls: tuple[int, ...] = ()  # output indices, by stride
    nanodet_dis: tuple[int, ...] = ()

    def decode(
        self, outputs: Sequence[NDArray[np.float32]], lb: _core.Letterbox, score: float, iou: float
    ) -> _core.Detections:
        """Boxes of one image (outputs with batch dimension 1) in source pixels, after NMS."""
        if self.layout == "nanodet":
            cls = [outputs[i] for i in self.nanodet_cls]
            dis = [outputs[i] for i in self.nanodet_dis]
            return _core.decode_nanodet(
                cls,
                dis,
                lb,
                score_threshold=score,
                iou_threshold=iou,
                strides=self.nanodet_strides,
                reg_max=dis[0].shape[-1] // 4 - 1,
            )
        fn = {
            "yolox": _core.decode_yolox,
            "yolov5": _core.decode_yolov5,
            "yolov8": _core.decode_yolov8,
        }[self.layout]
        return fn(outputs[0], lb, score_threshold=score, iou_threshold=iou)


def _nanodet(names: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> Decoder:
    found: dict[str, dict[int, int]] = {"cls": {}, "dis": {}}
    for i, name in enumerate(names):
        m = _NANODET.match(name)
        if m:
            found[m.group(1)][int(m.group(2))] = i
    strides = tuple(sorted(found["cls"]))
    if not strides or strides != tuple(sorted(found["dis"])):
        raise ModelError(
            f"NanoDet layout needs cls_pred_stride_S and dis_pred_stride_S outputs for the same "
            f"strides; outputs are {list(names)}"
        )
    cls = tuple(found["cls"][s] for s in strides)
    dis = tuple(found["dis"][s] for s in strides)
    if any(len(shapes[i]) != 3 for i in cls + dis) or shapes[dis[0]][-1] % 4:
        raise ModelError(f"NanoDet outputs must be (1, anchors, K); got shapes {list(shapes)}")
    return Decoder("nanodet", shapes[cls[0]][-1], strides, cls, dis)


def detect_layout(
    requested: str,
    names: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    size: tuple[int, int],
) -> Decoder:
    """The decoder for a model, from its output names and shapes (of a batch-1 run).

    Args:
        requested: the spec's layout, or ``"auto"``.
        names: output names.
        shapes: concrete output shapes.
        size: model input ``(width, height)``.

    Raises:
        ModelError: the outputs match no layout, or not the requested one.
    """
    if requested == "nanodet" or (requested == "auto" and any(_NANODET.match(n) for n in names)):
        return _nanodet(names, shapes)
    described = ", ".join(f"{n} {list(s)}" for n, s in zip(names, shapes, strict=True))
    if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
        raise ModelError(
            f"unknown output layout: expected one (1, N, K) output or NanoDet's "
            f"cls_pred_stride_*/dis_pred_stride_* outputs; the model has {described}"
        )
    _, a, b = shapes[0]
    n = cells(size)
    candidates = {
        "yolox": a == n and b > 5,
        "yolov5": a == 3 * n and b > 5,
        "yolov8": b == n and a > 4,
    }
    if requested == "auto":
        matching = [k for k, ok in candidates.items() if ok]
        if not matching:
            raise ModelError(
                f"unknown output layout: {described} for input {size[0]}x{size[1]} is neither "
                f"YOLOX (1, {n}, 5+C), YOLOv5 (1, {3 * n}, 5+C) nor YOLOv8 (1, 4+C, {n}); "
                f"set layout explicitly"
            )
        requested = matching[0]
    elif (requested in ("yolox", "yolov5") and b <= 5) or (requested == "yolov8" and a <= 4):
        raise ModelError(f"output {described} has no class scores for layout {requested}")
    classes = a - 4 if requested == "yolov8" else b - 5
    return Decoder(requested, classes)
