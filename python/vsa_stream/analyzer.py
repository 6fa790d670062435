"""One camera's analysis of one frame: perception, then every rule. Synchronous; it keeps
the camera's state between frames (background, tracks, the rules' conditions) and knows no
stream, sink or thread.

The pipeline calls it from the camera's analysis thread; tests call it directly on frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from vsa_stream.config import (
    Camera,
    DetectorConfig,
    MotionConfig,
    Rule,
    TrackingConfig,
)
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
from vsa_stream.rules import RuleRunner, StormGuard, build_rule, needed_signals, wants_pose
from vsa_stream.sources.frame import Frame
from vsa_stream.stats.counter import StatisticsCounter
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
        self.camera = camera
        # only a person_down rule asks for postures; a camera without one never crops
        self.pose = pose if wants_pose(camera) else None
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
        self._storm = StormGuard(camera.id, camera.max_alerts_per_minute)
        self.rules: list[RuleRunner] = [build_rule(camera, r, self._storm) for r in camera.rules]
        self._rule_keys = [_rule_key(camera, r) for r in camera.rules]
        self._kinds = [rule.situation for rule in camera.rules]
        #: The situations whose rules run (None: all of them); see :meth:`authorise`.
        self.situations: frozenset[str] | None = None
        #: Counting and occupancy per interval (``statistics``), None without the section.
        self.statistics = StatisticsCounter(camera) if camera.statistics is not None else None
        self.tamper = TamperWatch(camera.id)
        needs = needed_signals(camera)
        self.signals = SceneSignals(needs - {"foreground"}, camera.fps, factor=motion.factor)
        self._foreground = "foreground" in needs
        self._factor = motion.factor
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
        if self.situations is None or self.situations:  # an unauthorised camera only counts
            events.extend(self.tamper.update(obs))
        if self.statistics is not None:
            events.extend(self.statistics.update(obs))
        return events

    def authorise(self, situations: frozenset[str] | None, reason: str) -> list[Event]:
        """Run only the rules of ``situations`` from now on (None: every rule).

        A rule leaving the set has its open events closed with ``reason`` and is rebuilt, so it
        starts afresh (no dwell or baseline carried over a gap) when it comes back. With an
        empty set the camera's own health watch (tampering) is closed too: the camera analyses
        nothing until it is authorised again, except its statistics (aggregates, not one of
        the eight situations), which go on.
        """
        events: list[Event] = []
        for i, kind in enumerate(self._kinds):
            was = self.situations is None or kind in self.situations
            if was and situations is not None and kind not in situations:
                events.extend(self.rules[i].finish(self._last, reason))
                self.rules[i] = build_rule(self.camera, self.camera.rules[i], self._storm)
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
        if self.statistics is not None:
            events.extend(self.statistics.finish())
        return events

    def reconfigure(self, camera: Camera, pose: PoseModel | None = None) -> list[Event]:
        """Swap the rules for those of ``camera`` (same id, same stream), between two frames.

        A rule whose settings, and the zones and calibration it reads, are unchanged keeps
        its runner and its open events; every other old rule closes its open events with the
        reason ``reconfigured``, and the new ones start afresh. Scene signals the new rules
        need and the old ones did not are computed from the next frame on (they warm up as at
        a start); a change of ``max_alerts_per_minute`` renews every rule.

        Returns the closing revisions of the rules taken out.
        """
        events: list[Event] = []
        storm = self._storm
        if camera.max_alerts_per_minute != storm.max_per_minute:
            storm = StormGuard(camera.id, camera.max_alerts_per_minute)
        kept: dict[int, RuleRunner] = {}
        old = list(zip(self._rule_keys, self.rules, strict=True))
        new_keys = [_rule_key(camera, r) for r in camera.rules]
        for i, key in enumerate(new_keys):
            if storm is not self._storm:
                break
            for j, (old_key, runner) in enumerate(old):
                if old_key == key:
                    kept[i] = runner
                    del old[j]
                    break
        for _, runner in old:
            events.extend(runner.finish(self._last, "reconfigured"))
        if storm is not self._storm:
            events.extend(self._storm.tick(self._last, final=True))
        self._storm = storm
        self.rules = [
            kept[i] if i in kept else build_rule(camera, rule, storm)
            for i, rule in enumerate(camera.rules)
        ]
        self._rule_keys = new_keys
        self._kinds = [rule.situation for rule in camera.rules]
        needs = needed_signals(camera)
        if needs != needed_signals(self.camera):
            self.signals = SceneSignals(needs - {"foreground"}, camera.fps, factor=self._factor)
            self._foreground = "foreground" in needs
        self.pose = pose if wants_pose(camera) else None
        self.camera = camera
        return events


def _rule_key(camera: Camera, rule: Rule) -> bytes:
    """What a rule's runner depends on: the rule, the zones it reads (every zone when it
    names none), the calibration and the storm limit; equal keys, same behaviour."""
    named = set(rule.zones) | set(getattr(rule, "exclude_zones", ()))
    zones = [z for z in camera.zones if not named or z.id in named]
    return msgspec.json.encode(
        [rule, zones, camera.calibration, camera.max_alerts_per_minute], order="deterministic"
    )
