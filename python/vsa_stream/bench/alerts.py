"""``vsa-stream bench alerts``: events/s and first-delivery latency, outbox → signed webhook.

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
measured side by side mean something on a shared machine. ``bench/bench_alerts.py`` runs it
alone.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec

from vsa_stream.bench.common import Steps, fmt, table
from vsa_stream.config import WebhookEndpoint
from vsa_stream.events import Event
from vsa_stream.loadgen import synthetic_event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.sinks.webhook import WebhookSink

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


def run(
    steps: Steps,
    quick: bool,
    count: int | None = None,
    rate: float = 1000.0,
    rounds: int | None = None,
) -> dict[str, Any]:
    """Interleaved rounds of sustained, burst and bare runs; returns the report section."""
    count = count or (200 if quick else 5000)
    rounds = rounds or (1 if quick else 3)
    steps.total(3 * rounds)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "vsa_stream.bench.alerts", str(port)])
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
                steps.step(f"alerts: sustained {rate:g}/s, round {r + 1}")
                runs["sustained"].append(
                    anyio.run(ours, url, _events(count, 3 * r), rate, Path(tmp))
                )
                steps.done()
                steps.step(f"alerts: burst, round {r + 1}")
                runs["burst"].append(
                    anyio.run(ours, url, _events(count, 3 * r + 1), 0.0, Path(tmp))
                )
                steps.done()
                steps.step(f"alerts: bare httpx, round {r + 1}")
                runs["bare"].append(anyio.run(bare, url, _events(count, 3 * r + 2)))
                steps.done()
    finally:
        server.terminate()
        server.wait()

    def best(name: str) -> float:
        return max(x["per_s"] for x in runs[name])

    def median(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    anchor = best("bare")
    rows = [
        {"run": f"sustained, {rate:g}/s offered", "per_s": best("sustained"),
         "ratio": best("sustained") / anchor, "p50_ms": median("sustained", "p50_ms"),
         "p99_ms": median("sustained", "p99_ms"), "max_ms": median("sustained", "max_ms")},
        {"run": "burst (all at once)", "per_s": best("burst"), "ratio": best("burst") / anchor,
         "p50_ms": median("burst", "p50_ms"), "p99_ms": median("burst", "p99_ms"),
         "max_ms": median("burst", "max_ms")},
        {"run": "anchor: bare httpx POSTs", "per_s": anchor, "ratio": 1.0, "p50_ms": None,
         "p99_ms": None, "max_ms": None},
    ]  # fmt: skip
    return {
        "count": count,
        "rate_offered": rate,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "rows": rows,
        "runs": runs,
    }


def markdown(section: dict[str, Any]) -> str:
    """The delivery table."""
    return table(
        ["run", "delivered/s", "× bare httpx", "p50 ms", "p99 ms", "max ms"],
        [
            [r["run"], fmt(r["per_s"]), fmt(r["ratio"], "x"), fmt(r["p50_ms"]),
             fmt(r["p99_ms"]), fmt(r["max_ms"])]
            for r in section["rows"]
        ],
    )  # fmt: skip


def chart(section: dict[str, Any], path: Any) -> None:
    """Bars: delivered/s of each run."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    rows = section["rows"]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.barh([r["run"] for r in rows], [r["per_s"] for r in rows], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel("revisions delivered per second (signed webhook, 2xx received)")
    ax.set_title(f"Alert delivery, {section['count']} revisions, {CONCURRENCY} in flight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # the receiver, in its own process: python -m ... PORT
    serve(int(sys.argv[1]))
