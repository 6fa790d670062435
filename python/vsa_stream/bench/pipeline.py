"""``vsa-stream bench pipeline``: how many live 720p streams the engine sustains.

Every camera plays the same synthetic ``intruder`` scene (1280x720, 25 fps, H.264 High like an
IP camera, looped) paced in real time, so N cameras are N live streams. For a given N, a trial
runs the whole engine for a warm-up then a measured window, and passes when, over the window:

* fewer than 1 % of the frames due for analysis were dropped (the latest-frame slot of a camera
  replaced a frame analysis had not taken) and decoding kept pace (at least 99 % of the frames
  real time asks for were decoded, less half a second of each stream: a stream that late at
  the end of the window is jittering, not falling behind);
* the p95 frame-to-alert latency is under 1 s. The latency of one intrusion is measured from
  the decode time of the frame at the truth onset (the first frame with the intruder in the
  zone; the observe hook gives each analysed frame's decode time, and real-time pacing puts the
  onset frame ``(t - onset)`` before the first analysed frame at or after it) to the moment the
  open ``intrusion`` event reaches a sink, after the outbox commit. An onset with no alert
  within the window counts as an infinite latency. The bench rule has no dwell time (``min_
  dwell_s: 0``) and no cooldown, so the figure is the engine's, not a confirmation delay.

Modes, searched in one run (doubling, then bisection). On a shared machine a neighbour's burst
can fail one trial: a failed trial is run once more, and N fails only if both attempts fail
(both are reported).

* ``ceiling``: bare PyAV decoding of the same streams, paced the same way, one thread each;
  passes while every stream keeps pace;
* ``motion``: the engine with the embedded motion pipeline (no model);
* ``yolox``: the engine with ``yolox_nano`` (``detectors:``) at 5 detections/s per camera, no
  gating; it passes on dropped frames and on the detector serving at least 97 % of the
  detections asked for. YOLOX-nano does not see the synthetic figures as persons, so it raises
  no alert: its latency is not a criterion (reported when there is one).
* ``motion-<P>p`` (``motion-2p`` by default; ``yolox-<P>p`` too): the same engine and settings
  as its one-process mode, run as P engine processes started together, each with its share of
  the N streams (N split as evenly as possible; fewer processes when N < P), as P daemons on
  one host would be. The processes measure the same window: each says when its engine runs,
  and once all have, the window starts ``warmup_s`` later for all of them. The trial passes
  only when every process passes its mode's criteria over that window; its counts, CPU cores
  busy and RSS are summed over the processes (its load average is the highest). Not in
  ``--quick`` unless asked for (``--modes``).

Each trial runs in fresh processes (``python -m vsa_stream.bench.pipeline``), so no trial
inherits another's threads or memory. The efficiency is the ``motion`` capacity over the
``ceiling``; RSS per stream is the resident memory the trial's process grew by from the start
of the trial to the end of its window, divided by its streams.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.to_thread
import av

from vsa_stream import config as config_mod
from vsa_stream.bench.common import Steps, fmt, rss_mib, table
from vsa_stream.engine import Engine
from vsa_stream.events import Event
from vsa_stream.observation import Observation
from vsa_stream.sinks.base import Sink

__all__ = ["MODES", "Settings", "Trial", "markdown", "processes", "run", "valid_mode"]

MODES: tuple[str, ...] = ("ceiling", "motion", "motion-2p", "yolox")
#: ``<engine mode>-<P>p``: that engine mode as P processes sharing the streams.
_SPLIT = re.compile(r"^(motion|yolox)-([1-9][0-9]?)p$")
WIDTH, HEIGHT, FPS = 1280, 720, 25.0
MAX_DROPPED = 0.01
MIN_PACE = 0.99
#: Lag behind real time tolerated at the end of a window (scheduling jitter, not a loss).
LAG_SLACK_S = 0.5
MAX_P95_S = 1.0
MIN_DETECTED = 0.97
ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"


@dataclass(frozen=True, slots=True)
class Settings:
    """How long each trial runs, how far the search may go, what the engine runs."""

    warmup_s: float = 3.0
    window_s: float = 15.0
    max_streams: int = 64
    analysis_fps: float = 10.0
    detect_fps: float = 5.0
    model: str | None = None

    @classmethod
    def quick(cls, model: str | None) -> Settings:
        """A few seconds per trial and at most two streams: proves it runs (CI)."""
        return cls(warmup_s=1.0, window_s=4.0, max_streams=2, model=model)


@dataclass(slots=True)
class Trial:
    """What N streams did over the measured window of one trial."""

    mode: str
    streams: int
    window_s: float = 0.0
    decoded: int = 0
    expected: int = 0
    analysed: int = 0
    dropped: int = 0
    detections_asked: int = 0
    detections_served: int = 0
    onsets: int = 0
    alerts: int = 0
    latencies_s: list[float] = field(default_factory=list)
    cpu_cores: float = 0.0
    rss_added_mib: float = 0.0
    #: the 1-minute load average at the end of the window (a shared machine's noise)
    load_average: float = 0.0
    ok: bool = False
    why: str = ""

    retry: bool = False
    #: a trial of P processes: each process's own trial (empty for one process)
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pace(self) -> float:
        """Frames decoded over frames real time asked for, less :data:`LAG_SLACK_S` each."""
        due = self.expected - self.streams * FPS * LAG_SLACK_S
        return min(1.0, self.decoded / due) if due > 0 else 0.0

    @property
    def dropped_share(self) -> float:
        """Frames due for analysis that were dropped."""
        due = self.analysed + self.dropped
        return self.dropped / due if due else 0.0

    @property
    def p95_s(self) -> float | None:
        """95th percentile of the frame-to-alert latencies (inf when one was missed)."""
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def judge(self) -> None:
        """Set ``ok`` and ``why`` from the criteria of the mode."""
        problems = []
        if self.pace < MIN_PACE:
            problems.append(f"decoding at {100 * self.pace:.1f} % of real time")
        if self.mode != "ceiling" and self.dropped_share >= MAX_DROPPED:
            problems.append(f"{100 * self.dropped_share:.1f} % frames dropped")
        if self.mode == "motion":
            p95 = self.p95_s
            if p95 is None:
                problems.append("no intrusion onset in the window")
            elif p95 >= MAX_P95_S:
                problems.append(f"p95 latency {fmt(p95)} s")
        if self.mode == "yolox" and self.detections_asked:
            share = self.detections_served / self.detections_asked
            if share < MIN_DETECTED:
                problems.append(f"{100 * share:.1f} % of detections served")
        self.ok = not problems
        self.why = "; ".join(problems)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for the JSON report."""
        out = asdict(self)
        out.update(pace=self.pace, dropped_share=self.dropped_share, p95_s=self.p95_s)
        out["latencies_s"] = [round(x, 4) if math.isfinite(x) else None for x in self.latencies_s]
        return out


