"""Scan throughput: the engine against bare PyAV decoding of the same 720p H.264 clip.

Runs, in one process and interleaved over several rounds (these machines are noisy, so only
ratios measured side by side mean something). Every engine row is compared with the bare
decode of **exactly its decoder settings**, its anchor:

* ``pyav decode, skip_loop_filter + frame threads`` — **the scan anchor**: bare
  ``for frame in container.decode(video=0)`` with the decoder settings of ``vsa-stream scan``
  (deblocking skipped, FFmpeg frame threads, which fill every core);
* ``pyav decode, skip_loop_filter, decoder's own threads`` — **the live anchor**: the settings of
  a live camera's pipeline (``thread_count`` 0 and PyAV's default slice threading: one core for
  a single-slice stream);
* ``engine scan, frame threads`` rows (scan anchor) — ``vsa-stream scan``'s path at the default
  analysis rate (10 fps), on every decoded frame, and with every detector-less situation (the
  flow, fire and static-object kernels on). Frame threads leave no spare core: these ratios are
  the whole cost of the analysis;
* ``engine, live-camera decoder`` rows (live anchor) — the same three cameras through the live
  pipeline's decoder settings (the file not paced, no frame dropped): the analysis thread can
  hide behind the decode thread when a second core is free;
* ``probe`` — two live-settings decodes at once, against one: how much of a second core the
  machine gave (2.00x: a whole one; 1.00x: none), which bounds what the live rows can hide;
* ``pyav decode`` (PyAV's defaults) and ``frame threads`` with deblocking — labelled reference
  rows (the README's old "1.42x" compared the engine with the default decode).

Each run reports frames per second (median of the rounds), its ratio to the anchor (median of
the per-round ratios: each round measures both sides within seconds of each other) and its
process CPU per decoded frame (every thread counted; on a shared machine CPU per frame moves
less than wall time). The load average is recorded at the start and end.

With ``--stages`` it also measures where the time goes (:mod:`vsa_stream.bench.stages`): the
decoder's CPU per frame and each analysis stage's per analysed frame, one thread.

Prints Markdown tables and writes ``bench/results/scan.json``. The measurement itself is
:mod:`vsa_stream.bench.scan`, also run by ``vsa-stream bench scan`` (and ``bench all``).

Usage: ``python bench/bench_scan.py [--quick] [--video FILE] [--rounds N] [--stages]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vsa_stream.bench import scan
from vsa_stream.bench.common import header, steps, write_json
from vsa_stream.log import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny clip, one round (CI)")
    parser.add_argument("--video", help="clip to scan (default: a synthetic 720p 'walkers')")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (median)")
    parser.add_argument("--stages", action="store_true", help="also the per-stage profile")
    parser.add_argument("--out", default=str(RESULTS / "scan.json"), help="JSON results")
    args = parser.parse_args()
    configure_logging("warning", "console")
    report = header("scan", args.quick)
    with steps("scan", 0, show=False) as s:
        section = scan.run(s, args.quick, video=args.video, rounds=args.rounds, stages=args.stages)
    report.update(section)
    print(f"\nScan throughput, {scan.markdown(section)}")
    write_json(Path(args.out), report)
    print(f"\nJSON: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
