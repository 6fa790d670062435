"""Perception: what moves in a frame (Rust core) and what it is (detectors), tracked."""

from __future__ import annotations

from vsa_stream.perception.motion import CameraMotion, MotionPerception
from vsa_stream.perception.objects import BlobTracker, ObjectPerception, RecordedTracker
from vsa_stream.perception.signals import SceneSignals

__all__ = [
    "BlobTracker",
    "CameraMotion",
    "MotionPerception",
    "ObjectPerception",
    "RecordedTracker",
    "SceneSignals",
]
