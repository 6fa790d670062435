"""The assigner: rendezvous hashing with capacity, and two assigners racing on a real server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from nats_cluster import NatsCluster
from vsa_stream import config as config_mod
from vsa_stream.cluster import assign
from vsa_stream.cluster.node import Node
from vsa_stream.cluster.store import (
    Assignment,
    ClusterOptions,
    ClusterStore,
    NodeAssignments,
    NodeRecord,
    connect,
    encode,
)
from vsa_stream.config import Camera
from vsa_stream.errors import ConfigError

CAMERAS = [f"cam-{i}" for i in range(200)]


def test_balanced_and_within_capacity() -> None:
    placed = assign(CAMERAS, {"a": 100, "b": 100, "c": 100, "d": 100})
    counts = Counter(placed.values())
    assert None not in counts
    assert max(counts.values()) <= 100
    assert min(counts.values()) >= 30  # 50 each on average; hashing, not round-robin
    assert assign(reversed(CAMERAS), {"d": 100, "c": 100, "b": 100, "a": 100}) == placed


def test_a_lost_node_moves_only_its_cameras() -> None:
    nodes = {"a": 150, "b": 150, "c": 150}
    before = assign(CAMERAS, nodes)
    after = assign(CAMERAS, {"a": 150, "b": 150})
    moved = {c for c in CAMERAS if before[c] != after[c]}
    assert moved == {c for c in CAMERAS if before[c] == "c"}
    # ... and back: only the cameras that rank it first return to it.
    assert assign(CAMERAS, nodes) == before


def test_capacity_is_a_hard_limit() -> None:
    placed = assign(CAMERAS, {"a": 10, "b": 20})
    counts = Counter(placed.values())
    assert counts == {"a": 10, "b": 20, None: 170}
    assert Counter(assign(CAMERAS, {"a": 0}).values()) == {None: 200}


def test_cluster_node_config_has_no_cameras(tmp_path: Path) -> None:
    config = config_mod.loads("sinks: {}\nstate_dir: /var/lib/vsa", cluster_node=True)
    assert config.state_dir == "/var/lib/vsa"
    assert config.sinks.stdout is None
    with pytest.raises(ConfigError, match="cameras") as info:
        config_mod.loads("cameras: [{id: a, url: b}]", cluster_node=True)
    assert info.value.path == "cameras"
    with pytest.raises(ConfigError, match="no sink"):
        config_mod.loads("cameras: [{id: a, url: b}]\nsinks: {}")


@pytest.fixture
def one_server(tmp_path: Path) -> Iterator[NatsCluster]:
    if shutil.which("nats-server") is None:
        pytest.skip("needs Debian nats-server")
    with NatsCluster(tmp_path / "nats", size=1) as cluster:
        yield cluster


@pytest.mark.anyio
async def test_two_assigners_racing(one_server: NatsCluster) -> None:
    """Two nodes that both believe they lead (a stale leader and the new one) write each
    change once: every write is a compare-and-swap on the revision both read."""

    urls = one_server.urls.split(",")
    local = config_mod.loads("sinks: {}", cluster_node=True)
    stores: list[ClusterStore] = []
    assigners: list[Node] = []
    for node in ("n1", "n2"):  # both believe they lead
        opts = ClusterOptions(servers=urls, node_id=node, ttl_s=60.0, prefix="race")
        stores.append(await ClusterStore(await connect(urls, name=node), opts).open())
        assigners.append(Node(stores[-1], opts, local))
    store = stores[0]
    for camera in CAMERAS[:40]:
        await store.config.put(f"cam.{camera}", encode(Camera(id=camera, url="x")))
    for node in ("n1", "n2"):
        await store.leases.put(f"nodes.{node}", encode(NodeRecord(node=node, capacity=40)))

    async def race() -> int:
        first = (await store.js.stream_info("KV_race_assign")).state.last_seq
        for _ in range(5):
            async with anyio.create_task_group() as tg:
                for assigner in assigners:
                    tg.start_soon(assigner._assign_round)
        return (await store.js.stream_info("KV_race_assign")).state.last_seq - first

    created = await race()
    await store.leases.put("nodes.n3", encode(NodeRecord(node="n3", capacity=40)))
    moved = await race()
    epochs = {c: a.epoch for c, a in (await store.assignments()).items()}
    holders = Counter(
        c for record, _ in (await store.all_assignments()).values() for c in record.cameras
    )
    expected_moves = sum(
        1
        for c in CAMERAS[:40]
        if assign(CAMERAS[:40], {"n1": 40, "n2": 40})[c]
        != assign(CAMERAS[:40], {"n1": 40, "n2": 40, "n3": 40})[c]
    )
    for s in stores:
        await s.nc.close()
    assert created == 2  # one record per node, the other assigner's create refused
    assert expected_moves > 0
    # Out of n1 and n2, into n3, then the finished moves cleared: a few record writes, not
    # one per moved camera, nor one per assigner.
    assert moved <= 6
    assert Counter(epochs.values()) == {1: 40 - expected_moves, 2: expected_moves}
    assert set(holders.values()) == {1}  # each camera on one node
    assert len(holders) == 40


def test_cli_refuses_a_daemon_config_with_cameras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vsa_stream.cli import main

    node = tmp_path / "node.yaml"
    node.write_text("sinks: {}\ncameras: [{id: a, url: b}]\n")
    assert main(["run", str(node), "--cluster", "nats://127.0.0.1:1"]) == 2
    assert "cameras" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "--cluster" in capsys.readouterr().err
    assert main(["run", "--cluster", "nats://127.0.0.1:1", "--node-id", "a.b"]) == 2


async def worker_messages(one_server: NatsCluster, cameras: int, prefix: str) -> int:
    """Messages a worker with no camera of its own exchanges with the server over 5 rounds of
    its reconcile loop, in a fleet of ``cameras`` cameras run by another node."""

    urls = one_server.urls.split(",")
    local = config_mod.loads("sinks: {}", cluster_node=True)
    opts = ClusterOptions(servers=urls, node_id="w", ttl_s=60.0, prefix=prefix)
    store = await ClusterStore(await connect(urls, name="w"), opts).open()
    try:
        names = [f"cam-{i}" for i in range(cameras)]
        for camera in names:
            await store.config.put(f"cam.{camera}", encode(Camera(id=camera, url="x")))
        await store.bump_revision()
        for node in ("w", "other"):
            await store.leases.put(f"nodes.{node}", encode(NodeRecord(node=node, capacity=0)))
        held = NodeAssignments(cameras={c: Assignment(node="other", epoch=1) for c in names})
        await store.write_assignments("other", held, 0)
        worker = Node(store, opts, local)
        await worker._reconcile()  # the first round reads the fleet's configuration
        before = store.nc.stats["in_msgs"] + store.nc.stats["out_msgs"]
        for _ in range(5):
            await worker._reconcile()
        return int(store.nc.stats["in_msgs"] + store.nc.stats["out_msgs"] - before)
    finally:
        await store.nc.close()


@pytest.mark.anyio
async def test_worker_reads_do_not_grow_with_the_fleet(one_server: NatsCluster) -> None:
    """A worker's steady rounds read its own assignment record and the fleet revision: the
    same few requests whether the fleet has 40 cameras or 400."""
    small = await worker_messages(one_server, 40, "small")
    large = await worker_messages(one_server, 400, "large")
    print(f"5 worker rounds: {small} messages at 40 cameras, {large} at 400")
    assert small == large
    assert small <= 5 * 4  # two requests and their replies a round


@contextlib.asynccontextmanager
async def leased_node(
    server: NatsCluster, state_dir: Path, node_id: str, ttl_s: float
) -> AsyncIterator[tuple[Node, ClusterOptions]]:
    """A daemon's node with no camera, running until the block ends, holding its lease."""
    from vsa_stream.engine import Engine

    urls = server.urls.split(",")
    local = config_mod.loads(f"sinks: {{}}\nstate_dir: {state_dir}", cluster_node=True)
    opts = ClusterOptions(servers=urls, node_id=node_id, ttl_s=ttl_s, margin_s=1.0)
    store = await ClusterStore(await connect(urls, name=node_id), opts).open()
    node = Node(store, opts, local)
    engine = Engine(local, [], dynamic=True)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            tg.start_soon(node.run, engine)
            with anyio.fail_after(30):
                # Polls the node's lease state (no event to await); fail_after bounds it.
                while not node.guard():  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            yield node, opts
            engine.stop()
            tg.cancel_scope.cancel()
    finally:
        await store.nc.close()


