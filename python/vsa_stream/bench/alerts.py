"""``vsa-stream bench alerts``: events/s and first-delivery latency through outbox → signed webhook.

Our path is the daemon's: :class:`~vsa_stream.sinks.delivery.Delivery` commits each batch to a
file-backed outbox (SQLite WAL, ``synchronous=full``), and the webhook sink signs and POSTs each
revision (the endpoint's default concurrency in flight) to a receiver on loopback. The receiver
is a minimal keep-alive HTTP/1.1 server in its own process (answers 204), so it does not compete
with the sender for the GIL.

The offered load comes from the sender's process, as the engine's alerts do in the daemon:
the revisions are built before the clock starts, and the offering task only calls
``Delivery.accept`` (the commit, the daemon's own work) once per 10 ms batch and sleeps in
between: one wake-up per batch is all it adds.

Rows:

* ``sustained``: N revisions offered at a fixed rate (default 1,000/s) in batches every 10 ms:
  delivered/s and the p50 / p99 / max latency from ``accept`` to the receiver's 2xx;
* ``sustained, slow receiver``: the same with a receiver that answers after 10 ms (a distant
  or busy integrator): what the number of requests in flight buys;
* ``burst``: N revisions offered at once: delivered/s;
* anchor ``bare client``: the same bodies POSTed by the sink's HTTP/1.1 client with the same
  concurrency, no outbox, no signature, no retry bookkeeping: its ratio to ``burst`` is the
  cost of durability and signing;
* anchor ``bare httpx``: the same with httpx (the client the sink used before).

Rows are interleaved over rounds; rates are the best of N with the range over rounds,
latencies the median of N with the range of p99, and the sender process's CPU time per
revision (all its threads; the least over rounds), which other sessions' load disturbs less than
rates. Only ratios measured side by side mean
something on a shared machine; the load average is recorded with the figures.
``bench/bench_alerts.py`` runs it alone.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import msgspec

from vsa_stream.bench.common import Steps, anchor, fmt, table
from vsa_stream.cli.loadgen import synthetic_event
from vsa_stream.config import WebhookEndpoint
from vsa_stream.events import Event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.sinks.http1 import Http1Client
from vsa_stream.sinks.webhook import WebhookSink

SECRET = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdef").decode()

SLOW_MS = 10.0


def _endpoint(url: str) -> WebhookEndpoint:
    return msgspec.convert(
        {"name": "bench", "url": url, "secrets": [SECRET], "allow_private": True},
        WebhookEndpoint,
    )


# The endpoint's default: what a configuration that says nothing gets.
CONCURRENCY = _endpoint("http://127.0.0.1/").concurrency


# --- the receiver (its own process) --------------------------------------------------------


class _Http(asyncio.Protocol):
    delay_s = 0.0

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
            if self.delay_s:
                asyncio.get_running_loop().call_later(self.delay_s, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


def serve(port: int, delay_ms: float) -> None:
    _Http.delay_s = delay_ms / 1000

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


def _cpu_us(since: float, count: int) -> float:
    """CPU time of this process (every thread) per revision since ``since``, microseconds."""
    return 1e6 * (time.process_time() - since) / count


def _events(count: int, seed: int) -> list[Event]:
    return [synthetic_event(seed, i) for i in range(count)]


async def ours(url: str, events: list[Event], rate: float, folder: Path) -> dict[str, float]:
    sink = _TimedSink(_endpoint(url))
    box = Outbox(folder / f"outbox-{time.monotonic_ns()}.sqlite3")
    delivery = Delivery(box, [sink], Metrics(), drain_s=600)
    accepted: dict[str, float] = {}
    started = time.perf_counter()
    cpu = time.process_time()

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
        "cpu_us": _cpu_us(cpu, len(events)),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": 1000 * latencies[-1],
    }


async def bare_client(url: str, events: list[Event]) -> dict[str, float]:
    bodies = [msgspec.json.encode(e) for e in events]
    client = Http1Client(url, max_connections=CONCURRENCY)
    limiter = anyio.Semaphore(CONCURRENCY)
    started = time.perf_counter()
    cpu = time.process_time()

    async def post(body: bytes) -> None:
        try:
            r = await client.post(body, [("content-type", "application/json")])
            assert r.status == 204
        finally:
            limiter.release()

    async with anyio.create_task_group() as tg:
        for body in bodies:
            await limiter.acquire()
            tg.start_soon(post, body)
    elapsed = time.perf_counter() - started
    await client.aclose()
    return {"per_s": len(events) / elapsed, "cpu_us": _cpu_us(cpu, len(events))}


async def bare_httpx(url: str, events: list[Event]) -> dict[str, float]:
    httpx = anchor("httpx")  # the bench extra's: the daemon does not use it
    bodies = [msgspec.json.encode(e) for e in events]
    limiter = anyio.Semaphore(CONCURRENCY)
    started = time.perf_counter()
    cpu = time.process_time()
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
    elapsed = time.perf_counter() - started
    return {"per_s": len(events) / elapsed, "cpu_us": _cpu_us(cpu, len(events))}


def _start_receiver(delay_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "vsa_stream.bench.alerts", str(port), str(delay_ms)]
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}/hook"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


_LABELS = {
    "sustained": "sustained, {rate:g}/s offered",
    "slow": "sustained, {rate:g}/s, receiver answers in {slow:g} ms",
    "burst": "burst (all at once)",
    "bare": "anchor: bare client POSTs",
    "bare_httpx": "anchor: bare httpx POSTs",
}


def run(
    steps: Steps,
    quick: bool,
    count: int | None = None,
    rate: float = 1000.0,
    rounds: int | None = None,
) -> dict[str, Any]:
    """Interleaved rounds of every row; returns the report section."""
    count = count or (200 if quick else 5000)
    rounds = rounds or (1 if quick else 3)
    names = list(_LABELS)
    steps.total(len(names) * rounds)
    fast, url = _start_receiver(0.0)
    slow, slow_url = _start_receiver(SLOW_MS)
    load_before = _load()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for r in range(rounds):
                seed = len(names) * r
                plan = {
                    "sustained": lambda s: anyio.run(ours, url, _events(count, s), rate, folder),
                    "slow": lambda s: anyio.run(ours, slow_url, _events(count, s), rate, folder),
                    "burst": lambda s: anyio.run(ours, url, _events(count, s), 0.0, folder),
                    "bare": lambda s: anyio.run(bare_client, url, _events(count, s)),
                    "bare_httpx": lambda s: anyio.run(bare_httpx, url, _events(count, s)),
                }
                for k, name in enumerate(names):
                    steps.step(f"alerts: {name}, round {r + 1}")
                    runs[name].append(plan[name](seed + k))
                    steps.done()
    finally:
        for server in (fast, slow):
            server.terminate()
            server.wait()
    anchor = max(x["per_s"] for x in runs["bare"])
    rows = []
    for name in names:
        got = [x["per_s"] for x in runs[name]]
        row: dict[str, Any] = {
            "run": _LABELS[name].format(rate=rate, slow=SLOW_MS),
            "per_s": max(got),
            "per_s_min": min(got),
            "ratio": max(got) / anchor,
            "cpu_us": min(x["cpu_us"] for x in runs[name]),
            "p50_ms": None,
            "p99_ms": None,
            "max_ms": None,
        }
        if "p99_ms" in runs[name][0]:
            for key in ("p50_ms", "p99_ms", "max_ms"):
                row[key] = statistics.median(x[key] for x in runs[name])
        rows.append(row)
    return {
        "count": count,
        "rate_offered": rate,
        "slow_receiver_ms": SLOW_MS,
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "rows": rows,
        "runs": runs,
    }


def markdown(section: dict[str, Any]) -> str:
    """The delivery table."""
    return table(
        ["run", "delivered/s", "range", "× bare client", "CPU µs/revision", "p50 ms",
         "p99 ms", "max ms"],
        [
            [r["run"], fmt(r["per_s"]), f"{fmt(r['per_s_min'])}-{fmt(r['per_s'])}",
             fmt(r["ratio"], "x"), fmt(r["cpu_us"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
             fmt(r["max_ms"])]
            for r in section["rows"]
        ],
    )  # fmt: skip


def chart(section: dict[str, Any], path: Any) -> None:
    """Bars: delivered/s of each run."""
    from vsa_stream.bench.common import pyplot

    plt = pyplot()
    rows = section["rows"]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.barh([r["run"] for r in rows], [r["per_s"] for r in rows], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlabel("revisions delivered per second (signed webhook, 2xx received)")
    ax.set_title(f"Alert delivery, {section['count']} revisions, {CONCURRENCY} in flight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # a receiver, in its own process: python -m ... PORT DELAY_MS
    serve(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
