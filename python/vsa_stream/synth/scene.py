"""The static scene: a textured background drawn straight into YUV 4:2:0 planes, and lighting.

The background is a plaza seen from above at an angle: smooth multi-scale noise, a paved walkway
with kerb lines, a planted strip far away, tiles near the camera, and a few static things
(benches, a bin, a planter, a post). Luma is kept as float32 "reflectance" so people can be
painted over it before the lighting gain and the sensor noise are applied; chroma is uint8 and
nearly flat, with a tint per area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Background", "lighting_gain", "make_background"]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Background:
    """The planes of the empty scene, and a summed-area table of its luma."""

    y: F32  # (H, W) luma before lighting, about 60..170
    u: U8  # (H/2, W/2)
    v: U8  # (H/2, W/2)
    y_sum: npt.NDArray[np.float64]  # (H+1, W+1) summed-area table of ``y``

    def mean_luma(self, x0: int, y0: int, x1: int, y1: int) -> float:
        """Mean background luma over pixel rows ``y0:y1`` and columns ``x0:x1`` (clipped)."""
        h, w = self.y.shape
        x0, x1 = max(0, min(w, x0)), max(0, min(w, x1))
        y0, y1 = max(0, min(h, y0)), max(0, min(h, y1))
        area = (x1 - x0) * (y1 - y0)
        if area <= 0:
            return 110.0
        s = self.y_sum
        total = s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]
        return float(total) / area


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> F32:
    """Value noise in ``-1..1``: a random grid every ``cell`` pixels, smoothly interpolated."""
    gh, gw = int(h / cell) + 2, int(w / cell) + 2
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)

    def axis(n: int) -> tuple[npt.NDArray[np.intp], F32]:
        pos = (np.arange(n, dtype=np.float32) + 0.5) / np.float32(cell)
        i = pos.astype(np.intp)
        f = pos - i
        return i, (f * f * (3.0 - 2.0 * f)).astype(np.float32)

    iy, fy = axis(h)
    ix, fx = axis(w)
    rows = grid[iy] * (1.0 - fy)[:, None] + grid[iy + 1] * fy[:, None]
    out: F32 = (rows[:, ix] * (1.0 - fx)[None, :] + rows[:, ix + 1] * fx[None, :]).astype(
        np.float32
    )
    return out


def _rect(
    plane: npt.NDArray[np.float32], box: tuple[float, float, float, float], value: float
) -> None:
    """Fill a normalised ``(x0, y0, x1, y1)`` rectangle of a plane with ``value``."""
    h, w = plane.shape
    x0, y0, x1, y1 = box
    plane[round(y0 * h) : max(round(y1 * h), round(y0 * h) + 1), round(x0 * w) : round(x1 * w)] = (
        value
    )


# Static things: (x0, y0, x1, y1) normalised, luma, (du, dv) chroma tint.
_THINGS: tuple[tuple[tuple[float, float, float, float], float, tuple[float, float]], ...] = (
    ((0.06, 0.50, 0.19, 0.545), 72.0, (-4.0, 10.0)),  # bench, seat
    ((0.07, 0.545, 0.08, 0.57), 55.0, (0.0, 0.0)),  # bench legs
    ((0.17, 0.545, 0.18, 0.57), 55.0, (0.0, 0.0)),
    ((0.46, 0.21, 0.57, 0.245), 150.0, (-2.0, 6.0)),  # far bench, pale wood
    ((0.525, 0.47, 0.548, 0.52), 58.0, (4.0, -6.0)),  # bin
    ((0.66, 0.30, 0.73, 0.36), 92.0, (-10.0, -8.0)),  # planter
    ((0.895, 0.02, 0.902, 0.44), 64.0, (0.0, 0.0)),  # lamp post
    ((0.885, 0.02, 0.912, 0.035), 170.0, (0.0, -4.0)),  # lamp head
)


def make_background(rng: np.random.Generator, width: int, height: int) -> Background:
    """Draw the empty scene at ``width`` x ``height``."""
    h, w = height, width
    y = np.full((h, w), 112.0, dtype=np.float32)
    for cell, amp in ((h / 2.5, 12.0), (h / 7.0, 7.0), (h / 22.0, 4.0), (h / 80.0, 2.5)):
        y += np.float32(amp) * _smooth_noise(rng, h, w, max(cell, 2.0))
    yy = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / np.float32(h)
    xx = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / np.float32(w)
    du = np.zeros((h, w), dtype=np.float32)
    dv = np.zeros((h, w), dtype=np.float32)

    # Far planted strip: darker, greener, more texture.
    grass = yy < 0.08 + 0.03 * xx
    y -= np.where(grass, 22.0 + 6.0 * _smooth_noise(rng, h, w, max(h / 120.0, 2.0)), 0.0)
    du -= np.where(grass, 8.0, 0.0)
    dv -= np.where(grass, 10.0, 0.0)

    # Walkway: a lighter paved band with joints, bordered by kerbs (bright line, dark shadow).
    top = 0.24 + 0.03 * xx
    bottom = 0.47 - 0.02 * xx
    walk = (yy >= top) & (yy < bottom)
    joints = (np.abs(((xx - 0.5) / (0.35 + yy)) * 24.0 % 1.0 - 0.5) > 0.46) | (
        np.abs(yy * 40.0 % 1.0 - 0.5) > 0.45
    )
    y += np.where(walk, np.where(joints, 2.0, 14.0), 0.0)
    dv += np.where(walk, 3.0, 0.0)
    kerb = np.float32(max(1.5, h / 360.0) / h)
    for edge in (top, bottom):
        y += np.where(np.abs(yy - edge) < kerb, 38.0, 0.0)
        y -= np.where((yy - edge >= kerb) & (yy - edge < 3.0 * kerb), 18.0, 0.0)

    # Tiles near the camera.
    tiles = (yy > 0.55) & (
        (np.abs((xx * (9.0 + 4.0 * yy)) % 1.0 - 0.5) > 0.48)
        | (np.abs(yy * 14.0 % 1.0 - 0.5) > 0.47)
    )
    y -= np.where(tiles, 9.0, 0.0)

    for box, luma, (tu, tv) in _THINGS:
        _rect(y, (box[0], box[3], box[2], box[3] + 0.012), float(y.mean()) - 20.0)  # shadow
        _rect(y, box, luma)
        _rect(du, box, tu)
        _rect(dv, box, tv)
    y += np.float32(2.0) * _smooth_noise(rng, h, w, 3.0)  # grain over the things too

    np.clip(y, 20.0, 220.0, out=y)
    u = np.clip(127.0 + du + 3.0 * _smooth_noise(rng, h, w, h / 4.0), 0, 255)
    v = np.clip(129.0 + dv + 3.0 * _smooth_noise(rng, h, w, h / 4.0), 0, 255)
    half_u = u.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    half_v = v.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    y_sum = np.zeros((h + 1, w + 1), dtype=np.float64)
    y_sum[1:, 1:] = y.astype(np.float64).cumsum(axis=0).cumsum(axis=1)
    return Background(
        y=np.ascontiguousarray(y, dtype=np.float32),
        u=np.rint(half_u).astype(np.uint8),
        v=np.rint(half_v).astype(np.uint8),
        y_sum=y_sum,
    )


def lighting_gain(t: float, phase_a: float, phase_b: float) -> float:
    """Global lighting gain at ``t`` seconds: smooth, within 1 +/- 0.08, periods of tens of s."""
    return (
        1.0
        + 0.055 * math.sin(2.0 * math.pi * t / 47.0 + phase_a)
        + 0.025 * math.sin(2.0 * math.pi * t / 19.0 + phase_b)
    )
