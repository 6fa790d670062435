"""The usual Python way of doing what a Rust kernel does: numpy and OpenCV references.

Used by ``vsa-stream bench kernels`` and by the scripts in ``bench/`` as the anchors the
kernels are timed against (and checked against: same boxes, same detections).

Example:
    >>> import numpy as np
    >>> square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    >>> numpy_boxes_in_polygon(np.array([[4.0, 0.0, 6.0, 5.0], [20.0, 0, 22.0, 5.0]]), square)
    array([ True, False])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "NANO_MEAN",
    "NANO_STD",
    "NumpyShift",
    "numpy_boxes_in_polygon",
    "numpy_nms",
    "numpy_points_in_polygon",
    "numpy_yolov8",
    "numpy_yolox",
    "opencv_preprocess",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
NANO_MEAN = np.array([103.53, 116.28, 123.675], np.float32)
NANO_STD = np.array([57.375, 57.12, 58.395], np.float32)


def numpy_boxes_in_polygon(boxes: F64, polygon: F64) -> NDArray[np.bool_]:
    """Bottom-centre anchors of ``boxes`` inside ``polygon``: vectorised PNPOLY."""
    anchors = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1)
    return numpy_points_in_polygon(anchors, polygon)


def numpy_points_in_polygon(points: F64, polygon: F64) -> NDArray[np.bool_]:
    """Crossing number with half-open edges (PNPOLY), the same float expression as Rust."""
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    xj, yj = polygon[-1]
    for xi, yi in polygon:
        spans = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = x < (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= spans & crosses
        xj, yj = xi, yi
    return inside


def opencv_preprocess(cv2: Any, i420: NDArray[np.uint8], size: int, nano: bool) -> F32:
    """The usual Python path: full-resolution BGR, resize, letterbox, normalise, NCHW."""
    h, w = i420.shape[0] * 2 // 3, i420.shape[1]
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    r = min(size / w, size / h)
    cw, ch = round(w * r), round(h * r)
    canvas = np.full((size, size, 3), 114, np.uint8)
    canvas[:ch, :cw] = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_LINEAR)
    x = canvas.astype(np.float32)
    if nano:
        x = (x - NANO_MEAN) / NANO_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def numpy_nms(boxes: F64, scores: F64, classes: NDArray[np.int64], thr: float) -> list[int]:
    """Greedy NMS, class-aware through the usual coordinate offset per class."""
    b = boxes + (classes * 4096.0)[:, None]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        iw = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = iw * ih
        order = rest[inter / (area[i] + area[rest] - inter) <= thr]
    return keep


def _finish(boxes: F64, scores: F64, classes: NDArray[np.int64], lb: Any, thr: float) -> int:
    b = boxes.copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - lb.pad_x) / lb.scale_x, 0, lb.src_width)
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - lb.pad_y) / lb.scale_y, 0, lb.src_height)
    ok = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    return len(numpy_nms(b[ok], scores[ok], classes[ok], thr))


def numpy_yolox(out: F32, lb: Any, score_thr: float, iou_thr: float) -> int:
    """Decode a YOLOX output and NMS it in numpy; returns the number of detections kept."""
    o = out[0]
    grids, strides = [], []
    for s in (8, 16, 32):
        gh, gw = lb.dst_height // s, lb.dst_width // s
        gy, gx = np.mgrid[0:gh, 0:gw]
        grids.append(np.stack([gx.ravel(), gy.ravel()], 1))
        strides.append(np.full((gh * gw, 1), s))
    grid, stride = np.concatenate(grids), np.concatenate(strides)
    cls = o[:, 5:].argmax(1)
    score = o[:, 4].astype(np.float64) * o[np.arange(len(o)), 5 + cls]
    keep = score >= score_thr
    xy = (o[keep, :2] + grid[keep]) * stride[keep]
    wh = np.exp(o[keep, 2:4].astype(np.float64)) * stride[keep]
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1)
    return _finish(boxes, score[keep], cls[keep], lb, iou_thr)


def numpy_yolov8(out: F32, lb: Any, score_thr: float, iou_thr: float) -> int:
    """Decode a YOLOv8 output and NMS it in numpy; returns the number of detections kept."""
    o = out[0].T
    cls = o[:, 4:].argmax(1)
    score = o[np.arange(len(o)), 4 + cls].astype(np.float64)
    keep = score >= score_thr
    c = o[keep, :4].astype(np.float64)
    boxes = np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], 1)
    return _finish(boxes, score[keep], cls[keep], lb, iou_thr)


class NumpyShift:
    """The camera-motion check in numpy (the engine's implementation before
    ``_core.CameraShift``): phase correlation of the central ``crop`` square at half resolution
    (2x2 sums), mean removed, 2-D Hann window, the previous frame's spectrum kept; returns the
    translation's distance in full-resolution pixels."""

    def __init__(self, crop: int = 256) -> None:
        self.crop = crop
        self.previous: NDArray[np.complexfloating] | None = None
        self.window: F32 | None = None

    def shift(self, luma: NDArray[np.uint8]) -> float:
        h, w = luma.shape
        side = min(self.crop, h, w) // 2 * 2
        y0, x0 = (h - side) // 2, (w - side) // 2
        crop = luma[y0 : y0 + side, x0 : x0 + side].astype(np.float32)
        small = crop[::2, ::2] + crop[1::2, ::2] + crop[::2, 1::2] + crop[1::2, 1::2]
        if self.window is None or self.window.shape != small.shape:
            hann = np.hanning(small.shape[0]).astype(np.float32)
            self.window = np.outer(hann, hann)
            self.previous = None
        spectrum = np.fft.rfft2((small - small.mean()) * self.window)
        previous, self.previous = self.previous, spectrum
        if previous is None:
            return 0.0
        cross = spectrum * np.conj(previous)
        cross /= np.maximum(np.abs(cross), 1e-6)
        corr = np.fft.irfft2(cross, s=small.shape)
        dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
        n = small.shape[0]
        return 2.0 * math.hypot(dx - n if dx > n // 2 else dx, dy - n if dy > n // 2 else dy)