def valid_mode(mode: str) -> bool:
    """``ceiling``, ``motion``, ``yolox``, or one of those engine modes as ``<mode>-<P>p``."""
    return mode in ("ceiling", "motion", "yolox") or _SPLIT.match(mode) is not None


def processes(mode: str) -> tuple[str, int]:
    """The one-process mode a mode runs and its number of processes: ``motion-2p`` is
    ``("motion", 2)``, ``motion`` is ``("motion", 1)``."""
    split = _SPLIT.match(mode)
    return (split[1], int(split[2])) if split else (mode, 1)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the ceiling: bare PyAV --------------------------------------------------------------


def ceiling_trial(video: Path, streams: int, s: Settings, loop_s: float) -> Trial:
    """N threads decoding ``video`` with PyAV, looped and paced in real time, nothing else."""
    counts = [0] * streams
    stop = threading.Event()

    def decode(i: int) -> None:
        start: float | None = None
        passes = 0
        while not stop.is_set():
            with av.open(str(video)) as container:
                stream = container.streams.video[0]
                # the decoder settings of a live camera without a detector (VideoSource):
                # deblocking skipped, FFmpeg's thread count, no frame threads
                stream.codec_context.options = {"skip_loop_filter": "all"}
                stream.codec_context.thread_count = 0
                for frame in container.decode(stream):
                    t = passes * loop_s + float(frame.time or 0.0)
                    now = time.monotonic()
                    start = now - t if start is None else start
                    if start + t > now and stop.wait(start + t - now):
                        return
                    counts[i] += 1
            passes += 1

    base = rss_mib()
    threads = [threading.Thread(target=decode, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    time.sleep(s.warmup_s)
    c0, cpu0, w0 = sum(counts), _cpu_s(), time.monotonic()
    time.sleep(s.window_s)
    c1, cpu1, w1 = sum(counts), _cpu_s(), time.monotonic()
    rss = rss_mib()
    stop.set()
    for t in threads:
        t.join(5.0)
    window = w1 - w0
    trial = Trial("ceiling", streams, window, c1 - c0, round(FPS * window * streams))
    trial.cpu_cores = (cpu1 - cpu0) / window
    trial.load_average = os.getloadavg()[0]
    trial.rss_added_mib = rss - base
    trial.judge()
    return trial


# --- the engine ---------------------------------------------------------------------------


def _config(video: Path, streams: int, s: Settings, yolox: bool) -> config_mod.Config:
    cameras = "\n".join(
        f"""  - id: cam{i}
    url: '{video}'
    fps: {s.analysis_fps}
    loop: true
    realtime: true
    zones: [{{id: restricted, units: normalized, polygon: {ZONE}}}]
    rules:
      - {{type: intrusion, zones: [restricted], min_dwell_s: 0, cooldown_s: 0}}"""
        for i in range(streams)
    )
    detectors = (
        f"""detectors:
  - id: people
    model: {{path: '{s.model}'}}
    fps: {s.detect_fps}
    gating: false
"""
        if yolox
        else ""
    )
    return config_mod.loads(
        f"privacy: {{legal_profile: lab}}\n{detectors}cameras:\n{cameras}\n",
        source="bench pipeline",
    )


class _Clock(Sink):
    """The observe hook and a sink: onset decode times and alert arrival times, per camera."""

    name = "bench-clock"

    def __init__(self, onset_s: float, loop_s: float) -> None:
        self.onset_s, self.loop_s = onset_s, loop_s
        self.next_loop: dict[str, int] = {}
        self.onsets: dict[tuple[str, int], float] = {}  # (camera, loop) -> Unix decode time
        self.alerts: dict[tuple[str, int], float] = {}  # (camera, loop) -> Unix arrival time
        self.analysed: dict[str, int] = {}

    def observe(self, obs: Observation) -> None:
        camera = obs.camera_id
        self.analysed[camera] = self.analysed.get(camera, 0) + 1
        k = self.next_loop.get(camera, 0)
        onset = k * self.loop_s + self.onset_s
        if obs.time_s >= onset:
            # Paced in real time: the onset frame was decoded (time_s - onset) earlier.
            self.onsets[(camera, k)] = obs.wall_time - (obs.time_s - onset)
            self.next_loop[camera] = k + 1

    async def send(self, event: Event) -> None:
        if event.type == "intrusion" and event.revision == 1:
            key = (event.camera_id, int(event.start_s // self.loop_s))
            self.alerts.setdefault(key, time.time())

    async def aclose(self) -> None:
        pass


def engine_trial(
    video: Path,
    streams: int,
    s: Settings,
    loop_s: float,
    onset_s: float,
    mode: str,
    window_at: Callable[[], float] | None = None,
) -> Trial:
    """The engine on N streams; figures over the window after the warm-up. With
    ``window_at`` (one of several processes), the engine runs, then ``window_at()`` says the
    Unix time the window starts at, the same for every process."""
    config = _config(video, streams, s, yolox=mode == "yolox")
    clock = _Clock(onset_s, loop_s)
    engine = Engine(config, [clock], observe=clock.observe)
    registry = engine.metrics.registry
    marks: dict[str, dict[str, float]] = {}

    def snapshot() -> dict[str, float]:
        cams = [f"cam{i}" for i in range(streams)]
        service = engine.detectors.get("people")
        stats = list(service.stats.values()) if service else []
        return {
            "wall": time.monotonic(),
            "unix": time.time(),
            "cpu": _cpu_s(),
            "rss": rss_mib(),
            "decoded": sum(
                registry.get_sample_value("vsa_frames_decoded_total", {"camera": c}) or 0.0
                for c in cams
            ),
            "dropped": sum(
                registry.get_sample_value("vsa_frames_dropped_total", {"camera": c}) or 0.0
                for c in cams
            ),
            "analysed": float(sum(clock.analysed.values())),
            "asked": float(sum(x.requested + x.deferred for x in stats)),
            "served": float(sum(x.served for x in stats)),
        }

    async def drive() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(handle_signals=False))
            if window_at is None:
                await anyio.sleep(s.warmup_s)
            else:
                start = await anyio.to_thread.run_sync(window_at)
                await anyio.sleep(max(0.0, start - time.time()))
            marks["a"] = snapshot()
            await anyio.sleep(s.window_s)
            marks["b"] = snapshot()
            engine.stop()

    base = rss_mib()
    anyio.run(drive)
    a, b = marks["a"], marks["b"]
    window = b["wall"] - a["wall"]
    trial = Trial(mode, streams, window)
    trial.decoded = round(b["decoded"] - a["decoded"])
    trial.expected = round(FPS * window * streams)
    trial.analysed = round(b["analysed"] - a["analysed"])
    trial.dropped = round(b["dropped"] - a["dropped"])
    trial.detections_asked = round(b["asked"] - a["asked"])
    trial.detections_served = round(b["served"] - a["served"])
    trial.cpu_cores = (b["cpu"] - a["cpu"]) / window
    trial.load_average = os.getloadavg()[0]
    trial.rss_added_mib = b["rss"] - base
    # Onsets decoded in the window with at least the latency limit left to alert.
    for key, decoded_at in clock.onsets.items():
        if a["unix"] <= decoded_at <= b["unix"] - MAX_P95_S:
            trial.onsets += 1
            alert = clock.alerts.get(key)
            trial.alerts += alert is not None
            trial.latencies_s.append(alert - decoded_at if alert is not None else math.inf)
    failed = [c for c in engine.result.cameras if c.state == "failed"]
    trial.judge()
    if failed:
        trial.ok, trial.why = False, f"camera failed: {failed[0].error}"
    return trial


def isolated(
    mode: str, streams: int, video: Path, s: Settings, loop_s: float, onset_s: float
) -> Trial:
    """Run one trial in a fresh Python process (P processes for ``<mode>-<P>p``); its figures
    come back as JSON."""
    if processes(mode)[1] > 1:
        return split_trial(mode, streams, video, s, loop_s, onset_s)
    request = {
        "mode": mode,
        "streams": streams,
        "video": str(video),
        "settings": asdict(s),
        "loop_s": loop_s,
        "onset_s": onset_s,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "vsa_stream.bench.pipeline", json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=s.warmup_s + s.window_s + 120,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"{mode} trial with {streams} streams failed: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    names = {f.name for f in dataclasses.fields(Trial)}
    return Trial(**{k: v for k, v in data.items() if k in names})


def shares(streams: int, count: int) -> list[int]:
    """N streams over P processes as evenly as possible; fewer processes when N < P."""
    count = max(1, min(count, streams))
    return [streams // count + (i < streams % count) for i in range(count)]


def split_trial(
    mode: str, streams: int, video: Path, s: Settings, loop_s: float, onset_s: float
) -> Trial:
    """N streams as P engine processes started together, each a fresh Python process with
    its share; they measure the same window (see the module docstring)."""
    base, count = processes(mode)
    with contextlib.ExitStack() as stack:
        procs: list[subprocess.Popen[str]] = []
        errors: list[IO[str]] = []

        def failure() -> RuntimeError:
            for p in procs:
                p.kill()
                p.wait()
            tails = []
            for f in errors:
                f.seek(0)
                tails.append(f.read()[-1000:])
            return RuntimeError(f"{mode} trial with {streams} streams failed: {' | '.join(tails)}")

        for n in shares(streams, count):
            request = {
                "mode": base,
                "streams": n,
                "video": str(video),
                "settings": asdict(s),
                "loop_s": loop_s,
                "onset_s": onset_s,
                "window_at": True,
            }
            errors.append(stack.enter_context(tempfile.TemporaryFile(mode="w+")))
            procs.append(
                stack.enter_context(
                    subprocess.Popen(
                        [sys.executable, "-m", "vsa_stream.bench.pipeline", json.dumps(request)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=errors[-1],
                        text=True,
                    )
                )
            )
        # a process that hangs is killed, as ``isolated``'s timeout does
        watchdog = threading.Timer(s.warmup_s + s.window_s + 120, failure)
        watchdog.start()
        stack.callback(watchdog.cancel)
        for p in procs:  # each says its engine runs (a line a library printed is skipped)
            line = "-"
            while p.stdout is not None and line and line.strip() != "running":
                line = p.stdout.readline()
            if not line:
                raise failure()
        start = time.time() + s.warmup_s
        for p in procs:
            if p.stdin is not None:
                p.stdin.write(f"{start}\n")
                p.stdin.close()
        outputs = [p.stdout.read() if p.stdout else "" for p in procs]
        if any(p.wait() != 0 or not out.strip() for p, out in zip(procs, outputs, strict=True)):
            raise failure()
    names = {f.name for f in dataclasses.fields(Trial)}
    parts = []
    for out in outputs:
        data = json.loads(out.strip().splitlines()[-1])
        parts.append(Trial(**{k: v for k, v in data.items() if k in names}))
    return merge(mode, parts)


def merge(mode: str, parts: list[Trial]) -> Trial:
    """One trial of several processes: counts, CPU and RSS summed over the processes; it
    passes only when every process passed."""
    trial = Trial(mode, sum(t.streams for t in parts))
    trial.window_s = min(t.window_s for t in parts)
    for name in ("decoded", "expected", "analysed", "dropped", "detections_asked",
                 "detections_served", "onsets", "alerts"):  # fmt: skip
        setattr(trial, name, sum(getattr(t, name) for t in parts))
    trial.latencies_s = [x for t in parts for x in t.latencies_s]
    trial.cpu_cores = sum(t.cpu_cores for t in parts)
    trial.rss_added_mib = sum(t.rss_added_mib for t in parts)
    trial.load_average = max(t.load_average for t in parts)
    trial.ok = all(t.ok for t in parts)
    trial.why = "; ".join(f"process {i + 1}: {t.why}" for i, t in enumerate(parts) if not t.ok)
    trial.parts = [t.as_dict() for t in parts]
    return trial


def _child(request_json: str) -> None:
    """The trial process: run what ``request_json`` asks, print the Trial as one JSON line."""
    from vsa_stream.log import configure_logging

    configure_logging("warning", "console")
    r = json.loads(request_json)
    s = Settings(**r["settings"])
    video = Path(r["video"])
    window_at: Callable[[], float] | None = None
    if r.get("window_at"):

        def window_at() -> float:  # the engine runs: say so, and wait for the window's start
            print("running", flush=True)
            return float(sys.stdin.readline())

    if r["mode"] == "ceiling":
        trial = ceiling_trial(video, r["streams"], s, r["loop_s"])
    else:
        trial = engine_trial(
            video, r["streams"], s, r["loop_s"], r["onset_s"], r["mode"], window_at
        )
    print(json.dumps(asdict(trial)), flush=True)


# --- the search ---------------------------------------------------------------------------


def search(
    trial: Callable[[int], Trial], start: int, limit: int, steps: Steps, label: str
) -> tuple[int, list[Trial]]:
    """The largest N in ``1..limit`` whose trial passes: up from ``start``, then bisection."""
    done: dict[int, Trial] = {}
    retried: dict[int, Trial] = {}

    def run_one(n: int) -> bool:
        steps.step(f"{label}: {n} stream(s)")
        done[n] = trial(n)
        steps.done()
        if not done[n].ok:  # confirm a failure: a neighbour's burst fails one trial
            steps.step(f"{label}: {n} stream(s), again")
            again = trial(n)
            again.retry = True
            steps.done()
            retried[n] = done[n]
            done[n] = again
        return done[n].ok

    lo, hi = 0, limit + 1
    n = max(1, min(start, limit))
    if run_one(n):
        lo = n
        while lo < limit:
            n = min(limit, lo * 2 if start == 1 else lo + max(1, lo // 4))
            if not run_one(n):
                hi = n
                break
            lo = n
    else:
        hi = n
    while hi - lo > 1 and lo < limit:
        mid = (lo + hi) // 2
        if run_one(mid):
            lo = mid
        else:
            hi = mid
    return lo, sorted([*done.values(), *retried.values()], key=lambda t: (t.streams, t.retry))


def run(
    steps: Steps, s: Settings, modes: tuple[str, ...] = MODES, quick: bool = False
) -> dict[str, Any]:
    """Render the streams, search each mode's capacity; returns the report section."""
    from vsa_stream.synth import render

    has_model = bool(s.model and Path(s.model).exists())
    modes = tuple(m for m in modes if processes(m)[0] != "yolox" or has_model)
    steps.total(1 + (2 if quick else 6) * len(modes) + len(modes) - 1)
    section: dict[str, Any] = {
        "stream": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "scenario": "intruder"},
        "settings": asdict(s),
        "criteria": {
            "max_dropped_share": MAX_DROPPED,
            "min_decode_pace": MIN_PACE,
            "max_p95_latency_s": MAX_P95_S,
            "min_detections_served": MIN_DETECTED,
        },
        "modes": {},
    }
    if s.model and not has_model:
        section["skipped"] = f"yolox: no model at {s.model}"
    with tempfile.TemporaryDirectory(prefix="vsa-bench-") as tmp:
        video = Path(tmp) / "intruder-720p.mp4"
        steps.step("rendering the 720p intruder scene")
        truth = render(
            "intruder",
            video,
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            duration_s=9.0 if quick else 12.0,
            encoding="camera",
        )
        steps.done()
        loop_s = truth.n_frames / truth.fps
        onset_s = truth.events[0].start_s
        section["stream"].update(loop_s=loop_s, onset_s=onset_s)
        hint = 1
        for mode in modes:

            def trial(n: int, mode: str = mode) -> Trial:
                return isolated(mode, n, video, s, loop_s, onset_s)

            start = 1 if processes(mode)[0] == "yolox" else hint
            capacity, trials = search(trial, start, s.max_streams, steps, mode)
            if mode == "ceiling":
                hint = max(1, capacity)
            best = next((t for t in trials if t.streams == capacity and t.ok), None)
            section["modes"][mode] = {
                "capacity": capacity,
                "rss_per_stream_mib": best.rss_added_mib / capacity if best else None,
                "cpu_cores_at_capacity": best.cpu_cores if best else None,
                "cpu_per_stream_at_capacity": best.cpu_cores / capacity if best else None,
                "trials": [t.as_dict() for t in trials],
            }
        _ceiling_at_capacities(section["modes"], video, s, loop_s, onset_s, steps)
    section["cpu_per_stream"] = cpu_per_stream(section["modes"])
    caps = {m: v["capacity"] for m, v in section["modes"].items()}
    if caps.get("ceiling"):
        section["efficiency"] = caps.get("motion", 0) / caps["ceiling"]
        if "yolox" in caps:
            section["efficiency_yolox"] = caps["yolox"] / caps["ceiling"]
        section["efficiency_by_mode"] = {
            m: c / caps["ceiling"] for m, c in caps.items() if m != "ceiling"
        }
    section["goal"] = "efficiency (motion / ceiling) >= 0.8"
    return section


def _ceiling_at_capacities(
    modes: dict[str, Any], video: Path, s: Settings, loop_s: float, onset_s: float, steps: Steps
) -> None:
    """One more ceiling trial at each other mode's capacity, when the ceiling's search did not
    pass one at that count: CPU per stream is compared at equal stream counts, both sides
    sustaining them, and a search seldom lands on the same counts."""
    if "ceiling" not in modes:
        return
    ceiling = modes["ceiling"]["trials"]
    for mode, found in list(modes.items()):
        n = found["capacity"]
        if mode == "ceiling" or n < 1 or any(t["streams"] == n and t["ok"] for t in ceiling):
            continue
        steps.step(f"ceiling: {n} stream(s), beside {mode}'s capacity")
        ceiling.append(isolated("ceiling", n, video, s, loop_s, onset_s).as_dict())
        steps.done()


def cpu_per_stream(modes: dict[str, Any]) -> list[dict[str, Any]]:
    """CPU cores per stream of each mode at every stream count the ceiling was also tried at,
    with its ratio to the ceiling's: the cost of the engine per stream beside bare decoding of
    the same streams (a capacity count alone depends on the shared machine's noise)."""

    def per_stream(mode: str) -> dict[int, float]:
        # only passing trials: a failed one did less than the work asked (frames dropped,
        # decoding behind), so its CPU per stream would flatter it
        out: dict[int, float] = {}
        for t in modes.get(mode, {}).get("trials", []):
            if t.get("ok") and t["streams"] and t["window_s"] > 0:
                out.setdefault(t["streams"], t["cpu_cores"] / t["streams"])
        return out

    ceiling = per_stream("ceiling")
    rows = []
    for mode in modes:
        if mode == "ceiling":
            continue
        for n, cpu in sorted(per_stream(mode).items()):
            if n in ceiling:
                rows.append(
                    {
                        "mode": mode,
                        "streams": n,
                        "cpu_per_stream": cpu,
                        "ceiling_cpu_per_stream": ceiling[n],
                        "ratio": cpu / ceiling[n] if ceiling[n] > 0 else None,
                    }
                )
    return rows


_TITLES = {
    "ceiling": "ceiling: bare PyAV decode, paced",
    "motion": "(a) engine, motion pipeline",
    "yolox": "(b) engine, yolox_nano 5 fps/camera",
}


def _title(mode: str) -> str:
    base, count = processes(mode)
    title = _TITLES[base]
    return f"{title}, {count} processes" if count > 1 else title


def markdown(section: dict[str, Any]) -> str:
    """Capacity per mode, then every trial."""
    modes = section["modes"]
    summary = table(
        [
            "mode",
            "streams sustained",
            "× ceiling",
            "RSS/stream MiB",
            "CPU cores busy",
            "CPU cores/stream",
        ],
        [
            [
                _title(m),
                v["capacity"],
                fmt(v["capacity"] / modes["ceiling"]["capacity"], "x")
                if modes.get("ceiling", {}).get("capacity")
                else "-",
                fmt(v["rss_per_stream_mib"]),
                fmt(v["cpu_cores_at_capacity"]),
                fmt(v.get("cpu_per_stream_at_capacity")),
            ]
            for m, v in modes.items()
        ],
    )
    cost = table(
        ["mode", "streams", "CPU cores/stream", "ceiling CPU cores/stream", "× ceiling"],
        [
            [_title(r["mode"]), r["streams"], fmt(r["cpu_per_stream"]),
             fmt(r["ceiling_cpu_per_stream"]), fmt(r["ratio"], "x")]
            for r in section.get("cpu_per_stream", [])
        ],
    )  # fmt: skip
    trials = table(
        ["mode", "streams", "decode pace", "dropped", "alerts/onsets", "p95 latency s",
         "detections served", "CPU cores", "load", "verdict"],
        [
            [m, f"{t['streams']}{' (again)' if t['retry'] else ''}", fmt(t["pace"], "%"),
             fmt(t["dropped_share"], "%"),
             f"{t['alerts']}/{t['onsets']}" if m != "ceiling" else "-",
             fmt(t["p95_s"]) if t["p95_s"] is not None else "-",
             f"{t['detections_served']}/{t['detections_asked']}"
             if processes(m)[0] == "yolox" else "-",
             fmt(t["cpu_cores"]), fmt(t.get("load_average")),
             "pass" if t["ok"] else f"fail: {t['why']}"]
            for m, v in modes.items()
            for t in v["trials"]
        ],
    )  # fmt: skip
    eff = section.get("efficiency")
    head = (
        f"efficiency (a)/ceiling: {eff:.2f} (goal >= 0.8)" if eff is not None else "efficiency: -"
    )
    return (
        f"{head}\n\n{summary}\n\nCPU per stream at equal stream counts (same decoder settings "
        f"on both sides):\n\n{cost}\n\n{trials}"
    )


def chart(section: dict[str, Any], path: Any) -> None:
    """Per mode: dropped share and p95 latency of each trial against the stream count."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"ceiling": "tab:blue", "motion": "tab:orange", "yolox": "tab:green",
               "motion-2p": "tab:red"}  # fmt: skip
    for mode, v in section["modes"].items():
        ts, colour = v["trials"], colours.get(mode)
        xs = [t["streams"] for t in ts]
        lost = [100 * max(t["dropped_share"], 1 - t["pace"]) for t in ts]
        left.plot(xs, lost, "o", color=colour, label=mode)
        left.axvline(v["capacity"], color=colour, linestyle=":", linewidth=0.8)
        # Latency where alerts are expected (yolox raises none on the synthetic figures).
        lat = [(t["streams"], t["p95_s"]) for t in ts if t["p95_s"] is not None and t["alerts"]]
        if lat and mode != "ceiling":
            right.plot(
                [x for x, _ in lat], [min(y, 5.0) for _, y in lat], "o", color=colour, label=mode
            )
    left.axhline(100 * MAX_DROPPED, color="red", linewidth=0.8)
    left.set_xlabel("simultaneous 720p 25 fps streams")
    left.set_ylabel("frames lost, % (dropped or not decoded)")
    left.legend()
    right.axhline(MAX_P95_S, color="red", linewidth=0.8)
    right.set_xlabel("simultaneous 720p 25 fps streams")
    right.set_ylabel("p95 frame-to-alert latency, s (missed: 5)")
    right.legend()
    eff = section.get("efficiency")
    fig.suptitle(f"Capacity: efficiency (a)/ceiling = {fmt(eff, 'x')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # one trial, in its own process: python -m ... REQUEST_JSON
    _child(sys.argv[1])
