"""What a detector model is and how its classes feed the engine: :class:`ModelSpec`.

A spec names an ONNX file and, where the model cannot say it itself, how to read it: the
output layout (``auto`` detects it from the output names and shapes), the input size, the class
names, the pre-processing. ``class_map`` maps each engine class to the model classes that count
as it; ``score_thresholds`` gives each engine class its own floor.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vsa_stream.detection.providers import provider_name

__all__ = [
    "DEFAULT_CLASS_MAP",
    "ENGINE_CLASSES",
    "EngineClass",
    "Layout",
    "ModelSpec",
]

Layout = Literal["auto", "yolox", "yolov5", "yolov8", "nanodet", "picodet"]
EngineClass = Literal["person", "vehicle", "bag", "weapon", "fire", "smoke"]
ENGINE_CLASSES: tuple[EngineClass, ...] = ("person", "vehicle", "bag", "weapon", "fire", "smoke")

#: Used when a spec gives no ``class_map``: COCO names, restricted to the classes the model has,
#: plus every model class named like an engine class (a model with a ``fire`` class needs no map).
DEFAULT_CLASS_MAP: dict[EngineClass, list[str]] = {
    "person": ["person"],
    "vehicle": ["car", "bus", "truck", "motorcycle", "bicycle"],
    "bag": ["backpack", "handbag", "suitcase"],
}


class ModelSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """An ONNX detector and how to run it.

    Attributes:
        path: the ``.onnx`` file.
        layout: output layout, or ``auto`` to detect it at load.
        input_size: model input ``(width, height)``; None: the model's own (required when its
            input has dynamic height or width).
        class_names: the model's class names, index order; used when the model's metadata has
            none (otherwise COCO's when the model has 80 classes).
        class_map: engine class -> model class names; None: :data:`DEFAULT_CLASS_MAP` for the
            classes the model has, plus model classes named like an engine class. An explicit
            map naming a class the model lacks is an error.
        score_thresholds: per engine class; classes not listed use ``default_threshold``.
        default_threshold: score floor of the engine classes not in ``score_thresholds``.
        nms_iou: IoU above which a box of the same model class is suppressed.
        max_detections: at most this many detections per frame, best first.
        input_shape: ``camera``: the input follows the frames of the cameras sharing the
            model (same scale as the model's own input, less padding; see
            :mod:`~vsa_stream.detection.shapes`); ``model``: always the model's own input.
        providers: onnxruntime execution providers, in order of preference: full names
            (``CPUExecutionProvider``) or short ones (``cpu``, ``openvino``, ``cuda``,
            ``tensorrt``; see :mod:`~vsa_stream.detection.providers`).
        intra_op_threads: onnxruntime threads inside one operator.
        inter_op_threads: onnxruntime threads across operators.
        order: channel order of the input; None: the layout's (BGR for YOLOX/NanoDet/PicoDet,
            RGB for YOLOv5/v8).
        mean: per-channel mean in 0-255 units, in ``order``; None: the layout's.
        std: per-channel divisor; None: the layout's (NanoDet's and PicoDet's, or 255 for
            YOLOv5/v8).
        pad_value: letterbox padding in 0-255 units; None: 114.
        center: centre the letterboxed frame; None: the layout's (YOLOv5/v8 centre it).
            PicoDet is never letterboxed: its frames are resized to the whole input.
    """

    path: Annotated[str, msgspec.Meta(description="the `.onnx` file (nothing is downloaded)")]
    layout: Annotated[
        Layout,
        msgspec.Meta(
            description=("output layout; `auto` recognises it from the output names and shapes")
        ),
    ] = "auto"
    input_size: Annotated[
        tuple[int, int] | None,
        msgspec.Meta(description="required when the model's input size is dynamic"),
    ] = None
    class_names: Annotated[
        list[str] | None,
        msgspec.Meta(
            description=(
                "the model's class names in index order, used when its metadata "
                "has none (before COCO's names for an 80-class model)"
            )
        ),
    ] = None
    class_map: Annotated[
        dict[EngineClass, list[str]] | None,
        msgspec.Meta(
            description=(
                "which model classes count as `person`, `vehicle`, `bag`, "
                "`weapon`, `fire`, `smoke`; naming a class the model lacks is an "
                "error"
            )
        ),
    ] = None
    score_thresholds: Annotated[
        dict[EngineClass, float], msgspec.Meta(description="per-class score floors")
    ] = msgspec.field(default_factory=dict)
    default_threshold: Annotated[
        float, msgspec.Meta(description="floor of the classes not in `score_thresholds`")
    ] = 0.3
    nms_iou: Annotated[
        float,
        msgspec.Meta(description="IoU above which overlapping boxes of one class are suppressed"),
    ] = 0.45
    max_detections: Annotated[
        int, msgspec.Meta(description="at most this many detections per frame, best first")
    ] = 100
    input_shape: Annotated[
        Literal["camera", "model"],
        msgspec.Meta(
            description=(
                "`camera`: the model input follows the frames of the cameras "
                "sharing the detector, at the scale of the model's own input with"
                " less padding (416x256 for 16:9 cameras instead of 416x416; same"
                " detections, about 1.5x fewer CPU per detection), re-shaping a "
                "fixed-input model at load; a model that cannot run at another "
                "size keeps its own "
                "([detectors.md](detectors.md#input-shaped-like-the-camera)). "
                "`model`: always the model's own input"
            )
        ),
    ] = "camera"
    providers: Annotated[
        list[str],
        msgspec.Meta(
            description=(
                "onnxruntime execution providers in order of preference, by "
                "onnxruntime's name or short name: `cpu`, `openvino` (`pip "
                "install 'vsa-stream[openvino]'`), `cuda`, `tensorrt` "
                "(onnxruntime-gpu); one not installed, or one that cannot start "
                "on this machine, is an error naming this field and what to "
                "install (never a silent fall back to the CPU)"
            )
        ),
    ] = msgspec.field(default_factory=lambda: ["CPUExecutionProvider"])
    intra_op_threads: Annotated[
        int,
        msgspec.Meta(
            description=("onnxruntime threads inside an operator (0: onnxruntime's default)")
        ),
    ] = 1
    inter_op_threads: Annotated[
        int, msgspec.Meta(description="onnxruntime threads across operators")
    ] = 1
    order: Annotated[
        Literal["bgr", "rgb"] | None, msgspec.Meta(description="channel order of the input")
    ] = None
    mean: Annotated[
        tuple[float, float, float] | None, msgspec.Meta(description="per-channel mean, 0-255 units")
    ] = None
    std: Annotated[
        tuple[float, float, float] | None, msgspec.Meta(description="per-channel divisor")
    ] = None
    pad_value: Annotated[float | None, msgspec.Meta(description="letterbox padding")] = None
    center: Annotated[
        bool | None,
        msgspec.Meta(
            description=(
                "centre the letterboxed frame (YOLOv5/v8) or put it top-left (YOLOX, NanoDet)"
            )
        ),
    ] = None

    def __post_init__(self) -> None:
        if self.input_size is not None and min(self.input_size) <= 0:
            raise ValueError(f"input_size must be positive, got {self.input_size}")
        named: list[tuple[str, float]] = [("default_threshold", self.default_threshold)]
        named += list(self.score_thresholds.items())
        for name, t in named:
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"score threshold of {name} must be in [0, 1], got {t}")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in [0, 1], got {self.nms_iou}")
        if self.max_detections < 1:
            raise ValueError("max_detections must be at least 1")
        if self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise ValueError("thread counts must be >= 0 (0: onnxruntime's default)")
        if not self.providers:
            raise ValueError("providers must name at least one execution provider")
        for name in self.providers:
            provider_name(name)  # a name neither short nor onnxruntime's is a ValueError
        if self.std is not None and any(s == 0 for s in self.std):
            raise ValueError("std must not contain zero")

    def threshold(self, engine_class: str) -> float:
        """The score floor of one engine class."""
        for name, t in self.score_thresholds.items():
            if name == engine_class:
                return t
        return self.default_threshold
