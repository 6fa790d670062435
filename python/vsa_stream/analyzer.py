"""One camera's analysis of one frame: perception, then every rule. Synchronous and pure.

The pipeline calls it from the camera's analysis thread; tests call it directly on frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vsa_stream.config import Camera, DetectorConfig, MotionConfig, PersonDownRule, TrackingConfig
from vsa_stream.detection.pose import FramePose, PoseModel
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.events import Event
from vsa_stream.observation import Detection, Observation
from vsa_stream.perception import (
    BlobTracker,
    CameraMotion,
    MotionPerception,
    ObjectPerception,
    RecordedTracker,
    SceneSignals,
)
from vsa_stream.rules import RuleRunner, StormGuard, build_rule, needed_signals
from vsa_stream.sources.frame import Frame
from vsa_stream.tamper import TamperWatch

__all__ = ["Analyzer"]


class Analyzer:
    """Turns frames of one camera into event revisions.

    Args:
        camera: the camera's configuration.
        motion: its motion-kernel settings.
        tracking: tracker settings (defaults when None).
        detectors: the shared detector services this camera uses, with their configuration;
            none: the motion blobs are the objects.
        wait: wait for each detection result (a scan) instead of collecting it later.
        observe: called with every observation (``vsa-stream scan --mot-out`` writes tracks).
        pose: a pose model for ``person_down`` to ask about candidate persons of a frame.
    """

    def __init__(
        self,
        camera: Camera,
        motion: MotionConfig,
        *,
        tracking: TrackingConfig | None = None,
        detectors: list[tuple[DetectorService, DetectorConfig]] | None = None,
        wait: bool = False,
        observe: Callable[[Observation], None] | None = None,
        pose: PoseModel | None = None,
    ) -> None:
        self.camera_id = camera.id
        # only a person_down rule asks for postures; a camera without one never crops
        wants_pose = any(isinstance(rule, PersonDownRule) for rule in camera.rules)
        self.pose = pose if wants_pose else None
        self.observe = observe
        tracking = tracking if tracking is not None else TrackingConfig()
        self.perception = MotionPerception(motion, camera.id)
        self.objects: ObjectPerception | None = None
        self.blobs: BlobTracker | None = None
        if detectors:
            self.objects = ObjectPerception(
                camera.id, detectors, tracking, detect_fps=camera.detect_fps, wait=wait
            )
        else:
            self.blobs = BlobTracker(tracking, camera.fps)
            self.camera_motion = CameraMotion()
        self._camera = camera
        self._storm = StormGuard(camera.id, camera.max_alerts_per_minute)
        self.rules: list[RuleRunner] = [build_rule(camera, r, self._storm) for r in camera.rules]
        self._kinds = [str(rule.__struct_config__.tag) for rule in camera.rules]
        #: The situations whose rules run (None: all of them); see :meth:`authorise`.
        self.situations: frozenset[str] | None = None
        self.tamper = TamperWatch(camera.id)
        needs = needed_signals(camera)
        self.signals = SceneSignals(needs - {"foreground"}, camera.fps, factor=motion.factor)
        self._foreground = "foreground" in needs
        self.analysed = 0
        #: Crops the pose model estimated for this camera, and the time they took.
        self.pose_crops = 0
        self.pose_s = 0.0
        self._last: Observation | None = None
        self._tracking = tracking
        self._fps = camera.fps
        self._recorded: RecordedTracker | None = None

    def process(self, frame: Frame, wall: float | None = None) -> list[Event]:
        """Analyse one frame. A frame the kernel rejects raises FrameError and changes nothing.

        ``wall`` is the frame's decode time on the engine's clock (Unix seconds); by default
        the system clock's.
        """
        blobs = self.perception.detect(frame)
        detections: list[Detection]
        if self.objects is not None:
            moving = bool(blobs) or self.perception.warming_up
            detections, detected = self.objects.update(frame, moving=moving, blobs=blobs)
        else:
            assert self.blobs is not None
            if blobs and self.camera_motion.moving(frame.luma, frame.time_s):
                blobs = []  # the whole view slides: its blobs are not objects
            detections, detected = self.blobs.track(blobs), True
        if wall is None:
            wall = time.time() - (time.monotonic() - frame.wall)
        signals = self.signals.observe(frame)
        if self._foreground:
            signals["foreground"] = self.perception.foreground()
        pose = None
        if self.pose is not None:
            pose = signals["posture"] = FramePose(self.pose, frame.yuv420p)
        obs = Observation(
            self.camera_id,
            frame.index,
            frame.time_s,
            wall,
            frame.width,
            frame.height,
            detections,
            detected=detected,
            **signals,
        )
        events = self._apply_rules(obs)
        if pose is not None:
            self.pose_crops += pose.crops
            self.pose_s += pose.seconds
        return events

    def process_recorded(
        self,
        index: int,
        time_s: float,
        size: tuple[int, int],
        boxes: list[tuple[float, float, float, float]],
        scores: list[float],
        label: str,
        wall: float | None = None,
    ) -> list[Event]:
        """Analyse one frame of recorded detections (a replay source, for load tests): the
        boxes go through a tracker and every rule, with no frame, motion or scene signal."""
        if self._recorded is None:
            self._recorded = RecordedTracker(self._tracking, self._fps, label)
        obs = Observation(
            self.camera_id,
            index,
            time_s,
            time.time() if wall is None else wall,
            size[0],
            size[1],
            self._recorded.track(boxes, scores),
        )
        return self._apply_rules(obs)

    def _apply_rules(self, obs: Observation) -> list[Event]:
        self._last = obs
        if self.observe is not None:
            self.observe(obs)
        self.analysed += 1
        events: list[Event] = []
        for kind, rule in zip(self._kinds, self.rules, strict=True):
            if self.situations is None or kind in self.situations:
                events.extend(rule.update(obs))
        events.extend(self.tamper.update(obs))
        return events

    def authorise(self, situations: frozenset[str] | None, reason: str) -> list[Event]:
        """Run only the rules of ``situations`` from now on (None: every rule).

        A rule leaving the set has its open events closed with ``reason`` and is rebuilt, so it
        starts afresh (no dwell or baseline carried over a gap) when it comes back. With an
        empty set the camera's own health watch (tampering) is closed too: the camera analyses
        nothing until it is authorised again.
        """
        events: list[Event] = []
        for i, kind in enumerate(self._kinds):
            was = self.situations is None or kind in self.situations
            if was and situations is not None and kind not in situations:
                events.extend(self.rules[i].finish(self._last, reason))
                self.rules[i] = build_rule(self._camera, self._camera.rules[i], self._storm)
        if situations is not None and not situations:
            events.extend(self.tamper.finish(self._last, reason))
            self.tamper = TamperWatch(self.camera_id)
        self.situations = situations
        return events

    @property
    def last(self) -> Observation | None:
        """The observation of the last frame analysed."""
        return self._last

    def finish(self, reason: str) -> list[Event]:
        """Close every open event: the stream ended or the engine stops."""
        events: list[Event] = []
        for rule in self.rules:
            events.extend(rule.finish(self._last, reason))
        events.extend(self.tamper.finish(self._last, reason))
        return events
