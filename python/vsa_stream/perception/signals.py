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

__all__ = ["FLOW_WIDTH", "SceneSignals", "flow_scale"]

#: Width in pixels, roughly, of the frame the motion field is measured on. The field's cells
#: (16 pixels), its pyramid's reach and the crowd rule's speeds in px/frame were all made at this
#: size (the synthetic suite's 384x216); a larger frame is reduced to it first, by an integer
#: factor, so that the same crowd gives the same field on a 720p or a 4K camera (measured on the
#: full 720p frame, runners outran the pyramid and cells saw only parts of bodies: issue 17).
FLOW_WIDTH = 384


def flow_scale(width: int, height: int) -> int:
    """The integer factor that brings a ``width x height`` frame closest to :data:`FLOW_WIDTH`
    pixels on its longer side (1 for frames up to 1.5 times that).

    Example:
        >>> [flow_scale(w, h) for w, h in ((384, 216), (640, 360), (1280, 720), (1920, 1080))]
        [1, 2, 3, 5]
    """
    return max(1, round(max(width, height) / FLOW_WIDTH))


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
        self._flow_scale = 1
        self._fire: _core.FireDetector | None = None
        self._background: _core.DualBackground | None = None
        self._static_frames = 50
        # since_s of each static candidate, by the frame it became one (`first_frame`): fixed
        # when first seen, so a region keeps one since_s for its life (rules key on it)
        self._since: dict[int, float] = {}

    def _build(self, width: int, height: int) -> None:
        self._size = (width, height)
        if "flow" in self.needs:
            self._flow_scale = flow_scale(width, height)
            k = self._flow_scale
            self._flow = _core.MotionField(width // k, height // k, cell=16)
        if "fire" in self.needs:
            # a window of about a second of analysed frames (the kernel's 30 suit 30 fps), and
            # six seconds of history to tell a periodic blinker from a flame
            self._fire = _core.FireDetector(
                width,
                height,
                window=max(10, round(self.fps)),
                period_window=max(20, round(6.0 * self.fps)),
            )
        if self.needs & {"static_objects", "tamper"}:
            self._since = {}
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
            k = self._flow_scale
            luma = frame.luma if k == 1 else _core.downscale_area(frame.luma, k)
            result = self._flow.update(luma)
            if result is not None:
                out["flow"] = FlowField(
                    result.cell * k, result.flow, result.confidence, result.divergence, k
                )
        if self._fire is not None:
            try:
                _, u, v = frame.yuv420p()  # views for yuv420p sources, a conversion otherwise
            except ValueError:
                pass  # a bare luma frame (tests): no colour, no fire evidence
            else:
                fire = self._fire.update(frame.luma, u, v)
                out["fire"] = FireEvidence(
                    16, fire.score, fire.colour, fire.growth, fire.periodicity
                )
        if self._background is not None:
            self._background.update(frame.luma)
            if "tamper" in self.needs:
                t = self._background.tamper
                out["tamper"] = Tampering(t.flag, t.reason, t.score)
        if self._background is not None and "static_objects" in self.needs:
            candidates = self._background.static_candidates()
            # Still since the frame it became a candidate, less the frames that took: fixed
            # then. Worked out again on every frame from its age, it would drift with the
            # analysed frames' spacing (a 25 fps stream analysed at 10 fps is 0.08 or 0.12 s
            # apart, not 1/fps) and differ in its last bits, and a rule keying on it would
            # take one region for a new one on every frame.
            self._since = {
                c.first_frame: self._since.get(
                    c.first_frame, frame.time_s - (c.age + self._static_frames) / self.fps
                )
                for c in candidates
            }
            out["static_objects"] = [
                StaticObject(
                    float(c.x0),
                    float(c.y0),
                    float(c.x1),
                    float(c.y1),
                    self._since[c.first_frame],
                    c.presence,
                )
                for c in candidates
            ]
        return out
