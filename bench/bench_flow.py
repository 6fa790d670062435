"""Motion field (Rust grid pyramidal Lucas-Kanade) against OpenCV DIS optical flow.

One thread (``cv2.setNumThreads(1)``), 640x360 synthetic frame pairs with known motion
(translation, rotation, zoom, two crossing groups; see ``vsa_stream.bench.flow_synth``):

* time per frame pair: ``MotionField.update`` on a 16-px grid (builds the new frame's pyramid
  and the flow from the previous frame's) against DIS preset ultrafast (``calc`` on the same
  pair); interleaved rounds, best of N (these machines are noisy: only the side-by-side ratio
  means something);
* mean endpoint error over our confident cells, of ours, DIS fast and DIS ultrafast (dense
  flow sampled at the same cell centres).

Prints Markdown tables and writes ``bench/results/flow.json``.

Usage: ``python bench/bench_flow.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import cv2
import msgspec
import numpy as np

from vsa_stream import __version__
from vsa_stream._core import MotionField
from vsa_stream.bench.flow_synth import Sequence, endpoint_error, make_sequences, sample_dense

RESULTS = Path(__file__).resolve().parent / "results"
CELL = 16


def time_pair(seqs: list[Sequence], rounds: int) -> dict[str, list[float]]:
    """Seconds per frame pair for ours and DIS ultrafast, interleaved, one list per method."""
    h, w = seqs[0].prev.shape
    field = MotionField(w, h, cell=CELL)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    out = np.zeros((h, w, 2), np.float32)
    times: dict[str, list[float]] = {"ours": [], "dis_ultrafast": []}
    for _ in range(rounds):
        for seq in seqs:
            field.reset()
            field.update(seq.prev)
            t0 = time.perf_counter()
            field.update(seq.next)
            t1 = time.perf_counter()
            dis.calc(seq.prev, seq.next, out)
            t2 = time.perf_counter()
            times["ours"].append(t1 - t0)
            times["dis_ultrafast"].append(t2 - t1)
    return times


def accuracy(seqs: list[Sequence]) -> list[dict[str, float | str]]:
    """EPE per sequence over our confident cells, for ours and both DIS presets."""
    fast = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    ultra = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    rows: list[dict[str, float | str]] = []
    for seq in seqs:
        h, w = seq.prev.shape
        field = MotionField(w, h, cell=CELL)
        field.update(seq.prev)
        r = field.update(seq.next)
        assert r is not None
        mask = r.confidence >= 0.25
        ours = endpoint_error(r.flow.astype(np.float64), seq, CELL, mask)
        out = np.zeros((h, w, 2), np.float32)
        f = sample_dense(np.asarray(fast.calc(seq.prev, seq.next, out)), r.rows, r.cols, CELL)
        u = sample_dense(np.asarray(ultra.calc(seq.prev, seq.next, out)), r.rows, r.cols, CELL)
        rows.append(
            {
                "sequence": seq.name,
                "confident": float(mask.mean()),
                "epe_ours": ours,
                "epe_dis_fast": endpoint_error(f, seq, CELL, mask),
                "epe_dis_ultrafast": endpoint_error(u, seq, CELL, mask),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds (CI)")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds")
    parser.add_argument("--out", default=str(RESULTS / "flow.json"), help="JSON results")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rounds = args.rounds or (5 if args.quick else 40)
    seqs = make_sequences()
    time_pair(seqs, 1)  # warm-up
    times = time_pair(seqs, rounds)
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    ratio_best = best["dis_ultrafast"] / best["ours"]
    ratio_median = median["dis_ultrafast"] / median["ours"]
    acc = accuracy(seqs)

    print(f"\n640x360, {CELL}-px grid, one thread, {rounds} rounds x {len(seqs)} pairs\n")
    print("| method | best ms/pair | median ms/pair |")
    print("|---|---:|---:|")
    print(f"| MotionField.update (ours) | {best['ours'] * 1e3:.3f} | {median['ours'] * 1e3:.3f} |")
    print(
        f"| DIS ultrafast | {best['dis_ultrafast'] * 1e3:.3f} | "
        f"{median['dis_ultrafast'] * 1e3:.3f} |"
    )
    print(f"| **speed-up** | **{ratio_best:.1f}x** | **{ratio_median:.1f}x** |\n")
    print("| sequence | confident cells | EPE ours | EPE DIS fast | EPE DIS ultrafast |")
    print("|---|---:|---:|---:|---:|")
    for row in acc:
        print(
            f"| {row['sequence']} | {row['confident']:.0%} | {row['epe_ours']:.3f} | "
            f"{row['epe_dis_fast']:.3f} | {row['epe_dis_ultrafast']:.3f} |"
        )
    report = {
        "version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "opencv": cv2.__version__,
        "size": [640, 360],
        "cell": CELL,
        "rounds": rounds,
        "best_ms": {k: v * 1e3 for k, v in best.items()},
        "median_ms": {k: v * 1e3 for k, v in median.items()},
        "speedup_best": ratio_best,
        "speedup_median": ratio_median,
        "accuracy": acc,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
