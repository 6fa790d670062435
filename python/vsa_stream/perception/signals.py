"""Scene signals for the rules that need them: motion field, fire evidence, static objects.

Each is computed only when a rule of the camera reads it (see
:func:`vsa_stream.rules.needed_signals`), by the Rust kernels, and handed to the rules as plain
data on the :class:`~vsa_stream.observation.Observation`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from vsa_stream import _core
from vsa_stream.observation import FireEvidence, FlowField, StaticObject
from vsa_stream.sources.frame import Frame

__all__ = ["SceneSignals", "chroma_planes"]

_YUV420 = frozenset({"yuv420p", "yuvj420p"})


def chroma_planes(frame: Frame) -> tuple[NDArray[np.uint8], NDArray[np.uint8]] | None:
    """Zero-copy views of the U and V planes of a yuv420p frame; None for other formats."""
    source = frame.keepalive
    if not isinstance(source, av.VideoFrame) or source.format.name not in _YUV420:
        return None
    h, w = (frame.height + 1) // 2, (frame.width + 1) // 2
    out = []
    for plane in source.planes[1:3]:
        stride = plane.line_size
        buffer = np.frombuffer(memoryview(plane), dtype=np.uint8, count=stride * (h - 1) + w)
        out.append(
            np.lib.stride_tricks.as_strided(
                buffer, shape=(h, w), strides=(stride, 1), writeable=False
            )
        )
    return out[0], out[1]


class SceneSignals:
    """The scene signals ``needs`` asks for, for one camera's frames.

    Args:
        needs: names among ``flow``, ``fire``, ``static_objects``.
        fps: frames analysed per second (turns static evidence, in frames, into seconds).
    """

    def __init__(self, needs: Collection[str], fps: float) -> None:
        self.needs = frozenset(needs)
        self.fps = fps
        self._size = (0, 0)
        self._flow: _core.MotionField | None = None
        self._fire: _core.FireDetector | None = None
        self._background: _core.DualBackground | None = None
        self._static_frames = 50

    def _build(self, width: int, height: int) -> None:
        self._size = (width, height)
        if "flow" in self.needs:
            self._flow = _core.MotionField(width, height, cell=16)
        if "fire" in self.needs:
            # a window of about a second of analysed frames (the kernel's 30 suit 30 fps)
            self._fire = _core.FireDetector(width, height, window=max(10, round(self.fps)))
        if "static_objects" in self.needs:
            self._static_frames = max(5, round(5.0 * self.fps))
            self._background = _core.DualBackground(
                width, height, static_frames=self._static_frames
            )

    def observe(self, frame: Frame) -> dict[str, Any]:
        """The signals of ``frame``, as keyword arguments of an Observation."""
        if not self.needs:
            return {}
        if self._size != (frame.width, frame.height):
            self._build(frame.width, frame.height)
        out: dict[str, Any] = {}
        if self._flow is not None:
            result = self._flow.update(frame.luma)
            if result is not None:
                out["flow"] = FlowField(
                    result.cell, result.flow, result.confidence, result.divergence
                )
        if self._fire is not None:
            planes = chroma_planes(frame)
            if planes is not None:
                fire = self._fire.update(frame.luma, *planes)
                out["fire"] = FireEvidence(16, fire.score, fire.colour, fire.growth)
        if self._background is not None:
            self._background.update(frame.luma)
            out["static_objects"] = [
                StaticObject(
                    float(c.x0),
                    float(c.y0),
                    float(c.x1),
                    float(c.y1),
                    frame.time_s - (c.age + self._static_frames) / self.fps,
                )
                for c in self._background.static_candidates()
            ]
        return out
