"""An ONNX detector ready to run on yuv420p frames: :func:`load_model` and :class:`Model`.

Everything that can be wrong with a model is found at load and raised as a
:class:`~vsa_stream.errors.ModelError` saying what and why, so a camera whose detector cannot
run does not start while the others do. Per frame, pre-processing (letterbox, colour, NCHW) and
decoding + NMS are Rust kernels that release the GIL; onnxruntime releases it while it runs.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.detection.layouts import (
    STRIDES,
    Decoder,
    cells,
    detect_layout,
    preprocessing_for,
)
from vsa_stream.detection.names import class_table, resolve_names
from vsa_stream.detection.providers import resolve
from vsa_stream.detection.regions import Region, crop, cut_by_edge, seen_closer
from vsa_stream.detection.shapes import camera_input, envelope, reshaped
from vsa_stream.detection.spec import ENGINE_CLASSES, ModelSpec
from vsa_stream.errors import FrameError, ModelError

__all__ = ["Model", "ModelDetection", "Planes", "load_model"]

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]


class ModelDetection(msgspec.Struct, frozen=True, gc=False):
    """One detection: engine class, the model's class name, score, ``(x1, y1, x2, y2)`` box
    in source-frame pixels."""

    engine_class: str
    class_name: str
    score: float
    box: tuple[float, float, float, float]


class Model:
    """A loaded detector (use :func:`load_model`). Thread-safe: onnxruntime sessions are."""

    def __init__(
        self,
        spec: ModelSpec,
        session: Any,
        decoder: Decoder,
        size: tuple[int, int],
        class_names: list[str],
        batched: bool,
        shaping: _Shaping | None = None,
    ) -> None:
        self.spec = spec
        self.session = session
        self.decoder = decoder
        self.layout = decoder.layout
        self.input_size = size  # the model's own input: the bound of a camera-shaped one
        self.input_name: str = session.get_inputs()[0].name
        # Camera-shaped inputs (see shapes.py): None when the input stays the model's own, and
        # then why; the group's input so far; a session per input size.
        self._shaping = shaping
        self.input_note: str | None = None if shaping is not None else "input_shape: model"
        self._group: tuple[int, int] | None = None
        self._sessions: dict[tuple[int, int], Any] = {size: session}
        if shaping is not None:
            self._sessions.update(shaping.sessions)
        self._lock = threading.Lock()
        self.class_names = class_names
        self.batched = batched
        # CPU time of the calling thread inside onnxruntime (exact with intra_op_threads 1,
        # onnxruntime's pool threads otherwise escape it), and the number of runs.
        self.inference_cpu_s = 0.0
        self.runs = 0
        self.region_images = 0  # crops of frames detected besides the whole frames
        self._engine, self._thresholds = class_table(spec, class_names)
        finite = self._thresholds[np.isfinite(self._thresholds)]
        if finite.size == 0:
            raise ModelError(
                f"no class of the model maps to an engine class {list(ENGINE_CLASSES)}; "
                f"give a class_map (the model's classes are {class_names})"
            )
        self._floor = float(finite.min())
        # Several model classes counting as one engine class (car and truck as ``vehicle``)
        # would give one object two boxes: suppress again across them.
        mapped = self._engine[np.isfinite(self._thresholds)]
        self._merges = len(np.unique(mapped)) < len(mapped)
        pre = preprocessing_for(decoder.layout)
        self._pre: dict[str, Any] = {
            "order": spec.order or pre.order,
            "center": pre.center if spec.center is None else spec.center,
            "pad_value": pre.pad_value if spec.pad_value is None else spec.pad_value,
            "mean": spec.mean or pre.mean,
            "std": spec.std or pre.std,
            "keep_ratio": pre.keep_ratio,
        }

    def __repr__(self) -> str:
        w, h = self.input_size
        shape = "camera" if self._shaping is not None else "model"
        return (
            f"Model({Path(self.spec.path).name!r}, layout={self.layout}, input={w}x{h}, "
            f"input_shape={shape}, classes={len(self.class_names)}, batched={self.batched})"
        )

    def input_for(self, frame: tuple[int, int]) -> tuple[int, int]:
        """The model input ``(width, height)`` the cameras of this model use now, counting a
        frame ``(width, height)`` among them: the model's own input, or the group's
        camera-shaped one (see :mod:`~vsa_stream.detection.shapes`), which only grows."""
        if self._shaping is None:
            return self.input_size
        wanted = camera_input(frame, self.input_size, self._shaping.stride)
        with self._lock:
            group = wanted if self._group is None else envelope([self._group, wanted])
            self._group = group
        return group

    def preprocess(
        self, planes: Planes, size: tuple[int, int] | None = None
    ) -> tuple[NDArray[np.float32], _core.Letterbox]:
        """The ``(1, 3, H, W)`` input tensor of one yuv420p frame and its letterbox, at
        ``size`` (default: :meth:`input_for` the frame)."""
        y, u, v = planes
        if size is None:
            size = self.input_for(_frame_size(y))
        return _core.preprocess_yuv420p(y, u, v, size, **self._pre)

    def postprocess(
        self, outputs: Sequence[NDArray[np.float32]], letterbox: _core.Letterbox
    ) -> list[ModelDetection]:
        """Decoded, suppressed, mapped and thresholded detections of one image's outputs."""
        d = self.decoder.decode(outputs, letterbox, self._floor, self.spec.nms_iou)
        return self._select(d.boxes, d.scores, d.class_ids, across=False)

    def _select(
        self,
        boxes: NDArray[np.float64],
        scores: NDArray[np.float64],
        ids: NDArray[np.int64],
        *,
        across: bool,
    ) -> list[ModelDetection]:
        """Thresholds, NMS across images when ``across`` (several regions of one frame), NMS
        across model classes of one engine class, then the best ``max_detections``."""
        if len(scores) == 0:
            return []
        keep = np.flatnonzero(scores >= self._thresholds[ids])
        if across and len(keep) > 1:
            keep = keep[_core.nms(boxes[keep], scores[keep], self.spec.nms_iou, ids[keep])]
        if self._merges and len(keep) > 1:
            kept = _core.nms(
                boxes[keep],
                scores[keep].astype(np.float64),
                self.spec.nms_iou,
                self._engine[ids[keep]].astype(np.int64),
            )
            keep = keep[kept]
        keep = keep[: self.spec.max_detections]
        engine = self._engine[ids[keep]].tolist()
        names = self.class_names
        return [
            ModelDetection(ENGINE_CLASSES[e], names[c], s, (b[0], b[1], b[2], b[3]))
            for e, c, s, b in zip(
                engine,
                ids[keep].tolist(),
                scores[keep].tolist(),
                boxes[keep].tolist(),
                strict=True,
            )
        ]

    def _images(
        self, planes: Planes, regions: Sequence[Region], size: tuple[int, int]
    ) -> list[_Image]:
        """The whole frame, then each non-empty region, as model inputs of ``size``."""
        tensor, lb = self.preprocess(planes, size)
        images = [_Image(tensor, lb, (0, 0), None)]
        for region in regions:
            cropped = crop(planes, region)
            if cropped is None:
                continue
            sub, origin = cropped
            tensor, lb = self.preprocess(sub, size)
            x0, y0 = origin
            images.append(
                _Image(tensor, lb, origin, (x0, y0, x0 + lb.src_width, y0 + lb.src_height))
            )
        self.region_images += len(images) - 1
        return images

    def _merge(
        self, images: Sequence[_Image], outputs: Sequence[Sequence[NDArray[np.float32]]]
    ) -> list[ModelDetection]:
        """Detections of one frame from the outputs of its images (frame first, then regions)."""
        if len(images) == 1:
            return self.postprocess(outputs[0], images[0].letterbox)
        frame = (images[0].letterbox.src_width, images[0].letterbox.src_height)
        regions = [i.region for i in images if i.region is not None]
        boxes, scores, ids = [], [], []
        for image, out in zip(images, outputs, strict=True):
            d = self.decoder.decode(out, image.letterbox, self._floor, self.spec.nms_iou)
            b = d.boxes + np.array([*image.origin, *image.origin], np.float64)
            if image.region is None:
                keep = ~seen_closer(b, regions)
            else:
                keep = ~cut_by_edge(b, image.region, frame)
            boxes.append(b[keep])
            scores.append(d.scores[keep])
            ids.append(d.class_ids[keep])
        return self._select(
            np.concatenate(boxes), np.concatenate(scores), np.concatenate(ids), across=True
        )

    def detect(
        self,
        y: NDArray[np.uint8],
        u: NDArray[np.uint8],
        v: NDArray[np.uint8],
        regions: Sequence[Region] = (),
    ) -> list[ModelDetection]:
        """Detections of one yuv420p frame (planes may be strided views), best first.

        Args:
            y, u, v: the frame's planes.
            regions: ``(x0, y0, x1, y1)`` crops of the frame (see
                :mod:`~vsa_stream.detection.regions`) to detect on besides the whole frame;
                their detections are merged with the frame's in frame pixels. A region is
                clipped to the frame; an empty one is skipped.

        Raises:
            FrameError: planes of the wrong dtype or shape.
        """
        images = self._images((y, u, v), regions, self.input_for(_frame_size(y)))
        if self.batched and len(images) > 1:
            return self._merge(images, self._run_many([i.tensor for i in images]))
        return self._merge(images, [self._run(i.tensor) for i in images])

    def session_for(self, size: tuple[int, int]) -> Any:
        """The onnxruntime session running inputs of ``size`` (opened the first time).

        Raises:
            ModelError: the model cannot run at that size.
        """
        with self._lock:
            session = self._sessions.get(size)
        if session is None:
            if self._shaping is None:
                raise ModelError(f"the model's input is {self.input_size}, not {size}")
            session = self._shaping.open(size)
            with self._lock:
                session = self._sessions.setdefault(size, session)
        return session

    def _run(self, tensor: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        session = self.session_for((tensor.shape[3], tensor.shape[2]))
        cpu = time.thread_time()
        outputs: list[NDArray[np.float32]] = session.run(None, {self.input_name: tensor})
        self.inference_cpu_s += time.thread_time() - cpu
        self.runs += 1
        return outputs

    def _run_many(self, tensors: Sequence[NDArray[np.float32]]) -> list[list[NDArray[np.float32]]]:
        """Outputs of each input, in one inference (a batched model)."""
        outputs = self._run(np.concatenate(tensors))
        return [[o[i : i + 1] for o in outputs] for i in range(len(tensors))]

    def detect_batch(
        self, frames: Sequence[Planes], regions: Sequence[Sequence[Region]] | None = None
    ) -> list[list[ModelDetection]]:
        """Detections of several frames (of any sizes), each with its regions (as in
        :meth:`detect`): one inference when the model takes a batch, one per image otherwise."""
        wanted = list(regions) if regions is not None else [()] * len(frames)
        if len(wanted) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(wanted)} region lists")
        if not self.batched or len(frames) < 2:
            return [self.detect(*f, regions=r) for f, r in zip(frames, wanted, strict=True)]
        size = envelope([self.input_for(_frame_size(f[0])) for f in frames])
        images = [self._images(f, r, size) for f, r in zip(frames, wanted, strict=True)]
        outputs = self._run_many([i.tensor for per in images for i in per])
        results, at = [], 0
        for per in images:
            results.append(self._merge(per, outputs[at : at + len(per)]))
            at += len(per)
        return results


