"""The five output layouts: recognising them, their pre-processing, decoding one image.

Recognition works on the output names and the shapes of one trial inference (so dynamic
output dimensions are concrete): NanoDet exports ``cls_pred_stride_S``/``dis_pred_stride_S``
pairs; PicoDet (PaddleDetection's export) eight outputs, the class scores of the stride
8/16/32/64 grids then their box distributions; YOLOX is one ``(1, N, 5 + C)`` output with ``N``
the cells of the stride 8/16/32 grids; YOLOv5 the same with three anchors per cell;
YOLOv8/YOLO11 one ``(1, 4 + C, N)`` output.

NanoDet and PicoDet share one head (GFL: sigmoid class scores and, per side, a distribution
over ``reg_max + 1`` distance bins), so they share one Rust decoder; PicoDet adds a stride-64
level and is trained on frames resized to the whole input, not letterboxed.
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
PICODET_STRIDES = (8, 16, 32, 64)
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
    keep_ratio: bool = True  # False: the frame is stretched to the whole input


def preprocessing_for(layout: str) -> Preprocessing:
    """The pre-processing the reference exports of ``layout`` were trained with."""
    if layout == "yolox":
        return Preprocessing("bgr", False, 114.0, None, None)
    if layout == "nanodet":
        return Preprocessing("bgr", False, 114.0, NANO_MEAN, NANO_STD)
    if layout == "picodet":  # PaddleDetection's Resize(keep_ratio=False) + NormalizeImage
        return Preprocessing("bgr", False, 114.0, NANO_MEAN, NANO_STD, keep_ratio=False)
    return Preprocessing("rgb", True, 114.0, None, (255.0, 255.0, 255.0))  # Ultralytics


def cells(size: tuple[int, int]) -> int:
    """Grid cells of the stride 8, 16 and 32 levels for an input ``(width, height)``."""
    w, h = size
    return sum((w // s) * (h // s) for s in STRIDES)


def grid_cells(size: tuple[int, int], stride: int) -> int:
    """Cells of one level, partial cells counted (a 416 input has 7 cells at stride 64)."""
    w, h = size
    return -(-w // stride) * -(-h // stride)


@dataclass(frozen=True, slots=True)
class Decoder:
    """How to read a model's outputs: layout, class count and, for NanoDet and PicoDet (GFL
    heads), the output order."""

    layout: str
    num_classes: int
    nanodet_strides: tuple[int, ...] = ()
    nanodet_cls: tuple[int, ...] = ()  # output indices, by stride
    nanodet_dis: tuple[int, ...] = ()

    def decode(
        self, outputs: Sequence[NDArray[np.float32]], lb: _core.Letterbox, score: float, iou: float
    ) -> _core.Detections:
        """Boxes of one image (outputs with batch dimension 1) in source pixels, after NMS."""
        if self.layout in ("nanodet", "picodet"):
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


def _picodet(shapes: Sequence[tuple[int, ...]], size: tuple[int, int]) -> Decoder | str:
    """PicoDet's decoder, or why the outputs are not PicoDet's: the class scores ``(1, A, C)``
    of the stride 8/16/32/64 grids, then their distance distributions ``(1, A, 4(reg_max+1))``,
    in that order (PaddleDetection's ``scale_0`` .. ``scale_7``)."""
    levels = len(PICODET_STRIDES)
    if len(shapes) != 2 * levels:
        return f"PicoDet has {2 * levels} outputs, the model has {len(shapes)}"
    if any(len(s) != 3 or s[0] != 1 for s in shapes):
        return "PicoDet outputs are (1, anchors, K)"
    want = [grid_cells(size, s) for s in PICODET_STRIDES]
    got = [s[1] for s in shapes]
    if got != want + want:
        return (
            f"a {size[0]}x{size[1]} PicoDet input has {want} anchors at strides "
            f"{list(PICODET_STRIDES)} (scores, then distributions), the outputs have {got}"
        )
    classes, dist = {s[2] for s in shapes[:levels]}, {s[2] for s in shapes[levels:]}
    if len(classes) != 1 or len(dist) != 1 or next(iter(dist)) % 4:
        return "PicoDet score outputs must share one class count and distributions 4(reg_max+1)"
    cls = tuple(range(levels))
    dis = tuple(range(levels, 2 * levels))
    return Decoder("picodet", next(iter(classes)), PICODET_STRIDES, cls, dis)


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
    if requested == "picodet" or (requested == "auto" and len(shapes) > 1):
        pico = _picodet(shapes, size)
        if isinstance(pico, Decoder):
            return pico
        if requested == "picodet" or len(shapes) == 2 * len(PICODET_STRIDES):
            raise ModelError(f"not a PicoDet layout: {pico}; the model has {described}")
    if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
        raise ModelError(
            f"unknown output layout: expected one (1, N, K) output, NanoDet's "
            f"cls_pred_stride_*/dis_pred_stride_* outputs or PicoDet's eight; the model has "
            f"{described}"
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
