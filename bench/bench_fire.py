"""Fire evidence: ms per frame of FireDetector.update vs a numpy colour rule, one thread."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vsa_stream._core import FireDetector


def numpy_rule(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The colour rule alone in numpy (no window, no score)."""
    ch, cw = u.shape
    ys = (y.reshape(ch, 2, cw, 2).astype(np.int32).sum(axis=(1, 3)) + 2) // 4
    cb, cr = u.astype(np.int32), v.astype(np.int32)
    return np.asarray(
        (ys > cb)
        & (cr > cb)
        & (ys > ys.mean())
        & (cb < cb.mean())
        & (cr > cr.mean())
        & (np.abs(cb - cr) >= 40)
    )


def main() -> None:
    """Prints a Markdown table and writes bench/results/fire.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repeats (CI)")
    args = parser.parse_args()
    reps, rounds = (20, 3) if args.quick else (200, 7)
    rng = np.random.default_rng(0)
    rows: list[dict[str, float | str]] = []
    for w, h in ((640, 360), (1280, 720)):
        y = rng.integers(0, 256, (h, w), dtype=np.uint8)
        u = rng.integers(60, 140, (h // 2, w // 2), dtype=np.uint8)
        v = rng.integers(110, 200, (h // 2, w // 2), dtype=np.uint8)
        det = FireDetector(w, h)
        best = {"rust": float("inf"), "numpy": float("inf")}
        for _ in range(rounds):
            t = time.perf_counter()
            for _ in range(reps):
                det.update(y, u, v)
            best["rust"] = min(best["rust"], (time.perf_counter() - t) / reps * 1e3)
            t = time.perf_counter()
            for _ in range(reps):
                numpy_rule(y, u, v)
            best["numpy"] = min(best["numpy"], (time.perf_counter() - t) / reps * 1e3)
        rows.append({"size": f"{w}x{h}", "rust_ms": best["rust"], "numpy_rule_ms": best["numpy"]})
    print("| size | FireDetector.update ms | numpy colour rule only ms | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        ratio = float(r["numpy_rule_ms"]) / float(r["rust_ms"])
        print(f"| {r['size']} | {r['rust_ms']:.3f} | {r['numpy_rule_ms']:.3f} | {ratio:.1f}x |")
    out = Path(__file__).resolve().parent / "results" / "fire.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