def _frame_size(y: NDArray[np.uint8]) -> tuple[int, int]:
    """``(width, height)`` of a frame from its luma plane.

    Raises:
        FrameError: the plane is not a non-empty 2-D array.
    """
    shape: tuple[int, ...] = tuple(getattr(y, "shape", ()))
    if len(shape) != 2 or min(shape) <= 0:
        raise FrameError(f"the luma plane must be a non-empty 2-D array, got shape {shape}")
    return int(shape[1]), int(shape[0])


@dataclass(frozen=True, slots=True)
class _Image:
    """One model input of a frame: the whole frame or one region of it."""

    tensor: NDArray[np.float32]
    letterbox: _core.Letterbox
    origin: tuple[int, int]  # of the image in the frame
    region: Region | None  # None: the whole frame


def _fixed(dim: object) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def _session(spec: ModelSpec) -> Any:
    return open_session(
        spec.path, spec.providers, intra_op_threads=spec.intra_op_threads,
        inter_op_threads=spec.inter_op_threads,
    )  # fmt: skip


def open_session(
    path: str,
    providers: Sequence[str],
    *,
    intra_op_threads: int,
    inter_op_threads: int = 1,
    data: bytes | None = None,
) -> Any:
    """An onnxruntime session of the model at ``path`` (detectors and the pose model), or of
    its serialized ``data`` when given (a re-shaped copy; ``path`` then names it in errors).

    Raises:
        ModelError: onnxruntime missing, no such file, providers unknown or unavailable (the
            message says what to install), not a usable ONNX model.
    """
    try:
        ort: Any = importlib.import_module("onnxruntime")
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ModelError("onnxruntime is not installed (pip install onnxruntime)") from exc
    if data is None and not Path(path).is_file():
        raise ModelError(f"file {path} does not exist")
    try:
        wanted = resolve(providers, ort.get_available_providers())
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.log_severity_level = 3  # exports listing weights as inputs warn once per weight
    try:
        session = ort.InferenceSession(
            data if data is not None else path,
            options,
            [_with_options(p, intra_op_threads) for p in wanted],
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"{path} is not a usable ONNX model: {exc}") from exc
    # onnxruntime falls back to the CPU, with a warning only, when a provider it has cannot
    # start (no GPU, no driver): a detector sized for that provider must not run elsewhere.
    dropped = [p for p in wanted if p not in session.get_providers()]
    if dropped:
        raise ModelError(
            f"providers: {dropped} could not start on this machine (onnxruntime runs "
            f"{session.get_providers()} instead); check the device and its drivers"
        )
    return session


