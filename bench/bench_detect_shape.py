"""Detector input shaped like the camera against the model's square input, on real clips.

For each clip (the dev set of ../shared, PETS 2009 S2.L1, the Intel road clip), every k-th
frame is detected by two YOLOX-nano models, one thread each: ``input_shape: model`` (416x416
for every camera) and ``input_shape: camera`` (416x256 for 16:9, 416x320 for 4:3, ...). Per clip:

* agreement: detections of each, the share matched one to one (same engine class, IoU >= 0.5,
  greedy by IoU), the mean and lowest IoU of the matched pairs, the largest score difference,
  and the frames whose detection counts differ;
* cost: CPU time of the calling thread per frame (the whole ``Model.detect``: pre-processing,
  inference, decoding + NMS; exact with one onnxruntime thread), and the ratio square / camera,
  that is detections per core of the camera-shaped input relative to the square one;
* the ceiling beside it: a bare onnxruntime loop (``session.run`` on the same frames' ready
  tensors, through the same sessions, so the same threads and session options) at both inputs.
  Its ratio is what the model alone gains; the engine's pre- and post-processing is the gap.

The four loops of a clip (engine and bare, square and camera) run one after the other in each
of ``--rounds`` rounds, in an order that alternates; each figure is the median of the rounds.
Prints Markdown tables (per clip, then per aspect) with the load average, writes
``bench/results/detect_shape.json``.

Usage: ``python bench/bench_detect_shape.py [--quick] [--frames N] [--rounds R] [--shared DIR]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import numpy as np

from vsa_stream.bench.common import write_json
from vsa_stream.detection import ModelDetection, ModelSpec, Planes, load_model
from vsa_stream.detection.model import Model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def clips(shared: Path) -> list[Path]:
    dev = shared / "data" / "dev"
    found = sorted(dev.glob("*/*.mp4"))
    found += [
        shared / "data" / "pets09_s2l1_480x360.avi",
        shared / "data" / "intel" / "car-detection.mp4",
    ]
    return [p for p in found if p.exists()]


def frames(path: Path, count: int) -> list[Planes]:
    """``count`` frames spread over the clip, as yuv420p planes."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 300
        step = max(1, total // count)
        out: list[Planes] = []
        for i, frame in enumerate(container.decode(stream)):
            if i % step == 0:
                p = np.asarray(frame.reformat(format="yuv420p").to_ndarray(), np.uint8)
                h, w = frame.height, frame.width
                u = p[h : h + h // 4].reshape(h // 2, w // 2)
                v = p[h + h // 4 :].reshape(h // 2, w // 2)
                out.append((p[:h], u, v))
            if len(out) >= count:
                break
    return out


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def match(
    a: list[ModelDetection], b: list[ModelDetection], floor: float = 0.5
) -> list[tuple[float, float]]:
    """Greedy one-to-one pairs (IoU, |score difference|) of the same engine class."""
    pairs = sorted(
        (
            (iou(da.box, db.box), i, j)
            for i, da in enumerate(a)
            for j, db in enumerate(b)
            if da.engine_class == db.engine_class
        ),
        reverse=True,
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    out: list[tuple[float, float]] = []
    for value, i, j in pairs:
        if value < floor:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out.append((value, abs(a[i].score - b[j].score)))
    return out


def cpu_ms(run: Any, items: int) -> float:
    """Thread CPU milliseconds per item of one call of ``run``."""
    cpu = time.thread_time()
    run()
    return 1e3 * (time.thread_time() - cpu) / items


CASES = ("engine square", "engine camera", "bare square", "bare camera")


def measure(square: Model, camera: Model, planes: list[Planes], rounds: int) -> dict[str, Any]:
    models = {"square": square, "camera": camera}
    got = {k: [m.detect(*f) for f in planes] for k, m in models.items()}  # warms both
    tensors = {k: [m.preprocess(f)[0] for f in planes] for k, m in models.items()}

    def engine(model: Model) -> None:
        for f in planes:
            model.detect(*f)

    def bare(model: Model, ready: list[Any]) -> None:
        session = model.session_for((ready[0].shape[3], ready[0].shape[2]))
        for t in ready:
            session.run(None, {model.input_name: t})

    runs = {
        "engine square": lambda: engine(square),
        "engine camera": lambda: engine(camera),
        "bare square": lambda: bare(square, tensors["square"]),
        "bare camera": lambda: bare(camera, tensors["camera"]),
    }
    runs["bare square"]()  # warm the bare loops too
    runs["bare camera"]()
    samples: dict[str, list[float]] = {k: [] for k in CASES}
    for r in range(rounds):
        for case in CASES if r % 2 == 0 else CASES[::-1]:
            samples[case].append(cpu_ms(runs[case], len(planes)))
    ms = {k: statistics.median(v) for k, v in samples.items()}
    ious: list[float] = []
    score_diff = 0.0
    differ = 0
    for a, b in zip(got["square"], got["camera"], strict=True):
        pairs = match(a, b)
        ious += [p[0] for p in pairs]
        score_diff = max([score_diff, *(p[1] for p in pairs)])
        differ += len(a) != len(b)
    n = {k: sum(map(len, v)) for k, v in got.items()}
    return {
        "frames": len(planes),
        "detections_square": n["square"],
        "detections_camera": n["camera"],
        "matched": len(ious),
        "matched_share": len(ious) / max(1, max(n.values())),
        "mean_iou": float(np.mean(ious)) if ious else None,
        "min_iou": float(np.min(ious)) if ious else None,
        "max_score_diff": score_diff,
        "frames_count_differs": differ,
        "cpu_ms_square": ms["engine square"],
        "cpu_ms_camera": ms["engine camera"],
        "per_core_ratio": ms["engine square"] / ms["engine camera"],
        "bare_ms_square": ms["bare square"],
        "bare_ms_camera": ms["bare camera"],
        "bare_ratio": ms["bare square"] / ms["bare camera"],
        "samples_ms": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three clips, four frames (CI)")
    parser.add_argument("--frames", type=int, default=40, help="frames per clip")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="../shared")
    parser.add_argument("--out", default=str(RESULTS / "detect_shape.json"), help="JSON results")
    args = parser.parse_args()
    shared = Path(args.shared)
    model_path = shared / "models" / "yolox_nano.onnx"
    found = clips(shared)
    if not model_path.exists() or not found:
        print(f"{shared} lacks yolox_nano.onnx or the clips; nothing to measure")
        return 0
    if args.quick:
        found = [found[0], found[-2], found[-1]]
    count, rounds = (4, 1) if args.quick else (args.frames, args.rounds)
    square = load_model(ModelSpec(path=str(model_path), intra_op_threads=1, input_shape="model"))
    load0 = os.getloadavg()
    rows: dict[str, dict[str, Any]] = {}
    for clip in found:
        planes = frames(clip, count)
        h, w = planes[0][0].shape
        # A group of one camera: the input follows this clip alone.
        camera = load_model(ModelSpec(path=str(model_path), intra_op_threads=1))
        row = measure(square, camera, planes, rounds)
        row["frame"] = f"{w}x{h}"
        row["input_camera"] = "x".join(map(str, camera.input_for((w, h))))
        rows[str(clip.relative_to(shared / "data"))] = row
    load1 = os.getloadavg()

    print(
        f"YOLOX-nano, one thread, median of {rounds} interleaved rounds; load average "
        f"{load0[0]:.2f} at start, {load1[0]:.2f} at end\n"
    )
    print(
        "| clip | frame | camera input | frames | dets 416x416 | dets camera | matched "
        "| mean IoU | min IoU | max score diff | frames with other count | CPU ms 416x416 "
        "| CPU ms camera | per core | bare ms 416x416 | bare ms camera | bare per core |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        mean = f"{r['mean_iou']:.3f}" if r["mean_iou"] is not None else "-"
        low = f"{r['min_iou']:.3f}" if r["min_iou"] is not None else "-"
        print(
            f"| {name} | {r['frame']} | {r['input_camera']} | {r['frames']} | "
            f"{r['detections_square']} | {r['detections_camera']} | "
            f"{100 * r['matched_share']:.1f} % | {mean} | {low} | {r['max_score_diff']:.3f} | "
            f"{r['frames_count_differs']} | {r['cpu_ms_square']:.1f} | {r['cpu_ms_camera']:.1f} | "
            f"{r['per_core_ratio']:.2f}x | {r['bare_ms_square']:.1f} | {r['bare_ms_camera']:.1f} | "
            f"{r['bare_ratio']:.2f}x |"
        )
    by_input: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows.values():
        by_input[r["input_camera"]].append(r)
    print(
        "\n| camera input | clips | frames | matched | engine CPU ms 416x416 "
        "| engine CPU ms camera | engine per core | bare ms 416x416 | bare ms camera "
        "| bare per core (ceiling) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for shape, rs in sorted(by_input.items()):
        frames_n = sum(r["frames"] for r in rs)
        sq, cam, bsq, bcam = (
            sum(r[key] * r["frames"] for r in rs) / frames_n
            for key in ("cpu_ms_square", "cpu_ms_camera", "bare_ms_square", "bare_ms_camera")
        )
        matched = sum(r["matched"] for r in rs) / max(
            1, sum(max(r["detections_square"], r["detections_camera"]) for r in rs)
        )
        summary[shape] = {
            "clips": len(rs),
            "frames": frames_n,
            "matched_share": matched,
            "cpu_ms_square": sq,
            "cpu_ms_camera": cam,
            "per_core_ratio": sq / cam,
            "bare_ms_square": bsq,
            "bare_ms_camera": bcam,
            "bare_ratio": bsq / bcam,
        }
        print(
            f"| {shape} | {len(rs)} | {frames_n} | {100 * matched:.1f} % | {sq:.1f} | {cam:.1f} | "
            f"{sq / cam:.2f}x | {bsq:.1f} | {bcam:.1f} | {bsq / bcam:.2f}x |"
        )
    report = {
        "benchmark": "detect_shape",
        "quick": args.quick,
        "rounds": rounds,
        "load_average": {"start": load0, "end": load1},
        "machine": platform.machine(),
        "clips": rows,
        "by_input": summary,
    }
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
