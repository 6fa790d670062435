"""onnxruntime session options of the detector: which give the most detections per core.

YOLOX-nano on ready tensors of real frames (a 1280x720 dev clip), at the model's 416x416 input
and the 416x256 one of 16:9 cameras (the model re-shaped as the engine does), for each of:

* the engine's default (``intra_op_threads: 1``, ``inter_op_threads: 1``, onnxruntime's default
  graph optimisation ``ORT_ENABLE_ALL``; spinning does not apply: one intra-op thread has no pool);
* graph optimisation ``ORT_ENABLE_EXTENDED`` and ``ORT_ENABLE_BASIC``;
* two intra-op threads, with and without spinning (``session.intra_op.allow_spinning``).

The figure is **process** CPU time per inference (pool threads included, their spinning too;
the machine's other load is not; a pause before each measurement lets the previous session's
pool stop spinning), median of interleaved rounds, and the ratio 416x416 / 416x256 of each option.
Prints a Markdown table with the load average, writes ``bench/results/detect_options.json``.

Usage: ``python bench/bench_detect_options.py [--quick] [--rounds R] [--shared DIR]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from vsa_stream.bench.common import write_json
from vsa_stream.bench.detector import frames
from vsa_stream.detection import ModelSpec, load_model
from vsa_stream.detection.shapes import reshaped

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLIP = "dev/falls/gmdcsa24_S3_Fall_15.mp4"
SIZES = ((416, 416), (416, 256))
# name: intra-op threads, allow spinning (None: onnxruntime's default), optimisation level
OPTIONS: dict[str, tuple[int, str | None, str]] = {
    "engine default: 1 thread, ORT_ENABLE_ALL": (1, None, "ORT_ENABLE_ALL"),
    "1 thread, ORT_ENABLE_EXTENDED": (1, None, "ORT_ENABLE_EXTENDED"),
    "1 thread, ORT_ENABLE_BASIC": (1, None, "ORT_ENABLE_BASIC"),
    "2 threads, spinning": (2, "1", "ORT_ENABLE_ALL"),
    "2 threads, no spinning": (2, "0", "ORT_ENABLE_ALL"),
}


def session(ort: Any, model: bytes, threads: int, spin: str | None, level: str) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if spin is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    return ort.InferenceSession(model, options, ["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two frames, one round (CI)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--frames", type=int, default=10, help="frames of the clip")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="../shared")
    parser.add_argument("--out", default=str(RESULTS / "detect_options.json"), help="JSON results")
    args = parser.parse_args()
    shared = Path(args.shared)
    model_path = shared / "models" / "yolox_nano.onnx"
    clip = shared / "data" / CLIP
    if not model_path.exists() or not clip.exists():
        print(f"{shared} lacks yolox_nano.onnx or {CLIP}; nothing to measure")
        return 0
    rounds, count, repeat = (1, 2, 1) if args.quick else (args.rounds, args.frames, 3)
    ort: Any = importlib.import_module("onnxruntime")
    engine = load_model(ModelSpec(path=str(model_path)))
    planes = frames(clip, count)
    data = model_path.read_bytes()
    tensors = {s: [engine.preprocess(f, s)[0] for f in planes] for s in SIZES}
    sessions: dict[tuple[str, tuple[int, int]], Any] = {}
    for size in SIZES:
        model = data if size == engine.input_size else reshaped(data, engine.input_name, size)
        for name, (threads, spin, level) in OPTIONS.items():
            sessions[name, size] = session(ort, model, threads, spin, level)

    def run(key: tuple[str, tuple[int, int]]) -> float:
        """Process CPU milliseconds per inference of ``repeat`` passes over the tensors."""
        s, ready = sessions[key], tensors[key[1]]
        # The previous session's pool threads may still spin: let them stop first, so that
        # their CPU is not counted here.
        time.sleep(0.2)
        cpu = time.process_time()
        for _ in range(repeat):
            for t in ready:
                s.run(None, {engine.input_name: t})
        return 1e3 * (time.process_time() - cpu) / (repeat * len(ready))

    for key in sessions:  # warm: arenas sized, threads started
        run(key)
    load0 = os.getloadavg()
    samples: dict[tuple[str, tuple[int, int]], list[float]] = {k: [] for k in sessions}
    keys = list(sessions)
    for r in range(rounds):
        for key in keys if r % 2 == 0 else keys[::-1]:
            samples[key].append(run(key))
    load1 = os.getloadavg()
    rows = []
    for name in OPTIONS:
        square, camera = (statistics.median(samples[name, s]) for s in SIZES)
        rows.append(
            {"options": name, "cpu_ms_416x416": square, "cpu_ms_416x256": camera,
             "ratio": square / camera}
        )  # fmt: skip
    print(
        f"YOLOX-nano, {len(planes)} frames of {CLIP}, process CPU per inference, median of "
        f"{rounds} interleaved rounds; load average {load0[0]:.2f} at start, {load1[0]:.2f} at "
        f"end\n"
    )
    print("| session options | CPU ms 416x416 | CPU ms 416x256 | 416x416 / 416x256 |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['options']} | {row['cpu_ms_416x416']:.2f} | {row['cpu_ms_416x256']:.2f} | "
            f"{row['ratio']:.2f}x |"
        )
    report = {
        "benchmark": "detect_options",
        "quick": args.quick,
        "rounds": rounds,
        "onnxruntime": ort.__version__,
        "load_average": {"start": load0, "end": load1},
        "machine": platform.machine(),
        "rows": rows,
    }
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
