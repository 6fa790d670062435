"""Reload against restart: what the cameras that did not change miss.

Usage (from the repository root)::

    python bench/bench_reload.py [--cameras 4] [--seconds 8] [--json out.json] [--quick]

A daemon runs N live-paced looping cameras (PETS09 from ``../shared`` when present, else a
rendered synthetic scene) with an intrusion rule each, motion only. Then the configuration
changes the rules of camera 0 and adds a camera, applied two ways:

- **reload** (``Daemon.reload``): every frame each camera analyses is recorded; for the
  cameras whose settings did not change, in the second before and after the reload, the
  frames missed (analysis slots skipped, whatever the cause) and the longest wait between two
  analysed frames;
- **restart** (stop the daemon, start a new one on the new file): the time from the stop
  request to the first frame analysed again by every camera, and the frames that time holds
  at the camera's rate (the stream is not analysed meanwhile).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread

from vsa_stream import config
from vsa_stream.daemon import Daemon
from vsa_stream.observation import Observation
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import build_sinks
from vsa_stream.synth import render

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PETS = SHARED / "data" / "pets09_s2l1_480x360.avi"
FPS = 10


def camera_yaml(camera_id: str, video: Path, dwell: float) -> str:
    return f"""
  - id: {camera_id}
    url: {json.dumps(str(video))}
    fps: {FPS}
    loop: true
    zones: [{{id: walk, polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95], [0.1, 0.95]]}}]
    rules: [{{type: intrusion, zones: [walk], min_dwell_s: {dwell}}}]
