"""Synthetic frame pairs with a known motion field, and endpoint-error helpers.

Shared by ``tests/native/test_flow.py``, ``bench/bench_flow.py`` and ``vsa-stream bench kernels``.
A smoothed random texture is warped with bilinear sampling: the next frame at pixel ``y`` is
the previous frame at the inverse of the motion, so the true flow at every pixel ``x`` of the
previous frame is known exactly. Pixel ``x`` has its centre at coordinate ``x``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]
Field = Callable[[F64, F64], tuple[F64, F64]]

WIDTH, HEIGHT = 640, 360
MARGIN = 48


@dataclass(frozen=True)
class Sequence:
    """A frame pair and its true flow.

    Attributes:
        name: short label.
        prev: first frame, uint8 ``(H, W)``.
        next: second frame, uint8 ``(H, W)``.
        truth: true flow ``(dx, dy)`` of the previous frame's pixels at the given coordinates.
    """

    name: str
    prev: U8
    next: U8
    truth: Field


def texture(width: int, height: int, seed: int, sigma: float = 2.0) -> F64:
    """Gaussian-smoothed uniform noise stretched to grey levels 30..225."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0.0, 255.0, (height, width))
    radius = int(3 * sigma)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    img = np.apply_along_axis(np.convolve, 1, img, taps, mode="same")
    img = np.apply_along_axis(np.convolve, 0, img, taps, mode="same")
    lo, hi = np.percentile(img, [1, 99])
    return np.ascontiguousarray(np.clip(30.0 + 195.0 * (img - lo) / (hi - lo), 0.0, 255.0))


def bilinear(img: F64, x: F64, y: F64) -> F64:
    """Samples ``img`` at float coordinates (clamped to the image)."""
    h, w = img.shape
    x = np.clip(x, 0.0, w - 1.000001)
    y = np.clip(y, 0.0, h - 1.000001)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    ax, ay = x - x0, y - y0
    top = img[y0, x0] * (1 - ax) + img[y0, x0 + 1] * ax
    bottom = img[y0 + 1, x0] * (1 - ax) + img[y0 + 1, x0 + 1] * ax
    return np.asarray(top * (1 - ay) + bottom * ay)


def _frames(base: F64, inverse: Field, noise: float, seed: int) -> tuple[U8, U8]:
    height, width = base.shape[0] - 2 * MARGIN, base.shape[1] - 2 * MARGIN
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    prev = base[MARGIN : MARGIN + height, MARGIN : MARGIN + width]
    sx, sy = inverse(xs, ys)
    nxt = bilinear(base, sx + MARGIN, sy + MARGIN)

    def quantise(a: F64) -> U8:
        a = a + rng.normal(0.0, noise, a.shape)
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)

    return quantise(prev), quantise(nxt)


def make_sequences(
    seed: int = 7, noise: float = 1.0, width: int = WIDTH, height: int = HEIGHT
) -> list[Sequence]:
    """Translation, rotation, zoom (expansion) and two crossing groups, 640×360 by default."""
    base = texture(width + 2 * MARGIN, height + 2 * MARGIN, seed)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    out: list[Sequence] = []

    d = (2.6, -1.4)
    prev, nxt = _frames(base, lambda x, y: (x - d[0], y - d[1]), noise, seed)
    out.append(Sequence("translation", prev, nxt, lambda x, y: (0 * x + d[0], 0 * y + d[1])))

    a = np.deg2rad(1.5)
    c, s = np.cos(a), np.sin(a)

    def rot_inverse(x: F64, y: F64) -> tuple[F64, F64]:
        u, v = x - cx, y - cy
        return c * u + s * v + cx, -s * u + c * v + cy

    def rot_truth(x: F64, y: F64) -> tuple[F64, F64]:
        u, v = x - cx, y - cy
        return c * u - s * v - u, s * u + c * v - v

    prev, nxt = _frames(base, rot_inverse, noise, seed)
    out.append(Sequence("rotation", prev, nxt, rot_truth))

    k = 1.03
    prev, nxt = _frames(base, lambda x, y: ((x - cx) / k + cx, (y - cy) / k + cy), noise, seed)
    out.append(Sequence("zoom", prev, nxt, lambda x, y: ((k - 1) * (x - cx), (k - 1) * (y - cy))))

    g = 2.5
    half = width / 2.0

    def cross_inverse(x: F64, y: F64) -> tuple[F64, F64]:
        return np.where(x < half, x - g, x + g), y

    def cross_truth(x: F64, y: F64) -> tuple[F64, F64]:
        return np.where(x < half, g, -g) + 0 * x, 0 * y

    prev, nxt = _frames(base, cross_inverse, noise, seed)
    out.append(Sequence("crossing", prev, nxt, cross_truth))
    return out


