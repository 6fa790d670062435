"""Native kernels of vsa_stream (Rust, ``rust/vsa_py``), checked by ``mypy.stubtest``.

Frames are taken as zero-copy numpy views through their strides (row padding allowed, the last
axis must be contiguous) and the GIL is released while a kernel runs. Bad input raises
:class:`vsa_stream.errors.FrameError` (a ``ValueError``); so does an internal failure of a
kernel, which fails that call only.
"""

from typing import Self, final

import numpy as np
from numpy.typing import NDArray

__all__ = ["Blob", "MotionDetector", "__version__", "downscale_area", "points_in_polygon"]

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
