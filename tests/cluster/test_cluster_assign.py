"""The assigner: rendezvous hashing with capacity, and two assigners racing on a real server."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from nats_cluster import NatsCluster
from vsa_stream import config as config_mod
from vsa_stream.cluster import assign
from vsa_stream.cluster.node import Node
from vsa_stream.cluster.store import (
    ClusterOptions,
    ClusterStore,
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


def test_two_assigners_racing(one_server: NatsCluster) -> None:
    """Two nodes that both believe they lead (a stale leader and the new one) write each
    change once: every write is a compare-and-swap on the revision both read."""

    async def main() -> tuple[int, int, dict[str, int], int]:
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
        epochs = {c: a.epoch for c, (a, _) in (await store.assignments()).items()}
        expected_moves = sum(
            1
            for c in CAMERAS[:40]
            if assign(CAMERAS[:40], {"n1": 40, "n2": 40})[c]
            != assign(CAMERAS[:40], {"n1": 40, "n2": 40, "n3": 40})[c]
        )
        for s in stores:
            await s.nc.close()
        return created, moved, epochs, expected_moves

    created, moved, epochs, expected_moves = anyio.run(main)
    assert created == 40  # one create per camera, the other assigner's create refused
    assert expected_moves > 0
    assert moved == expected_moves  # one write per moved camera, not one per assigner
    assert Counter(epochs.values()) == {1: 40 - expected_moves, 2: expected_moves}


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
