"""Motion blobs that merge: two tracked objects seen as one blob while they pass each other.

When two walkers cross, their foreground blobs join into one box for a few frames. Given to
the tracker as it is, that box updates one of the two tracks: its centre, between the two
objects, steers that track's velocity, the other track goes lost and coasts, and when the
blobs split again the two tracks can take each other's object (an identity swap: the same
wrong-way walker is then alerted again under the other id).

:func:`split_merges` recognises a merge before the tracker sees it: a blob that covers most of
the predicted boxes of two or more established tracks (matched on the previous frame, and in
``min_hits`` frames: their velocity is measured) is their objects seen together. It is
replaced by those predicted boxes, so each track goes on at its own velocity through the
merge and is where its object comes out. A track coasts like this at most
``max_frames`` frames in a row (the tracker's ``lost_s``: no longer than a lost track would);
after that the blob goes whole to the tracker (two people walking on together are one blob).
A young track is not split off: two tracks born on fragments of one object (a vehicle's blob
growing as it enters the picture) join again in its blob, which one of them should follow,
and a velocity measured over a few frames is not one to coast on (``wrong_way_cyclist``
seed 24 alerted 0.4 s later when they were split). Positions and sizes only, no
appearance.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["MERGE_COVER", "MergeSplitter", "split_merges"]

#: Share of a track's predicted box that must lie inside a blob for the blob to hold it.
MERGE_COVER = 0.5
_SMALL = 64  # blobs x tracks up to which plain Python beats numpy's fixed cost per call


def split_merges(
    blobs: NDArray[np.float64], predicted: NDArray[np.float64]
) -> tuple[NDArray[np.float64], list[list[int]]]:
    """Replaces every blob holding the predicted boxes of two or more tracks by those boxes.

    A blob holds a track when at least :data:`MERGE_COVER` of the track's predicted box lies
    inside it (the blob may be no larger than one object: one walker hides the other); a
    track is held by the blob covering the most of it.

    Args:
        blobs: ``(N, 4)`` boxes ``(x0, y0, x1, y1)`` of the frame's blobs.
        predicted: ``(M, 4)`` predicted boxes of the tracks that may merge.

    Returns:
        The boxes to track (blobs left whole first, then the boxes of the split ones), and for
        each split blob the indices (into ``predicted``) of the tracks it held.

    Example:
        >>> import numpy as np
        >>> blobs = np.array([[10.0, 0.0, 30.0, 20.0], [50.0, 0.0, 56.0, 20.0]])
        >>> tracks = np.array([[10.0, 0.0, 16.0, 20.0], [24.0, 0.0, 30.0, 20.0]])
        >>> boxes, groups = split_merges(blobs, tracks)
        >>> boxes.tolist(), groups
        ([[50.0, 0.0, 56.0, 20.0], [10.0, 0.0, 16.0, 20.0], [24.0, 0.0, 30.0, 20.0]], [[0, 1]])
    """
    n, m = len(blobs), len(predicted)
    if n == 0 or m < 2:
        return blobs, []
    if n * m <= _SMALL:
        groups = _groups_small(blobs.tolist(), predicted.tolist())
    else:
        groups = _groups(blobs, predicted)
    split = [i for i in range(n) if len(groups[i]) >= 2]
    if not split:
        return blobs, []
    keep = np.ones(n, dtype=bool)
    keep[split] = False
    parts = [predicted[groups[i]] for i in split]
    boxes = np.concatenate([blobs[keep], *parts]).astype(np.float64, copy=False)
    return boxes, [groups[i] for i in split]


def _groups(blobs: NDArray[np.float64], predicted: NDArray[np.float64]) -> list[list[int]]:
    """For each blob, the tracks it holds (see :func:`split_merges`)."""
    n, m = len(blobs), len(predicted)
    b = blobs[:, None, :]
    p = predicted[None, :, :]
    iw = np.clip(np.minimum(b[..., 2], p[..., 2]) - np.maximum(b[..., 0], p[..., 0]), 0.0, None)
    ih = np.clip(np.minimum(b[..., 3], p[..., 3]) - np.maximum(b[..., 1], p[..., 1]), 0.0, None)
    track_area = np.maximum(
        (predicted[:, 2] - predicted[:, 0]) * (predicted[:, 3] - predicted[:, 1]), 1e-9
    )
    cover = iw * ih / track_area[None, :]  # (N, M): share of each track inside each blob
    holder = np.argmax(cover, axis=0)  # the blob covering each track the most
    held = cover[holder, np.arange(m)] >= MERGE_COVER
    return [[int(j) for j in np.flatnonzero(held & (holder == i))] for i in range(n)]


def _groups_small(blobs: list[list[float]], predicted: list[list[float]]) -> list[list[int]]:
    """:func:`_groups` in plain Python: the same float operations in the same order, for the
    few blobs and tracks of a usual frame, where numpy's fixed cost per call dominates."""
    areas = [max((x1 - x0) * (y1 - y0), 1e-9) for x0, y0, x1, y1 in predicted]
    holder = [0] * len(predicted)
    best = [-1.0] * len(predicted)
    for i, (bx0, by0, bx1, by1) in enumerate(blobs):
        for j, (px0, py0, px1, py1) in enumerate(predicted):
            iw = max(min(bx1, px1) - max(bx0, px0), 0.0)
            ih = max(min(by1, py1) - max(by0, py0), 0.0)
            cover = iw * ih / areas[j]
            if cover > best[j]:  # the first blob covering the track the most, as np.argmax
                best[j], holder[j] = cover, i
    groups: list[list[int]] = [[] for _ in blobs]
    for j, (i, cover) in enumerate(zip(holder, best, strict=True)):
        if cover >= MERGE_COVER:
            groups[i].append(j)
    return groups


