"""Detector model layer per frame: pre-processing, inference, post-processing (one thread).

Runs :class:`vsa_stream.detection.Model` for YOLOX-nano and NanoDet-m on PETS 2009 S2.L1
frames (480x360 yuv420p), the three stages timed separately and interleaved, best of N per
stage, and reports the share of pre+post in inference time (issue 5: <= 10 %).

Prints a Markdown table and writes ``bench/results/detection.json``.

Usage: ``python bench/bench_detection.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from vsa_stream.detection import ModelSpec, Planes, load_model

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results"


def frames(count: int) -> list[Planes]:
    out: list[Planes] = []
    with av.open(str(SHARED / "data" / "pets09_s2l1_480x360.avi")) as container:
        for i, fr in enumerate(container.decode(video=0)):
            if i % 25 == 0:
                p: NDArray[np.uint8] = np.asarray(
                    fr.reformat(format="yuv420p").to_ndarray(), np.uint8
                )
                h, w = fr.height, fr.width
                u = p[h : h + h // 4].reshape(h // 2, w // 2)
                v = p[h + h // 4 :].reshape(h // 2, w // 2)
                out.append((p[:h], u, v))
            if len(out) >= count:
                break
    return out


def stages(model: Any, planes: list[Planes], rounds: int) -> dict[str, float]:
    """Best-of-rounds mean milliseconds per frame of each stage."""
    best = {"pre": np.inf, "infer": np.inf, "post": np.inf}
    for _ in range(rounds):
        t = dict.fromkeys(best, 0.0)
        for f in planes:
            t0 = time.perf_counter()
            tensor, lb = model.preprocess(f)
            t1 = time.perf_counter()
            session = model.session_for((tensor.shape[3], tensor.shape[2]))
            outputs = session.run(None, {model.input_name: tensor})
            t2 = time.perf_counter()
            model.postprocess(outputs, lb)
            t3 = time.perf_counter()
            t["pre"] += t1 - t0
            t["infer"] += t2 - t1
            t["post"] += t3 - t2
        for k in best:
            best[k] = min(best[k], 1000 * t[k] / len(planes))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few frames and rounds (CI)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    if not (SHARED / "models" / "yolox_nano.onnx").exists():
        print(f"{SHARED} lacks the models; nothing to measure")
        return
    rounds = args.rounds or (2 if args.quick else 5)
    planes = frames(3 if args.quick else 10)
    rows: dict[str, dict[str, float]] = {}
    for name in ("yolox_nano", "nanodet_m_320"):
        model = load_model(ModelSpec(path=str(SHARED / "models" / f"{name}.onnx")))
        ms = stages(model, planes, rounds)
        ms["share"] = (ms["pre"] + ms["post"]) / ms["infer"]
        rows[name] = ms
    print("| model | pre ms | inference ms | post ms | (pre+post)/inference |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['pre']:.2f} | {r['infer']:.2f} | {r['post']:.2f} | "
            f"{100 * r['share']:.1f} % |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": platform.machine(),
        "frames": len(planes),
        "rounds": rounds,
        "models": rows,
    }
    (RESULTS / "detection.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
