"""People-like figures: their look, their pose at a time, and how they are painted.

A figure is two legs, a rounded torso and a head disc, seen roughly from the side-front. It
is ``0.035 H`` wide and ``0.15 H`` tall without the head at the front of the scene, smaller
further away (a simple perspective on the anchor's y). Walking makes the legs open and close,
the torso sway and the head bob; the feet stay on the scripted path, so the bottom of the box is
the path itself. Luma is painted relative to the background under the figure, so its contrast is
what :class:`Look` says (30 to 80 grey levels) wherever it walks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vsa_stream.synth.scenarios import Path
from vsa_stream.synth.scene import Background

__all__ = ["Look", "Pose", "paint", "pose_at", "random_look"]

_STRIDE = 0.10  # frame widths walked per full leg cycle


@dataclass(frozen=True)
class Look:
    """How one person looks; drawn once per person from the seed."""

    size: float  # height factor, about 0.9..1.1
    sign: float  # +1 brighter than the ground, -1 darker
    contrast: float  # torso contrast in grey levels
    legs: float  # legs contrast as a fraction of the torso's
    stripes: float  # amplitude of torso stripes, grey levels
    torso_uv: tuple[float, float]
    legs_uv: tuple[float, float]
    head_uv: tuple[float, float]
    phase: float  # walking phase at the start of the path


def random_look(rng: np.random.Generator, role: str) -> Look:
    """Draw a look; intruders get a solid contrast so that a detector has a fair chance."""
    low = 45.0 if role == "intruder" else 35.0

    def tint(spread: float) -> tuple[float, float]:
        return float(rng.uniform(-spread, spread)), float(rng.uniform(-spread, spread))

    return Look(
        size=1.0 if role == "intruder" else float(rng.uniform(0.9, 1.1)),
        sign=1.0 if rng.random() < 0.4 else -1.0,
        contrast=float(rng.uniform(low, 75.0)),
        legs=float(rng.uniform(0.8, 1.05)),
        stripes=float(rng.choice([0.0, 0.0, 6.0, 9.0])),
        torso_uv=tint(14.0),
        legs_uv=tint(6.0),
        head_uv=(float(rng.uniform(-10.0, -4.0)), float(rng.uniform(6.0, 14.0))),
        phase=float(rng.uniform(0.0, 2.0 * math.pi)),
    )


@dataclass(frozen=True)
class Pose:
    """A figure at one instant, in full-resolution pixels."""

    cx: float  # centre of the feet
    feet: float  # y of the soles: the bottom of the box
    body_w: float
    body_h: float  # legs and torso
    head_r: float
    sway: float  # horizontal offset of torso and head
    spread: float  # half distance between the legs' centres
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, unclipped


def pose_at(path: Path, look: Look, t: float, width: int, height: int) -> Pose:
    """Return the pose of a person following ``path`` at ``t`` seconds."""
    x, y, walked = path.at(t)
    scale = (0.62 + 0.5 * min(max(y, 0.0), 1.25)) * look.size
    phi = look.phase + 2.0 * math.pi * walked / _STRIDE
    body_w = 0.035 * height * scale
    body_h = 0.15 * height * scale * (1.0 + 0.02 * math.cos(2.0 * phi))
    head_r = 0.0125 * height * scale
    sway = 0.06 * body_w * math.sin(phi)
    spread = body_w * (0.06 + 0.16 * abs(math.sin(phi)))
    cx, feet = x * width, y * height
    legs_half = spread + 0.18 * body_w
    head_x = cx + 1.2 * sway
    x0 = min(cx + sway - body_w / 2, cx - legs_half, head_x - head_r)
    x1 = max(cx + sway + body_w / 2, cx + legs_half, head_x + head_r)
    y0 = feet - body_h - 1.7 * head_r
    return Pose(cx, feet, body_w, body_h, head_r, sway, spread, (x0, y0, x1, feet))


def _rounded(
    px: npt.NDArray[np.float32],
    py: npt.NDArray[np.float32],
    centre: tuple[float, float],
    half: tuple[float, float],
    power: float,
) -> npt.NDArray[np.float32]:
    """Anti-aliased coverage of a superellipse (a rounded rectangle for ``power`` >= 4)."""
    hx, hy = max(half[0], 0.5), max(half[1], 0.5)
    r = (np.abs((px - centre[0]) / hx) ** power + np.abs((py - centre[1]) / hy) ** power) ** (
        1.0 / power
    )
    alpha: npt.NDArray[np.float32] = np.clip(0.5 - (r - 1.0) * min(hx, hy), 0.0, 1.0).astype(
        np.float32
    )
    return alpha


def _even_span(lo: float, hi: float, limit: int) -> tuple[int, int]:
    """An even-aligned integer span covering ``lo..hi`` with a pixel of margin, clipped."""
    a = (math.floor(lo) - 1) & ~1
    b = math.ceil(hi) + 2
    b += b & 1
    return max(0, a), min(limit, b)


def paint(
    pose: Pose,
    look: Look,
    bg: Background,
    y_plane: npt.NDArray[np.float32],
    u_plane: npt.NDArray[np.uint8],
    v_plane: npt.NDArray[np.uint8],
) -> None:
    """Paint a figure over the luma (float, before lighting) and chroma planes, in place."""
    h, w = y_plane.shape
    x0, y0, x1, y1 = pose.box
    ax, bx = _even_span(x0, x1, w)
    ay, by = _even_span(y0, y1, h)
    if bx <= ax or by <= ay:
        return
    px = np.arange(ax, bx, dtype=np.float32)[None, :] + np.float32(0.5)
    py = np.arange(ay, by, dtype=np.float32)[:, None] + np.float32(0.5)

    mean = bg.mean_luma(math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    sign = look.sign
    if not 25.0 <= mean + sign * look.contrast <= 230.0:
        sign = -sign
    torso_luma = mean + sign * look.contrast
    legs_luma = mean + sign * max(30.0, look.contrast * look.legs)
    head_luma = mean + sign * max(30.0, look.contrast * 0.8)

    bw, bh, feet = pose.body_w, pose.body_h, pose.feet
    legs_top = feet - 0.46 * bh
    leg_half = (0.18 * bw, (feet - legs_top) / 2.0)
    leg_cy = (legs_top + feet) / 2.0
    torso_top = feet - bh
    torso_bot = feet - 0.40 * bh
    head_cy = torso_top - 0.7 * pose.head_r
    head_cx = pose.cx + 1.2 * pose.sway

    legs = np.maximum(
        _rounded(px, py, (pose.cx - pose.spread, leg_cy), leg_half, 6.0),
        _rounded(px, py, (pose.cx + pose.spread, leg_cy), leg_half, 6.0),
    )
    torso = _rounded(
        px,
        py,
        (pose.cx + pose.sway, (torso_top + torso_bot) / 2.0),
        (bw / 2.0, (torso_bot - torso_top) / 2.0),
        4.0,
    )
    dist = np.sqrt((px - head_cx) ** 2 + (py - head_cy) ** 2)
    head = np.clip(pose.head_r + 0.5 - dist, 0.0, 1.0).astype(np.float32)

    patch = y_plane[ay:by, ax:bx]
    torso_fill: npt.NDArray[np.float32] | float = torso_luma
    if look.stripes:
        period = max(3.0, 0.1 * bh)
        torso_fill = torso_luma + look.stripes * np.sin((py - torso_top) * (2.0 * math.pi / period))
    for alpha, fill in ((legs, legs_luma), (torso, torso_fill), (head, head_luma)):
        patch += alpha * (fill - patch)

    cu = u_plane[ay // 2 : by // 2, ax // 2 : bx // 2]
    cv = v_plane[ay // 2 : by // 2, ax // 2 : bx // 2]
    fu = cu.astype(np.float32)
    fv = cv.astype(np.float32)
    hh, hw = (by - ay) // 2, (bx - ax) // 2
    for alpha, (du, dv) in ((legs, look.legs_uv), (torso, look.torso_uv), (head, look.head_uv)):
        half = alpha.reshape(hh, 2, hw, 2).mean(axis=(1, 3))
        fu += half * (128.0 + du - fu)
        fv += half * (128.0 + dv - fv)
    np.rint(fu, out=fu)
    np.rint(fv, out=fv)
    cu[...] = fu
    cv[...] = fv
