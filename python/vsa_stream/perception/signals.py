"""Scene signals for the rules that need them: motion field, fire evidence, static objects,
tampering.

Each is computed only when a rule of the camera reads it (see
:func:`vsa_stream.rules.needed_signals`), by the Rust kernels, and handed to the rules as plain
data on the :class:`~vsa_stream.observation.Observation`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from vsa_stream import _core
from vsa_stream.observation import FireEvidence, FlowField, StaticObject, Tampering
from vsa_stream.sources.frame import Frame

__all__ = ["SceneSignals"]


class SceneSignals:
    """The scene signals ``needs`` asks for, for one camera's frames.

    Args:
        needs: names among ``flow``, ``fire``, ``static_objects``, ``tamper``.
        fps: frames analysed per second (turns static evidence, in frames, into seconds).
        factor: luma downscale of the static-object background (the camera's motion
            ``factor``: small objects of small frames need 2).
    """

    def __init__(self, needs: Collection[str], fps: float, factor: int = 4) -> None:
        self.needs = frozenset(needs)
        self.fps = fps
        self.factor = factor
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
        if self.needs & {"static_objects", "tamper"}:
            self._static_frames = max(5, round(5.0 * self.fps))
            self._background = _core.DualBackground(
                width, height, factor=self.factor, static_frames=self._static_frames
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
            try:
                _, u, v = frame.yuv420p()  # views for yuv420p sources, a conversion otherwise
            except ValueError:
                pass  # a bare luma frame (tests): no colour, no fire evidence
            else:
                fire = self._fire.update(frame.luma, u, v)
                out["fire"] = FireEvidence(16, fire.score, fire.colour, fire.growth)
        if self._background is not None:
            self._background.update(frame.luma)
            if "tamper" in self.needs:
                t = self._background.tamper
                out["tamper"] = Tampering(t.flag, t.reason, t.score)
        if self._background is not None and "static_objects" in self.needs:
            out["static_objects"] = [
                StaticObject(
                    float(c.x0),
                    float(c.y0),
                    float(c.x1),
                    float(c.y1),
                    frame.time_s - (c.age + self._static_frames) / self.fps,
                    c.presence,
                )
                for c in self._background.static_candidates()
            ]
        return out
