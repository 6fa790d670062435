"""Alert delivery alone: ``vsa-stream bench alerts`` with the older script's options.

The measurement lives in :mod:`vsa_stream.bench.alerts` (outbox → signed webhook against bare
httpx). Prints the Markdown table and writes ``bench/results/alerts.json`` and ``alerts.png``.

Usage: ``python bench/bench_alerts.py [--quick] [--count N] [--rate R] [--rounds N]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vsa_stream.bench import alerts
from vsa_stream.bench.common import header, steps, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (CI)")
    parser.add_argument("--count", type=int, help="revisions per run (default 5000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="sustained rate offered, /s")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--out", default=str(RESULTS / "alerts.json"), help="JSON results")
    args = parser.parse_args()
    report = header("alerts", args.quick)
    with steps("alerts", 1) as s:
        section = alerts.run(s, args.quick, args.count, args.rate, args.rounds)
    report.update(section)
    print(alerts.markdown(section))
    out = Path(args.out)
    write_json(out, report)
    alerts.chart(section, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
