"""Detectors, the tracker and the pose model."""

from __future__ import annotations

from typing import Annotated

import msgspec

from vsa_stream.config._base import _ID, _Base
from vsa_stream.detection.spec import ModelSpec

__all__ = ["DetectorConfig", "PoseConfig", "TrackingConfig"]


class TrackingConfig(_Base):
    """The multi-object tracker of each camera (see ``vsa_stream._core.Tracker``)."""

    high_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.5
    low_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.1
    new_track_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.6
    lost_s: Annotated[float, msgspec.Meta(gt=0.0, le=600.0)] = 2.0
    min_hits: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    tentative_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.3
    tentative_hits: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    tentative_travel: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 1.0


class DetectorConfig(_Base):
    """An ONNX object detector, shared by the cameras that use it.

    ``fps`` is each camera's detection rate (a camera's ``detect_fps`` overrides it); with
    ``gating``, a camera whose foreground shows no motion is not detected again until
    ``max_interval_s`` has passed. One onnxruntime session serves every camera, in batches of
    up to ``max_batch`` frames when the model takes a batch, in round-robin otherwise. With
    ``regions``, a frame shrunk at least ``region_min_shrink`` times into the model input is
    also detected on up to ``max_regions`` crops at the model's resolution around its moving
    blobs and small tracked objects (see :mod:`vsa_stream.detection.regions`).
    """

    id: _ID
    model: ModelSpec
    fps: Annotated[float, msgspec.Meta(gt=0.0, le=120.0)] = 5.0
    gating: bool = True
    max_interval_s: Annotated[float, msgspec.Meta(gt=0.0, le=3600.0)] = 2.0
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=64)] = 8
    regions: bool = True
    max_regions: Annotated[int, msgspec.Meta(ge=1, le=16)] = 4
    region_min_shrink: Annotated[float, msgspec.Meta(ge=1.0, le=100.0)] = 2.0


class PoseConfig(_Base):
    """A single-person pose model (MoveNet-like: one RGB crop in, 17 COCO keypoints out), run
    by ``person_down`` only on crops of candidate persons, never on every person."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    min_keypoint_score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.25
    max_crops_per_frame: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    intra_op_threads: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