def _with_options(provider: str, threads: int) -> str | tuple[str, dict[str, str]]:
    """A provider with the options that keep it to the session's threads: OpenVINO otherwise
    takes every core."""
    if provider == "OpenVINOExecutionProvider" and threads > 0:
        return (provider, {"num_of_threads": str(threads)})
    return provider


def load_model(spec: ModelSpec) -> Model:
    """Opens, checks and prepares a detector.

    Runs one inference on a blank input to learn the output shapes, recognise the layout and
    count the classes.

    Raises:
        ModelError: missing file, unavailable providers, not an ONNX model, an input that is
            not ``(N, 3, H, W)`` float, an unknown output layout, class names missing or of
            the wrong count, a class map naming classes the model lacks.
    """
    session = _session(spec)
    inp = session.get_inputs()[0]
    shape = list(inp.shape)
    if len(shape) != 4:
        raise ModelError(f"input {inp.name} has shape {shape}; expected rank 4 (N, 3, H, W)")
    if _fixed(shape[1]) != 3:
        raise ModelError(f"input {inp.name} has shape {shape}; expected 3 channels (N, 3, H, W)")
    if inp.type != "tensor(float)":
        raise ModelError(f"input {inp.name} is {inp.type}; only float32 inputs are supported")
    model_size = (_fixed(shape[3]), _fixed(shape[2]))
    if None not in model_size and spec.input_size not in (None, model_size):
        raise ModelError(f"input_size {spec.input_size} differs from the model's {model_size}")
    size = spec.input_size or model_size
    if size[0] is None or size[1] is None:
        raise ModelError(f"input {inp.name} has dynamic size {shape}; set input_size")
    wh = (size[0], size[1])
    try:
        trial = session.run(None, {inp.name: np.zeros((1, 3, wh[1], wh[0]), np.float32)})
    except Exception as exc:
        raise ModelError(f"{spec.path} fails on a {wh[0]}x{wh[1]} input: {exc}") from exc
    names = [o.name for o in session.get_outputs()]
    decoder = detect_layout(spec.layout, names, [tuple(t.shape) for t in trial], wh)
    if decoder.layout == "yolox" and trial[0].shape[1] != cells(wh):
        raise ModelError(
            f"YOLOX output has {trial[0].shape[1]} anchors; a {wh[0]}x{wh[1]} input on strides "
            f"8/16/32 has {cells(wh)}"
        )
    meta = session.get_modelmeta().custom_metadata_map
    class_names = resolve_names(spec, meta, decoder.num_classes)
    batched = _fixed(shape[0]) is None
    dynamic = _fixed(shape[2]) is None and _fixed(shape[3]) is None
    shaping = _camera_shaping(spec, session, dynamic, decoder, wh)
    if isinstance(shaping, str):
        model = Model(spec, session, decoder, wh, class_names, batched)
        model.input_note = shaping
        return model
    return Model(spec, session, decoder, wh, class_names, batched, shaping)


