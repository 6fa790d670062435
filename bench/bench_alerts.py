"""Alert delivery: events/s and first-delivery latency through outbox → signed webhook.

Our path is the daemon's: :class:`~vsa_stream.sinks.delivery.Delivery` commits each batch to a
file-backed outbox (SQLite WAL, ``synchronous=full``), and the webhook sink signs and POSTs each
revision (4 in flight) to a receiver on loopback. The receiver is a minimal keep-alive HTTP/1.1
server in its own process (answers 204), so it does not compete with the sender for the GIL.

Rows:

* ``sustained``: N revisions offered at a fixed rate (default 1,000/s) in batches every 10 ms:
  delivered/s and the p50 / p99 / max latency from ``accept`` to the receiver's 2xx;
* ``burst``: N revisions offered at once: delivered/s;
* anchor ``bare httpx``: the same bodies POSTed by httpx with the same concurrency, no outbox,
  no signature, no retry bookkeeping: what the HTTP client and receiver alone can do. Its ratio
  to ``burst`` is the cost of durability and signing.

Rows are interleaved over rounds (best of N for rates, median for latencies); only ratios
measured side by side mean something on a shared machine. Prints a Markdown table and writes
``bench/results/alerts.json``.

Usage: ``python bench/bench_alerts.py [--quick] [--count N] [--rate R] [--rounds N]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
import msgspec

from vsa_stream import __version__
from vsa_stream.config import WebhookEndpoint
from vsa_stream.events import Event
from vsa_stream.loadgen import synthetic_event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.sinks.webhook import WebhookSink

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdef").decode()
CONCURRENCY = 4


# --- the receiver (its own process) --------------------------------------------------------


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


def serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Http, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the runs ------------------------------------------------------------------------------


class _TimedSink(WebhookSink):
    """The webhook sink, noting when each revision's first 2xx came back."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        super().__init__(endpoint)
        self.done: dict[str, float] = {}

    async def send(self, event: Event) -> None:
        await super().send(event)
        self.done.setdefault(event.id, time.perf_counter())


def _events(count: int, seed: int) -> list[Event]:
    return [synthetic_event(seed, i) for i in range(count)]


async def ours(url: str, events: list[Event], rate: float, folder: Path) -> dict[str, float]:
    endpoint = msgspec.convert(
        {"name": "bench", "url": url, "secrets": [SECRET], "allow_private": True},
        WebhookEndpoint,
    )
    sink = _TimedSink(endpoint)
    box = Outbox(folder / f"outbox-{time.monotonic_ns()}.sqlite3")
    delivery = Delivery(box, [sink], Metrics(), drain_s=600)
    accepted: dict[str, float] = {}
    started = time.perf_counter()

    async def offer() -> None:
        batch = max(1, round(rate * 0.01)) if rate > 0 else len(events)
        for i in range(0, len(events), batch):
            chunk = events[i : i + batch]
            now = time.perf_counter()
            for e in chunk:
                accepted[e.id] = now
            await delivery.accept(chunk)
            if rate > 0:
                await anyio.sleep_until(
                    anyio.current_time()
                    + max(0.0, started + (i + batch) / rate - time.perf_counter())
                )
        delivery.finish()

    async with anyio.create_task_group() as tg:
        tg.start_soon(delivery.run)
        tg.start_soon(offer)
    await sink.aclose()
    box.close()
    assert len(sink.done) == len(events), "every revision delivered"
    latencies = sorted(sink.done[k] - accepted[k] for k in accepted)
    elapsed = max(sink.done.values()) - started
    return {
        "per_s": len(events) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": 1000 * latencies[-1],
    }


async def bare(url: str, events: list[Event]) -> dict[str, float]:
    bodies = [msgspec.json.encode(e) for e in events]
    limiter = anyio.Semaphore(CONCURRENCY)
    started = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

        async def post(body: bytes) -> None:
            async with limiter:
                r = await client.post(
                    url, content=body, headers={"content-type": "application/json"}
                )
                assert r.status_code == 204

        async with anyio.create_task_group() as tg:
            for body in bodies:
                await limiter.acquire()
                limiter.release()
                tg.start_soon(post, body)
    return {"per_s": len(events) / (time.perf_counter() - started)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (CI)")
    parser.add_argument("--count", type=int, help="revisions per run (default 5000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="sustained rate offered, /s")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--out", default=str(RESULTS / "alerts.json"), help="JSON results")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    count = args.count or (200 if args.quick else 5000)
    rounds = args.rounds or (1 if args.quick else 3)
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    url = f"http://127.0.0.1:{port}/hook"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        runs: dict[str, list[dict[str, float]]] = {"sustained": [], "burst": [], "bare": []}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(rounds):
                runs["sustained"].append(
                    anyio.run(ours, url, _events(count, 3 * r), args.rate, Path(tmp))
                )
                runs["burst"].append(
                    anyio.run(ours, url, _events(count, 3 * r + 1), 0.0, Path(tmp))
                )
                runs["bare"].append(anyio.run(bare, url, _events(count, 3 * r + 2)))
    finally:
        server.terminate()
        server.wait()

    def best(name: str) -> float:
        return max(x["per_s"] for x in runs[name])

    def median(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    anchor = best("bare")
    rows = [
        (f"sustained, {args.rate:g}/s offered", best("sustained"), median("sustained", "p50_ms"),
         median("sustained", "p99_ms"), median("sustained", "max_ms")),
        ("burst (all at once)", best("burst"), median("burst", "p50_ms"),
         median("burst", "p99_ms"), median("burst", "max_ms")),
    ]  # fmt: skip
    print(f"\n{count} revisions, {CONCURRENCY} in flight, best/median of {rounds} rounds\n")
    print("| run | delivered/s | × bare httpx | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, per_s, p50, p99, worst in rows:
        print(
            f"| {name} | {per_s:,.0f} | {per_s / anchor:.2f} "
            f"| {p50:.1f} | {p99:.1f} | {worst:.1f} |"
        )
    print(f"| anchor: bare httpx POSTs | {anchor:,.0f} | 1.00 | | | |")
    report = {
        "version": __version__,
        "machine": platform.platform(),
        "count": count,
        "rate_offered": args.rate,
        "concurrency": CONCURRENCY,
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2))


if __name__ == "__main__":
    main()
