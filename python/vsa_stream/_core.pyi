"""Native kernels of vsa_stream (Rust, ``rust/vsa_py``), checked by ``mypy.stubtest``.

Frames are taken as zero-copy numpy views through their strides (row padding allowed, the last
axis must be contiguous) and the GIL is released while a kernel runs. Errors are typed (see
:mod:`vsa_stream.errors`; mapped from the Rust error enums in ``rust/vsa_py/src/errors.rs``):
a bad frame or per-frame array raises :class:`~vsa_stream.errors.FrameError`, a bad parameter
:class:`~vsa_stream.errors.ParameterError`, a degenerate polygon or homography
:class:`~vsa_stream.errors.GeometryError` (the three are ``ValueError``), and an internal
failure of a kernel (a caught panic) :class:`~vsa_stream.errors.InternalError` (a
``RuntimeError``), which fails that call only. Each keeps the fields of the Rust variant as
attributes (``.field``, ``.width``, ``.expected``, ...). A kernel refuses, with a ``ValueError``
saying "too large", a frame over 16,384 pixels a side or 2**26 pixels in all (twice 8K UHD):
a ``ParameterError`` from a constructor sized on a frame (``MotionDetector(width, height)``), a
``FrameError`` from a per-frame call. It reports a refused allocation the same way: absurd
dimensions never abort the process. Every kernel runs in a copy compiled for AVX2 and FMA on a
CPU that has them, in its baseline copy otherwise, with the same results bit for bit (see
:func:`simd`).
"""

from collections.abc import Sequence
from typing import Literal, Self, TypeAlias, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Blob",
    "CameraShift",
    "Detections",
    "DualBackground",
    "DwellTimers",
    "FireDetector",
    "FireResult",
    "FlowResult",
    "HeadingTracker",
    "Homography",
    "Letterbox",
    "LineCounter",
    "MotionDetector",
    "MotionField",
    "StaticCandidate",
    "Tamper",
    "TrackBatch",
    "Tracker",
    "__version__",
    "boxes_in_polygon",
    "connected_components",
    "decode_nanodet",
    "decode_yolov5",
    "decode_yolov8",
    "decode_yolox",
    "density_grid",
    "downscale_area",
    "downscale_chroma",
    "flow_grid",
    "heading_check",
    "linear_assignment",
    "nms",
    "points_in_polygon",
    "polygon_area",
    "preprocess_packed",
    "preprocess_yuv420p",
    "pyramid",
    "simd",
    "validate_polygon",
]

__version__: str

def simd(level: Literal["auto", "baseline"] | None = None) -> Literal["avx2", "baseline"]:
    """The instruction set the kernels run with: ``"avx2"`` (a copy of every kernel compiled
    for AVX2 and FMA, on an x86-64 CPU that has them) or ``"baseline"`` (SSE2 on x86-64, the
    build's own target elsewhere). Both copies give the same results, bit for bit: the compiler
    only does element-wise work more widely, keeps every floating-point reduction in its order
    and never fuses a multiplication and an addition by itself.

    Args:
        level: first set it for the whole process: ``"baseline"`` (to rule the AVX2 copy out,
            or to compare the two) or ``"auto"`` (AVX2 when the CPU has it). At start it is
            ``"auto"``, or ``"baseline"`` when the environment has ``VSA_STREAM_SIMD=baseline``.

    Raises:
        ParameterError: any other ``level``.

    Example:
        >>> simd() in ("avx2", "baseline")
        True
    """

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
            larger than the plane.
        ParameterError: factor below 1.

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
        FrameError: wrong dtype or shape of the points.
        GeometryError: a polygon of the wrong shape or with non-finite vertices.
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
    @property
    def fill(self) -> float:
        """Fill ratio: ``area`` over the box area."""
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
        ParameterError: a parameter is out of range.

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
            FrameError: wrong dtype, shape or strides, or a size other than the detector's.
            InternalError: an internal failure (the detector is then reset).
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

@final
class CameraShift:
    """The camera itself moving: the global translation of the view between consecutive frames.

    The central ``crop x crop`` square of each luma plane (smaller frames: the largest even
    square that fits) is summed over 2x2 blocks, its mean removed and a 2-D Hann window
    applied; the peak of the phase correlation with the previous frame's square is the
    translation. A half-resolution square whose side is a power of two (any frame at least
    ``crop`` pixels high and wide, with the default) uses a radix-2 FFT; another side whose
    prime factors are all at most 13 (120, 144, 180, 216 or 240-pixel frames) a mixed-radix
    FFT; any other side Bluestein's transform (about 2.5x the time).

    Not safe for concurrent use: one per camera (the GIL is released while a frame is
    processed).

    Args:
        crop: side of the central square, full-resolution pixels (>= 2).

    Raises:
        ParameterError: ``crop`` under 2.

    Example:
        >>> import numpy as np
        >>> scene = np.random.default_rng(0).integers(0, 255, (200, 300), dtype=np.uint8)
        >>> shift = CameraShift()
        >>> shift.shift(scene), shift.shift(np.roll(scene, (0, 4), axis=(0, 1)))
        (0.0, 4.0)
    """

    def __new__(cls, crop: int = 256) -> Self: ...
    def shift(self, luma: NDArray[np.uint8]) -> float:
        """The translation of ``luma`` against the previous frame given.

        Args:
            luma: uint8 array of shape ``(height, width)``; rows may be padded.

        Returns:
            The distance of the translation in full-resolution pixels (a multiple of 2); 0.0
            for the first frame, after a change of square size or :meth:`reset`, and for a
            frame under 2x2 pixels.

        Raises:
            FrameError: wrong dtype, shape or strides.
            InternalError: an internal failure (the previous frame is then forgotten).
        """
    def reset(self) -> None:
        """Forgets the previous frame: the next shift is 0.0."""
    @property
    def crop(self) -> int:
        """Side of the central square, full-resolution pixels."""
    @property
    def transform(self) -> Literal["radix-2", "mixed-radix", "bluestein"] | None:
        """The transform of the last frame's half-resolution square; None before the first
        frame."""
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
    low-score detections to the confirmed tracks left, then the detections left scoring at
    least ``min(track_high_thresh, tentative_thresh)`` to tentative tracks, each by optimal
    assignment on ``1 - IoU`` (with a centre-distance fallback for small or fast objects, which
    links a confirmed or lost track only to a detection scoring ``new_track_thresh`` or more)
    under a cost limit; a detection left over at ``new_track_thresh`` or more starts a
    tentative track, confirmed after ``min_hits`` consecutive matches (at once on the first
    frame); one left over in ``[tentative_thresh, new_track_thresh)`` starts a tentative track
    confirmed after ``tentative_hits`` consecutive matches once it has moved
    ``tentative_travel`` (a moving object the detector sees in every frame at weak scores is
    tracked; a one-frame false detection, or a sign weakly taken for a person, never is). Tentative
    tracks are reported only with ``include_tentative``. Detections only match tracks of
    their class. Lost tracks are kept
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
        tentative_thresh: lowest score that starts a tentative track (``<=
            new_track_thresh``; equal: weak detections never start a track).
        tentative_hits: consecutive matches that confirm a track started below
            ``new_track_thresh`` (>= 1).
        tentative_travel: how far such a track must also have moved, unless it matched a
            detection at ``new_track_thresh``: its centre's shift from where it started in box
            sizes ``sqrt(w * h)`` plus ``|ln(size / first size)|`` (0: no need to move). A weak
            detection that stays in place is usually a fixed structure taken for an object.

    Raises:
        ParameterError: a parameter out of range.

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
        tentative_thresh: float = 0.3,
        tentative_hits: int = 3,
        tentative_travel: float = 1.0,
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

