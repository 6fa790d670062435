"""Scene geometry kernels (Rust, ``vsa_stream._core``) against plain-numpy equivalents.

Each row times one batch operation both ways, interleaved over several rounds (best of N; these
machines are noisy, so only the ratio measured side by side means something):

* ``boxes_in_polygon`` — bottom-centre anchors of N boxes in a 16-vertex concave zone, against
  a vectorised numpy PNPOLY;
* ``Homography.to_ground`` — N image points through the homography, against numpy
  ``(points @ H.T)`` with the division;
* ``density_grid`` — N persons on a 200x200 ground grid with sigma 0.5 m, against numpy
  (per-person separable ``math.erf`` cell weights added as an outer product);
* ``LineCounter.update`` — one frame of N tracks (no numpy equivalent; absolute time only).

Prints a Markdown table and writes ``bench/results/geometry.json``.

Usage: ``python bench/bench_geometry.py [--quick] [--rounds N]``
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
from numpy.typing import NDArray

from vsa_stream import __version__
from vsa_stream._core import Homography, LineCounter, boxes_in_polygon, density_grid
from vsa_stream.bench.references import numpy_boxes_in_polygon

RESULTS = Path(__file__).resolve().parent / "results"
F64 = NDArray[np.float64]


def numpy_to_ground(matrix: F64, points: F64) -> F64:
    q = points @ matrix[:, :2].T + matrix[:, 2]
    out: F64 = q[:, :2] / q[:, 2:]
    return out


def numpy_density(points: F64, cell: float, shape: tuple[int, int], sigma: float) -> F64:
    grid = np.zeros(shape)
    k = math.ceil(3 * sigma / cell) + 1
    erf = np.vectorize(math.erf)
    for x, y in points:
        c0, r0 = int(x // cell) - k, int(y // cell) - k
        edges_x = np.clip((np.arange(c0, c0 + 2 * k + 2) * cell - x) / sigma, -3, 3)
        edges_y = np.clip((np.arange(r0, r0 + 2 * k + 2) * cell - y) / sigma, -3, 3)
        wx, wy = np.diff(erf(edges_x / math.sqrt(2))), np.diff(erf(edges_y / math.sqrt(2)))
        block = np.outer(wy / wy.sum(), wx / wx.sum()) / cell**2
        r, c = max(r0, 0), max(c0, 0)
        rr, cc = min(r0 + 2 * k + 1, shape[0]), min(c0 + 2 * k + 1, shape[1])
        grid[r:rr, c:cc] += block[r - r0 : rr - r0, c - c0 : cc - c0]
    return grid


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best time of ``repeat`` calls, seconds."""
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (CI)")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds")
    parser.add_argument("--out", default=str(RESULTS / "geometry.json"), help="JSON results")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    n = 2_000 if args.quick else 100_000
    persons = 50 if args.quick else 500
    rng = np.random.default_rng(0)

    angles = 2 * np.pi * (np.arange(16) + 0.8 * rng.random(16)) / 16
    radii = rng.uniform(100, 300, 16)
    polygon = np.stack([640 + radii * np.cos(angles), 360 + radii * np.sin(angles)], 1)
    x0, y0 = rng.uniform(0, 1240, n), rng.uniform(0, 620, n)
    boxes = np.stack([x0, y0, x0 + 40, y0 + 100], 1)
    assert (boxes_in_polygon(boxes, polygon) == numpy_boxes_in_polygon(boxes, polygon)).all()

    px = np.array([(100.0, 700.0), (1180.0, 700.0), (900.0, 300.0), (380.0, 300.0)])
    h = Homography(px, np.array([(0.0, 0.0), (20.0, 0.0), (20.0, 40.0), (0.0, 40.0)]))
    points = rng.uniform((0, 300), (1280, 720), (n, 2))
    np.testing.assert_allclose(h.to_ground(points), numpy_to_ground(h.matrix, points), atol=1e-9)

    ground = rng.uniform(5, 95, (persons, 2))
    shape = (200, 200)
    np.testing.assert_allclose(
        density_grid(ground, (0.0, 0.0), 0.5, shape, 0.5),
        numpy_density(ground, 0.5, shape, 0.5),
        atol=1e-9,
    )

    tracks = min(n, 500)
    ids = np.arange(tracks, dtype=np.int64)
    frame_boxes = boxes[:tracks]
    counter = LineCounter((0.0, 360.0), (1280.0, 360.0), hysteresis_px=4.0)

    cases: dict[str, tuple[Callable[[], object], Callable[[], object] | None]] = {
        f"boxes_in_polygon, {n} boxes": (
            lambda: boxes_in_polygon(boxes, polygon),
            lambda: numpy_boxes_in_polygon(boxes, polygon),
        ),
        f"Homography.to_ground, {n} points": (
            lambda: h.to_ground(points),
            lambda: numpy_to_ground(h.matrix, points),
        ),
        f"density_grid, {persons} persons, 200x200": (
            lambda: density_grid(ground, (0.0, 0.0), 0.5, shape, 0.5),
            lambda: numpy_density(ground, 0.5, shape, 0.5),
        ),
        f"LineCounter.update, {tracks} tracks": (lambda: counter.update(ids, frame_boxes), None),
    }
    best: dict[str, list[float]] = {name: [math.inf, math.inf] for name in cases}
    for _ in range(rounds):
        for name, (rust, ref) in cases.items():
            best[name][0] = min(best[name][0], best_of(rust, 3))
            if ref is not None:
                best[name][1] = min(best[name][1], best_of(ref, 3 if not args.quick else 1))

    print("| operation | Rust (ms) | numpy (ms) | numpy / Rust |")
    print("|---|---:|---:|---:|")
    rows = []
    for name, (rust_s, ref_s) in best.items():
        ratio = ref_s / rust_s if math.isfinite(ref_s) else None
        ref_text = f"{ref_s * 1e3:.3f}" if math.isfinite(ref_s) else "-"
        ratio_text = f"{ratio:.1f}x" if ratio is not None else "-"
        print(f"| {name} | {rust_s * 1e3:.3f} | {ref_text} | {ratio_text} |")
        rows.append(
            {
                "operation": name,
                "rust_ms": rust_s * 1e3,
                "numpy_ms": ref_s * 1e3 if math.isfinite(ref_s) else None,
                "ratio": ratio,
            }
        )
    report = {
        "version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": args.quick,
        "rounds": rounds,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
