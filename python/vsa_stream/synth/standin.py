"""A stand-in ONNX detector for the synthetic suite: it finds the key colours the renderer paints.

The renderer of :mod:`vsa_stream.synth.situations` paints the persons, bags and weapons that a
scenario wants *detected* in saturated key colours (magenta persons, cyan bags, blue weapons;
see :data:`KEYS`). This model, built with the ``onnx`` helper API (install the ``eval`` extra),
takes an RGB frame like a YOLOv5 export (``1 x 3 x SIZE x SIZE``, 0..1, letterboxed), marks the
pixels of each key colour and reports, per class, the bounding box of that colour's pixels as one
detection with score 0.9 (none when the colour is absent).

It is a *stand-in*: it lets the suite exercise the whole detector path (yuv420p planes → Rust
letterbox → onnxruntime → Rust decoder → class map → tracker → rules) on synthetic scenes, where
a real detector would be unreliable on drawn figures. It says nothing about how well any real
detector finds persons, bags or weapons. One object per class per frame: scenes that use it have
at most one keyed object of each class in view.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np

__all__ = ["CLASSES", "KEYS", "SIZE", "build_standin_detector", "key_yuv"]

SIZE = 256
ROWS = 3 * sum((SIZE // s) ** 2 for s in (8, 16, 32))  # YOLOv5: 3 anchors per cell
_BIG = 1.0e4

#: The detected classes, in model order.
CLASSES: tuple[str, ...] = ("person", "bag", "weapon")

#: Key colour (RGB 0..255) per class, and the test on the model's RGB input (0..1): each
#: channel above 0.6 (``+``) or below 0.35 (``-``).
KEYS: dict[str, tuple[tuple[int, int, int], str]] = {
    "person": ((230, 40, 230), "+-+"),
    "bag": ((30, 220, 230), "-++"),
    "weapon": ((40, 40, 230), "--+"),
}


def key_yuv(label: str) -> tuple[float, float, float]:
    """The full-range BT.601 ``(Y, U, V)`` of a class's key colour.

    Example:
        >>> [round(c) for c in key_yuv("person")]
        [118, 191, 208]
    """
    r, g, b = KEYS[label][0]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, u, v


def build_standin_detector(path: str | os.PathLike[str]) -> str:
    """Write the stand-in model to ``path`` (class names in its metadata); returns the path.

    Raises:
        ModuleNotFoundError: the ``onnx`` package is not installed (``pip install
            vsa_stream[eval]``).
    """
    onnx: Any = importlib.import_module("onnx")
    helper: Any = onnx.helper
    f32 = np.float32
    n = len(CLASSES)

    def const(name: str, value: np.ndarray) -> Any:
        return onnx.numpy_helper.from_array(value, name)

    inits = [
        const("hi", np.array(0.6, f32)),
        const("lo", np.array(0.35, f32)),
        const("half", np.array(0.5, f32)),
        const("one", np.array(1.0, f32)),
        const("big", np.array(_BIG, f32)),
        const("xs", np.arange(SIZE, dtype=f32).reshape(1, 1, 1, SIZE)),
        const("ys", np.arange(SIZE, dtype=f32).reshape(1, 1, SIZE, 1)),
        const("score", np.array(0.9, f32)),
        const("flat", np.array([-1, 1, 1], np.int64)),
        const("zeros", np.zeros((1, ROWS - n, 5 + n), f32)),
        const("nil", np.zeros((1, 1, 1), f32)),
    ]
    nodes = []
    for ch in range(3):
        inits.append(const(f"ch{ch}", np.array([ch], np.int64)))
        nodes.append(helper.make_node("Gather", ["images", f"ch{ch}"], [f"c{ch}"], axis=1))
        nodes.append(helper.make_node("Greater", [f"c{ch}", "hi"], [f"c{ch}_hi"]))
        nodes.append(helper.make_node("Less", [f"c{ch}", "lo"], [f"c{ch}_lo"]))
    rows = []
    for k, label in enumerate(CLASSES):
        test = KEYS[label][1]
        p = f"k{k}_"
        names = [f"c{ch}_hi" if sign == "+" else f"c{ch}_lo" for ch, sign in enumerate(test)]
        nodes += [
            helper.make_node("And", [names[0], names[1]], [p + "ab"]),
            helper.make_node("And", [p + "ab", names[2]], [p + "bool"]),
            helper.make_node("Cast", [p + "bool"], [p + "mask"], to=onnx.TensorProto.FLOAT),
            helper.make_node("ReduceMax", [p + "mask"], [p + "cols"], axes=[2], keepdims=1),
            helper.make_node("ReduceMax", [p + "mask"], [p + "rows"], axes=[3], keepdims=1),
            helper.make_node("ReduceMax", [p + "mask"], [p + "obj"], axes=[1, 2, 3], keepdims=1),
        ]
        for axis, (mask, coords) in (("x", (p + "cols", "xs")), ("y", (p + "rows", "ys"))):
            a = p + axis
            nodes += [
                helper.make_node("Sub", ["one", mask], [a + "off"]),
                helper.make_node("Mul", [a + "off", "big"], [a + "far"]),
                helper.make_node("Mul", [mask, coords], [a + "on"]),
                helper.make_node("Add", [a + "on", a + "far"], [a + "loin"]),
                helper.make_node("Sub", [a + "on", a + "far"], [a + "hiin"]),
                helper.make_node("ReduceMin", [a + "loin"], [a + "lo"], keepdims=1),
                helper.make_node("ReduceMax", [a + "hiin"], [a + "hi"], keepdims=1),
                helper.make_node("Add", [a + "lo", a + "hi"], [a + "sum"]),
                helper.make_node("Add", [a + "sum", "one"], [a + "sum1"]),
                helper.make_node("Mul", [a + "sum1", "half"], [a + "c"]),
                helper.make_node("Sub", [a + "hi", a + "lo"], [a + "d"]),
                helper.make_node("Add", [a + "d", "one"], [a + "len"]),
            ]
        nodes.append(helper.make_node("Mul", [p + "obj", "score"], [p + "cls"]))
        parts = [p + "xc", p + "yc", p + "xlen", p + "ylen", p + "obj"]
        for part in parts:
            nodes.append(helper.make_node("Reshape", [part, "flat"], [part + "_r"]))
        nodes.append(helper.make_node("Reshape", [p + "cls", "flat"], [p + "cls_r"]))
        one_hot = ["nil"] * n
        one_hot[k] = p + "cls_r"
        nodes.append(
            helper.make_node("Concat", [f"{q}_r" for q in parts] + one_hot, [p + "row"], axis=2)
        )
        rows.append(p + "row")
    # Without a pixel of its colour a row's box is garbage but its scores are 0.
    nodes.append(helper.make_node("Concat", [*rows, "zeros"], ["output"], axis=1))
    x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, SIZE, SIZE])
    y = helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "standin", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "names", repr(dict(enumerate(CLASSES)))
    onnx.save(model, os.fspath(path))
    return os.fspath(path)
