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

RESULTS = Path(__file__).resolve().parent / "results"
Frame = tuple[NDArray[np.float64], NDArray[np.float64]]


def scene(n_objects: int, n_frames: int, seed: int = 0) -> list[Frame]:
    """Moving boxes on a 1920x1080 frame: noise, misses, false positives, wrap-around."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [1920, 1080], (n_objects, 2))
    vel = rng.normal(0, 3, (n_objects, 2))
    size = rng.uniform([15, 30], [40, 90], (n_objects, 2))
    frames: list[Frame] = []
    for _ in range(n_frames):
        pos = (pos + vel) % [1920, 1080]
        keep = rng.random(n_objects) > 0.1
        centre = pos[keep] + rng.normal(0, 1.0, (int(keep.sum()), 2))
        wh = size[keep] * rng.normal(1, 0.03, (int(keep.sum()), 2))
        boxes = np.hstack([centre - wh / 2, centre + wh / 2])
        n_fp = max(1, n_objects // 50)
        fp_c = rng.uniform([0, 0], [1920, 1080], (n_fp, 2))
        boxes = np.vstack([boxes, np.hstack([fp_c - 15, fp_c + 15])])
        scores = np.concatenate([rng.uniform(0.3, 1.0, len(centre)), rng.uniform(0.1, 0.7, n_fp)])
        order = rng.permutation(len(scores))
        frames.append((np.ascontiguousarray(boxes[order]), np.ascontiguousarray(scores[order])))
    return frames


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
