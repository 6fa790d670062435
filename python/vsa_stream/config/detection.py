"""Detectors, the tracker and the pose model."""

from __future__ import annotations

from typing import Annotated

import msgspec

from vsa_stream.config._base import _ID, _Base
from vsa_stream.detection.spec import ModelSpec

__all__ = ["DetectorConfig", "PoseConfig", "TrackingConfig"]


class TrackingConfig(_Base):
    """The multi-object tracker of each camera (see ``vsa_stream._core.Tracker``)."""

    high_score: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="detections matched first")
    ] = 0.5
    low_score: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=1.0,
            description=(
                "detections below are ignored; between the two they only extend existing tracks"
            ),
        ),
    ] = 0.1
    new_track_score: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="lowest score that starts a track")
    ] = 0.6
    lost_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=600.0,
            description=(
                "how long an unmatched track is kept (in detections at the detection rate)"
            ),
        ),
    ] = 2.0
    min_hits: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=100,
            description=(
                "consecutive matches before a detector's track counts (motion blobs count at once)"
            ),
        ),
    ] = 2
    tentative_score: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=1.0,
            description=(
                "lowest score that starts a *tentative* track: a detection in "
                "[`tentative_score`, `new_track_score`) starts one that counts "
                "only after `tentative_hits` consecutive matches (equal to "
                "`new_track_score`: weak detections never start a track)"
            ),
        ),
    ] = 0.3
    tentative_hits: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=100,
            description=(
                "consecutive matches (detection updates) that confirm a track "
                "started by a weak detection"
            ),
        ),
    ] = 3
    tentative_travel: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=100.0,
            description=(
                "how far a track started by a weak detection must also have moved"
                " before it counts, unless it matched a detection at "
                "`new_track_score`: its centre's shift from where it started in "
                "box sizes (√(w·h)) plus its change of size (|ln(size / first "
                "size)|, an object coming towards the camera); `0`: it need not "
                "move"
            ),
        ),
    ] = 1.0


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

    id: Annotated[_ID, msgspec.Meta(description="unique; cameras name it in their `detectors`")]
    model: Annotated[ModelSpec, msgspec.Meta(description="the ONNX file and how to read it")]
    fps: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=120.0,
            description=(
                "detections per second per camera, by stream time (a camera's "
                "`detect_fps` overrides it); capped by the camera's `fps`"
            ),
        ),
    ] = 5.0
    gating: Annotated[
        bool,
        msgspec.Meta(description="skip detection while the camera's foreground shows no motion"),
    ] = True
    max_interval_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            le=3600.0,
            description=(
                "with gating, detect at least this often anyway (objects that "
                "stopped moving stay tracked)"
            ),
        ),
    ] = 2.0
    max_batch: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=64,
            description=(
                "frames of different cameras run in one inference, when the "
                "model's batch dimension is dynamic"
            ),
        ),
    ] = 8
    regions: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "on frames shrunk at least `region_min_shrink` times into the "
                "model input, also detect on crops at the model's resolution "
                "around the moving blobs and small tracked objects, so small "
                "objects are seen at full resolution "
                "([detectors.md](detectors.md#small-objects-regions))"
            )
        ),
    ] = True
    max_regions: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=16,
            description=(
                "at most this many regions per detected frame (each costs one more inference)"
            ),
        ),
    ] = 4
    region_min_shrink: Annotated[
        float,
        msgspec.Meta(
            ge=1.0,
            le=100.0,
            description=(
                "regions only when `max(frame width / input width, frame height /"
                " input height)` reaches this (1280x720 into 416x416: 3.1, "
                "regions; 640x480: 1.5, the full frame alone)"
            ),
        ),
    ] = 2.0


class PoseConfig(_Base):
    """A single-person pose model (MoveNet-like: one RGB crop in, 17 COCO keypoints out), run
    by ``person_down`` only on crops of candidate persons, never on every person."""

    model: Annotated[str, msgspec.Meta(min_length=1, description="the `.onnx` file")]
    min_keypoint_score: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=1.0,
            description="keypoints below are not used (int8 MoveNet scores are rough)",
        ),
    ] = 0.25
    max_crops_per_frame: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=64,
            description=(
                "at most this many crops per camera and analysed frame; further "
                "candidates wait for the next frame"
            ),
        ),
    ] = 4
    intra_op_threads: Annotated[
        int, msgspec.Meta(ge=1, le=64, description="onnxruntime threads inside one operator")
    ] = 1
