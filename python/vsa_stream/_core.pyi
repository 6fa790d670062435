"""Native kernels of vsa_stream (Rust, ``rust/vsa_py``), checked by ``mypy.stubtest``.

Frames are taken as zero-copy numpy views through their strides (row padding allowed, the last
axis must be contiguous) and the GIL is released while a kernel runs. Bad input raises
:class:`vsa_stream.errors.FrameError` (a ``ValueError``); so does an internal failure of a
kernel, which fails that call only.
"""

from collections.abc import Sequence
from typing import Literal, Self, TypeAlias, final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Blob",
    "DwellTimers",
    "HeadingTracker",
    "Homography",
    "LineCounter",
    "MotionDetector",
    "__version__",
    "boxes_in_polygon",
    "density_grid",
    "downscale_area",
    "heading_check",
    "points_in_polygon",
    "polygon_area",
    "validate_polygon",
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
        FrameError: wrong dtype or shape, non-finite or unordered boxes, bad polygon or anchor.

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
        FrameError: wrong dtype or shape, or non-finite vertices.
    """

def validate_polygon(polygon: NDArray[np.float64]) -> None:
    """Raises unless ``polygon`` is a usable zone.

    Usable: finite vertices, at least three distinct ones (consecutive repeats and a closing
    vertex equal to the first are tolerated), not all on one line, and no two edges crossing
    or touching (a simple polygon, convex or concave).

    Raises:
        FrameError: naming the problem (``"polygon is self-intersecting: edges 0 and 2 ..."``).
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
        FrameError: non-finite or coincident end points, negative hysteresis, bad anchor.

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
        FrameError: bad arrays or parameters.
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
        FrameError: a parameter out of range.
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
        FrameError: fewer than four pairs, lengths that differ, NaN, coincident or collinear
            points, three collinear points among exactly four, or pairs that fix no unique,
            invertible homography.

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
            FrameError: an invalid polygon (see :func:`validate_polygon`) or one reaching the
                horizon.
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
        FrameError: bad arrays or parameters.
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
