"""Detection capacity: one shared YOLOX-nano session serving 1, 4 and 8 live cameras.

Each camera plays a 480x360 10 fps recording in real time (looping) through the whole engine:
decode, motion, detection scheduling, tracking, rules. Every camera asks for a detection of
every analysed frame (10 per second, ``--fps`` to change); the shared session (one onnxruntime
thread) serves what it can, in round-robin, batching up to 8 frames. Two scenes:

- ``busy``: PETS 2009 S2.L1, people walking all the time (gating can skip little);
- ``quiet``: the same camera with nobody moving two thirds of the time (a frozen frame for 10 s,
  then 5 s of the recording), as most cameras are most of the day.

For each scene, camera count and gating setting: frames detected per second (all cameras, and
the slowest and fastest camera: even degradation), objects detected per second, the share of
due frames deferred because the detector was busy, and the CPU time spent inside onnxruntime as
a share of the process's CPU time, measured over a window after a warm-up.

Prints a Markdown table and writes ``bench/results/detection_cameras.json``.

Usage: ``python bench/bench_detection_cameras.py [--quick] [--seconds S]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import av
import numpy as np

from vsa_stream import config as config_mod
from vsa_stream.engine import Engine
from vsa_stream.log import configure_logging
from vsa_stream.observation import Observation
from vsa_stream.sinks import JsonlSink

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"
PETS = SHARED / "data" / "pets09_s2l1_480x360.avi"
MODEL = SHARED / "models" / "yolox_nano.onnx"
WARMUP_S = 4.0


def quiet_clip(path: Path) -> None:
    """10 s of a frozen PETS frame, then 5 s of the recording, at 10 fps."""
    with av.open(str(PETS)) as src, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 480, 360, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        frames = src.decode(video=0)
        first = next(frames).to_ndarray(format="rgb24")
        rng = np.random.default_rng(0)
        for i in range(150):
            if i < 100:  # sensor noise keeps the frozen frame a real video
                noise = rng.integers(-2, 3, first.shape, dtype=np.int16)
                img = np.clip(first.astype(np.int16) + noise, 0, 255).astype(np.uint8)
            else:
                img = next(frames).to_ndarray(format="rgb24")
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def config_for(
    video: Path, cameras: int, gating: bool, fps: float, input_shape: str = "camera"
) -> Any:
    cams = ", ".join(
        f"{{id: cam{i}, url: '{video}', loop: true, realtime: true, fps: 10}}"
        for i in range(cameras)
    )
    return config_mod.loads(
        f"""
privacy: {{legal_profile: lab}}
detectors:
  - id: people
    model: {{path: '{MODEL}', input_shape: {input_shape}}}
    fps: {fps}
    gating: {str(gating).lower()}
    max_interval_s: 2
    max_batch: 8
cameras: [{cams}]
"""
    )


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    video: Path,
    cameras: int,
    gating: bool,
    fps: float,
    seconds: float,
    out: Path,
    input_shape: str = "camera",
) -> dict[str, Any]:
    config = config_for(video, cameras, gating, fps, input_shape)
    objects = [0]

    def observe(obs: Observation) -> None:
        if obs.detected:
            objects[0] += len(obs.detections)

    engine = Engine(config, [JsonlSink(str(out))], observe=observe)
    marks: dict[str, Any] = {}

    def snapshot() -> dict[str, Any]:
        service = engine.detectors["people"]
        return {
            "wall": time.monotonic(),
            "cpu": cpu_s(),
            "infer_cpu": service.model.inference_cpu_s,
            "served": {c: s.served for c, s in service.stats.items()},
            "deferred": sum(s.deferred for s in service.stats.values()),
            "requested": sum(s.requested for s in service.stats.values()),
            "objects": objects[0],
            "inferences": service.inferences,
        }

    async def drive() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: engine.run(handle_signals=False))
            await anyio.sleep(WARMUP_S)
            marks["start"] = snapshot()
            await anyio.sleep(seconds)
            marks["end"] = snapshot()
            engine.stop()

    anyio.run(drive)
    a, b = marks["start"], marks["end"]
    wall = b["wall"] - a["wall"]
    per_camera = [(b["served"][c] - a["served"].get(c, 0)) / wall for c in b["served"]]
    due = (b["requested"] - a["requested"]) + (b["deferred"] - a["deferred"])
    cpu = b["cpu"] - a["cpu"]
    return {
        "cameras": cameras,
        "gating": gating,
        "frames_per_s": sum(per_camera),
        "camera_min": min(per_camera),
        "camera_max": max(per_camera),
        "objects_per_s": (b["objects"] - a["objects"]) / wall,
        "inferences_per_s": (b["inferences"] - a["inferences"]) / wall,
        "deferred_share": (b["deferred"] - a["deferred"]) / due if due else 0.0,
        "cpu_cores": cpu / wall,
        "inference_share": (b["infer_cpu"] - a["infer_cpu"]) / cpu if cpu else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 2 cameras, a few seconds")
    parser.add_argument("--seconds", type=float, default=None, help="measured window per run")
    parser.add_argument("--fps", type=float, default=10.0, help="detections asked per camera")
    parser.add_argument(
        "--input-shape",
        choices=("camera", "model"),
        default="camera",
        help="the detector's input: shaped like the cameras (default) or the model's own",
    )
    args = parser.parse_args()
    if not MODEL.exists() or not PETS.exists():
        print(f"{SHARED} lacks yolox_nano.onnx or the PETS recording; nothing to measure")
        return
    configure_logging("error", "json")
    seconds = args.seconds or (3.0 if args.quick else 20.0)
    counts = (1, 2) if args.quick else (1, 4, 8)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        scenes = {"busy": PETS}
        if not args.quick:
            scenes["quiet"] = Path(tmp) / "quiet.mp4"
            quiet_clip(scenes["quiet"])
        for scene, video in scenes.items():
            for cameras in counts:
                for gating in (False, True):
                    events = Path(tmp) / "events.jsonl"
                    row = measure(
                        video, cameras, gating, args.fps, seconds, events, args.input_shape
                    )
                    row["scene"] = scene
                    rows.append(row)
                    print(
                        f"# {scene} {cameras} cameras gating={'on' if gating else 'off'}: "
                        f"{row['frames_per_s']:.1f} frames/s",
                        flush=True,
                    )
    print(
        "\n| scene | cameras | gating | frames detected/s (all) | per camera min-max | "
        "objects/s | deferred | CPU cores busy | inference share of CPU |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['scene']} | {r['cameras']} | {'on' if r['gating'] else 'off'} | "
            f"{r['frames_per_s']:.1f} | {r['camera_min']:.2f}-{r['camera_max']:.2f} | "
            f"{r['objects_per_s']:.0f} | {100 * r['deferred_share']:.0f} % | "
            f"{r['cpu_cores']:.2f} | {100 * r['inference_share']:.0f} % |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "model": MODEL.name,
        "asked_per_camera_fps": args.fps,
        "input_shape": args.input_shape,
        "window_s": seconds,
        "warmup_s": WARMUP_S,
        "rows": rows,
    }
    (RESULTS / "detection_cameras.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