@dataclass(frozen=True, slots=True)
class _Shaping:
    """How a model runs camera-shaped inputs: the stride their sides are multiples of, how to
    open a session for one size, the sessions opened at load."""

    stride: int
    open: Callable[[tuple[int, int]], Any]
    sessions: dict[tuple[int, int], Any]


def _camera_shaping(
    spec: ModelSpec, session: Any, dynamic: bool, decoder: Decoder, size: tuple[int, int]
) -> _Shaping | str:
    """The camera shaping of a model (see :mod:`~vsa_stream.detection.shapes`), or why its
    input stays its own. Tried at load on a 16:9 input, which is kept."""
    if spec.input_shape == "model":
        return "input_shape: model"
    if not preprocessing_for(decoder.layout).keep_ratio:
        return f"{decoder.layout} stretches frames to the whole input (no letterbox to trim)"
    stride = max(decoder.nanodet_strides or STRIDES)
    probe = camera_input((16, 9), size, stride)
    if probe == size:
        return f"a 16:9 frame fills the {size[0]}x{size[1]} input already"
    name: str = session.get_inputs()[0].name
    if dynamic:

        def open_at(at: tuple[int, int]) -> Any:
            return session

    else:
        data = Path(spec.path).read_bytes()

        def open_at(at: tuple[int, int]) -> Any:
            try:
                edited = reshaped(data, name, at)
            except ValueError as exc:
                raise ModelError(f"{spec.path} cannot be re-shaped to {at}: {exc}") from exc
            return open_session(
                spec.path, spec.providers, intra_op_threads=spec.intra_op_threads,
                inter_op_threads=spec.inter_op_threads, data=edited,
            )  # fmt: skip

    ort: Any = importlib.import_module("onnxruntime")
    quiet = ort.RunOptions()
    quiet.log_severity_level = 4  # a graph that cannot run at another size is expected here
    try:
        at_probe = open_at(probe)
        zeros = np.zeros((1, 3, probe[1], probe[0]), np.float32)
        trial = at_probe.run(None, {name: zeros}, quiet)
        names = [o.name for o in at_probe.get_outputs()]
        found = detect_layout(decoder.layout, names, [tuple(t.shape) for t in trial], probe)
    except Exception as exc:  # onnxruntime's untyped errors, a ModelError of the layout
        reason = str(exc).strip().splitlines()[-1][:200]
        return f"the model does not run at {probe[0]}x{probe[1]}: {reason}"
    if (found.layout, found.num_classes) != (decoder.layout, decoder.num_classes) or (
        found.layout == "yolox" and trial[0].shape[1] != cells(probe)
    ):
        return f"the model's outputs at {probe[0]}x{probe[1]} are not those of its own input"
    return _Shaping(stride, open_at, {probe: at_probe})
