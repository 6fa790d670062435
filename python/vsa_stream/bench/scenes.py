"""Synthetic inputs of the kernel benchmarks: luma clips, moving boxes, detector outputs.

Everything is generated from a seed, so both sides of a comparison get the same input and a
run can be repeated.

Example:
    >>> frames = walking_clip(3, 64, 36)
    >>> len(frames), frames[0].shape, frames[0].dtype
    (3, (36, 64), dtype('uint8'))
    >>> f = boxes_scene(10, 2)[0]
    >>> f.boxes.shape[1], len(f.boxes) == len(f.scores) == len(f.ids)
    (4, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["BoxFrame", "boxes_scene", "walking_clip", "yolox_like_output"]

U8 = NDArray[np.uint8]
F64 = NDArray[np.float64]


def walking_clip(n: int, width: int = 640, height: int = 360, seed: int = 0) -> list[U8]:
    """``n`` luma frames: textured scene, noise sigma 3, five people-sized boxes walking across.

    The people are 1/20 of the width by 4/15 of the height, whatever the size.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    scene = 125.0 + 30.0 * np.sin(x / 23.0) * np.cos(y / 17.0)
    scene += np.kron(rng.uniform(-25, 25, size=(height // 4, width // 4)), np.ones((4, 4)))
    pw, ph = max(2, width // 20), max(2, height * 4 // 15)
    frames = []
    for t in range(n):
        frame = scene + rng.normal(0.0, 3.0, size=scene.shape)
        for k in range(5):
            px = round((40 + 9 * t + 130 * k) * width / 640) % max(1, width - pw)
            py = round((40 + 55 * k) * height / 360) % max(1, height - ph)
            frame[py : py + ph, px : px + pw] = 60.0 + 30.0 * k
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return frames


@dataclass(frozen=True, slots=True)
class BoxFrame:
    """One frame of detections and its truth.

    Attributes:
        boxes: ``(N, 4)`` float64 detected boxes ``(x0, y0, x1, y1)``, shuffled.
        scores: ``(N,)`` detection scores.
        ids: ``(N,)`` int64 true object of each detection (-1: a false positive).
        truth: ``(M, 4)`` true boxes of every object in the frame, detected or not.
        truth_ids: ``(M,)`` their ids.
    """

    boxes: F64
    scores: F64
    ids: NDArray[np.int64]
    truth: F64
    truth_ids: NDArray[np.int64]


def boxes_scene(n_objects: int, n_frames: int, seed: int = 0) -> list[BoxFrame]:
    """Moving boxes on a 1920x1080 frame: box noise, 10 % misses, false positives, wrap-around.

    Scores are spread over both ByteTrack stages; an object leaving one edge comes back at the
    other under the same id (a jump no tracker follows, the same for every tracker).
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [1920, 1080], (n_objects, 2))
    vel = rng.normal(0, 3, (n_objects, 2))
    size = rng.uniform([15, 30], [40, 90], (n_objects, 2))
    all_ids = np.arange(1, n_objects + 1, dtype=np.int64)
    frames: list[BoxFrame] = []
    for _ in range(n_frames):
        pos = (pos + vel) % [1920, 1080]
        truth = np.hstack([pos - size / 2, pos + size / 2])
        keep = rng.random(n_objects) > 0.1
        centre = pos[keep] + rng.normal(0, 1.0, (int(keep.sum()), 2))
        wh = size[keep] * rng.normal(1, 0.03, (int(keep.sum()), 2))
        boxes = np.hstack([centre - wh / 2, centre + wh / 2])
        n_fp = max(1, n_objects // 50)
        fp_c = rng.uniform([0, 0], [1920, 1080], (n_fp, 2))
        boxes = np.vstack([boxes, np.hstack([fp_c - 15, fp_c + 15])])
        scores = np.concatenate([rng.uniform(0.3, 1.0, len(centre)), rng.uniform(0.1, 0.7, n_fp)])
        ids = np.concatenate([all_ids[keep], np.full(n_fp, -1, np.int64)])
        order = rng.permutation(len(scores))
        frames.append(
            BoxFrame(
                np.ascontiguousarray(boxes[order]),
                np.ascontiguousarray(scores[order]),
                np.ascontiguousarray(ids[order]),
                truth,
                all_ids,
            )
        )
    return frames


def yolox_like_output(anchors: int, seed: int = 0) -> NDArray[np.float32]:
    """A synthetic YOLOX output ``(1, anchors, 85)``: a few confident anchors among many weak."""
    rng = np.random.default_rng(seed)
    n = anchors
    out = np.concatenate(
        [
            rng.uniform(-0.5, 1.5, (n, 2)),
            rng.normal(0.5, 1, (n, 2)),
            rng.uniform(0, 1, (n, 1)) ** 6,
            rng.uniform(0, 1, (n, 80)) ** 4,
        ],
        1,
    ).astype(np.float32)[None]
    return np.ascontiguousarray(out)
