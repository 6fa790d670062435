"""A tiny ONNX detector that really looks at its input, and videos for it.

The model (YOLOv5 output layout, 96x96 input, RGB scaled to 0..1) finds the bright pixels of its
input (mean of the channels above 0.5) and reports their bounding box as one detection of
class 0, with score 0.9, when there are any; every other row is empty. So a bright rectangle
moving over a dark background is "detected" wherever it is, through the real path: yuv420p
planes -> Rust letterbox -> onnxruntime -> Rust decoder -> class map -> tracker -> rules.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import av
import numpy as np

onnx: Any = importlib.import_module("onnx")  # a test dependency: never skip
helper: Any = onnx.helper

SIZE = 96
ROWS = 3 * sum((SIZE // s) ** 2 for s in (8, 16, 32))  # YOLOv5: 3 anchors per cell
BIG = 1.0e4


def _const(name: str, value: np.ndarray) -> Any:
    return onnx.numpy_helper.from_array(value, name)


def build_bright_detector(path: Path, classes: list[str], *, batch: int | str = 1) -> str:
    """Save the model at ``path`` with ``classes`` as metadata names; returns the path."""
    n = len(classes)
    f32 = np.float32
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["gray"], axes=[1], keepdims=1),
        helper.make_node("Greater", ["gray", "half"], ["bright"]),
        helper.make_node("Cast", ["bright"], ["mask"], to=onnx.TensorProto.FLOAT),
        helper.make_node("ReduceMax", ["mask"], ["cols"], axes=[2], keepdims=1),  # (B,1,1,S)
        helper.make_node("ReduceMax", ["mask"], ["rows"], axes=[3], keepdims=1),  # (B,1,S,1)
        helper.make_node("ReduceMax", ["mask"], ["obj"], axes=[1, 2, 3], keepdims=1),  # (B,1,1,1)
    ]
    inits = [
        _const("half", np.array(0.5, f32)),
        _const("one", np.array(1.0, f32)),
        _const("big", np.array(BIG, f32)),
        _const("xs", np.arange(SIZE, dtype=f32).reshape(1, 1, 1, SIZE)),
        _const("ys", np.arange(SIZE, dtype=f32).reshape(1, 1, SIZE, 1)),
        _const("score", np.array(0.9, f32)),
        _const("flat", np.array([-1, 1, 1], np.int64)),
        _const("zeros", np.zeros((1, ROWS - 1, 5 + n), f32)),
        _const("zero_rows", np.zeros((1, 1, 5 + n), f32)),
        _const("pad", np.zeros((1, 1, max(n - 1, 0)), f32)),
    ]
    for axis, (mask, coords) in (("x", ("cols", "xs")), ("y", ("rows", "ys"))):
        nodes += [
            helper.make_node("Sub", ["one", mask], [f"off_{axis}"]),
            helper.make_node("Mul", [f"off_{axis}", "big"], [f"far_{axis}"]),
            helper.make_node("Mul", [mask, coords], [f"on_{axis}"]),
            helper.make_node("Add", [f"on_{axis}", f"far_{axis}"], [f"lo_in_{axis}"]),
            helper.make_node("Sub", [f"on_{axis}", f"far_{axis}"], [f"hi_in_{axis}"]),
            helper.make_node("ReduceMin", [f"lo_in_{axis}"], [f"lo_{axis}"], keepdims=1),
            helper.make_node("ReduceMax", [f"hi_in_{axis}"], [f"hi_{axis}"], keepdims=1),
            helper.make_node("Add", [f"lo_{axis}", f"hi_{axis}"], [f"sum_{axis}"]),
            helper.make_node("Add", [f"sum_{axis}", "one"], [f"sum1_{axis}"]),
            helper.make_node("Mul", [f"sum1_{axis}", "half"], [f"c_{axis}"]),
            helper.make_node("Sub", [f"hi_{axis}", f"lo_{axis}"], [f"d_{axis}"]),
            helper.make_node("Add", [f"d_{axis}", "one"], [f"len_{axis}"]),
        ]
    parts = ["c_x", "c_y", "len_x", "len_y", "obj", "cls"]
    nodes.append(helper.make_node("Mul", ["obj", "score"], ["cls"]))
    for p in parts:
        nodes.append(helper.make_node("Reshape", [p, "flat"], [f"r_{p}"]))  # (B,1,1)
    row_inputs = [f"r_{p}" for p in parts] + (["pad"] if n > 1 else [])
    nodes += [
        helper.make_node("Concat", row_inputs, ["row"], axis=2),
        # Without a bright pixel the row's box is garbage but its scores are 0.
        helper.make_node("Concat", ["row", "zeros"], ["output"], axis=1),
    ]
    x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [batch, 3, SIZE, SIZE])
    y = helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "bright", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = "names", repr(dict(enumerate(classes)))
    onnx.save(model, str(path))
    return str(path)


def render_square(
    path: Path,
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 10,
    frames: int = 50,
    size: tuple[int, int] = (30, 60),
    start: tuple[float, float] = (20.0, 120.0),
    velocity: tuple[float, float] = (5.0, 0.0),
) -> list[tuple[float, float, float, float]]:
    """A white rectangle moving over a dark background; returns its true box per frame."""
    truth: list[tuple[float, float, float, float]] = []
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for i in range(frames):
            img = np.full((height, width, 3), 40, np.uint8)
            x0 = round(start[0] + velocity[0] * i)
            y0 = round(start[1] + velocity[1] * i)
            x1, y1 = min(x0 + size[0], width), min(y0 + size[1], height)
            img[y0:y1, x0:x1] = 255
            truth.append((float(x0), float(y0), float(x1), float(y1)))
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return truth


def build_slow_loading_detector(path: Path, classes: list[str], *, chain: int = 60_000) -> str:
    """The bright detector with a side chain of ``chain`` tiny additions whose sum (times 0) is
    added to the output: detections are unchanged, but onnxruntime takes seconds to build the
    session (about 4 s for 20,000 nodes on a loaded 2-core machine), as a GPU provider does at
    start-up. Returns the path."""
    build_bright_detector(path, classes)
    model = onnx.load(str(path))
    graph = model.graph
    out = next(n for n in graph.node if "output" in n.output)
    out.output[0] = "output_fast"
    graph.initializer.extend([_const("tick", np.ones((1,), np.float32)),
                              _const("nothing", np.zeros((1,), np.float32))])  # fmt: skip
    nodes = [helper.make_node("ReduceMax", ["images"], ["side0"], keepdims=0)]
    nodes += [helper.make_node("Add", [f"side{i}", "tick"], [f"side{i + 1}"]) for i in range(chain)]
    nodes += [
        helper.make_node("Mul", [f"side{chain}", "nothing"], ["side_zero"]),
        helper.make_node("Add", ["output_fast", "side_zero"], ["output"]),
    ]
    graph.node.extend(nodes)
    onnx.save(model, str(path))
    return str(path)
