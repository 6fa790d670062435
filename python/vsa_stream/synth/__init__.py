"""Synthetic labelled scenes: H.264 video of people walking, with ground truth.

Used by ``vsa-stream synth``, ``vsa-stream demo``, the end-to-end tests and the benchmarks.
Frames are composed directly in YUV 4:2:0 (textured ground, sensor noise, lighting drift,
people-like figures) and encoded with libx264; the truth says where every person is in every
frame and which intrusions into the ``"restricted"`` zone happened.

Example:
    >>> from vsa_stream.synth import render, load_truth
    >>> truth = render("intruder", "/tmp/intruder.mp4", "/tmp/intruder.json")  # doctest: +SKIP
    >>> load_truth("/tmp/intruder.json") == truth  # doctest: +SKIP
    True
"""

from __future__ import annotations

from vsa_stream.synth.renderer import render
from vsa_stream.synth.scenarios import SCENARIOS
from vsa_stream.synth.truth import (
    Truth,
    TruthBox,
    TruthEvent,
    TruthObject,
    TruthZone,
    load_truth,
)

__all__ = [
    "SCENARIOS",
    "Truth",
    "TruthBox",
    "TruthEvent",
    "TruthObject",
    "TruthZone",
    "load_truth",
    "render",
]
