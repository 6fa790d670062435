"""Scan throughput: the engine against bare PyAV decoding of the same 720p H.264 clip.

Runs, in one process and interleaved over several rounds (these machines are noisy, so only
ratios measured side by side mean something):

* ``pyav decode`` — the anchor and ceiling: ``for frame in container.decode(video=0)``,
  PyAV's defaults;
* ``pyav decode, skip_loop_filter`` — the same with the deblocking filter skipped;
* ``pyav decode, frame threads`` and both — what FFmpeg's frame threading adds (the engine's
  scan uses both options; a live camera uses skip_loop_filter only);
* ``engine scan`` — ``vsa-stream scan``'s path: decode thread + zero-copy luma view + Rust
  motion kernel + zone check + intrusion rule, at the default analysis rate (10 fps);
* ``engine scan, every frame`` — the same analysing every decoded frame.

Prints a Markdown table and writes ``bench/results/scan.json``.

Usage: ``python bench/bench_scan.py [--quick] [--video FILE] [--rounds N]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import av
import msgspec

from vsa_stream import __version__
from vsa_stream import config as config_mod
from vsa_stream.engine import Engine
from vsa_stream.events import Event
from vsa_stream.log import configure_logging
from vsa_stream.synth import render

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = """\
privacy: {{legal_profile: lab}}
cameras:
  - id: bench
    url: {url}
    fps: {fps}
    zones:
      - id: restricted
        polygon: [[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]
    rules:
      - {{type: intrusion, zones: [restricted], min_dwell_s: 1.0}}
sinks: {{stdout: {{}}}}
"""


class _Count:
    name = "count"

    def __init__(self) -> None:
        self.events = 0

    async def send(self, event: Event) -> None:
        self.events += 1

    async def aclose(self) -> None:
        pass


def bare_decode(path: str, skip_loop_filter: bool, frame_threads: bool) -> tuple[int, float]:
    """Frames decoded and seconds taken by plain PyAV."""
    started = time.perf_counter()
    with av.open(path) as container:
        stream = container.streams.video[0]
        if skip_loop_filter:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        if frame_threads:
            stream.codec_context.thread_type = "AUTO"
        frames = sum(1 for _ in container.decode(stream))
    return frames, time.perf_counter() - started


def engine_scan(path: str, fps: float) -> tuple[int, float]:
    """Frames decoded and seconds taken by the engine scanning the file."""
    cfg = config_mod.loads(CONFIG.format(url=json.dumps(path), fps=fps))
    engine = Engine(cfg, [_Count()], scan=True)
    started = time.perf_counter()
    result = anyio.run(engine.run)
    elapsed = time.perf_counter() - started
    status = result.cameras[0]
    if status.state == "failed":
        raise RuntimeError(status.error)
    return status.decoded, elapsed


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny clip, one round (CI)")
    parser.add_argument("--video", help="clip to scan (default: a synthetic 720p 'walkers')")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (best of)")
    parser.add_argument("--out", default=str(RESULTS / "scan.json"), help="JSON results")
    args = parser.parse_args()
    configure_logging("warning", "console")
    rounds = args.rounds or (1 if args.quick else 5)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.video
        if path is None:
            path = os.path.join(tmp, "walkers.mp4")
            size = (320, 180) if args.quick else (1280, 720)
            duration = 2.0 if args.quick else 20.0
            print(f"rendering a {size[0]}x{size[1]} clip of {duration:g} s...", file=sys.stderr)
            render(
                "walkers",
                path,
                width=size[0],
                height=size[1],
                duration_s=duration,
                encoding="camera",
            )
        with av.open(path) as c:
            s = c.streams.video[0]
            clip = {
                "path": path if args.video else "synthetic walkers, H.264 High (camera-like)",
                "width": s.codec_context.width,
                "height": s.codec_context.height,
                "codec": s.codec_context.name,
                "fps": float(s.average_rate or 0),
                "frames": s.frames,
            }

        runs: dict[str, Callable[[], tuple[int, float]]] = {
            "pyav decode (anchor)": lambda: bare_decode(path, False, False),
            "pyav decode, skip_loop_filter": lambda: bare_decode(path, True, False),
            "pyav decode, frame threads": lambda: bare_decode(path, False, True),
            "pyav decode, skip_loop_filter + frame threads": lambda: bare_decode(path, True, True),
            "engine scan (analysis 10 fps)": lambda: engine_scan(path, 10.0),
            "engine scan (every frame)": lambda: engine_scan(path, 120.0),
        }
        best: dict[str, float] = {}
        samples: dict[str, list[float]] = {name: [] for name in runs}
        frames_of: dict[str, int] = {}
        for r in range(rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                frames, elapsed = runs[name]()
                fps = frames / elapsed
                samples[name].append(fps)
                frames_of[name] = frames
                best[name] = max(best.get(name, 0.0), fps)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr)

    anchor = best["pyav decode (anchor)"]
    print(
        f"\nScan throughput, {clip['width']}x{clip['height']} {clip['codec']}, "
        f"{frames_of['pyav decode (anchor)']} frames, best of {rounds} interleaved rounds\n"
    )
    print("| run | frames/s | × bare decode |")
    print("|---|---:|---:|")
    for name in runs:
        print(f"| {name} | {best[name]:.1f} | {best[name] / anchor:.2f} |")
    report = {
        "benchmark": "scan",
        "version": __version__,
        "git": _git_revision(),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
            "libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ()))),
        },
        "clip": clip,
        "rounds": rounds,
        "runs": {
            name: {
                "best_fps": best[name],
                "samples_fps": samples[name],
                "frames": frames_of[name],
                "ratio_to_bare_decode": best[name] / anchor,
            }
            for name in runs
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
