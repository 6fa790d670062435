"""Tracked objects of one camera: detector results or motion blobs through the Rust tracker.

:class:`ObjectPerception` decides, frame by frame, whether each of the camera's detectors is
due: at most ``fps`` times per second of stream time (stream time, so a scan and a live run of
the same file decide alike), and, with motion gating, only while the foreground moves or once
``max_interval_s`` has passed since the last detection. It submits due frames to the shared
:class:`~vsa_stream.detection.scheduler.DetectorService` and feeds each result to that
detector's tracker. Between results, the last tracked objects stand (a still scene keeps its
objects; a moving one gets them refreshed at the detection rate). A camera has at most one
request in the service: while it is queued or running, due frames are *deferred* (counted), so
an overloaded detector serves every camera in turn and their rates fall evenly.

Each detector has its own tracker, so a person model and a weapon model never make each
other's tracks look lost; track ids of detector ``k`` (0-based, in the camera's list) are
``k * 1_000_000 + id``. Without a detector, the motion blobs are tracked (class-less).

A frame much larger than a detector's input also goes with *regions* (when the detector's
``regions`` is on): crops at the model's resolution around the detector's small tracked
objects and the frame's moving blobs, so that small objects are seen at full resolution (see
:mod:`vsa_stream.detection.regions`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vsa_stream._core import Tracker
from vsa_stream.config import DetectorConfig, TrackingConfig
from vsa_stream.detection.model import ModelDetection
from vsa_stream.detection.regions import Region, plan_regions
from vsa_stream.detection.scheduler import DetectionRequest, DetectorService, SupersededError
from vsa_stream.detection.spec import ENGINE_CLASSES
from vsa_stream.errors import FrameError, VsaError
from vsa_stream.log import get_logger
from vsa_stream.observation import Detection
from vsa_stream.perception.merges import MergeSplitter
from vsa_stream.sources.frame import Frame

__all__ = ["TRACK_ID_STRIDE", "BlobTracker", "ObjectPerception", "RecordedTracker"]

#: Track ids of a camera's ``k``-th detector are ``k * TRACK_ID_STRIDE + id``.
TRACK_ID_STRIDE = 1_000_000

_CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(ENGINE_CLASSES)}


def _tracker(config: TrackingConfig, frame_rate: float, *, min_hits: int | None = None) -> Tracker:
    return Tracker(
        frame_rate=frame_rate,
        track_high_thresh=config.high_score,
        track_low_thresh=config.low_score,
        new_track_thresh=config.new_track_score,
        lost_s=config.lost_s,
        min_hits=config.min_hits if min_hits is None else min_hits,
        tentative_thresh=config.tentative_score,
        tentative_hits=config.tentative_hits,
        tentative_travel=config.tentative_travel,
    )


def _tracked(
    tracker: Tracker,
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray | None,
    labels: list[str | None],
    id_base: int,
) -> list[Detection]:
    batch = tracker.update(boxes, scores, classes)
    return [
        Detection(x0, y0, x1, y1, labels[c] if classes is not None else None, s, id_base + i)
        for (x0, y0, x1, y1), i, c, s in zip(
            batch.boxes.tolist(),
            batch.ids.tolist(),
            batch.classes.tolist(),
            batch.scores.tolist(),
            strict=True,
        )
    ]


class BlobTracker:
    """Track ids for the motion blobs of a camera without a detector (confirmed at once)."""

    def __init__(self, config: TrackingConfig, frame_rate: float) -> None:
        # Blobs have no score; every blob is a confident detection.
        self._tracker = _tracker(config, frame_rate, min_hits=1)
        # two objects' blobs merging do not steer or swap their tracks (tracks seen 0.5 s)
        self._merges = MergeSplitter(
            max(1, round(config.lost_s * frame_rate)), max(2, round(0.5 * frame_rate))
        )

    def track(self, blobs: list[Detection]) -> list[Detection]:
        """The blobs as tracked, class-less objects."""
        boxes = np.array([(d.x0, d.y0, d.x1, d.y1) for d in blobs], dtype=np.float64)
        boxes = self._merges.boxes(boxes.reshape(-1, 4))
        batch = self._tracker.update(boxes, np.ones(len(boxes)))
        self._merges.tracked(
            batch.ids, batch.boxes, batch.velocities, batch.time_since_update, batch.hits
        )
        return [
            Detection(x0, y0, x1, y1, None, s, i)
            for (x0, y0, x1, y1), i, s in zip(
                batch.boxes.tolist(), batch.ids.tolist(), batch.scores.tolist(), strict=True
            )
        ]


class RecordedTracker:
    """Track ids for recorded detections of one class (a replay source: no detector runs)."""

    def __init__(self, config: TrackingConfig, frame_rate: float, label: str) -> None:
        self._tracker = _tracker(config, frame_rate)
        self._labels: list[str | None] = [label]

    def track(
        self, boxes: list[tuple[float, float, float, float]], scores: list[float]
    ) -> list[Detection]:
        """The recorded boxes (x0, y0, x1, y1) with their scores, as tracked objects."""
        n = len(boxes)
        array = np.array(boxes, dtype=np.float64).reshape(n, 4)
        classes = np.zeros(n, dtype=np.int64)
        return _tracked(
            self._tracker, array, np.array(scores, dtype=np.float64), classes, self._labels, 0
        )


@dataclass(slots=True)
class _Lane:
    """One detector as one camera uses it."""

    service: DetectorService
    config: DetectorConfig
    period_s: float
    tracker: Tracker
    id_base: int
    last_submit_s: float = -math.inf
    request: DetectionRequest | None = None
    objects: list[Detection] = field(default_factory=list)


class ObjectPerception:
    """Schedules a camera's detectors and tracks their results (see the module docstring).

    Args:
        camera_id: the camera.
        services: its detectors, with their configuration, in the camera's order.
        tracking: tracker settings.
        detect_fps: the camera's own detection rate (None: each detector's ``fps``).
        wait: wait for each result before going on (a scan), instead of collecting it on a
            later frame (a live camera).
    """

    def __init__(
        self,
        camera_id: str,
        services: list[tuple[DetectorService, DetectorConfig]],
        tracking: TrackingConfig,
        *,
        detect_fps: float | None = None,
        wait: bool = False,
    ) -> None:
        self.camera_id = camera_id
        self.wait = wait
        self.failed = 0
        self._log = get_logger(camera_id=camera_id)
        self._lanes: list[_Lane] = []
        for k, (service, config) in enumerate(services):
            fps = detect_fps if detect_fps is not None else config.fps
            service.add_camera(camera_id)
            self._lanes.append(
                _Lane(service, config, 1.0 / fps, _tracker(tracking, fps), k * TRACK_ID_STRIDE)
            )

    def update(
        self, frame: Frame, moving: bool, blobs: Sequence[Detection] = ()
    ) -> tuple[list[Detection], bool]:
        """The camera's tracked objects after ``frame``, and whether any detector's result was
        applied on this frame (False: the objects are those of an earlier frame).

        Args:
            frame: the frame being analysed.
            moving: whether its foreground shows motion (for gating).
            blobs: its moving blobs, in frame pixels (seeds of detection regions).

        Raises:
            FrameError: the frame's planes cannot be read (nothing is submitted).
        """
        fresh = False
        for lane in self._lanes:
            if lane.request is not None and lane.request.done.is_set():
                fresh |= self._apply(lane)
            if not self._due(lane, frame.time_s, moving):
                continue
            if lane.request is not None:
                # The previous frame is still queued or running: the detector is behind.
                # Waiting keeps one request per camera in the service, so every camera gets
                # its turn (rates fall evenly); the next frame is due again.
                lane.service.stats[self.camera_id].deferred += 1
                continue
            try:
                planes = frame.yuv420p()
            except ValueError as exc:
                raise FrameError(str(exc)) from exc
            regions = self._regions(lane, frame, blobs)
            lane.request = lane.service.submit(self.camera_id, frame.index, planes, regions)
            lane.last_submit_s = frame.time_s
            if self.wait:
                lane.request.done.wait()
                fresh |= self._apply(lane)
        objects = [d for lane in self._lanes for d in lane.objects]
        return objects, fresh

    @staticmethod
    def _regions(lane: _Lane, frame: Frame, blobs: Sequence[Detection]) -> list[Region]:
        """Regions around the lane's tracked objects, then the blobs, largest first. A blob
        centred inside a tracked object is that object moving (a limb of a person seen whole):
        it adds no seed of its own."""
        config = lane.config
        if not config.regions:
            return []
        known = lane.objects
        unknown = [
            b
            for b in blobs
            if not any(
                o.x0 <= (b.x0 + b.x1) / 2 <= o.x1 and o.y0 <= (b.y0 + b.y1) / 2 <= o.y1
                for o in known
            )
        ]
        by_area = sorted(unknown, key=lambda b: (b.x1 - b.x0) * (b.y1 - b.y0), reverse=True)
        seeds = [(d.x0, d.y0, d.x1, d.y1) for d in [*known, *by_area]]
        return plan_regions(
            (frame.width, frame.height),
            lane.service.model.input_for((frame.width, frame.height)),
            seeds,
            max_regions=config.max_regions,
            min_shrink=config.region_min_shrink,
        )

    def _due(self, lane: _Lane, time_s: float, moving: bool) -> bool:
        since = time_s - lane.last_submit_s
        if since < 0:  # time went backwards (a looping file): start the schedule again
            lane.last_submit_s = -math.inf
            since = math.inf
        if since < lane.period_s - 1e-6:
            return False
        return moving or not lane.config.gating or since >= lane.config.max_interval_s - 1e-6

    def _apply(self, lane: _Lane) -> bool:
        request, lane.request = lane.request, None
        assert request is not None
        try:
            detections = request.wait(0)
        except SupersededError:
            return False  # a newer request of this camera is on its way
        except VsaError as exc:
            self.failed += 1
            self._log.warning(
                "detection failed",
                detector=lane.service.name,
                frame=request.frame_index,
                error=str(exc),
            )
            return False
        lane.objects = self._track(lane, detections)
        return True

    @staticmethod
    def _track(lane: _Lane, detections: list[ModelDetection]) -> list[Detection]:
        n = len(detections)
        boxes = np.array([d.box for d in detections], dtype=np.float64).reshape(n, 4)
        scores = np.array([d.score for d in detections], dtype=np.float64)
        classes = np.array([_CLASS_INDEX[d.engine_class] for d in detections], dtype=np.int64)
        labels: list[str | None] = list(ENGINE_CLASSES)
        return _tracked(lane.tracker, boxes, scores, classes, labels, lane.id_base)