"""


def write(path: Path, video: Path, cameras: int, *, changed: bool) -> None:
    text = "".join(
        camera_yaml(f"cam{i}", video, 3.0 if changed and i == 0 else 1.0) for i in range(cameras)
    )
    if changed:
        text += camera_yaml(f"cam{cameras}", video, 1.0)
    state = json.dumps(str(path.parent / "state"))
    alerts = json.dumps(str(path.parent / "alerts.jsonl"))
    sinks = f"sinks: {{jsonl: {{path: {alerts}, fsync: false}}}}\n"
    path.write_text(f"privacy: {{legal_profile: lab}}\ncameras:{text}state_dir: {state}\n{sinks}")


class Recorder:
    """Every analysed frame: camera -> [(analysis slot, monotonic time)]; the slot is the
    frame's stream time in periods of the camera's rate (frames are sampled by it)."""

    def __init__(self) -> None:
        self.frames: dict[str, list[tuple[int, float]]] = {}
        self.lock = threading.Lock()

    def __call__(self, obs: Observation) -> None:
        slot = math.floor(obs.time_s * FPS + 1e-6)
        with self.lock:
            self.frames.setdefault(obs.camera_id, []).append((slot, time.monotonic()))

    def analysing(self, cameras: list[str], after: float) -> bool:
        with self.lock:
            return all(any(t > after for _, t in self.frames.get(c, [])) for c in cameras)


def start(path: Path, recorder: Recorder) -> tuple[Daemon, Outbox, Any, Any, Any]:
    cfg = config.load(path)
    outbox = Outbox(cfg.outbox_path(), synchronous="normal")
    daemon = Daemon(cfg, build_sinks(cfg.sinks), outbox, source=str(path))
    daemon.engine.observe = recorder
    portal_cm = anyio.from_thread.start_blocking_portal()
    portal = portal_cm.__enter__()
    future = portal.start_task_soon(partial(daemon.run, handle_signals=False))
    return daemon, outbox, portal_cm, portal, future


def stop(daemon: Daemon, outbox: Outbox, portal_cm: Any, portal: Any, future: Any) -> None:
    portal.call(daemon.engine.stop)
    future.result(timeout=60)
    portal_cm.__exit__(None, None, None)
    outbox.close()


def wait(condition: Any, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the cameras never analysed a frame")
        time.sleep(0.01)


def run_reload(folder: Path, video: Path, cameras: int, seconds: float) -> dict[str, Any]:
    path = folder / "reload.yaml"
    write(path, video, cameras, changed=False)
    recorder = Recorder()
    daemon, outbox, portal_cm, portal, future = start(path, recorder)
    ids = [f"cam{i}" for i in range(cameras)]
    try:
        wait(lambda: recorder.analysing(ids, 0.0))
        time.sleep(seconds)
        write(path, video, cameras, changed=True)
        began = time.monotonic()
        report = portal.call(daemon.reload, "bench")
        ended = time.monotonic()
        time.sleep(seconds)
        statuses = {p.camera.id: p.status for p in daemon.engine.running().values()}
        closed = closings(folder, ids[1:])
    finally:
        stop(daemon, outbox, portal_cm, portal, future)
    assert report.ok, report.error
    unchanged = ids[1:]
    missed = 0
    longest = 0.0
    for camera_id in unchanged:
        # the second around the reload (a camera's first frames at its start are not counted)
        around = [(k, t) for k, t in recorder.frames[camera_id] if began - 1.0 <= t <= ended + 1.0]
        missed += sum(b[0] - a[0] - 1 for a, b in itertools.pairwise(around))
        longest = max([longest] + [b[1] - a[1] for a, b in itertools.pairwise(around)])
    return {
        "apply_s": ended - began,
        "unchanged_cameras": len(unchanged),
        "frames_missed": missed,
        "slot_drops_whole_run": sum(statuses[c].dropped for c in unchanged),
        "longest_wait_s": longest,
        "events_closed": closed,
        "restarted": report.restarted,
        "rules_swapped": report.rules_swapped,
        "started": report.started,
    }


def run_restart(folder: Path, video: Path, cameras: int, seconds: float) -> dict[str, Any]:
    path = folder / "restart.yaml"
    write(path, video, cameras, changed=False)
    recorder = Recorder()
    ids = [f"cam{i}" for i in range(cameras)]
    first = start(path, recorder)
    wait(lambda: recorder.analysing(ids, 0.0))
    time.sleep(seconds)
    write(path, video, cameras, changed=True)
    began = time.monotonic()
    stop(*first)
    second = start(path, recorder)
    try:
        wait(lambda: recorder.analysing(ids[1:], began))
        back = time.monotonic()
        closed = closings(folder, ids[1:])
    finally:
        stop(*second)
    gap = back - began
    return {
        "gap_s": gap,
        "unchanged_cameras": cameras - 1,
        "frames_missed": round(gap * FPS) * (cameras - 1),
        "events_closed": closed,
    }


def closings(folder: Path, cameras: list[str]) -> int:
    """Events of ``cameras`` closed so far because the engine stopped them or reconfigured."""
    path = folder / "alerts.jsonl"
    if not path.exists():
        return 0
    count = 0
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event.get("camera_id") in cameras and event.get("state") == "closed":
            count += event.get("reason") in ("engine stopped", "reconfigured")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quick", action="store_true", help="2 cameras, 1 s, synthetic clip")
    args = parser.parse_args()
    cameras, seconds = (2, 1.0) if args.quick else (args.cameras, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if PETS.exists() and not args.quick:
            video, source = PETS, PETS.name
        else:
            video = folder / "walkers.mp4"
            render("walkers", video, width=320, height=240)
            source = "synthetic walkers 320x240"
        for name in ("a", "b"):
            (folder / name).mkdir()
        reload = run_reload(folder / "a", video, cameras, seconds)
        restart = run_restart(folder / "b", video, cameras, seconds)
    load = os.getloadavg()[0]
    print(f"source: {source}; {cameras} cameras at {FPS} fps; load average {load:.1f}")
    print(
        "| applied by | unchanged cameras | their analysis gap | frames they missed "
        "| their events closed |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| reload | {reload['unchanged_cameras']} | longest wait between two frames "
        f"{reload['longest_wait_s']:.2f} s (reload applied in {reload['apply_s']:.2f} s) | "
        f"{reload['frames_missed']} (frame slot drops, whole run: "
        f"{reload['slot_drops_whole_run']}) "
        f"| {reload['events_closed']} |"
    )
    print(
        f"| restart (in process) | {restart['unchanged_cameras']} | {restart['gap_s']:.2f} s "
        f"without analysis, then streams from their start | ~{restart['frames_missed']} "
        f"| {restart['events_closed']} |"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "source": source,
                    "cameras": cameras,
                    "load": load,
                    "reload": reload,
                    "restart": restart,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
