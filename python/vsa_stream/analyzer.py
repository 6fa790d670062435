"""One camera's analysis of one frame: perception, then every rule. Synchronous and pure.

The pipeline calls it from the camera's analysis thread; tests call it directly on frames.
"""

from __future__ import annotations

import time

from vsa_stream.config import Camera, MotionConfig
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.perception import MotionPerception, SceneSignals
from vsa_stream.rules import RuleRunner, build_rules, needed_signals
from vsa_stream.sources.frame import Frame

__all__ = ["Analyzer"]


class Analyzer:
    """Turns frames of one camera into event revisions."""

    def __init__(self, camera: Camera, motion: MotionConfig) -> None:
        self.camera_id = camera.id
        self.perception = MotionPerception(motion, camera.id)
        self.rules: list[RuleRunner] = build_rules(camera)
        needs = needed_signals(camera)
        self.signals = SceneSignals(needs - {"foreground"}, camera.fps)
        self._foreground = "foreground" in needs
        self.analysed = 0
        self._last: Observation | None = None

    def process(self, frame: Frame) -> list[Event]:
        """Analyse one frame. A frame the kernel rejects raises FrameError and changes nothing."""
        detections = self.perception.detect(frame)
        wall = time.time() - (time.monotonic() - frame.wall)
        signals = self.signals.observe(frame)
        if self._foreground:
            signals["foreground"] = self.perception.foreground()
        obs = Observation(
            self.camera_id,
            frame.index,
            frame.time_s,
            wall,
            frame.width,
            frame.height,
            detections,
            **signals,
        )
        self._last = obs
        self.analysed += 1
        events: list[Event] = []
        for rule in self.rules:
            events.extend(rule.update(obs))
        return events

    def finish(self, reason: str) -> list[Event]:
        """Close every open event: the stream ended or the engine stops."""
        events: list[Event] = []
        for rule in self.rules:
            events.extend(rule.finish(self._last, reason))
        return events
