"""The detector on real frames: decode + NMS of real outputs; the engine beside bare onnxruntime.

Frames from real clips (PETS 2009 S2.L1 480x360, two 1280x720 dev clips, the 640x480 corridor):

* **decode + NMS** of the real YOLOX-nano outputs of those frames (416x416 input, score floor
  0.3 as the engine's default, IoU 0.45): ``_core.decode_yolox`` against the vectorised numpy
  decoder + greedy NMS of ``vsa_stream.bench.references``, both on the same outputs, with the
  candidates (anchors above the floor) and detections per frame. Real frames give tens of
  candidates, not the hundreds of a synthetic output;
* **detector**: the engine's ``Model.detect`` (yuv420p planes in, detections out: Rust
  pre-processing, onnxruntime, Rust decoding + NMS) against a bare onnxruntime loop
  (``session.run`` on ready tensors of the same size), same model, same threads (one), same
  input: the model's 416x416, then the camera-shaped input. CPU time of the calling thread per
  inference (exact with one onnxruntime thread), median of interleaved rounds; the ratio bare /
  engine says what the engine's pre- and post-processing cost.

Prints Markdown tables with the load average, writes ``bench/results/detect_engine.json``.

Usage: ``python bench/bench_detect_engine.py [--quick] [--rounds N] [--shared DIR]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vsa_stream import _core
from vsa_stream.bench.detector import frames
from vsa_stream.bench.references import numpy_yolox
from vsa_stream.detection import ModelSpec, Planes, load_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLIPS = (
    "pets09_s2l1_480x360.avi",
    "dev/falls/gmdcsa24_S3_Fall_15.mp4",
    "dev/daily/gmdcsa24_S3_ADL_07.mp4",
    "dev/abandoned/corridor_bag.mp4",
)


def cpu_ms(fn: Callable[[], object], items: int) -> float:
    """Thread CPU milliseconds per item of one call of ``fn``."""
    t = time.thread_time()
    fn()
    return 1e3 * (time.thread_time() - t) / items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few frames, one round (CI)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="../shared")
    parser.add_argument("--out", default=str(RESULTS / "detect_engine.json"), help="JSON results")
    args = parser.parse_args()
    shared = Path(args.shared)
    model_path = shared / "models" / "yolox_nano.onnx"
    clips = [shared / "data" / c for c in CLIPS if (shared / "data" / c).exists()]
    if not model_path.exists() or not clips:
        print(f"{shared} lacks yolox_nano.onnx or the clips; nothing to measure")
        return 0
    rounds, count = (1, 2) if args.quick else (args.rounds, args.frames)
    load0 = os.getloadavg()
    square = load_model(ModelSpec(path=str(model_path), input_shape="model"))
    camera = load_model(ModelSpec(path=str(model_path)))
    pre = square._pre
    per_clip: list[tuple[str, list[Planes]]] = [(c.name, frames(c, count)) for c in clips]

    # Real outputs of the square input, for decode + NMS.
    outputs: list[tuple[Any, Any]] = []
    for _, planes in per_clip:
        for f in planes:
            tensor, lb = _core.preprocess_yuv420p(*f, (416, 416), **pre)
            (out,) = square.session.run(None, {square.input_name: tensor})
            outputs.append((np.asarray(out, np.float32), lb))
    floor, iou = 0.3, 0.45
    candidates = [int(((o[0, :, 4:5] * o[0, :, 5:]).max(1) >= floor).sum()) for o, _ in outputs]
    kept = [
        len(_core.decode_yolox(o, lb, score_threshold=floor, iou_threshold=iou))
        for o, lb in outputs
    ]
    for (o, lb), k in zip(outputs, kept, strict=True):
        if numpy_yolox(o, lb, floor, iou) != k:
            raise SystemExit("Rust and numpy disagree on a real output")

    def rust_all() -> None:
        for o, lb in outputs:
            _core.decode_yolox(o, lb, score_threshold=floor, iou_threshold=iou)

    def numpy_all() -> None:
        for o, lb in outputs:
            numpy_yolox(o, lb, floor, iou)

    # The detector: the engine's Model.detect against bare session.run on the same input size.
    cases: dict[str, tuple[Callable[[], object], int]] = {}
    for name, model in (("416x416", square), ("camera", camera)):
        all_planes = [f for _, planes in per_clip for f in planes]
        tensors = [model.preprocess(f)[0] for f in all_planes]

        def engine(model: Any = model, all_planes: list[Planes] = all_planes) -> None:
            for f in all_planes:
                model.detect(*f)

        def bare(model: Any = model, tensors: list[Any] = tensors) -> None:
            for t in tensors:
                session = model.session_for((t.shape[3], t.shape[2]))
                session.run(None, {model.input_name: t})

        engine()  # warm: sessions opened, arenas sized
        bare()
        cases[f"engine {name}"] = (engine, len(all_planes))
        cases[f"bare onnxruntime {name}"] = (bare, len(all_planes))
    cases["decode+NMS Rust"] = (rust_all, len(outputs))
    cases["decode+NMS numpy"] = (numpy_all, len(outputs))

    samples: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(rounds):
        keys = list(cases)
        order = keys if r % 2 == 0 else keys[::-1]
        for case in order:
            fn, n = cases[case]
            samples[case].append(cpu_ms(fn, n))
    med = {k: statistics.median(v) for k, v in samples.items()}
    load1 = os.getloadavg()

    print(
        f"YOLOX-nano, one thread, {len(outputs)} real frames ({', '.join(CLIPS)}), median of "
        f"{rounds} interleaved rounds; load average {load0[0]:.2f} at start, "
        f"{load1[0]:.2f} at end\n"
    )
    print(
        "| decode + NMS of real outputs | candidates/frame | kept/frame | Rust ms | numpy ms "
        "| ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| YOLOX 3549 anchors, floor {floor} | {statistics.median(candidates):.0f} "
        f"(max {max(candidates)}) | {statistics.median(kept):.0f} | {med['decode+NMS Rust']:.3f} | "
        f"{med['decode+NMS numpy']:.3f} | {med['decode+NMS numpy'] / med['decode+NMS Rust']:.2f}x |"
    )
    print(
        "\n| input | engine CPU ms/inference | bare onnxruntime CPU ms/inference | bare / engine |"
    )
    print("|---|---:|---:|---:|")
    rows = []
    h, w = per_clip[0][1][0][0].shape  # a frame already counted: the group does not grow
    group = "x".join(map(str, camera.input_for((w, h))))
    for name in ("416x416", "camera"):
        e, b = med[f"engine {name}"], med[f"bare onnxruntime {name}"]
        label = f"camera-shaped: {group} (one group for all clips)" if name == "camera" else name
        rows.append({"input": label, "engine_cpu_ms": e, "bare_cpu_ms": b, "ratio": b / e})
        print(f"| {label} | {e:.2f} | {b:.2f} | {b / e:.2f}x |")
    sq, cam = med["engine 416x416"], med["engine camera"]
    print(f"\nengine, camera-shaped input against 416x416: {sq / cam:.2f}x detections per core")

    report = {
        "benchmark": "detect_engine",
        "quick": args.quick,
        "rounds": rounds,
        "frames": len(outputs),
        "load_average": {"start": load0, "end": load1},
        "machine": platform.machine(),
        "decode_nms": {
            "candidates_median": statistics.median(candidates),
            "candidates_max": max(candidates),
            "kept_median": statistics.median(kept),
            "rust_ms": med["decode+NMS Rust"],
            "numpy_ms": med["decode+NMS numpy"],
        },
        "detector": rows,
        "samples_ms": samples,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
