"""Perception: what moves in a frame, computed by the Rust core."""

from __future__ import annotations

from vsa_stream.perception.motion import MotionPerception
from vsa_stream.perception.signals import SceneSignals

__all__ = ["MotionPerception", "SceneSignals"]
