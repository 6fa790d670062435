"""Synthetic numpy scenes for the background tests: textured background, noise, people, bags."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]

W, H = 320, 240
FPS = 10


def background(seed: int = 0) -> F64:
    """A textured scene in about 60..190: a gentle gradient plus 4-px random blocks."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    smooth = 125.0 + 30.0 * np.sin(x / 23.0) * np.cos(y / 17.0)
    blocks = rng.uniform(-25.0, 25.0, size=(H // 4, W // 4))
    out: F64 = smooth + np.kron(blocks, np.ones((4, 4)))
    return out


def person_texture(seed: int, width: int = 24, height: int = 64) -> F64:
    """Clothes: 8-px random blocks in 20..230."""
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(20.0, 230.0, size=(height // 8, width // 8))
    out: F64 = np.kron(blocks, np.ones((8, 8))).astype(np.float64)
    return out


def paste(frame: F64, patch: F64, x: int, y: int) -> None:
    """Pastes `patch` with its top-left at (x, y), clipped to the frame."""
    h, w = patch.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 < x1 and y0 < y1:
        frame[y0:y1, x0:x1] = patch[y0 - y : y1 - y, x0 - x : x1 - x]


def render(scene: F64, rng: np.random.Generator, sigma: float = 3.0) -> U8:
    """`scene` plus Gaussian sensor noise, rounded to uint8."""
    noisy = scene + rng.normal(0.0, sigma, size=scene.shape)
    out: U8 = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return out


def box_blur(scene: F64, size: int) -> F64:
    """Separable box blur (edges replicated): a defocused lens."""
    pad = size // 2
    padded = np.pad(scene, pad, mode="edge")
    kernel = np.ones(size) / size
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, padded)
    out: F64 = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, rows)
    return out