# --- detector pre- and post-processing (vsa_core::detect) -----------------------------------

@final
class Letterbox:
    """Where a frame lies in a model input, and how model boxes map back to it (read-only).

    With ``keep_ratio`` the frame is scaled by ``min(dst_w / src_w, dst_h / src_h)`` and its
    content size rounded to whole pixels; otherwise it is stretched to the whole input. With
    ``center`` the padding is split evenly (the odd pixel right and down), otherwise the content
    sits at the top-left corner (YOLOX). A model point ``x`` is ``(x - pad_x) / scale_x`` in the
    source, ``scale_x = content_width / src_width`` (``scale_y`` likewise; the two are equal up
    to the rounding of the content size).

    Raises:
        ParameterError: a size is not positive.

    Example:
        >>> lb = Letterbox(1280, 720, 416, 416)
        >>> (lb.content_width, lb.content_height, lb.pad_x, lb.pad_y, lb.scale_x)
        (416, 234, 0, 0, 0.325)
    """

    def __new__(
        cls,
        src_width: int,
        src_height: int,
        dst_width: int,
        dst_height: int,
        *,
        keep_ratio: bool = True,
        center: bool = False,
    ) -> Self: ...
    def to_source(self, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
        """Boxes ``(N, 4)`` ``[x1, y1, x2, y2]`` of the model input, in source pixels, clipped.

        Raises:
            FrameError: not a finite float64 ``(N, 4)`` array.
        """
    @property
    def src_width(self) -> int:
        """Source frame width."""
    @property
    def src_height(self) -> int:
        """Source frame height."""
    @property
    def dst_width(self) -> int:
        """Model input width."""
    @property
    def dst_height(self) -> int:
        """Model input height."""
    @property
    def content_width(self) -> int:
        """Width of the resized frame inside the input."""
    @property
    def content_height(self) -> int:
        """Height of the resized frame inside the input."""
    @property
    def pad_x(self) -> int:
        """Columns of padding left of the content."""
    @property
    def pad_y(self) -> int:
        """Rows of padding above the content."""
    @property
    def scale_x(self) -> float:
        """``content_width / src_width``."""
    @property
    def scale_y(self) -> float:
        """``content_height / src_height``."""
    def __repr__(self) -> str: ...

@final
class Detections:
    """Detections of one frame, best first, in source pixels (read-only record of arrays)."""

    @property
    def boxes(self) -> NDArray[np.float64]:
        """``(K, 4)`` float64 ``[x1, y1, x2, y2]``, clipped to the frame."""
    @property
    def scores(self) -> NDArray[np.float64]:
        """``(K,)`` float64, decreasing."""
    @property
    def class_ids(self) -> NDArray[np.int64]:
        """``(K,)`` int64 class indices of the model (COCO: 0 is person)."""
    def __len__(self) -> int: ...
    def __repr__(self) -> str: ...

def preprocess_yuv420p(
    y: NDArray[np.uint8],
    u: NDArray[np.uint8],
    v: NDArray[np.uint8],
    size: tuple[int, int],
    *,
    order: str = "bgr",
    keep_ratio: bool = True,
    center: bool = False,
    pad_value: float = 114.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    matrix: str = "bt601",
    full_range: bool = False,
) -> tuple[NDArray[np.float32], Letterbox]:
    """A yuv420p frame to a detector input tensor, in one pass (GIL released).

    Resizes bilinearly with half-pixel centres (OpenCV ``INTER_LINEAR``, no antialiasing) into
    a letterbox, converts YCbCr to ``order`` (``matrix`` BT.601 or BT.709, limited range
    16-235/16-240 unless ``full_range``), clamps to 0-255 without rounding, normalises each
    channel as ``(value - mean[c]) / std[c]`` (``mean``/``std`` in ``order``) and writes NCHW
    float32. Chroma is sampled at the centre of its 2x2 luma block. Padding is ``pad_value`` in
    every channel before normalisation.

    Args:
        y: uint8 luma ``(H, W)``; rows may be padded (a PyAV plane view is read in place).
        u: uint8 ``(ceil(H/2), ceil(W/2))``.
        v: uint8, same shape as ``u``.
        size: model input ``(width, height)``.
        order: ``"bgr"`` (YOLOX, NanoDet) or ``"rgb"`` (YOLOv5/v8).
        keep_ratio: letterbox (True) or stretch.
        center: centre the content instead of placing it top-left.
        pad_value: padding value, 0-255 units.
        mean: per-channel mean, 0-255 units; None: zeros (NanoDet: ``(103.53, 116.28,
            123.675)``).
        std: per-channel divisor; None: ones (NanoDet: ``(57.375, 57.12, 58.395)``;
            YOLOv8: 255).
        matrix: ``"bt601"`` or ``"bt709"``.
        full_range: the frame uses 0-255 (``yuvj420p``).

    Returns:
        A new ``(1, 3, height, width)`` float32 array and the :class:`Letterbox`.

    Raises:
        FrameError: wrong dtype, shape or strides, chroma planes that do not match the luma.
        ParameterError: a bad parameter (size, order, matrix, mean/std length, zero std).
    """

def preprocess_packed(
    image: NDArray[np.uint8],
    size: tuple[int, int],
    *,
    image_order: str = "bgr",
    order: str = "bgr",
    keep_ratio: bool = True,
    center: bool = False,
    pad_value: float = 114.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[NDArray[np.float32], Letterbox]:
    """A packed ``(H, W, 3)`` uint8 image to a detector input tensor (GIL released).

    Same resize, letterbox and normalisation as :func:`preprocess_yuv420p`; ``image_order``
    says whether the image is BGR (OpenCV) or RGB. Rows may be padded (strides
    ``(row, 3, 1)``).

    Raises:
        FrameError: wrong dtype, shape or strides.
        ParameterError: a bad parameter.
    """

def decode_yolox(
    output: NDArray[np.float32],
    letterbox: Letterbox,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int | None = None,
    class_agnostic: bool = False,
    strides: Sequence[int] | None = None,
) -> Detections:
    """Decodes YOLOX raw grid output ``(1, anchors, 5 + C)`` (GIL released).

    Per anchor ``(x, y, log w, log h, objectness, class scores)`` on the grids of ``strides``
    (None: 8, 16, 32; row-major per level): centre ``(x + gx) * stride``, size
    ``exp(log w) * stride``, score ``objectness * class score`` for the anchor's best class
    (the first one on ties). Anchors with ``score >= score_threshold`` are mapped to source
    pixels through ``letterbox`` and clipped; boxes left without area or with non-finite
    values are dropped; then :func:`nms`.

    Raises:
        FrameError: wrong dtype or shape (the anchor count must match the letterbox's input
            size and the strides), non-contiguous array.
        ParameterError: a threshold or the strides out of range.
    """

def decode_yolov5(
    output: NDArray[np.float32],
    letterbox: Letterbox,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int | None = None,
    class_agnostic: bool = False,
) -> Detections:
    """Decodes YOLOv5 output ``(1, anchors, 5 + C)``: ``(cx, cy, w, h)`` in input pixels,
    objectness, class scores; score ``objectness * class score``. Otherwise as
    :func:`decode_yolox`."""

def decode_yolov8(
    output: NDArray[np.float32],
    letterbox: Letterbox,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int | None = None,
    class_agnostic: bool = False,
) -> Detections:
    """Decodes YOLOv8/YOLO11 output ``(1, 4 + C, anchors)`` (transposed: one row per value):
    ``(cx, cy, w, h)`` in input pixels then class scores, no objectness; score = the best class
    score. Otherwise as :func:`decode_yolox`."""

def decode_nanodet(
    cls_outputs: Sequence[NDArray[np.float32]],
    dis_outputs: Sequence[NDArray[np.float32]],
    letterbox: Letterbox,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int | None = None,
    class_agnostic: bool = False,
    strides: Sequence[int] | None = None,
    reg_max: int = 7,
    center_offset: float = 0.5,
) -> Detections:
    """Decodes NanoDet (GFL) outputs, one class and one distance array per level (GIL released).

    ``cls_outputs[i]`` is ``(1, anchors_i, C)`` class scores, already sigmoid-ed (as in the
    NanoDet ONNX export); ``dis_outputs[i]`` is ``(1, anchors_i, 4 * (reg_max + 1))`` logits of
    the distances left, top, right, bottom. Each distance is the softmax expectation of its bins
    times the stride, from the cell centre ``((gx + center_offset) * stride, ...)``; the score is
    the best class score. Otherwise as :func:`decode_yolox`.
    """

def nms(
    boxes: NDArray[np.float64],
    scores: NDArray[np.float64],
    iou_threshold: float,
    class_ids: NDArray[np.int64] | None = None,
    *,
    max_detections: int | None = None,
) -> NDArray[np.int64]:
    """Greedy non-maximum suppression; indices of the kept boxes, best first (GIL released).

    Boxes are visited by decreasing score, ties by increasing index; a box is kept unless its
    IoU with an already kept box of the same class (any box when ``class_ids`` is None) is
    greater than ``iou_threshold``. IoU of ``[x1, y1, x2, y2]`` boxes in continuous coordinates;
    a box with no area has IoU 0 with everything.

    Args:
        boxes: float64 ``(N, 4)``, finite.
        scores: float64 ``(N,)``, not NaN.
        iou_threshold: in ``[0, 1]``.
        class_ids: int64 ``(N,)``, or None for class-agnostic suppression.
        max_detections: stop after this many kept boxes.

    Example:
        >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float64)
        >>> nms(b, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
        [0, 2]
    """

# --- scene geometry ---------------------------------------------------------------------------
#
# Image coordinates are pixels, x right and y DOWN. Boxes are float64 (N, 4) rows
# (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1, all finite. Track ids are int64 (N,), distinct
# within a frame. Angles are degrees in [0, 360) from +x towards +y: 0 = right, 90 = down the
# image, 180 = left, 270 = up (clockwise on screen). The ground plane is metric (metres).

# The point of a box standing for the object: ((x0+x1)/2, y1), the centre, or ((x0+x1)/2, y0).
_Anchor: TypeAlias = Literal["bottom_center", "center", "top_center"]

def boxes_in_polygon(
    boxes: NDArray[np.float64], polygon: NDArray[np.float64], anchor: _Anchor = "bottom_center"
) -> NDArray[np.bool_]:
    """Whether the anchor of each box lies inside a polygon (as :func:`points_in_polygon`).

    Args:
        boxes: float64 ``(N, 4)`` xyxy boxes.
        polygon: float64 ``(M, 2)``, ``M >= 3``, finite vertices; convex or concave.
        anchor: which point of each box is tested.

    Returns:
        A new bool array of shape ``(N,)``.

    Raises:
        FrameError: wrong dtype or shape, non-finite or unordered boxes.
        ParameterError: a bad anchor.
        GeometryError: a polygon of the wrong shape or with non-finite vertices.

    Example:
        >>> import numpy as np
        >>> square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
        >>> boxes_in_polygon(np.array([[4.0, -20.0, 6.0, 5.0]]), square).tolist()
        [True]
    """

def polygon_area(polygon: NDArray[np.float64]) -> float:
    """Absolute shoelace area of a ``(M >= 3, 2)`` float64 polygon with finite vertices.

    A self-intersecting polygon gets the absolute sum of its lobes' signed areas (a bow tie: 0).

    Raises:
        FrameError: wrong dtype.
        GeometryError: wrong shape, or non-finite vertices.
    """

def validate_polygon(polygon: NDArray[np.float64]) -> None:
    """Raises unless ``polygon`` is a usable zone.

    Usable: finite vertices, at least three distinct ones (consecutive repeats and a closing
    vertex equal to the first are tolerated), not all on one line, and no two edges crossing
    or touching (a simple polygon, convex or concave).

    Raises:
        GeometryError: naming the problem (``"polygon is self-intersecting: edges 0 and 2 ..."``),
            with the variant's fields (``.edges``, ``.index``, ``.vertices``).
    """

@final
class LineCounter:
    """Counts the tracks crossing the directed segment ``p0 -> p1``, with hysteresis.

    A point's signed distance to the line is positive on the line's **right** as seen on screen
    facing from ``p0`` to ``p1`` (y down: for a line drawn left to right, right is below it).
    A crossing has direction ``+1`` from the left side to the right side and ``-1`` from right
    to left.

    A track is *settled* on a side once its anchor is at least ``hysteresis_px`` from the line
    there. A crossing counts when a track settled on one side settles on the other, provided
    its path (straight between observations) last went over the line within the segment's
    extent: walking round an end of the segment does not count, and jitter on the line never
    double counts. A new track settles without counting. Only the anchor matters, so a line
    near the frame edge works once the anchor can pass it by ``hysteresis_px``. Tracks absent
    for more than ``max_missed`` updates are forgotten.

    Args:
        p0: start of the segment, pixels.
        p1: end of the segment (distinct from ``p0``).
        hysteresis_px: perpendicular distance past the line that settles a side (>= 0).
        anchor: which point of each box is followed.
        max_missed: updates a track may be absent before it is forgotten (>= 0).

    Raises:
        ParameterError: non-finite or coincident end points, negative hysteresis, bad anchor.

    Example:
        >>> import numpy as np
        >>> counter = LineCounter((0.0, 100.0), (200.0, 100.0), hysteresis_px=5.0)
        >>> for y in (80.0, 100.0, 120.0):
        ...     ids, dirs = counter.update(np.array([7]), np.array([[90.0, y - 40, 110.0, y]]))
        >>> counter.totals
        (1, 0)
    """

    def __new__(
        cls,
        p0: tuple[float, float],
        p1: tuple[float, float],
        *,
        hysteresis_px: float = 4.0,
        anchor: _Anchor = "bottom_center",
        max_missed: int = 30,
    ) -> Self: ...
    def update(
        self, track_ids: NDArray[np.int64], boxes: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
        """Feeds one frame and returns ``(track_ids, directions)`` of its counted crossings.

        Raises:
            FrameError: bad arrays, lengths that differ, repeated ids; nothing is changed.
        """
    @property
    def totals(self) -> tuple[int, int]:
        """Crossings since creation or the last reset: ``(left_to_right, right_to_left)``."""
    def coordinates(self, x: float, y: float) -> tuple[float, float]:
        """Signed distance of ``(x, y)`` to the line (positive on its right) and its position
        along it (0 at ``p0``, the segment's length at ``p1``)."""
    @property
    def tracked(self) -> int:
        """Tracks currently remembered."""
    def reset(self) -> None:
        """Forgets every track and the totals."""
    def __repr__(self) -> str: ...

def heading_check(
    velocities: NDArray[np.float64],
    displacements: NDArray[np.float64],
    allowed_deg: float,
    tolerance_deg: float,
    min_displacement: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Judges headings against an allowed direction.

    A row is *judged* when its net displacement is at least ``min_displacement`` and its
    velocity is non-zero; it is *against* when judged and its heading is more than
    ``tolerance_deg`` from ``allowed_deg`` (angles as in the section header: 90 = down the
    image).

    Args:
        velocities: float64 ``(N, 2)`` smoothed velocities (pixels per second).
        displacements: float64 ``(N, 2)`` net displacements over the recent path (pixels).
        allowed_deg: allowed heading, degrees (any finite value; taken modulo 360).
        tolerance_deg: half-width of the allowed cone, in ``[0, 180]``.
        min_displacement: pixels moved before judging (>= 0).

    Returns:
        ``(judged, against, heading_deg, speed)``, each ``(N,)``; ``heading_deg`` is NaN for a
        zero velocity.

    Raises:
        FrameError: bad arrays.
        ParameterError: bad parameters.
    """

@final
class HeadingTracker:
    """Follows each track's anchor and judges its heading every frame.

    The velocity is the least-squares slope of the anchor's position against time over the
    last ``window_s`` seconds; the displacement is the newest minus the oldest position of that
    window. Judged and against as in :func:`heading_check`. Tracks absent for more than
    ``max_missed`` updates are forgotten.

    Args:
        allowed_deg: allowed heading, degrees (90 = down the image).
        tolerance_deg: half-width of the allowed cone, in ``[0, 180]``.
        min_displacement_px: net displacement over the window before judging.
        window_s: length of the recent path, seconds (> 0).
        anchor: which point of each box is followed.
        max_missed: updates a track may be absent before it is forgotten.

    Raises:
        ParameterError: a parameter out of range.
    """

    def __new__(
        cls,
        allowed_deg: float,
        *,
        tolerance_deg: float = 90.0,
        min_displacement_px: float = 20.0,
        window_s: float = 2.0,
        anchor: _Anchor = "bottom_center",
        max_missed: int = 30,
    ) -> Self: ...
    def update(
        self, time_s: float, track_ids: NDArray[np.int64], boxes: NDArray[np.float64]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
        """Feeds one frame at ``time_s`` (non-decreasing) and judges each of its tracks.

        Returns:
            ``(judged, against, heading_deg, speed)`` in the order of ``track_ids``.

        Raises:
            FrameError: bad arrays, repeated ids, a time going backwards; nothing is changed.
        """
    @property
    def tracked(self) -> int:
        """Tracks currently remembered."""
    def reset(self) -> None:
        """Forgets every track and the last time."""
    def __repr__(self) -> str: ...

@final
class Homography:
    """Image <-> ground-plane homography estimated from at least four point pairs.

    Normalised DLT (Hartley): both point sets are moved to their centroid and scaled to a mean
    distance of sqrt(2), the linear system is solved by SVD (least squares beyond four pairs)
    and denormalised. Image points beyond the horizon (on the other side than the calibration
    points) have no ground position: they map to NaN.

    Args:
        image_points: float64 ``(N >= 4, 2)`` pixels.
        ground_points: float64 ``(N, 2)`` ground coordinates (metres), pairing row by row.

    Raises:
        ParameterError: lengths that differ.
        GeometryError: fewer than four pairs, NaN, coincident or collinear points, three
            collinear points among exactly four, or pairs that fix no unique, invertible
            homography.

    Example:
        >>> import numpy as np
        >>> px = np.array([[100.0, 100.0], [300.0, 100.0], [300.0, 300.0], [100.0, 300.0]])
        >>> m = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
        >>> Homography(px, m).to_ground(np.array([[200.0, 200.0]])).round(9).tolist()
        [[1.0, 1.0]]
    """

    def __new__(
        cls, image_points: NDArray[np.float64], ground_points: NDArray[np.float64]
    ) -> Self: ...
    @staticmethod
    def from_matrix(matrix: NDArray[np.float64], visible: NDArray[np.float64]) -> Homography:
        """The homography with image -> ground ``matrix`` (3, 3); ``visible`` (K >= 1, 2) are
        image points known to show the ground (they fix which side of the horizon is real)."""
    @property
    def matrix(self) -> NDArray[np.float64]:
        """Image -> ground matrix (a new (3, 3) array), scaled to a last entry of 1."""
    @property
    def inverse_matrix(self) -> NDArray[np.float64]:
        """Ground -> image matrix (a new (3, 3) array)."""
    def to_ground(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Ground positions of ``(N, 2)`` image points; NaN rows at or beyond the horizon."""
    def to_image(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Image positions of ``(N, 2)`` ground points; NaN rows behind the camera."""
    def reprojection_error(
        self, image_points: NDArray[np.float64], ground_points: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Pixel distance ``(N,)`` between each image point and the image of its ground point."""
    def ground_area(self, polygon: NDArray[np.float64]) -> float:
        """Ground area (m²) of an image polygon (mapping its vertices is exact).

        Raises:
            GeometryError: an invalid polygon (see :func:`validate_polygon`).
            ParameterError: a polygon reaching the horizon.
        """
    def ground_anchors(
        self, boxes: NDArray[np.float64], anchor: _Anchor = "bottom_center"
    ) -> NDArray[np.float64]:
        """Ground positions ``(N, 2)`` of the anchors of ``(N, 4)`` boxes (NaN beyond the
        horizon)."""
    def density(
        self,
        boxes: NDArray[np.float64],
        origin: tuple[float, float],
        cell_m: float,
        shape: tuple[int, int],
        sigma_m: float,
        anchor: _Anchor = "bottom_center",
    ) -> NDArray[np.float64]:
        """:func:`density_grid` of the ground anchors of ``boxes``; anchors beyond the horizon
        are left out."""
    def __repr__(self) -> str: ...

def density_grid(
    ground_points: NDArray[np.float64],
    origin: tuple[float, float],
    cell_m: float,
    shape: tuple[int, int],
    sigma_m: float,
) -> NDArray[np.float64]:
    """Persons per m² on a ground grid, each person spread as a small Gaussian.

    Cell ``[r, c]`` covers ground ``x`` in ``[ox + c*cell_m, ox + (c+1)*cell_m)`` and ``y`` in
    ``[oy + r*cell_m, oy + (r+1)*cell_m)``. Each person is an isotropic Gaussian of standard
    deviation ``sigma_m`` truncated at 3 sigma per axis, integrated exactly over the cells and
    renormalised to hold one person; so ``grid.sum() * cell_m**2`` equals the number of persons,
    less the kernel parts of persons near the border falling outside the grid. ``sigma_m = 0``
    puts each person in its cell.

    Args:
        ground_points: float64 ``(N, 2)`` ground positions (metres), finite.
        origin: ground position of the corner of cell ``[0, 0]``.
        cell_m: cell side in metres (> 0).
        shape: ``(rows, cols)``, at most 2**26 cells.
        sigma_m: kernel standard deviation in metres (>= 0).

    Returns:
        A new float64 array of shape ``shape``.

    Raises:
        FrameError: bad arrays.
        ParameterError: bad parameters.
    """

@final
class DwellTimers:
    """How long each track has been inside each zone, with a grace period.

    A (track, zone) pair is inside when the track's anchor is in the zone (even-odd,
    half-open edges). Its entry time is kept when it was last inside on the previous update or
    at most ``grace_s`` seconds ago, and starts again after a longer absence.

    Args:
        zones: float64 ``(M, 2)`` polygons, each valid (see :func:`validate_polygon`).
        grace_s: longest absence that keeps the entry time, seconds (>= 0).
        anchor: which point of each box is tested.

    Raises:
        FrameError: an invalid zone or parameter.
    """

    def __new__(
        cls,
        zones: Sequence[NDArray[np.float64]],
        *,
        grace_s: float = 1.0,
        anchor: _Anchor = "bottom_center",
    ) -> Self: ...
    def update(
        self, time_s: float, track_ids: NDArray[np.int64], boxes: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Feeds one frame at ``time_s`` (non-decreasing).

        Returns:
            ``(track_ids, zone_idx, dwell_s)`` of the pairs inside now, in input order then
            zone order; ``dwell_s`` is 0 on the update a track enters.

        Raises:
            FrameError: bad arrays, repeated ids, a time going backwards; nothing is changed.
        """
    @property
    def zone_count(self) -> int:
        """Number of zones."""
    @property
    def remembered(self) -> int:
        """(track, zone) pairs remembered: inside, or out for at most the grace period."""
    def reset(self) -> None:
        """Forgets every timer and the last time."""
    def __repr__(self) -> str: ...

# --- Background: pyramid, dual-rate background, tampering, static objects ------------------

def pyramid(plane: NDArray[np.uint8], levels: int) -> list[NDArray[np.uint8]]:
    """Area pyramid of a uint8 plane.

    Args:
        plane: 2-D uint8 array (row-strided views allowed).
        levels: number of 2x levels below the base (>= 0).

    Returns:
        ``levels + 1`` arrays: a copy of ``plane``, then each level the 2x area downscale
        (:func:`downscale_area` with factor 2) of the previous one.

    Raises:
        FrameError: bad plane, negative ``levels``, or a level that would be empty.
    """

def downscale_chroma(
    plane: NDArray[np.uint8], factor: int, luma_width: int, luma_height: int
) -> NDArray[np.uint8]:
    """A 4:2:0 chroma plane (U or V) brought to the size of its luma downscaled by ``factor``.

    Chroma is half resolution, so an even ``factor`` is an area downscale by ``factor / 2``;
    factor 1 repeats each chroma pixel 2x2. Odd factors above 1 are unsupported.

    Returns:
        ``(luma_height // factor, luma_width // factor)`` uint8 array.

    Raises:
        FrameError: bad plane, odd factor above 1, or a chroma plane too small for the luma.
    """

def connected_components(mask: NDArray[np.uint8], min_area: int = 1) -> list[Blob]:
    """8-connected components of the non-zero pixels of a uint8 mask (GIL released).

    Returns:
        Blobs of at least ``min_area`` pixels, in the row-major order of their first pixel.

    Raises:
        FrameError: wrong dtype or dimensions, empty mask.
        ParameterError: negative min_area.
    """

@final
class Tamper:
    """The camera-tampering signal of one frame (read-only)."""

    @property
    def score(self) -> float:
        """Strongest indicator in ``[0, 1]``: lost contrast, lost edges or changed fraction."""
    @property
    def reason(self) -> Literal["covered", "defocused", "moved"] | None:
        """This frame's condition, raised or not yet."""
    @property
    def run(self) -> int:
        """Consecutive frames the condition has held."""
    @property
    def flag(self) -> bool:
        """Raised: the condition has held for ``tamper_frames`` frames."""
    def __repr__(self) -> str: ...

@final
class StaticCandidate:
    """A static-object candidate (abandoned object) in full-resolution pixels (read-only)."""

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
        """Pixels above the evidence threshold."""
    @property
    def cx(self) -> float:
        """Centroid x."""
    @property
    def cy(self) -> float:
        """Centroid y."""
    @property
    def fill(self) -> float:
        """Fill ratio: ``area`` over the box area."""
    @property
    def first_frame(self) -> int:
        """Frame index (1-based) at which it became a candidate."""
    @property
    def age(self) -> int:
        """Frames since it became a candidate (static for about ``age + static_frames``)."""
    @property
    def evidence(self) -> float:
        """Mean evidence of its pixels, in frames."""
    @property
    def presence(self) -> float:
        """Which image holds its outline, in [0, 1]: the contrast across its boundary in the
        current frame over that in the current frame plus the slow background. Above 0.5 an
        object arrived; below, a ghost (something of the background left)."""
    @property
    def ghost(self) -> bool:
        """``presence < 0.5``: the region is where something that was there has left."""
    def __repr__(self) -> str: ...

@final
class DualBackground:
    """Dual-rate background subtraction, tampering signal and static-object evidence.

    Per frame: area downscale by ``factor``; the global illumination offset (median of
    ``frame - fast``) shifts both models, so a global brightness jump or drift is not
    foreground; a pixel is foreground for a model when it differs by more than
    ``max(threshold, noise_k * sigma)`` (``sigma``: its running noise deviation). The fast
    model learns every pixel at ``fast_alpha``; the slow one at ``slow_alpha``, ten times
    slower under foreground. Both masks are cleaned (3x3 closing then opening); the fast mask
    gives the blobs. Everything counts in frames; the defaults suit 10 fps.

    Static objects (Porikli et al. 2008): a pixel foreground for the slow model, background
    for the fast one and not moving gains one frame of evidence; a moving pixel loses
    ``4 * static_decay``, any other ``static_decay``. Regions with ``static_frames`` of
    evidence are candidates.

    Tampering: ``covered`` (spatial deviation below 30% of usual and below 12 grey levels),
    ``defocused`` (edge energy below 45% of usual), ``moved`` (half the frame foreground for
    the slow model); flagged after ``tamper_frames`` consecutive frames.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        factor: luma downscale factor (>= 1).
        fast_alpha: fast model learning rate, in ``(0, 1]``.
        slow_alpha: slow model learning rate, in ``(0, 1]``.
        threshold: smallest foreground difference, grey levels.
        noise_k: multiple of the per-pixel noise deviation that is foreground.
        min_area: smallest blob or candidate, full-resolution pixels.
        warmup_frames: frames that only build the models.
        static_frames: evidence (frames) that makes a static candidate.
        static_decay: evidence lost per frame once a pixel is no longer static.
        tamper_frames: frames a tampering condition must persist.

    Raises:
        ParameterError: a parameter is out of range.
    """

    def __new__(
        cls,
        width: int,
        height: int,
        *,
        factor: int = 4,
        fast_alpha: float = 0.1,
        slow_alpha: float = 0.005,
        threshold: float = 15.0,
        noise_k: float = 3.0,
        min_area: int = 100,
        warmup_frames: int = 10,
        static_frames: int = 50,
        static_decay: int = 2,
        tamper_frames: int = 10,
    ) -> Self: ...
    def update(self, luma: NDArray[np.uint8]) -> list[Blob]:
        """Processes one luma plane (GIL released); returns the fast-mask blobs.

        Raises:
            FrameError: wrong dtype, dimensions or size.
        """
    def fast_foreground(self) -> NDArray[np.uint8]:
        """Cleaned fast foreground mask (0/255, downscaled size)."""
    def slow_foreground(self) -> NDArray[np.uint8]:
        """Cleaned slow foreground mask (0/255, downscaled size)."""
    def fast_background(self) -> NDArray[np.float32]:
        """The fast model (downscaled size)."""
    def slow_background(self) -> NDArray[np.float32]:
        """The slow model (downscaled size)."""
    def evidence(self) -> NDArray[np.uint16]:
        """Static-object evidence per downscaled pixel, in frames."""
    def static_candidates(self) -> list[StaticCandidate]:
        """Static-object candidates of the last frame."""
    @property
    def tamper(self) -> Tamper:
        """The tampering signal of the last frame."""
    @property
    def illumination_offset(self) -> float:
        """Global illumination offset removed from the last frame, grey levels."""
    def reset(self) -> None:
        """Forgets the models, evidence and tampering state."""
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

# --- fire evidence ---------------------------------------------------------------------------

@final
class FireResult:
    """Fire evidence of one frame: per-cell float32 ``(rows, cols)`` arrays and the best cell."""

    @property
    def colour(self) -> NDArray[np.float32]:
        """Fire-coloured fraction of each cell in this frame."""
    @property
    def flicker(self) -> NDArray[np.float32]:
        """Flicker in [0, 1]: variation of the colour fraction and of the fire pixels' luma."""
    @property
    def growth(self) -> NDArray[np.float32]:
        """Mean colour fraction of the newer half of the window minus the older half."""
    @property
    def score(self) -> NDArray[np.float32]:
        """Fire score in [0, 1] (0 until the window is full)."""
    @property
    def periodicity(self) -> NDArray[np.float32]:
        """Periodicity in [0, 1] of each cell's colour fraction over ``period_window`` frames:
        its highest autocorrelation beyond the first zero crossing (a blinking sign or beacon is
        near 1, a flame's aperiodic flicker low; NaN until half the history is filled, 0 where
        ``score`` is 0, all 0 with ``period_window=0``)."""
    @property
    def best_score(self) -> float:
        """Highest cell score."""
    @property
    def best_cell(self) -> tuple[int, int]:
        """``(row, col)`` of the highest-scoring cell."""
    @property
    def best_box(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)`` of that cell in full-resolution pixels."""
    @property
    def alarm(self) -> bool:
        """Whether ``best_score`` reaches the threshold."""
    def __repr__(self) -> str: ...

@final
class FireDetector:
    """Flame-colour evidence (Çelik & Demirel YCbCr rule at chroma resolution) per grid cell.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        cell: cell side in full-resolution pixels (even, >= 2).
        window: frames in the sliding window (>= 2).
        threshold: score at which ``alarm`` is set.
        tau: minimum ``|Cb - Cr|`` of a fire-coloured sample.
        period_window: frames of the periodicity history (0: none), at most 10000.

    Raises:
        ParameterError: a bad parameter.
    """

    def __new__(
        cls,
        width: int,
        height: int,
        *,
        cell: int = 16,
        window: int = 30,
        threshold: float = 0.5,
        tau: int = 40,
        period_window: int = 180,
    ) -> Self: ...
    def update(
        self, y: NDArray[np.uint8], u: NDArray[np.uint8], v: NDArray[np.uint8]
    ) -> FireResult:
        """Processes one yuv420p frame (row-strided views accepted); GIL released.

        Raises:
            FrameError: wrong dtype, shape or stride, or planes of the wrong size.
        """
    def reset(self) -> None:
        """Forgets the window."""
    @property
    def grid(self) -> tuple[int, int]:
        """``(rows, cols)`` of the cell grid."""
    @property
    def frames(self) -> int:
        """Frames processed since creation or the last reset."""
    def __repr__(self) -> str: ...

# --- Motion field (grid optical flow) -------------------------------------------------------

@final
class FlowResult:
    """Grid optical flow between two frames and its statistics.

    Cell ``(r, c)`` covers pixels ``[c*cell, (c+1)*cell) x [r*cell, (r+1)*cell)`` and its vector
    is the motion of its centre ``(c*cell + (cell-1)/2, r*cell + (cell-1)/2)``. Statistics use
    the confident cells (``confidence >= min_confidence``); the histogram and coherence use the
    confident cells moving at least ``min_speed`` px/frame.
    """

    @property
    def flow(self) -> NDArray[np.float32]:
        """``(rows, cols, 2)``: ``(dx, dy)`` per cell, px/frame (image y points down). Every cell
        has a vector: one that measured nothing (flat, lost, or rejected against its
        neighbours) carries the measured motion around it, with its confidence left at 0."""
    @property
    def confidence(self) -> NDArray[np.float32]:
        """``(rows, cols)`` in [0, 1]: 0 for flat or lost cells, lower for large residuals and
        for cells whose coarser levels measured nothing (low texture around them)."""
    @property
    def divergence(self) -> NDArray[np.float32]:
        """``(rows, cols)``: du/dx + dv/dy per cell, 1/frame (> 0 for expansion)."""
    @property
    def curl(self) -> NDArray[np.float32]:
        """``(rows, cols)``: dv/dx - du/dy per cell, 1/frame (> 0 clockwise on screen)."""
    @property
    def histogram(self) -> NDArray[np.float32]:
        """``(bins,)``: speed-weighted directions; bin k is centred on ``k*360/bins`` degrees
        from +x towards +y (down)."""
    @property
    def rows(self) -> int:
        """Rows of cells (``height // cell``)."""
    @property
    def cols(self) -> int:
        """Columns of cells (``width // cell``)."""
    @property
    def cell(self) -> int:
        """Side of a cell, pixels."""
    @property
    def mean_speed(self) -> float:
        """Mean speed of the confident cells, px/frame (0 when none)."""
    @property
    def p50_speed(self) -> float:
        """Median speed of the confident cells, px/frame."""
    @property
    def p90_speed(self) -> float:
        """90th-percentile speed of the confident cells, px/frame."""
    @property
    def coherence(self) -> float:
        """``|mean vector| / mean |vector|`` over confident moving cells, in [0, 1]."""
    @property
    def mean_divergence(self) -> float:
        """Mean divergence over confident cells, 1/frame."""
    @property
    def mean_curl(self) -> float:
        """Mean curl over confident cells, 1/frame."""
    @property
    def confident_fraction(self) -> float:
        """Fraction of cells that are confident."""
    @property
    def moving_fraction(self) -> float:
        """Fraction of cells that are confident and moving."""
    def __repr__(self) -> str: ...

@final
class MotionField:
    """Grid optical flow of one camera's luma plane (pyramidal Lucas-Kanade per cell).

    Keeps the previous frame's pyramid, so each frame's pyramid is built once. Each pyramid
    level has its own grid of ``cell``-pixel cells (coarse cells see wider windows) and starts
    from the interpolated coarser flow; each cell runs up to ``iterations`` Gauss-Newton steps
    of translational Lucas-Kanade over its ``cell x cell`` window, sampled every ``step`` pixels.

    Args:
        width: frame width in pixels (>= cell).
        height: frame height in pixels (>= cell).
        cell: grid cell and window side in pixels (>= 4).
        levels: pyramid levels, 1..6.
        step: sampling stride inside a window, 1..4 (2: a quarter of the pixels).
        iterations: Gauss-Newton iterations per level, 1..50.
        min_eigen: smallest structure-tensor eigenvalue per pixel (grey^2/px^2) of a cell with
            a usable texture.
        residual_scale: RMS residual (grey levels) that halves the confidence.
        min_confidence: confidence below which the statistics ignore a cell.
        min_speed: speed (px/frame) below which a cell is not moving.
        bins: direction histogram bins, 1..360.

    Raises:
        ParameterError: a parameter out of range.
    """

    def __new__(
        cls,
        width: int,
        height: int,
        *,
        cell: int = 16,
        levels: int = 3,
        step: int = 2,
        iterations: int = 5,
        min_eigen: float = 2.0,
        residual_scale: float = 8.0,
        min_confidence: float = 0.25,
        min_speed: float = 0.5,
        bins: int = 8,
    ) -> Self: ...
    def update(self, luma: NDArray[np.uint8]) -> FlowResult | None:
        """Feeds one luma plane (uint8 ``(height, width)``, rows may be padded).

        Returns:
            The flow from the previous frame, or None for the first frame after creation or
            :meth:`reset`. The GIL is released meanwhile.

        Raises:
            FrameError: wrong dtype, dimensions or size.
        """
    def reset(self) -> None:
        """Forgets the previous frame."""
    @property
    def width(self) -> int:
        """Width of the frames, pixels."""
    @property
    def height(self) -> int:
        """Height of the frames, pixels."""
    @property
    def cell(self) -> int:
        """Side of a cell, pixels."""
    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` = ``(height // cell, width // cell)``."""
    @property
    def frames(self) -> int:
        """Frames fed since creation or the last reset."""
    def __repr__(self) -> str: ...

def flow_grid(
    prev: NDArray[np.uint8],
    next: NDArray[np.uint8],
    *,
    cell: int = 16,
    levels: int = 3,
    step: int = 2,
    iterations: int = 5,
    min_eigen: float = 2.0,
    residual_scale: float = 8.0,
    min_confidence: float = 0.25,
    min_speed: float = 0.5,
    bins: int = 8,
) -> FlowResult:
    """Grid optical flow from ``prev`` to ``next`` (see :class:`MotionField`); GIL released.

    Raises:
        FrameError: wrong dtype, dimensions, different shapes or a parameter out of range.
    """