class MergeSplitter:
    """Keeps the tracks of a blob tracker apart through merges (see the module docstring).

    Feed it each frame's blobs before the tracker (:meth:`boxes`) and the tracker's result
    after (:meth:`tracked`).

    Args:
        max_frames: frames in a row a track may coast through a merge.
        min_hits: matched frames a track needs before it is split off a merged blob.
    """

    def __init__(self, max_frames: int, min_hits: int) -> None:
        self.max_frames = max_frames
        self.min_hits = min_hits
        self._ids = np.empty(0, dtype=np.int64)
        self._predicted = np.empty((0, 4), dtype=np.float64)
        self._coasting: dict[int, int] = {}  # track id -> frames in a row fed by a split

    def boxes(self, blobs: NDArray[np.float64]) -> NDArray[np.float64]:
        """The boxes to give the tracker for this frame's ``blobs``."""
        if self._coasting:
            ok = np.array(
                [self._coasting.get(int(i), 0) < self.max_frames for i in self._ids.tolist()],
                dtype=bool,
            )
            predicted, ids = self._predicted[ok], self._ids[ok]
        else:  # no track coasting (most frames): every one may be split off
            predicted, ids = self._predicted, self._ids
        boxes, groups = split_merges(blobs, predicted)
        coasting = {int(ids[j]) for group in groups for j in group}
        self._coasting = {i: self._coasting.get(i, 0) + 1 for i in coasting}
        return boxes

    def tracked(
        self,
        ids: NDArray[np.int64],
        boxes: NDArray[np.float64],
        velocities: NDArray[np.float64],
        time_since_update: NDArray[np.int64],
        hits: NDArray[np.int64],
    ) -> None:
        """Records the established tracks matched this frame and where they will be next."""
        now = (time_since_update == 0) & (hits >= self.min_hits)
        self._ids = ids[now]
        v = velocities[now]
        shift = np.concatenate((v, v), axis=1)  # constant velocity (px/frame), as the tracker
        self._predicted = boxes[now] + shift
