"""Statistics mode: line counts against their truth, on real detections and synthetic scenes.

Usage (from the repository root, ../shared beside it)::

    python bench/bench_statistics.py [--json out.json] [--quick]

- **Real detections** (MOT15 public detections of ``TUD-Campus`` and ``TUD-Stadtmitte``, the
  two sequences with ground truth in ``../shared/data/mot``): the detections go through the
  camera's tracker and the statistics counter (as a ``replay://`` camera does), vertical
  counting lines at a third, half and two thirds of the width; the truth is the ground-truth
  tracks through the same line kernel (same hysteresis, once per track and direction). The
  difference is what the detector and the tracker lose (missed people, identity switches).
- **Synthetic**: :mod:`vsa_stream.synth.counting` scenes (keyed persons crossing one at a
  time, the stand-in detector), scanned by ``vsa-stream scan``: counts must be exact.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from vsa_stream import _core
from vsa_stream.analyzer import Analyzer
from vsa_stream.config import Camera, MotionConfig
from vsa_stream.config.statistics import Statistics

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MOT = SHARED / "data" / "mot"
#: Sequences with ground truth: (width, height, fps).
SEQUENCES = {"TUD-Campus": (640, 480, 25.0), "TUD-Stadtmitte": (640, 480, 25.0)}

Rows = dict[int, list[tuple[int, tuple[float, float, float, float], float]]]


def read_mot(path: Path) -> Rows:
    """A MOTChallenge file: frame -> (id, xyxy box, score)."""
    out: Rows = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        f = line.strip().split(",")
        if len(f) < 7:
            continue
        x, y, w, h, s = (float(v) for v in f[2:7])
        out[int(f[0])].append((int(f[1]), (x, y, x + w, y + h), s))
    return out


def counted(det: Rows, n: int, size: tuple[int, int], fps: float, lx: float) -> dict[str, int]:
    """Crossings of the vertical line at ``lx`` (normalised) by the tracked detections."""
    stats = msgspec.convert(
        {
            "lines": [{"id": "v", "points": [[lx, 0.0], [lx, 1.0]]}],
            "classes": ["person"],
            "interval_min": 60,
            "min_count": 1,
        },
        Statistics,
    )
    analyzer = Analyzer(Camera(id="c", url="replay://x", fps=fps, statistics=stats), MotionConfig())
    for k in range(1, n + 1):
        rows = det.get(k, [])
        boxes = [b for _, b, _ in rows]
        analyzer.process_recorded(k, (k - 1) / fps, size, boxes, [s for *_, s in rows], "person")
    (event,) = analyzer.finish("end")
    assert event.statistics is not None
    return {c.direction: int(c.count) for c in event.statistics.crossings}


def truth(gt: Rows, n: int, size: tuple[int, int], lx: float, max_missed: int) -> dict[str, int]:
    """Crossings of the same line by the ground-truth tracks (same kernel and hysteresis)."""
    counter = _core.LineCounter(
        (lx * size[0], 0.0), (lx * size[0], float(size[1])), hysteresis_px=4.0,
        max_missed=max_missed,
    )  # fmt: skip
    found: set[tuple[int, int]] = set()
    for k in range(1, n + 1):
        rows = gt.get(k, [])
        ids = np.array([i for i, _, _ in rows], dtype=np.int64)
        boxes = np.array([b for _, b, _ in rows], dtype=np.float64).reshape(-1, 4)
        crossed, ways = counter.update(ids, boxes)
        found.update(zip(crossed.tolist(), ways.tolist(), strict=True))
    return {"in": sum(1 for _, w in found if w > 0), "out": sum(1 for _, w in found if w < 0)}


def real(quick: bool) -> list[dict[str, Any]]:
    rows = []
    for name, (width, height, fps) in list(SEQUENCES.items())[: 1 if quick else None]:
        det, gt = read_mot(MOT / name / "det.txt"), read_mot(MOT / name / "gt.txt")
        n = max(max(det), max(gt))
        for lx in (0.5,) if quick else (0.33, 0.5, 0.67):
            got = counted(det, n, (width, height), fps, lx)
            want = truth(gt, n, (width, height), lx, max(30, round(3 * fps)))
            rows.append({"sequence": name, "line_x": lx, "truth": want, "counted": got})
    return rows


def synthetic(quick: bool, folder: Path) -> list[dict[str, Any]]:
    from vsa_stream.synth.counting import LINE_Y, render_counting
    from vsa_stream.synth.standin import build_standin_detector

    model = build_standin_detector(folder / "standin.onnx")
    rows = []
    for down, up, turners in [(2, 1, 1)] if quick else [(3, 2, 1), (5, 4, 2), (1, 6, 0)]:
        scene = folder / f"scene-{down}-{up}-{turners}"
        _, want = render_counting(scene, down=down, up=up, turners=turners)
        config = scene / "stats.yaml"
        config.write_text(
            f"detectors: [{{id: s, model: {{path: {json.dumps(str(model))}}}, gating: false}}]\n"
            "cameras:\n  - {id: c, url: v.mp4, statistics: {lines: [{id: l, points: "
            f"[[0, {LINE_Y}], [1, {LINE_Y}]], directions: [down, up]}}], classes: [person], "
            "interval_min: 60, min_count: 1}}\n"
        )
        out = scene / "events.jsonl"
        cmd = [sys.executable, "-m", "vsa_stream", "scan", str(scene / "video.mp4")]
        cmd += ["--config", str(config), "--out", str(out)]
        subprocess.run(cmd, capture_output=True, check=True, timeout=600)
        got = {"down": 0, "up": 0}
        for line in out.read_text().splitlines():
            event = json.loads(line)
            for c in (event.get("statistics") or {}).get("crossings", []):
                got[c["direction"]] += c["count"]
        rows.append({"scene": f"{down} down, {up} up, {turners} turning back", "truth": want,
                     "counted": got})  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one sequence, one scene")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if not MOT.exists():
        print(f"{MOT} is absent (../shared holds the data sets)", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"real": real(args.quick)}
    print("| sequence | line x | truth in / out | counted in / out |")
    print("|---|---|---|---|")
    for r in results["real"]:
        t, c = r["truth"], r["counted"]
        print(f"| {r['sequence']} | {r['line_x']:.2f} | {t['in']} / {t['out']} | "
              f"{c['in']} / {c['out']} |")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        results["synthetic"] = synthetic(args.quick, Path(tmp))
    print("\n| synthetic scene | truth down / up | counted down / up |")
    print("|---|---|---|")
    exact = True
    for r in results["synthetic"]:
        t, c = r["truth"], r["counted"]
        exact &= t == c
        print(f"| {r['scene']} | {t['down']} / {t['up']} | {c['down']} / {c['up']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