@pytest.mark.anyio
async def test_a_busy_event_loop_does_not_fence_the_node(
    one_server: NatsCluster, tmp_path: Path
) -> None:
    """The daemon's event loop blocked longer than the lease's TTL (a burst of camera starts,
    a slow callback): the lease is renewed by its own process meanwhile, so the node's
    lease stays valid and nothing is fenced."""
    async with leased_node(one_server, tmp_path, "busy", ttl_s=3.0) as (node, opts):
        valid_before = node.guard()
        # Blocks the event loop on purpose: the lease must not depend on it.
        time.sleep(opts.ttl_s + 1.5)  # noqa: ASYNC251
        valid_after = node.guard()
    assert valid_before
    assert valid_after, "the lease ran out while the event loop was busy"
    assert node.fenced == 0


@pytest.mark.anyio
async def test_a_lease_process_that_dies_is_started_again(
    one_server: NatsCluster, tmp_path: Path
) -> None:
    """The lease is renewed by a child process; when it dies (killed, out of memory), the
    daemon starts another: its lease goes on being renewed and it keeps its place."""
    async with leased_node(one_server, tmp_path, "phoenix", ttl_s=4.0) as (node, opts):
        proc = node.lease._proc
        assert proc is not None
        first = proc.pid
        os.kill(first, signal.SIGKILL)
        await anyio.sleep(3 * opts.ttl_s)
        assert node.lease._proc is not None
        second = node.lease._proc.pid
        valid = node.guard()
    assert second != first
    assert valid, "the lease ran out after its process died"
