"""Tiny ONNX models built in the tests, one per output layout, emitting known boxes."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

onnx: Any = importlib.import_module("onnx")  # a test dependency: never skip
helper: Any = onnx.helper
F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
Known = Mapping[int, tuple[Sequence[float], float]]

SRC = (160, 120)  # frame width, height: letterboxed into 96x96 at scale 0.6, content 96x72
SIZE = 96
SCALE, CONTENT_H = 0.6, 72
CELLS = [(SIZE // s) ** 2 for s in (8, 16, 32)]  # 64, 16, 4
PERSON = (50.0, 20.0, 90.0, 80.0)  # source pixels
CAR = (10.0, 60.0, 60.0, 110.0)


def build(
    path: Path,
    outputs: dict[str, F32],
    *,
    batch: int | str = 1,
    channels: int = 3,
    rank: int = 4,
    meta: dict[str, str] | None = None,
) -> str:
    """A model whose outputs are the given constants, shaped (batch, ...) from its input."""
    dims: list[int | str] = [batch, channels, SIZE, SIZE][:rank]
    x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, dims)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=list(range(1, rank)), keepdims=1),
        helper.make_node("Reshape", ["m", "shape"], ["r"]),
        helper.make_node("Mul", ["r", "zero"], ["z"]),
    ]
    inits = [
        helper.make_tensor("shape", onnx.TensorProto.INT64, [3], [-1, 1, 1]),
        helper.make_tensor("zero", onnx.TensorProto.FLOAT, [], [0.0]),
    ]
    outs = []
    for name, value in outputs.items():
        nodes.append(helper.make_node("Add", ["z", f"c_{name}"], [name]))
        inits.append(onnx.numpy_helper.from_array(value.astype(np.float32), f"c_{name}"))
        outs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "tiny", [x], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for k, v in (meta or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))
    return str(path)


def to_input(box: Sequence[float], center: bool) -> tuple[float, float, float, float]:
    """Source box -> (cx, cy, w, h) in model-input pixels."""
    pad_y = (SIZE - CONTENT_H) // 2 if center else 0
    x1, y1, x2, y2 = (c * SCALE for c in box)
    return (x1 + x2) / 2, (y1 + y2) / 2 + pad_y, x2 - x1, y2 - y1


def yolo_rows(boxes: Known, classes: int, center: bool) -> F32:
    """YOLOv5 rows (cx, cy, w, h, obj, scores...) for {class: (box, score)}, 3 anchors/cell."""
    out = np.zeros((1, 3 * sum(CELLS), 5 + classes), np.float32)
    for row, (cls, (box, score)) in enumerate(boxes.items()):
        out[0, row, :4] = to_input(box, center)
        out[0, row, 4], out[0, row, 5 + cls] = 1.0, score
    return out


def yolox_grid(boxes: Known, classes: int) -> F32:
    """YOLOX raw grid output: offsets in the stride-8 cell, log sizes in strides."""
    out = np.zeros((1, sum(CELLS), 5 + classes), np.float32)
    out[0, :, 2:4] = -10  # empty anchors: tiny boxes, objectness 0
    for cls, (box, score) in boxes.items():
        cx, cy, w, h = to_input(box, False)
        gx, gy = int(cx // 8), int(cy // 8)
        row = gy * (SIZE // 8) + gx
        out[0, row, :4] = cx / 8 - gx, cy / 8 - gy, math.log(w / 8), math.log(h / 8)
        out[0, row, 4], out[0, row, 5 + cls] = 1.0, score
    return out


def yolov8_cols(boxes: Known, classes: int) -> F32:
    rows = yolo_rows(boxes, classes, True)[:, : sum(CELLS)]
    out = np.concatenate([rows[..., :4], rows[..., 5:]], axis=-1)
    return np.ascontiguousarray(out.transpose(0, 2, 1))


def nanodet_outputs(boxes: Known, classes: int) -> dict[str, F32]:
    """cls/dis outputs per stride; each distance is split between two bins (exact expectation)."""
    out: dict[str, F32] = {}
    for s, n in zip((8, 16, 32), CELLS, strict=True):
        out[f"cls_pred_stride_{s}"] = np.zeros((1, n, classes), np.float32)
        out[f"dis_pred_stride_{s}"] = np.zeros((1, n, 32), np.float32)
    for cls, (box, score) in boxes.items():
        cx, cy, w, h = to_input(box, False)
        gx, gy = int(cx // 8), int(cy // 8)
        row = gy * (SIZE // 8) + gx
        px, py = (gx + 0.5) * 8, (gy + 0.5) * 8
        out["cls_pred_stride_8"][0, row, cls] = score
        dis = out["dis_pred_stride_8"][0, row].reshape(4, 8)
        dis[:] = -50.0
        for k, dist in enumerate(
            (px - (cx - w / 2), py - (cy - h / 2), cx + w / 2 - px, cy + h / 2 - py)
        ):
            d = dist / 8
            lo, frac = int(d), d - int(d)
            dis[k, lo] = math.log(1 - frac) if frac < 1 else -50.0
            if frac > 0:
                dis[k, lo + 1] = math.log(frac)
    return out


def frame(width: int = SRC[0], height: int = SRC[1]) -> tuple[U8, U8, U8]:
    y = np.full((height, width), 90, np.uint8)
    u = np.full(((height + 1) // 2, (width + 1) // 2), 128, np.uint8)
    return y, u, u.copy()


KNOWN = {0: (PERSON, 0.9), 2: (CAR, 0.8)}  # COCO person and car


def layout_outputs(layout: str, known: Known, classes: int) -> dict[str, F32]:
    if layout == "yolox":
        return {"output": yolox_grid(known, classes)}
    if layout == "yolov5":
        return {"output": yolo_rows(known, classes, True)}
    if layout == "yolov8":
        return {"output0": yolov8_cols(known, classes)}
    return nanodet_outputs(known, classes)
