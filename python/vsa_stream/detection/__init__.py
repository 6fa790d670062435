"""ONNX object detectors: a :class:`ModelSpec`, :func:`load_model`, :class:`Model`.

The model layer only: a model turns yuv420p frames into detections of the engine's classes
(person, vehicle, bag, weapon, fire, smoke). Scheduling across cameras lives elsewhere.
"""

from __future__ import annotations

from vsa_stream.detection.model import Model, ModelDetection, Planes, load_model
from vsa_stream.detection.spec import DEFAULT_CLASS_MAP, ENGINE_CLASSES, EngineClass, ModelSpec

__all__ = [
    "DEFAULT_CLASS_MAP",
    "ENGINE_CLASSES",
    "EngineClass",
    "Model",
    "ModelDetection",
    "ModelSpec",
    "Planes",
    "load_model",
]
