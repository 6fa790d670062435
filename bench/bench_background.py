"""Dual-rate background (Rust, ``vsa_stream._core``) against OpenCV MOG2, and thread scaling.

One thread, 640x360 luma, a pre-rendered synthetic clip (textured background, noise, people
walking). Timed side by side, interleaved over rounds, best of N (only the ratios measured in
one run mean something on a shared machine):

* ``DualBackground.update`` (factor 4: both models, masks, clean-up, blobs, tamper, static
  evidence);
* ``cv2.createBackgroundSubtractorMOG2().apply`` alone, and followed by
  ``cv2.connectedComponentsWithStats`` (blobs, to be fair), with ``cv2.setNumThreads(1)``;
  and, for reference, MOG2 + components on the same 4x area downscale (``cv2.resize``
  INTER_AREA included) that ``DualBackground`` models.

Thread scaling: two Python threads, each with its own ``DualBackground`` on its own stream
(the GIL is released during ``update``), against one thread doing the same work.

Prints a Markdown table and writes ``bench/results/background.json``.

Usage: ``python bench/bench_background.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import msgspec
import numpy as np
from numpy.typing import NDArray

from vsa_stream import __version__
from vsa_stream._core import DualBackground
from vsa_stream.bench.scenes import walking_clip

RESULTS = Path(__file__).resolve().parent / "results"
W, H = 640, 360
U8 = NDArray[np.uint8]


def clip(n: int, seed: int = 0) -> list[U8]:
    """`n` frames: textured scene, noise, five people walking across (see ``walking_clip``)."""
    return walking_clip(n, W, H, seed)


def run_ours(frames: list[U8]) -> Callable[[], object]:
    def go() -> object:
        bg = DualBackground(W, H)
        for f in frames:
            bg.update(f)
        return bg

    return go


def run_mog2(frames: list[U8], blobs: bool, factor: int = 1) -> Callable[[], object]:
    size = (W // factor, H // factor)

    def go() -> object:
        mog = cv2.createBackgroundSubtractorMOG2()
        out = None
        for f in frames:
            small = f if factor == 1 else cv2.resize(f, size, interpolation=cv2.INTER_AREA)
            mask = mog.apply(small)
            if blobs:
                out = cv2.connectedComponentsWithStats(mask, connectivity=8)
        return out

    return go


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def threaded(frames: list[U8], threads: int, passes: int, mog2: bool = False) -> float:
    """Seconds for `threads` threads to each run their own stream (`passes` times `frames`).

    With `mog2`, the threads run OpenCV MOG2 instead: a control showing whether the machine
    gives two free cores at all (OpenCV also releases the GIL).
    """
    stream = frames * passes
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        apply = (
            DualBackground(W, H).update if not mog2 else cv2.createBackgroundSubtractorMOG2().apply
        )
        barrier.wait()
        for f in stream:
            apply(f)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few frames and rounds (CI)")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds")
    parser.add_argument("--out", default=str(RESULTS / "background.json"), help="JSON results")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    n = 40 if args.quick else 200
    rounds = args.rounds or (3 if args.quick else 7)
    frames = clip(n)
    passes = 5 if args.quick else 10
    cases = {
        "DualBackground.update (+blobs)": run_ours(frames),
        "MOG2.apply": run_mog2(frames, blobs=False),
        "MOG2.apply + connectedComponentsWithStats": run_mog2(frames, blobs=True),
        "resize /4 + MOG2.apply + connectedComponentsWithStats": run_mog2(frames, True, 4),
    }
    best = dict.fromkeys(cases, math.inf)
    scale = {1: math.inf, 2: math.inf}
    control = {1: math.inf, 2: math.inf}
    for _ in range(rounds):
        for name, fn in cases.items():
            best[name] = min(best[name], timed(fn))
        for k in scale:
            scale[k] = min(scale[k], threaded(frames, k, passes))
            control[k] = min(control[k], threaded(frames[: n // 4], k, passes, mog2=True))
    ours = best["DualBackground.update (+blobs)"]
    rows = []
    print(f"\n{W}x{H}, {n} frames, one thread, best of {rounds}\n")
    print("| case | ms/frame | frames/s | DualBackground speed-up |")
    print("|---|---:|---:|---:|")
    for name, secs in best.items():
        ms = 1e3 * secs / n
        rows.append({"case": name, "ms_per_frame": ms, "fps": n / secs, "speedup": secs / ours})
        print(f"| {name} | {ms:.3f} | {n / secs:.0f} | {secs / ours:.1f}x |")
    scaling = 2.0 * scale[1] / scale[2]
    control_ratio = 2.0 * control[1] / control[2]
    cpus = len(os.sched_getaffinity(0))
    print(
        f"\nThread scaling (2 threads, 2 independent streams vs 1): {scaling:.2f}x "
        f"throughput (target >= 1.7x); control, OpenCV MOG2 the same way: "
        f"{control_ratio:.2f}x ({cpus} CPUs usable, shared with other work)\n"
    )
    report = {
        "version": __version__,
        "machine": platform.machine(),
        "cpus": cpus,
        "opencv": cv2.__version__,
        "size": [W, H],
        "frames": n,
        "rounds": rounds,
        "quick": args.quick,
        "rows": rows,
        "thread_scaling": {
            "frames_per_thread": n * passes,
            "one_thread_s": scale[1],
            "two_threads_s": scale[2],
            "ratio": scaling,
            "mog2_control_ratio": control_ratio,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
