"""Tracker throughput: ``vsa_stream._core.Tracker`` against ``trackers.ByteTrackTracker``.

Synthetic scene: N objects (100 and 400) moving at constant velocity with box noise, 10 %
missed detections per frame, a few false positives, scores spread over both ByteTrack
stages. Both trackers get the same pre-generated frames, one thread each (``RAYON``/OMP/MKL/
OpenBLAS threads set to 1 before numpy and scipy are imported); rounds are interleaved and
the best round of each counts. ``supervision.Detections`` for ``trackers`` are built
*outside* the timed region, so only ``update`` is timed on both sides.

Prints a Markdown table and writes ``bench/results/tracker.json``.

Usage: ``python bench/bench_tracker.py [--quick] [--frames N] [--rounds N]``
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "RAYON_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import supervision as sv  # noqa: E402
import trackers  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from vsa_stream import __version__  # noqa: E402
from vsa_stream._core import Tracker  # noqa: E402
from vsa_stream.bench.scenes import boxes_scene  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
Frame = tuple[NDArray[np.float64], NDArray[np.float64]]


def scene(n_objects: int, n_frames: int, seed: int = 0) -> list[Frame]:
    """Moving boxes on a 1920x1080 frame (:func:`vsa_stream.bench.scenes.boxes_scene`)."""
    return [(f.boxes, f.scores) for f in boxes_scene(n_objects, n_frames, seed)]


def time_ours(frames: list[Frame]) -> float:
    tracker = Tracker(frame_rate=30.0)
    started = time.perf_counter()
    for boxes, scores in frames:
        tracker.update(boxes, scores)
    return time.perf_counter() - started


def time_theirs(detections: list[sv.Detections]) -> float:
    tracker = trackers.ByteTrackTracker(frame_rate=30.0)
    started = time.perf_counter()
    for d in detections:
        tracker.update(d)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a few frames, for CI")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n_frames, rounds = (30, 1) if args.quick else (args.frames, args.rounds)
    rows = []
    for n in (100, 400):
        frames = scene(n, n_frames, seed=n)
        detections = [
            sv.Detections(xyxy=b, confidence=s, class_id=np.zeros(len(s), int)) for b, s in frames
        ]
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(time_ours(frames))
            theirs.append(time_theirs(detections))
        best_ours, best_theirs = min(ours), min(theirs)
        rows.append(
            {
                "objects": n,
                "frames": n_frames,
                "ours_updates_per_s": n_frames / best_ours,
                "ours_ms_per_update": 1e3 * best_ours / n_frames,
                "trackers_updates_per_s": n_frames / best_theirs,
                "trackers_ms_per_update": 1e3 * best_theirs / n_frames,
                "ratio": best_theirs / best_ours,
            }
        )
    print(
        "| objects | ours updates/s | ours ms/update | trackers updates/s | "
        "trackers ms/update | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['objects']} | {r['ours_updates_per_s']:.0f} | {r['ours_ms_per_update']:.3f} | "
            f"{r['trackers_updates_per_s']:.0f} | {r['trackers_ms_per_update']:.2f} | "
            f"{r['ratio']:.1f}x |"
        )
    RESULTS.mkdir(exist_ok=True)
    result = {
        "benchmark": "tracker",
        "quick": args.quick,
        "rounds": rounds,
        "vsa_stream": __version__,
        "trackers": version("trackers"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threads": 1,
        "note": "supervision.Detections built outside the timed region",
        "rows": rows,
    }
    (RESULTS / "tracker.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
