"""Native kernels of vsa_stream (Rust, ``rust/vsa_py``), checked by ``mypy.stubtest``.

Frames are taken as zero-copy numpy views through their strides (row padding allowed, the last
axis must be contiguous) and the GIL is released while a kernel runs. Bad input raises
:class:`vsa_stream.errors.FrameError` (a ``ValueError``); so does an internal failure of a
kernel, which fails that call only.
"""

from typing import Self, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Blob",
    "MotionDetector",
    "TrackBatch",
    "Tracker",
    "__version__",
    "downscale_area",
    "linear_assignment",
    "points_in_polygon",
]

__version__: str

def downscale_area(plane: NDArray[np.uint8], factor: int) -> NDArray[np.uint8]:
    """Box average of a uint8 plane over ``factor x factor`` blocks.

    Args:
        plane: 2-D uint8 array ``(height, width)``; may be a row-strided view such as
            ``a[:, :w]`` or a PyAV plane with ``line_size > width``.
        factor: block size, at least 1 (1 copies).

    Returns:
        A new ``(height // factor, width // factor)`` uint8 array; each pixel is the block sum
        divided by ``factor²``, rounded half up. Remainder rows and columns are dropped.

    Raises:
        FrameError: wrong dtype or dimensions, empty plane, non-contiguous last axis, factor
            below 1 or larger than the plane.

    Example:
        >>> import numpy as np
        >>> downscale_area(np.arange(16, dtype=np.uint8).reshape(4, 4), 2).tolist()
        [[3, 5], [11, 13]]
    """

