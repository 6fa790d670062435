"""Detector input shaped like the camera against the model's square input, on real clips.

The measurement is :mod:`vsa_stream.bench.detector` (also ``vsa-stream bench detector`` and
part of ``bench all``): every clip of the dev set of ../shared, PETS 2009 S2.L1 and the Intel
road clip, detected by YOLOX-nano at 416x416 and at the camera's shape, the engine's CPU per
frame at both beside a bare onnxruntime loop's (the model's own gain, the ceiling), and how
far the two inputs' detections agree. Prints Markdown tables with the load average, writes
``bench/results/detect_shape.json``.

Usage: ``python bench/bench_detect_shape.py [--quick] [--frames N] [--rounds R] [--shared DIR]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import platform
from pathlib import Path

from vsa_stream.bench import detector
from vsa_stream.bench.common import steps, write_json

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three clips, four frames (CI)")
    parser.add_argument("--frames", type=int, default=40, help="frames per clip")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="../shared")
    parser.add_argument("--out", default=str(RESULTS / "detect_shape.json"), help="JSON results")
    args = parser.parse_args()
    model = str(Path(args.shared) / "models" / "yolox_nano.onnx")
    with steps("detector", 1, show=False) as s:
        section = detector.run(
            s, args.quick, model=model, shared=args.shared, frames_per_clip=args.frames,
            rounds=args.rounds,
        )  # fmt: skip
    print(detector.markdown(section))
    report = {
        "benchmark": "detect_shape",
        "quick": args.quick,
        "machine": platform.machine(),
        **section,
    }
    write_json(Path(args.out), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
