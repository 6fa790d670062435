"""Soak: N live streams from ffmpeg on loopback, each server killed and restarted periodically.

Each stream is served by Debian's ``ffmpeg -re -stream_loop -1 ... -f mpegts -listen 1
http://...``; stream ``i``'s server is killed and started again every ``--restart-every``
seconds (staggered across streams). The engine runs the whole time, in this process, with the
default supervision settings except ``healthy_after_s`` (half the restart period, at most 60 s:
otherwise a camera restarted every minute never counts as healthy and its backoff grows).

Reported over time: resident memory (RSS), open file descriptors, native threads; and at the
end: RSS growth after warm-up, descriptor and thread growth, the reconnection delay (server
started again → first frame decoded), the event-loop lag p99 (a 50 ms sleeper's overshoot),
frames decoded and offline events. Goals (issue 8): RSS growth < 5 % after warm-up, no
descriptor or thread growth, reconnection within 2 s, loop lag p99 < 50 ms with 8 streams.

Prints a Markdown table and writes ``bench/results/soak.json``.

Usage: ``python bench/soak.py [--quick] [--streams N] [--minutes M] [--restart-every S]``
(``--quick``: 2 streams, 2 minutes, a restart every 20 s: what ``make bench-quick`` runs in CI).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
import anyio.to_thread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import anyio.lowlevel

from loopback import FfmpegServer
from vsa_stream import __version__
from vsa_stream import config as config_mod
from vsa_stream.engine import Engine
from vsa_stream.events import Event
from vsa_stream.log import configure_logging
from vsa_stream.sinks import Sink
from vsa_stream.synth import render

RESULTS = Path(__file__).resolve().parent / "results"
_LAG_PERIOD_S = 0.05


@dataclass(slots=True)
class Sample:
    t_s: float
    rss_mib: float
    fds: int
    threads: int
    streaming: int
    decoded: int


class CountingSink(Sink):
    name = "count"

    def __init__(self) -> None:
        self.by_type: dict[str, int] = {}

    async def send(self, event: Event) -> None:
        self.by_type[event.type] = self.by_type.get(event.type, 0) + 1

    async def aclose(self) -> None:
        pass


def _proc_status(field: str) -> int:
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def soak(
    video: Path, streams: int, seconds: float, restart_every: float, sample_every: float
) -> dict[str, object]:
    servers = [FfmpegServer(video) for _ in range(streams)]
    try:
        return await _run(servers, video, streams, seconds, restart_every, sample_every)
    finally:
        for server in servers:
            server.kill()


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


async def _run(
    servers: list[FfmpegServer],
    video: Path,
    streams: int,
    seconds: float,
    restart_every: float,
    sample_every: float,
) -> dict[str, object]:
    for server in servers:
        await anyio.to_thread.run_sync(server.start)
    healthy = min(60.0, restart_every / 2)
    cameras = "\n".join(
        f"  - {{id: s{i}, url: '{s.url}', fps: 10, supervision: {{healthy_after_s: {healthy}}}}}"
        for i, s in enumerate(servers)
    )
    events = video.parent / "events.jsonl"  # validated only: the sink below counts
    # live streams under fr-2023: an authorisation covering the soak (a day each side of now)
    start, end = time.time() - 86400, time.time() + 86400
    ids = ", ".join(f"s{i}" for i in range(len(servers)))
    authorisation = (
        f"authorisations: [{{reference: soak, start: '{_iso(start)}', end: '{_iso(end)}', "
        f"cameras: [{ids}], situations: [intrusion]}}]"
    )
    cfg = config_mod.loads(
        f"cameras:\n{cameras}\nsinks: {{jsonl: {{path: '{events}'}}}}\n{authorisation}"
    )
    sink = CountingSink()
    engine = Engine(cfg, [sink])
    samples: list[Sample] = []
    lags: list[float] = []
    restarts: list[tuple[int, float]] = []  # (stream, monotonic time the server was back)
    delays: list[float] = []  # server back -> streaming again, per restart
    started = time.monotonic()

    async def measure_lag() -> None:
        while True:
            before = time.perf_counter()
            await anyio.sleep(_LAG_PERIOD_S)
            lags.append(time.perf_counter() - before - _LAG_PERIOD_S)

    async def sample() -> None:
        while True:
            statuses = [p.status for p in engine._pipelines]
            samples.append(
                Sample(
                    t_s=round(time.monotonic() - started, 1),
                    rss_mib=round(_proc_status("VmRSS") / 1024, 1),
                    fds=len(os.listdir("/proc/self/fd")),
                    threads=_proc_status("Threads"),
                    streaming=sum(s.state == "streaming" for s in statuses),
                    decoded=sum(s.decoded for s in statuses),
                )
            )
            await anyio.sleep(sample_every)

    async def restart() -> None:
        offsets = [restart_every * (1 + i / streams) for i in range(streams)]
        next_at = [started + o for o in offsets]
        while True:
            i = min(range(streams), key=lambda k: next_at[k])
            await anyio.sleep(max(0.0, next_at[i] - time.monotonic()))
            await anyio.to_thread.run_sync(servers[i].kill)
            await anyio.to_thread.run_sync(servers[i].start)
            back = time.monotonic()
            restarts.append((i, back))
            tg.start_soon(watch_reconnect, i, back)
            next_at[i] += restart_every

    async def watch_reconnect(i: int, back: float) -> None:
        """Record when stream ``i`` is streaming again after its server came back at ``back``
        (read from its state history while that is still recent)."""
        status = engine._pipelines[i].status
        deadline = back + restart_every
        while time.monotonic() < deadline:
            after = [t for t, state in status.history if state == "streaming" and t >= back]
            if after:
                delays.append(after[0] - back)
                return
            await anyio.sleep(0.05)

    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        tg.start_soon(measure_lag)
        tg.start_soon(sample)
        tg.start_soon(restart)
        await anyio.sleep(seconds)
        engine.stop()
        await anyio.lowlevel.checkpoint()
        tg.cancel_scope.cancel()

    warm = [s for s in samples if s.t_s >= seconds / 4] or samples
    statuses = [p.status for p in engine._pipelines]
    return {
        "samples": [asdict(s) for s in samples],
        "restarts": len(restarts),
        "reconnected": len(delays),
        "reconnect_delay_s": {
            "median": round(statistics.median(delays), 3) if delays else None,
            "p95": round(_p(delays, 0.95), 3) if delays else None,
            "max": round(max(delays), 3) if delays else None,
            "within_2s": round(sum(d <= 2.0 for d in delays) / len(delays), 3) if delays else None,
        },
        "loop_lag_ms": {
            "p50": round(_p(lags, 0.5) * 1e3, 2),
            "p99": round(_p(lags, 0.99) * 1e3, 2),
        },
        "rss_growth_after_warmup_pct": round(100 * (warm[-1].rss_mib / warm[0].rss_mib - 1), 2),
        "fd_growth_after_warmup": warm[-1].fds - warm[0].fds,
        "thread_growth_after_warmup": warm[-1].threads - warm[0].threads,
        "decoded": [s.decoded for s in statuses],
        "reconnects": [s.reconnects for s in statuses],
        "stalls": [s.stalls for s in statuses],
        "abandoned_threads": [s.abandoned_threads for s in statuses],
        "events": sink.by_type,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 streams, 2 minutes, restarts every 20 s"
    )
    parser.add_argument("--streams", type=int, default=None, help="live streams (default 8)")
    parser.add_argument("--minutes", type=float, default=None, help="duration (default 30)")
    parser.add_argument("--restart-every", type=float, default=None, help="seconds (default 60)")
    parser.add_argument("--out", default=str(RESULTS / "soak.json"), help="JSON results")
    args = parser.parse_args()
    configure_logging("error", "console")
    streams = args.streams or (2 if args.quick else 8)
    minutes = args.minutes or (2.0 if args.quick else 30.0)
    restart_every = args.restart_every or (20.0 if args.quick else 60.0)
    sample_every = max(5.0, minutes * 60 / 30)

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "walkers.mp4"
        render("walkers", video, width=320, height=240, duration_s=10.0)
        result = anyio.run(soak, video, streams, minutes * 60, restart_every, sample_every)

    print(
        f"## soak: {streams} streams, {minutes:g} min, a server restart every {restart_every:g} s\n"
    )
    print("| t (s) | RSS (MiB) | fds | threads | streaming | frames decoded |")
    print("|---:|---:|---:|---:|---:|---:|")
    for s in result["samples"]:  # type: ignore[attr-defined]
        print(
            f"| {s['t_s']:g} | {s['rss_mib']:.1f} | {s['fds']} | {s['threads']} "
            f"| {s['streaming']} | {s['decoded']} |"
        )
    delay = result["reconnect_delay_s"]
    lag = result["loop_lag_ms"]
    print()
    print("| figure | value | goal |")
    print("|---|---:|---|")
    print(f"| RSS growth after warm-up | {result['rss_growth_after_warmup_pct']} % | < 5 % |")
    print(f"| fd growth after warm-up | {result['fd_growth_after_warmup']} | 0 |")
    print(f"| thread growth after warm-up | {result['thread_growth_after_warmup']} | 0 |")
    print(
        f"| reconnection delay, median / p95 / max | {delay['median']} / {delay['p95']} / "  # type: ignore[index]
        f"{delay['max']} s ({result['reconnected']} of {result['restarts']} restarts; "  # type: ignore[index]
        f"{delay['within_2s']:.0%} within 2 s) | < 2 s |"  # type: ignore[index]
    )
    print(f"| event-loop lag p50 / p99 | {lag['p50']} / {lag['p99']} ms | p99 < 50 ms |")  # type: ignore[index]
    print(f"| events | {result['events']} | |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": __version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "streams": streams,
        "minutes": minutes,
        "restart_every_s": restart_every,
    }
    out.write_text(json.dumps({"meta": meta, **result}, indent=2))
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
