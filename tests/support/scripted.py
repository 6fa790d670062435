"""Scripted observations for rule tests: plain data, no video."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.rules import RuleRunner

WALL0 = 1_700_000_000.0
Frame = Sequence[Detection] | tuple[Sequence[Detection], dict[str, Any]]
#: Frames with scene signals: ``(detections, Observation keyword arguments)``.
Script = list[tuple[list[Detection], dict[str, object]]]


def observation(
    i: int,
    dets: Sequence[Detection] = (),
    fps: float = 10.0,
    size: tuple[int, int] = (800, 600),
    wall0: float = WALL0,
    **signals: Any,
) -> Observation:
    """Frame ``i`` of a scripted stream at ``fps``."""
    return Observation("cam", i, i / fps, wall0 + i / fps, size[0], size[1], list(dets), **signals)


def run(
    runner: RuleRunner,
    frames: Iterable[Frame],
    fps: float = 10.0,
    size: tuple[int, int] = (800, 600),
    wall0: float = WALL0,
) -> list[Event]:
    """Feed every frame to ``runner``; the event revisions in order."""
    out: list[Event] = []
    for i, frame in enumerate(frames):
        if isinstance(frame, tuple):
            dets, signals = frame
        else:
            dets, signals = frame, {}
        out.extend(runner.update(observation(i, dets, fps, size, wall0, **signals)))
    return out


def opens(events: list[Event]) -> list[Event]:
    """The ``open`` revisions."""
    return [e for e in events if e.state == "open"]


def box(cx: float, bottom: float, w: float, h: float, **kw: Any) -> Detection:
    """A detection of size ``w x h`` standing at ``(cx, bottom)``."""
    return Detection(cx - w / 2, bottom - h, cx + w / 2, bottom, **kw)
