"""Where a scan's CPU goes: decoding and each analysis stage, per frame, one thread.

A scan analyses a sample of the decoded frames (the camera's ``fps``, by stream time). Its
CPU per second of video is the decoding of every frame plus, for each analysed frame, the
Rust kernels its rules need and the Python around them (blob tracking, the camera-motion
check, the observation, the rules). :func:`profile_stages` measures each of these on the
same clip, in this thread, so the costs add up and can be compared with the decoder's:

* ``decode`` — CPU of decoding one frame with the scan's settings (``skip_loop_filter``,
  frame threads: process CPU over the whole clip, every thread counted, per frame);
* ``motion`` — ``MotionDetector.process`` (downscale, background, blobs);
* ``flow`` / ``fire`` / ``background`` — ``MotionField.update``, ``FireDetector.update``,
  ``DualBackground.update`` with its static candidates, when the camera's rules need them;
* ``rest`` — everything else ``Analyzer.process`` does (tracking, camera motion, observation,
  rules): its total minus the kernels above, run on their own instances.

Example (a tiny synthetic clip):
    >>> import tempfile, os
    >>> from vsa_stream.synth import render
    >>> d = tempfile.mkdtemp()
    >>> path = os.path.join(d, "w.mp4")
    >>> _ = render("walkers", path, width=160, height=96, duration_s=1.0)
    >>> stages = profile_stages(path, MOTION_CONFIG, fps=10.0)
    >>> sorted(stages["ms_per_analysed_frame"])
    ['motion', 'rest', 'total']
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import av

from vsa_stream import _core
from vsa_stream import config as config_mod
from vsa_stream.analyzer import Analyzer
from vsa_stream.perception.signals import flow_scale
from vsa_stream.rules import needed_signals
from vsa_stream.sources.av_source import VideoSource
from vsa_stream.sources.frame import Frame

__all__ = ["ALL_SIGNALS_CONFIG", "MOTION_CONFIG", "Run", "bare_decode", "profile_stages"]

#: One camera, an intrusion rule: the motion path alone (``vsa-stream scan``'s usual work).
MOTION_CONFIG = """\
privacy: {{legal_profile: lab}}
cameras:
  - id: bench
    url: {url}
    fps: {fps}
    realtime: false
    zones:
      - id: restricted
        polygon: [[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]
    rules:
      - {{type: intrusion, zones: [restricted], min_dwell_s: 1.0}}
sinks: {{stdout: {{}}}}
"""

#: Every situation a camera without a detector can watch (``weapon`` and ``person_down`` need
#: one): the fire, flow and static-object signals are all on, as for a camera watching the
#: eight situations.
ALL_SIGNALS_CONFIG = """\
privacy: {{legal_profile: lab}}
cameras:
  - id: bench
    url: {url}
    fps: {fps}
    realtime: false
    zones:
      - id: restricted
        polygon: [[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]
      - id: floor
        polygon: [[0.0, 0.3], [1.0, 0.3], [1.0, 1.0], [0.0, 1.0]]
        area_m2: 150
      - id: lane
        polygon: [[0.0, 0.0], [1.0, 0.0], [1.0, 0.3], [0.0, 0.3]]
    rules:
      - {{type: intrusion, zones: [restricted], min_dwell_s: 1.0}}
      - {{type: wrong_way, zones: [lane], direction_deg: 0, tolerance_deg: 60}}
      - {{type: density, zones: [floor], source: occupancy, full_density: 5, alert: 4}}
      - {{type: crowd_movement, zones: [floor]}}
      - {{type: abandoned_object, zones: [floor], min_static_s: 30}}
      - {{type: fire}}
sinks: {{stdout: {{}}}}
"""


def camera_config(template: str, path: str, fps: float) -> config_mod.Config:
    """The configuration ``template`` for a camera reading ``path`` at ``fps``."""
    return config_mod.loads(template.format(url=json.dumps(path), fps=fps))


Run = tuple[int, float, float]  # frames decoded, wall seconds, process CPU seconds


def bare_decode(path: str, skip_loop_filter: bool, frame_threads: bool) -> Run:
    """Frames decoded, seconds and CPU seconds taken by plain PyAV, set as ``VideoSource``
    sets a camera's decoder (``thread_count`` 0; frame threads or PyAV's default slice
    threading)."""
    started, cpu = time.perf_counter(), time.process_time()
    with av.open(path) as container:
        stream = container.streams.video[0]
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        stream.codec_context.thread_count = 0
        if frame_threads:
            stream.codec_context.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return frames, time.perf_counter() - started, time.process_time() - cpu


class _Kernels:
    """Standalone instances of the kernels the analyzer runs, timed one by one."""

    def __init__(self, analyzer: Analyzer, width: int, height: int) -> None:
        motion = analyzer.perception.config
        signals = analyzer.signals
        self.seconds: dict[str, float] = {"motion": 0.0}
        self.motion = _core.MotionDetector(
            width,
            height,
            factor=motion.factor,
            alpha=motion.alpha,
            threshold=motion.threshold,
            min_area=motion.min_area,
            warmup_frames=motion.warmup_frames,
        )
        self.flow = self.fire = self.background = None
        self.flow_scale = flow_scale(width, height)
        if "flow" in signals.needs:
            k = self.flow_scale  # as the analyzer: measured on the reduced frame
            self.flow = _core.MotionField(width // k, height // k, cell=16)
            self.seconds["flow"] = 0.0
        if "fire" in signals.needs:
            self.fire = _core.FireDetector(
                width,
                height,
                window=max(10, round(signals.fps)),
                period_window=max(20, round(6.0 * signals.fps)),
            )
            self.seconds["fire"] = 0.0
        if signals.needs & {"static_objects", "tamper"}:
            self.background = _core.DualBackground(
                width, height, factor=signals.factor, static_frames=max(5, round(5 * signals.fps))
            )
            self.seconds["background"] = 0.0

    def run(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        self.motion.process(frame.luma)
        t1 = time.perf_counter()
        self.seconds["motion"] += t1 - t0
        if self.flow is not None:
            k = self.flow_scale
            self.flow.update(frame.luma if k == 1 else _core.downscale_area(frame.luma, k))
            t2 = time.perf_counter()
            self.seconds["flow"] += t2 - t1
            t1 = t2
        if self.fire is not None:
            _, u, v = frame.yuv420p()
            self.fire.update(frame.luma, u, v)
            t2 = time.perf_counter()
            self.seconds["fire"] += t2 - t1
            t1 = t2
        if self.background is not None:
            self.background.update(frame.luma)
            self.background.static_candidates()
            self.seconds["background"] += time.perf_counter() - t1


def profile_stages(path: str, template: str, fps: float) -> dict[str, Any]:
    """Per-stage cost of scanning ``path`` with the camera of ``template`` at ``fps``.

    Returns the decoder's CPU per decoded frame, each stage's time per analysed frame (ms),
    and the share of frames analysed.
    """
    decoded, _, decode_s = bare_decode(path, skip_loop_filter=True, frame_threads=True)
    cfg = camera_config(template, path, fps)
    camera = cfg.cameras[0]
    analyzer = Analyzer(camera, cfg.motion)
    source = VideoSource(path, realtime=False, loop=False, skip_loop_filter=True)
    kernels: _Kernels | None = None
    analysed, total_s = 0, 0.0
    last_slot = -1
    for frame in source.frames(threading.Event()):
        slot = int(frame.time_s * fps + 1e-6)
        if slot == last_slot:
            continue
        last_slot = slot
        if kernels is None:
            kernels = _Kernels(analyzer, frame.width, frame.height)
        kernels.run(frame)
        t0 = time.perf_counter()
        analyzer.process(frame)
        total_s += time.perf_counter() - t0
        analysed += 1
    assert kernels is not None, "the clip has no frame"
    n = max(analysed, 1)
    ms = {name: 1e3 * s / n for name, s in kernels.seconds.items()}
    ms["rest"] = max(0.0, 1e3 * total_s / n - sum(ms.values()))
    ms["total"] = 1e3 * total_s / n
    return {
        "signals": sorted(needed_signals(camera)),
        "decoded": decoded,
        "analysed": analysed,
        "decode_cpu_ms_per_frame": 1e3 * decode_s / max(decoded, 1),
        "ms_per_analysed_frame": ms,
    }
