"""A 3-server NATS JetStream cluster and vsa-stream daemons on loopback, for the cluster tests.

Real processes only: Debian's ``nats-server`` (2.9 on Debian 12) with file storage in a
temporary folder, and ``python -m vsa_stream run --cluster`` daemons.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

from loopback import free_port, wait_for_port

__all__ = ["Daemon", "NatsCluster", "NatsServer"]

NATS_SERVER = shutil.which("nats-server") or "/usr/bin/nats-server"
PYTHON_SRC = Path(__file__).resolve().parents[2] / "python"


class NatsServer:
    """One server of the cluster; can be killed and started again with the same store."""

    def __init__(self, name: str, port: int, cluster_port: int, routes: list[int], store: Path):
        self.name, self.port, self.cluster_port = name, port, cluster_port
        self.routes, self.store = routes, store
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = store.parent / f"{name}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)
        command = [
            NATS_SERVER,
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-n", self.name,
            "-js",
            "-sd", str(self.store),
        ]  # fmt: skip
        if self.routes:
            command += [
                "--cluster_name", "vsa-test",
                "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                "--routes", routes,
            ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the other servers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class NatsCluster:
    """JetStream servers routed to each other (``with NatsCluster(tmp) as c: c.urls``); one
    server alone with ``size=1``."""

    def __init__(self, folder: Path, size: int = 3) -> None:
        ports = [free_port() for _ in range(size)]
        cluster_ports = [free_port() for _ in range(size)]
        self.servers = [
            NatsServer(
                f"n{i}",
                ports[i],
                cluster_ports[i],
                [p for j, p in enumerate(cluster_ports) if j != i],
                folder / f"n{i}",
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> str:
        return ",".join(s.url for s in self.servers)

    def server(self, name: str) -> NatsServer:
        return next(s for s in self.servers if s.name == name)

    def __enter__(self) -> Self:
        for server in self.servers:
            server.store.mkdir(parents=True, exist_ok=True)
            server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.kill()


class Daemon:
    """``python -m vsa_stream run --cluster URLS CONFIG --node-id ID`` in its own folder."""

    def __init__(self, folder: Path, node_id: str, urls: str, *, capacity: int = 8) -> None:
        self.folder, self.node_id, self.urls, self.capacity = folder, node_id, urls, capacity
        self.proc: subprocess.Popen[bytes] | None = None
        self.state = folder / "state"
        self.config = folder / "node.yaml"
        self.log = folder / "daemon.log"
        self.alerts = folder / "alerts.jsonl"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A JSONL sink beside the ALERTS stream: the daemon's own sinks keep working.
        self.config.write_text(
            f"state_dir: {self.state}\n"
            f"sinks: {{jsonl: {{path: {self.alerts}, fsync: false}}}}\n"
            "outbox: {synchronous: normal, drain_s: 5}\n"
        )
        env = dict(os.environ, PYTHONPATH=str(PYTHON_SRC))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "vsa_stream", "--log-format", "json",
                    "run", str(self.config), "--cluster", self.urls,
                    "--node-id", self.node_id, "--capacity", str(self.capacity),
                ],
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )  # fmt: skip

    def signal(self, signum: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def ownership(self) -> list[dict[str, Any]]:
        """The ownership records this daemon wrote (one per camera run that ended)."""
        import json

        path = self.state / "ownership.jsonl"
        with contextlib.suppress(FileNotFoundError):
            return [json.loads(line) for line in path.read_text().splitlines() if line]
        return []


def wait_until(predicate: object, timeout: float, step: float = 0.1) -> float:
    """Poll ``predicate()`` until true; seconds it took (TimeoutError after ``timeout``)."""
    started = time.monotonic()
    while True:
        if callable(predicate) and predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not true after {timeout} s")
        time.sleep(step)
