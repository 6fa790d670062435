"""Cluster control plane: assignment balance and cost, KV reads, alert publishing.

Rows, each beside its anchor in the same run:

* ``assign``: :func:`~vsa_stream.cluster.assign` of N cameras over K nodes (rendezvous hashing
  with capacity): milliseconds per full computation (the assigner does one per round), the
  largest node's load over the mean, and the share of cameras that move when one node is lost
  (ideal: 1/K). Anchor: ``hash mod K`` (as fast as it gets, but moves almost every camera).
* ``read``: reading N assignments from a real ``nats-server`` (started here, one server) as a
  worker does each round (:func:`~vsa_stream.cluster.store.read_all`, one ordered consumer).
  Anchor: N ``kv.get`` calls, one request each.
* ``publish``: N revisions through :class:`~vsa_stream.cluster.alerts.AlertStreamSink` (one at
  a time, each acknowledged by JetStream, with ``Nats-Msg-Id``). Anchor: bare ``js.publish`` of
  the same bodies, no headers.

Only ratios measured side by side mean something on a shared machine. Prints a Markdown table
and writes ``bench/results/cluster.json``. Needs ``nats-server`` (Debian package) for the
``read`` and ``publish`` rows.

Usage: ``python bench/bench_cluster.py [--quick] [--cameras N] [--nodes K]``
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import msgspec

from vsa_stream import __version__
from vsa_stream.cluster import assign
from vsa_stream.cluster.alerts import AlertStreamSink
from vsa_stream.cluster.store import (
    Assignment,
    ClusterOptions,
    ClusterStore,
    connect,
    encode,
    read_all,
)
from vsa_stream.loadgen import synthetic_event

RESULTS = Path(__file__).resolve().parent / "results"


def _mod_assign(cameras: list[str], nodes: list[str]) -> dict[str, str]:
    k = len(nodes)
    return {
        c: nodes[int.from_bytes(hashlib.blake2b(c.encode(), digest_size=8).digest()) % k]
        for c in cameras
    }


def bench_assign(n: int, k: int) -> dict[str, float]:
    cameras = [f"cam-{i:05d}" for i in range(n)]
    nodes = {f"node-{j:02d}": n for j in range(k)}
    names = sorted(nodes)
    started = time.perf_counter()
    placed = assign(cameras, nodes)
    ours_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    anchor = _mod_assign(cameras, names)
    anchor_ms = (time.perf_counter() - started) * 1000
    load = Counter(placed.values())
    lost = names[0]
    after = assign(cameras, {m: c for m, c in nodes.items() if m != lost})
    moved = sum(1 for c in cameras if placed[c] != after[c]) / n
    anchor_after = _mod_assign(cameras, names[1:])
    anchor_moved = sum(1 for c in cameras if anchor[c] != anchor_after[c]) / n
    return {
        "cameras": n,
        "nodes": k,
        "ms": ours_ms,
        "anchor_ms": anchor_ms,
        "max_over_mean": max(load.values()) / (n / k),
        "moved_on_loss": moved,
        "anchor_moved_on_loss": anchor_moved,
        "ideal_moved": 1 / k,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bench_nats(url: str, n: int, rounds: int) -> dict[str, float]:
    nc = await connect([url], name="bench")
    store = await ClusterStore(nc, ClusterOptions(servers=[url], node_id="bench")).open()
    for i in range(n):
        await store.assign.put(f"cam.cam-{i:05d}", encode(Assignment(node="n1", epoch=1)))
    read_s: list[float] = []
    get_s: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        found = await read_all(store.assign, "cam.")
        read_s.append(time.perf_counter() - started)
        assert len(found) == n
        started = time.perf_counter()
        for i in range(n):
            await store.assign.get(f"cam.cam-{i:05d}")
        get_s.append(time.perf_counter() - started)
    sink = AlertStreamSink(store, "bench", lambda _: 1)
    pub_s: list[float] = []
    bare_s: list[float] = []
    for r in range(rounds):
        events = [synthetic_event(r + 1, i) for i in range(n)]  # new ids: no de-duplication
        started = time.perf_counter()
        for event in events:
            await sink.send(event)
        pub_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for event in events:
            await store.js.publish("vsa.alerts.bench.intrusion", msgspec.json.encode(event))
        bare_s.append(time.perf_counter() - started)
    await nc.close()
    return {
        "read_ms": min(read_s) * 1000,
        "get_ms": min(get_s) * 1000,
        "publish_per_s": n / min(pub_s),
        "bare_publish_per_s": n / min(bare_s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI checks it runs)")
    parser.add_argument("--cameras", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--nodes", type=int, nargs="*", default=[5, 50])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cameras = [200] if args.quick else args.cameras
    nodes = [5] if args.quick else args.nodes
    rounds = 1 if args.quick else args.rounds
    rows = [bench_assign(n, k) for n in cameras for k in nodes]
    print(
        "| cameras | nodes | assign ms | hash-mod ms | max/mean load | moved on loss "
        "| hash-mod moved | ideal |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['cameras']:.0f} | {r['nodes']:.0f} | {r['ms']:.1f} | {r['anchor_ms']:.2f} | "
            f"{r['max_over_mean']:.2f} | {r['moved_on_loss']:.3f} | "
            f"{r['anchor_moved_on_loss']:.3f} | {r['ideal_moved']:.3f} |"
        )
    nats_rows: list[dict[str, float]] = []
    server = shutil.which("nats-server")
    if server is None:
        print("nats-server not installed: read and publish rows skipped", file=sys.stderr)
    else:
        with tempfile.TemporaryDirectory() as store_dir:
            port = _free_port()
            proc = subprocess.Popen(
                [server, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store_dir],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(0.5)
                for n in cameras:
                    row = anyio.run(bench_nats, f"nats://127.0.0.1:{port}", n, rounds)
                    row["keys"] = n
                    nats_rows.append(row)
            finally:
                proc.terminate()
                proc.wait(10)
        print()
        print(
            "| keys / revisions | read_all ms | N × kv.get ms | ratio | sink publish/s "
            "| bare publish/s | ratio |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in nats_rows:
            print(
                f"| {r['keys']:.0f} | {r['read_ms']:.1f} | {r['get_ms']:.1f} | "
                f"{r['read_ms'] / r['get_ms']:.2f} | {r['publish_per_s']:.0f} | "
                f"{r['bare_publish_per_s']:.0f} | "
                f"{r['publish_per_s'] / r['bare_publish_per_s']:.2f} |"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cluster.json").write_bytes(
        msgspec.json.encode(
            {
                "version": __version__,
                "machine": platform.platform(),
                "quick": args.quick,
                "assign": rows,
                "nats": nats_rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
