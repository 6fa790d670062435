"""A counting scene for the statistics mode: people crossing a line, each way, a known number of
times.

Persons are painted in the stand-in detector's key colour (:mod:`vsa_stream.synth.standin`), one
in view at a time (the stand-in reports one box per class), so every crossing is known by
construction: ``down`` persons walk from the top of the frame across the line to the bottom,
``up`` persons the other way, and ``turners`` walk towards the line and turn back before it
(never a crossing). The line is horizontal at ``LINE_Y``, drawn left to right: its right side is
below it, so a crossing down the image is its first direction.

Example:
    >>> scene, truth = counting_scene(down=2, up=1, turners=1)
    >>> truth
    {'down': 2, 'up': 1}
"""

from __future__ import annotations

import os
from typing import Any

from vsa_stream.synth.situations import Person, Scene, _keyed_person, render_scene, walk
from vsa_stream.synth.truth import Truth

__all__ = ["LINE_Y", "OCCUPANCY_ZONE", "counting_scene", "render_counting"]

#: The counting line's height (normalised), across the whole frame.
LINE_Y = 0.55
#: A zone below the line (normalised polygon): every crosser passes through it.
OCCUPANCY_ZONE = [(0.0, 0.62), (1.0, 0.62), (1.0, 1.0), (0.0, 1.0)]
_TOP, _BOTTOM = 0.30, 0.90  # where walkers start and end (anchor y)
_SPEED = 0.09  # frame widths per second
_GAP_S = 1.5  # between one walker leaving the view and the next appearing


def counting_scene(down: int, up: int, turners: int = 0) -> tuple[Scene, dict[str, int]]:
    """The scene and its truth: how many crossings ``down`` and ``up`` the image it has."""
    things: list[Person | Any] = []
    t = 1.0
    kinds = ["down"] * down + ["up"] * up + ["turn"] * turners
    # interleave directions so consecutive walkers differ where they can
    order = sorted(range(len(kinds)), key=lambda i: (i % max(1, down), i))
    for n, i in enumerate(order):
        kind = kinds[i]
        x = 0.15 + 0.7 * ((n * 0.37) % 1.0)
        if kind == "down":
            points = [(x, _TOP), (x + 0.05, _BOTTOM)]
        elif kind == "up":
            points = [(x, _BOTTOM), (x - 0.05, _TOP)]
        else:  # towards the line from below, and back
            points = [(x, _BOTTOM), (x, LINE_Y + 0.12), (x + 0.04, _BOTTOM)]
        path = walk(t, _SPEED, points)
        things.append(_keyed_person(path))
        t = path.t_end + 1.0 + _GAP_S  # the figure shows 0.5 s before and after its path
    duration = t
    scene = Scene(
        duration_s=duration,
        things=things,
        zones={"below": list(OCCUPANCY_ZONE)},
        truth=[],
        rules=[],
        detector=True,
    )
    return scene, {"down": down, "up": up}


def render_counting(
    folder: str | os.PathLike[str],
    *,
    down: int,
    up: int,
    turners: int = 0,
    width: int = 384,
    height: int = 216,
    fps: float = 10.0,
) -> tuple[Truth, dict[str, int]]:
    """Render :func:`counting_scene` to ``folder`` (``video.mp4``, ``truth.json``,
    ``config.yaml``); returns the truth and the crossings."""
    scene, crossings = counting_scene(down, up, turners)
    truth = render_scene(
        scene,
        folder,
        "counting",
        f"{down} crossings down and {up} up a line at y={LINE_Y}",
        width=width,
        height=height,
        fps=fps,
    )
    return truth, crossings