def points_in_polygon(
    points: NDArray[np.float64], polygon: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Whether each point lies inside a polygon (even-odd rule, concave polygons allowed).

    The polygon is closed implicitly. A point exactly on an edge follows a half-open
    convention, like a box ``[x0, x1) x [y0, y1)``: on the unit square, the edges ``x = 0`` and
    ``y = 0`` are inside and ``x = 1`` and ``y = 1`` outside.

    Args:
        points: float64 array of shape ``(N, 2)`` holding ``(x, y)`` rows.
        polygon: float64 array of shape ``(M, 2)``, ``M >= 3``, finite vertices.

    Returns:
        A new bool array of shape ``(N,)``.

    Raises:
        FrameError: wrong dtype or shape, or non-finite polygon vertices.
    """

@final
class Blob:
    """A moving region in full-resolution pixels (read-only).

    The box is ``[x0, x1) x [y0, y1)``; ``area`` counts foreground pixels; ``(cx, cy)`` is the
    centroid, pixel ``(x, y)`` having its centre at ``(x + 0.5, y + 0.5)``.
    """

    @property
    def x0(self) -> int:
        """Left edge (inclusive)."""
    @property
    def y0(self) -> int:
        """Top edge (inclusive)."""
    @property
    def x1(self) -> int:
        """Right edge (exclusive)."""
    @property
    def y1(self) -> int:
        """Bottom edge (exclusive)."""
    @property
    def area(self) -> int:
        """Foreground pixels in the blob."""
    @property
    def cx(self) -> float:
        """Centroid x."""
    @property
    def cy(self) -> float:
        """Centroid y."""
    def __repr__(self) -> str: ...

@final
class MotionDetector:
    """Background-subtraction motion detector for one camera's luma plane.

    Each frame is downscaled by ``factor`` (box average) and compared with a running-average
    background (learning rate ``alpha`` per frame, ten times slower under foreground, so a
    person who stops is absorbed slowly) after removing the global brightness change (median
    difference); pixels more than ``threshold`` grey levels off are foreground. The mask is
    cleaned (3x3 closing then opening) and its 8-connected blobs of at least ``min_area``
    full-resolution pixels are returned. The first frame initialises the background and the
    first ``warmup_frames`` frames return no blob.

    Not safe for concurrent use: one detector per camera, called from one thread at a time
    (a worker thread is fine; the GIL is released while a frame is processed).

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        factor: downscale factor (>= 1, at most the frame size).
        alpha: background learning rate, in ``(0, 1]``.
        threshold: foreground threshold in grey levels (>= 0).
        min_area: smallest blob, in full-resolution pixels.
        warmup_frames: frames that only build the background.

    Raises:
        ValueError: a parameter is out of range.

    Example:
        >>> import numpy as np
        >>> detector = MotionDetector(64, 48, factor=4, min_area=16)
        >>> detector.process(np.zeros((48, 64), np.uint8))
        []
    """

    def __new__(
        cls,
        width: int,
        height: int,
        *,
        factor: int = 4,
        alpha: float = 0.05,
        threshold: float = 20.0,
        min_area: int = 400,
        warmup_frames: int = 5,
    ) -> Self: ...
    def process(self, luma: NDArray[np.uint8]) -> list[Blob]:
        """Processes one luma plane and returns its moving blobs.

        Args:
            luma: uint8 array of shape ``(height, width)``; rows may be padded (a strided
                view is read in place, never copied).

        Returns:
            The blobs in full-resolution pixels, in scan order of their first pixel.

        Raises:
            FrameError: wrong dtype, shape or strides, or a size other than the detector's;
                also an internal failure (the detector is then reset).
        """
    def foreground(self) -> NDArray[np.uint8]:
        """The cleaned mask of the last frame: a new uint8 array, downscaled size, 0 or 255."""
    def background(self) -> NDArray[np.uint8]:
        """The background rounded to uint8: a new array of the downscaled size."""
    def reset(self) -> None:
        """Forgets the background and the frame count; the next frame starts a new warm-up."""
    @property
    def width(self) -> int:
        """Frame width in pixels."""
    @property
    def height(self) -> int:
        """Frame height in pixels."""
    @property
    def factor(self) -> int:
        """Downscale factor."""
    @property
    def frames(self) -> int:
        """Frames processed since creation or the last reset."""
    def __repr__(self) -> str: ...

# --- Tracking -----------------------------------------------------------------------------------

def linear_assignment(
    cost: NDArray[np.float64], cost_limit: float = ...
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Optimal assignment of a rectangular cost matrix (Jonker-Volgenant shortest paths).

    Pairs costing ``cost_limit`` or more are never matched; the matching minimises the sum of
    matched costs plus ``cost_limit / 2`` for every unmatched row and column (the semantics of
    ``lap.lapjv(cost, extend_cost=True, cost_limit=...)``). With the default infinite limit
    every row of the smaller side is matched, as ``scipy.optimize.linear_sum_assignment``.

    Args:
        cost: float64 array ``(N, M)``, no NaN (``inf`` means "never").
        cost_limit: the gate (default ``inf``).

    Returns:
        ``(rows, cols)``: int64 arrays of the matched pairs, sorted by row.

    Raises:
        FrameError: wrong dtype or dimensions, or NaN.

    Example:
        >>> import numpy as np
        >>> linear_assignment(np.array([[0.1, 0.3], [0.3, 0.9]]), 0.8)
        (array([0, 1]), array([1, 0]))
    """

@final
class TrackBatch:
    """The tracks returned by one :meth:`Tracker.update`, as parallel arrays ordered by id.

    Every property returns a new numpy array of length ``M`` (the number of tracks).
    State codes: ``0`` tentative, ``1`` confirmed (matched in this frame), ``2`` lost (not
    matched, predicted), ``3`` removed (in this frame). Velocities are in pixels per frame.
    """

    @property
    def ids(self) -> NDArray[np.int64]:
        """Track ids, small integers from 1, increasing."""
    @property
    def boxes(self) -> NDArray[np.float64]:
        """Kalman-filtered boxes ``(x0, y0, x1, y1)``, shape ``(M, 4)``."""
    @property
    def velocities(self) -> NDArray[np.float64]:
        """Box-centre velocities ``(vx, vy)`` in pixels per frame, shape ``(M, 2)``."""
    @property
    def classes(self) -> NDArray[np.int64]:
        """Class of each track."""
    @property
    def states(self) -> NDArray[np.uint8]:
        """State codes: 0 tentative, 1 confirmed, 2 lost, 3 removed."""
    @property
    def ages(self) -> NDArray[np.int64]:
        """Frames since each track started (1 on its first frame)."""
    @property
    def hits(self) -> NDArray[np.int64]:
        """Frames in which a detection was matched."""
    @property
    def time_since_update(self) -> NDArray[np.int64]:
        """Frames since the last match (0 when matched in this frame)."""
    @property
    def det_index(self) -> NDArray[np.int64]:
        """Row of the detection that updated each track in this frame, -1 if none."""
    @property
    def scores(self) -> NDArray[np.float64]:
        """Score of each track's last matched detection."""
    def __len__(self) -> int: ...
    def __repr__(self) -> str: ...

@final
class Tracker:
    """ByteTrack-style multi-object tracker for one camera, per class.

    Each update predicts every track with a constant-velocity Kalman filter on
    ``(cx, cy, w, h)``, matches high-score detections to confirmed and lost tracks, then
    low-score detections to the confirmed tracks left, then the high-score detections left to
    tentative tracks, each by optimal assignment on ``1 - IoU`` (with a centre-distance
    fallback for small or fast objects) under a cost limit; a high-score detection left over
    starts a tentative track, confirmed after ``min_hits`` consecutive matches (at once on the
    first frame). Detections only match tracks of their class. Lost tracks are kept
    ``lost_s`` seconds. Deterministic: the same detections give the same ids.

    Privacy: no appearance features; ids are small integers local to this tracker.
    Not safe for concurrent use; the GIL is released during :meth:`update`.

    Args:
        frame_rate: frames per second (turns ``lost_s`` into frames).
        track_high_thresh: score of the first association's detections.
        track_low_thresh: detections below it are ignored.
        new_track_thresh: lowest score that starts a track.
        match_thresh: cost limit (``1 - IoU``) of the first association.
        low_match_thresh: cost limit of the low-score association.
        tentative_match_thresh: cost limit between tentative tracks and detections.
        lost_s: how long a lost track is kept, in seconds.
        min_hits: consecutive matches that confirm a track (>= 1).
        path_length: anchor points remembered per track (see :meth:`path`).
        fallback: centre-distance matching for small or fast objects.
        fuse_score: weigh IoU by the detection score in the first association.

    Raises:
        ValueError: a parameter out of range.

    Example:
        >>> import numpy as np
        >>> tracker = Tracker(frame_rate=25.0)
        >>> box = np.array([[10.0, 10.0, 30.0, 50.0]])
        >>> tracker.update(box, np.array([0.9])).ids.tolist()
        [1]
        >>> tracker.update(box + 2.0, np.array([0.9])).det_index.tolist()
        [0]
    """

    def __new__(
        cls,
        *,
        frame_rate: float = 30.0,
        track_high_thresh: float = 0.5,
        track_low_thresh: float = 0.1,
        new_track_thresh: float = 0.6,
        match_thresh: float = 0.8,
        low_match_thresh: float = 0.5,
        tentative_match_thresh: float = 0.7,
        lost_s: float = 1.0,
        min_hits: int = 2,
        path_length: int = 32,
        fallback: bool = True,
        fuse_score: bool = False,
    ) -> Self: ...
    def update(
        self,
        boxes: NDArray[np.float64],
        scores: NDArray[np.float64],
        classes: NDArray[np.int64] | None = None,
        *,
        include_tentative: bool = False,
        include_lost: bool = False,
        include_removed: bool = False,
    ) -> TrackBatch:
        """Processes one frame of detections.

        Args:
            boxes: float64 ``(N, 4)`` boxes ``(x0, y0, x1, y1)`` in pixels (strided views ok).
            scores: float64 ``(N,)`` detector scores.
            classes: int64 ``(N,)`` classes, or ``None`` for a single class 0.
            include_tentative: also return tracks not yet confirmed.
            include_lost: also return confirmed tracks unmatched in this frame.
            include_removed: also return the tracks removed in this frame.

        Returns:
            The confirmed tracks (matched in this frame) plus those asked for, by id.

        Raises:
            FrameError: wrong dtype or shape, lengths that differ, NaN or infinite values, or
                a box with ``x1 < x0`` or ``y1 < y0``; the tracker is left unchanged.
        """
    def path(self, track_id: int) -> NDArray[np.float64]:
        """Recent anchor points (bottom centre of the box) of a live track, oldest first.

        Returns:
            float64 ``(K, 2)``, ``K <= path_length``, one point per matched frame.

        Raises:
            KeyError: no live track has this id.
        """
    def reset(self) -> None:
        """Forgets every track; ids start again from 1 and ``frame`` from 0."""
    @property
    def frame(self) -> int:
        """Frames processed since creation or the last reset."""
    def __len__(self) -> int:
        """Live tracks (tentative, confirmed or lost)."""
    def __repr__(self) -> str: ...
