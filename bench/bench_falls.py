"""person_down on the real dev clips via ``vsa-stream scan``: alert time against the truth.

Usage (from the repository root, ../shared beside it)::

    python bench/bench_falls.py [--no-pose] [--min-down-s 1] [--json out.json] [--quick] [CLIP ...]

Each clip of ``../shared/data/dev/falls`` and ``daily`` is scanned with YOLOX-nano (10
detections per second), the ``person_down`` rule and, unless ``--no-pose``, the MoveNet pose
model; a fall counts as caught when an alert opens by ``from_s + min_down_s + 2`` s, a daily
clip must have none. Pose cost comes from the scan's log (crops and their time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEV = SHARED / "data" / "dev"

CONFIG = """
privacy: {{legal_profile: lab}}
detectors:
  - id: people
    model: {{path: {models}/yolox_nano.onnx}}
    fps: 10
{pose}
cameras:
  - id: clip
    url: clip
    fps: 10
    rules:
      - {{type: person_down, min_down_s: {min_down_s}}}
"""


def scan(clip: Path, config: Path, out: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Scan ``clip``; its opened person_down events and the pose statistics from the log."""
    if out.exists():
        out.unlink()
    cmd = [sys.executable, "-m", "vsa_stream", "scan", str(clip), "--config", str(config)]
    cmd += ["--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"scan of {clip.name} failed: {run.stderr[-2000:]}")
    stats: dict[str, float] = {}
    for line in run.stderr.splitlines():
        if "camera finished" in line and "pose_crops" in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            stats = {"crops": record["pose_crops"], "pose_s": record["pose_s"]}
    events = []
    if out.exists():
        for line in out.read_text().splitlines():
            event = json.loads(line)
            if event["type"] == "person_down" and event["state"] == "open":
                events.append(event)
    return events, stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", help="clip names as in truth.json (default: all)")
    parser.add_argument("--no-pose", action="store_true")
    parser.add_argument("--min-down-s", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="one fall and one daily clip (CI checks it runs)"
    )
    args = parser.parse_args()
    truth = json.loads((DEV / "truth.json").read_text())
    names = args.clips or [k for k in truth if k.startswith(("falls/", "daily/"))]
    if args.quick and not args.clips:
        names = [next(n for n in names if n.startswith(p)) for p in ("falls/", "daily/")]
    pose = ""
    if not args.no_pose:
        pose = f"pose: {{model: {SHARED}/models/pose/movenet_singlepose_lightning_int8_4.onnx}}"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "falls.yaml"
        config.write_text(
            CONFIG.format(models=SHARED / "models", pose=pose, min_down_s=args.min_down_s)
        )
        for name in names:
            entry = truth[name]
            started = time.perf_counter()
            events, stats = scan(DEV / name, config, Path(tmp) / "events.jsonl")
            elapsed = time.perf_counter() - started
            alerts = [round(float(e["evidence"]["stream_time_s"]), 2) for e in events]
            situations = [s for s in entry["situations"] if s["type"] == "person_down"]
            if situations:
                truth_s = situations[0]["from_s"]
                deadline = truth_s + args.min_down_s + 2.0
                ok = any(t <= deadline for t in alerts)
                expect = f"from {truth_s} (by {deadline:.1f})"
            else:
                ok, expect = not alerts, "none"
            rows.append(
                {
                    "clip": name,
                    "expect": expect,
                    "alerts_s": alerts,
                    "ok": ok,
                    "duration_s": entry["duration_s"],
                    "scan_s": round(elapsed, 1),
                    **stats,
                }
            )
            print(
                f"| {name} | {expect} | {alerts or '-'} | {'ok' if ok else 'MISS/FP'} | "
                f"{stats.get('crops', '-')} | {stats.get('pose_s', '-')} |",
                flush=True,
            )
    falls = [r for r in rows if r["clip"].startswith("falls/")]
    daily = [r for r in rows if r["clip"].startswith("daily/")]
    print(
        f"falls caught in time: {sum(r['ok'] for r in falls)}/{len(falls)}; "
        f"daily clips without alert: {sum(r['ok'] for r in daily)}/{len(daily)}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