def cell_centres(rows: int, cols: int, cell: int) -> tuple[F64, F64]:
    """Pixel coordinates ``(x, y)`` of the cell centres, each ``(rows, cols)``."""
    c = (cell - 1) / 2.0
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float64)
    return xs * cell + c, ys * cell + c


def sample_dense(flow: NDArray[np.float32], rows: int, cols: int, cell: int) -> F64:
    """A dense ``(H, W, 2)`` flow sampled bilinearly at the cell centres: ``(rows, cols, 2)``."""
    xs, ys = cell_centres(rows, cols, cell)
    f = flow.astype(np.float64)
    return np.stack([bilinear(f[..., 0], xs, ys), bilinear(f[..., 1], xs, ys)], axis=-1)


def endpoint_error(flow: F64, seq: Sequence, cell: int, mask: NDArray[np.bool_]) -> float:
    """Mean endpoint error (px) of a ``(rows, cols, 2)`` grid flow over the ``mask`` cells."""
    rows, cols = mask.shape
    xs, ys = cell_centres(rows, cols, cell)
    tx, ty = seq.truth(xs, ys)
    err = np.hypot(flow[..., 0] - tx, flow[..., 1] - ty)
    return float(err[mask].mean()) if mask.any() else float("nan")


#: Real clips of ``../shared`` whose frames make the real-texture pairs, with a label: a road
#: seen from above (low texture), a corridor indoors, a campus walkway.
REAL_CLIPS = (
    ("road", "data/intel/car-detection.mp4"),
    ("corridor", "data/dev/abandoned/corridor_bag.mp4"),
    ("walkway", "data/pets09_s2l1_480x360.avi"),
)


def real_sequences(frame: U8, name: str, noise: float = 1.0, seed: int = 7) -> list[Sequence]:
    """A translation, a rotation and a zoom of one real luma frame: real texture (flat walls,
    roads, edges, sensor noise) with a true flow known at every pixel.

    The pairs are ``2 * MARGIN`` pixels smaller than ``frame`` each way (the warp samples
    around them).
    """
    base = frame.astype(np.float64)
    height, width = base.shape[0] - 2 * MARGIN, base.shape[1] - 2 * MARGIN
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    out: list[Sequence] = []
    d = (2.6, -1.4)
    prev, nxt = _frames(base, lambda x, y: (x - d[0], y - d[1]), noise, seed)
    out.append(
        Sequence(f"{name} translation", prev, nxt, lambda x, y: (0 * x + d[0], 0 * y + d[1]))
    )
    a = np.deg2rad(1.5)
    c, s = np.cos(a), np.sin(a)

    def rot_inverse(x: F64, y: F64) -> tuple[F64, F64]:
        u, v = x - cx, y - cy
        return c * u + s * v + cx, -s * u + c * v + cy

    def rot_truth(x: F64, y: F64) -> tuple[F64, F64]:
        u, v = x - cx, y - cy
        return c * u - s * v - u, s * u + c * v - v

    prev, nxt = _frames(base, rot_inverse, noise, seed)
    out.append(Sequence(f"{name} rotation", prev, nxt, rot_truth))
    k = 1.03
    prev, nxt = _frames(base, lambda x, y: ((x - cx) / k + cx, (y - cy) / k + cy), noise, seed)
    out.append(
        Sequence(f"{name} zoom", prev, nxt, lambda x, y: ((k - 1) * (x - cx), (k - 1) * (y - cy)))
    )
    return out
