"""A decoded frame as the analysis layers see it: a zero-copy view of its luma plane."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from numpy.typing import NDArray

__all__ = ["Frame", "Planes", "luma_view", "yuv420p_views"]

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
"""The ``(Y, U, V)`` planes of a yuv420p frame: ``h × w``, ``h/2 × w/2``, ``h/2 × w/2`` (rounded
up), usually strided views."""

# Pixel formats whose plane 0 is an 8-bit luma plane one byte per pixel.
_PLANAR_8BIT = frozenset(
    {
        "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
        "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "nv16", "gray", "yuva420p",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: index of the frame among all decoded frames of the source (0-based).
        time_s: position in the stream, seconds from the first frame.
        wall: ``time.monotonic()`` when it was decoded.
        luma: the luma plane, ``height × width`` uint8, usually a strided view into the
            decoder's buffer (rows padded to ``line_size``): read it, never write it.
        keepalive: the PyAV frame that owns the buffer ``luma`` points into.
    """

    index: int
    time_s: float
    wall: float
    luma: NDArray[np.uint8]
    keepalive: object = None

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.luma.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.luma.shape[0])

    def yuv420p(self) -> Planes:
        """The frame's ``(Y, U, V)`` planes: zero-copy views for yuv420p sources (the usual
        case), a conversion otherwise.

        Raises:
            ValueError: the frame came from a bare luma array, without its decoded frame.
        """
        if not isinstance(self.keepalive, av.VideoFrame):
            raise ValueError("this frame has no decoded frame to take the chroma planes from")
        return yuv420p_views(self.keepalive)


def _plane_view(plane: av.video.plane.VideoPlane) -> NDArray[np.uint8]:
    width, height, stride = plane.width, plane.height, plane.line_size
    # the ndarray constructor checks the extent against the buffer; as_strided costs 4x more
    view: NDArray[np.uint8] = np.ndarray(
        (height, width), np.uint8, memoryview(plane), strides=(stride, 1)
    )
    view.flags.writeable = False
    return view


def yuv420p_views(frame: av.VideoFrame) -> Planes:
    """The ``(Y, U, V)`` planes of ``frame`` as read-only views; frames in another pixel
    format are converted to yuv420p first (a copy). Keep ``frame`` alive while they are used.

    Example:
        >>> f = av.VideoFrame(64, 48, "yuv420p")
        >>> [p.shape for p in yuv420p_views(f)]
        [(48, 64), (24, 32), (24, 32)]
    """
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    y, u, v = (_plane_view(p) for p in frame.planes[:3])
    return y, u, v


def luma_view(frame: av.VideoFrame) -> tuple[NDArray[np.uint8], object]:
    """The luma plane of ``frame`` without copying, and the object that keeps it alive.

    For planar 8-bit YUV (and NV12, gray) this is a view of plane 0 with its real row stride;
    other pixel formats (RGB, 10-bit) are converted to gray once, which costs a copy.
    """
    if frame.format.name not in _PLANAR_8BIT:
        frame = frame.reformat(format="gray")
    return _plane_view(frame.planes[0]), frame
