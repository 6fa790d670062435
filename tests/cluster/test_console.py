"""The fleet's console on loopback: real ``nats-server`` processes, real daemons, a real console
process and a real webhook receiver (issue 20, item 1).

A review made on the console reaches the fleet's webhook and ``ALERTS`` as a revision, whether
the node that raised the alert applies it (alive) or the console stands in for it (killed with
SIGKILL); it is recorded once (a second identical review is not a second record), is in the
audit log once, and the audit log comes back from the replicated ``AUDIT`` stream when the
console loses its file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from msgspec.structs import replace

from loopback import free_port, wait_for_port
from nats_cluster import PYTHON_SRC, Daemon, NatsCluster, wait_until
from receiver import Receiver, receiver
from vsa_stream.cluster import admin
from vsa_stream.cluster.audit_stream import AUDIT_STREAM
from vsa_stream.cluster.reviews import ReviewBook, ReviewRecord
from vsa_stream.cluster.store import ALERTS_STREAM, ClusterOptions, ClusterStore, connect
from vsa_stream.synth import render

pytestmark = [
    pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs Debian nats-server"),
    pytest.mark.timeout(300),
]

ZONE = "[[0.63, 0.56], [0.94, 0.53], [0.96, 0.93], [0.60, 0.95]]"
SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
TOKEN = "operator-token-0123456789"
TTL_S = 5.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The intruder scene at 640x360, 10 fps: one intrusion (open, closed) per 12 s loop."""
    path = tmp_path_factory.mktemp("console") / "intruder.mp4"
    render("intruder", path, width=640, height=360, fps=10)
    return path


def sinks_yaml(hook: Receiver, state: Path) -> str:
    return (
        f"state_dir: {state}\n"
        "sinks:\n"
        f"  webhooks: [{{name: fleet, url: '{hook.url}', secrets: ['{SECRET}'], "
        "allow_private: true, retry_schedule_s: [0, 0.5, 1, 1, 1, 1]}]\n"
        "outbox: {synchronous: normal, drain_s: 5}\n"
    )


class HookedDaemon(Daemon):
    """A cluster daemon whose sinks are the fleet's webhook (a real receiver)."""

    def __init__(self, folder: Path, node_id: str, urls: str, hook: Receiver) -> None:
        super().__init__(folder, node_id, urls, capacity=4)
        self.hook = hook

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # snapshots on: the console serves them from the evidence bucket
        self.config.write_text(
            sinks_yaml(self.hook, self.state) + "privacy: {snapshots: true, legal_profile: lab}\n"
        )
        self.proc = _spawn(
            ["run", str(self.config), "--cluster", self.urls, "--node-id", self.node_id,
             "--capacity", str(self.capacity)],
            self.folder, self.log,
        )  # fmt: skip


class ConsoleProcess:
    """``vsa-stream run --cluster URLS --console console.yaml``."""

    def __init__(self, folder: Path, urls: str, hook: Receiver) -> None:
        self.folder, self.urls = folder, urls
        self.state = folder / "state"
        self.key = folder / "audit.key"
        self.config = folder / "console.yaml"
        self.log = folder / "console.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.key.write_text(secrets.token_hex(32))
        self.key.chmod(0o600)
        self.config.write_text(
            sinks_yaml(hook, self.state)
            + f"audit: {{key_file: {self.key}}}\n"
            + f"server: {{enabled: true, port: {self.port}, "
            + f"tokens: [{{name: alice, token: {TOKEN}, role: operator}}]}}\n"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = _spawn(
            ["run", str(self.config), "--cluster", self.urls, "--node-id", "console-1",
             "--console"],
            self.folder, self.log,
        )  # fmt: skip
        wait_for_port(self.port, timeout=60)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers={"authorization": f"Bearer {TOKEN}"})

    def snapshot(self, event_id: str, kind: str = "open") -> httpx.Response:
        return self.get(f"/api/events/{event_id}/snapshot?kind={kind}")

    def review(self, event_id: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/events/{event_id}/review",
            json=body,
            headers={"authorization": f"Bearer {TOKEN}"},
        )

    def audit(self) -> list[dict[str, Any]]:
        path = self.state / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]


def _spawn(args: list[str], folder: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(PYTHON_SRC))
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "vsa_stream", "--log-format", "json", *args],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path / "nats") as cluster:
        yield cluster


def stream(cluster: NatsCluster, name: str) -> list[tuple[dict[str, str], bytes]]:
    """Every message of a stream: its headers and body."""

    async def read() -> list[tuple[dict[str, str], bytes]]:
        nc = await connect(cluster.urls.split(","), name="test-reader")
        try:
            js = nc.jetstream(timeout=5.0)
            info = await js.stream_info(name)
            out = []
            if info.state.messages:
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    msg = await js.get_msg(name, seq)
                    out.append((dict(msg.headers or {}), msg.data or b""))
            return out
        finally:
            await nc.close()

    # called from wait_until's synchronous predicates (raised, below): a loop of its own
    return anyio.run(read)


@pytest.mark.anyio
async def test_two_consoles_record_one_review_once(tmp_path: Path) -> None:
    """Two consoles posting the same verdict at the same moment make one record; a different
    verdict is a second one (the bucket keeps both)."""

    with NatsCluster(tmp_path / "nats", size=1) as cluster:
        urls = cluster.urls.split(",")
        books = []
        for name in ("c1", "c2"):
            options = ClusterOptions(servers=urls, node_id=name)
            store = await ClusterStore(await connect(urls, name=name), options).open()
            books.append(await ReviewBook(store).open())
        verdict = ReviewRecord(
            event_id="0190a000-0000-7000-8000-000000000001",
            node="d0",
            camera_id="gate",
            type="intrusion",
            review="false_alarm",
            cause="reflection",
            actor="alice",
            at=1.0,
        )
        written: list[bool] = []

        async def post(book: ReviewBook, actor: str) -> None:
            written.append((await book.write(replace(verdict, actor=actor)))[2])

        async with anyio.create_task_group() as tg:
            for book, actor in zip(books, ("alice", "bob"), strict=True):
                tg.start_soon(post, book, actor)
        again = (await books[1].write(verdict))[2]
        changed = (await books[0].write(replace(verdict, review="confirmed", cause=None)))[2]
        history = await books[0].kv.history(ReviewBook.key("d0", verdict.event_id))
        for book in books:
            await book.store.nc.close()
    assert sorted(written) == [False, True]
    assert again is False
    assert changed is True
    assert len(history) == 2


def test_the_console_documents_only_the_routes_it_serves(tmp_path: Path) -> None:
    """The console's ``/api/openapi.json`` lists what it serves and nothing a daemon alone
    serves (outbox, reload, statistics), and documents a review as ``202``, as it answers."""
    with NatsCluster(tmp_path / "nats", size=1) as cluster, receiver([SECRET]) as hook:
        console = ConsoleProcess(tmp_path / "console", cluster.urls, hook)
        try:
            console.start()
            doc = httpx.get(console.url + "/api/openapi.json").json()
            daemon_only = ["/api/outbox/dead", "/api/config/reload", "/api/stats"]
            answers = {path: console.get(path).status_code for path in daemon_only}
        finally:
            console.stop()
    assert answers == dict.fromkeys(daemon_only, 404)
    assert sorted(doc["paths"]) == [
        "/api/cameras",
        "/api/events",
        "/api/events/{event_id}",
        "/api/events/{event_id}/review",
        "/api/events/{event_id}/snapshot",
        "/api/me",
        "/api/openapi.json",
        "/api/stream",
        "/healthz",
        "/metrics",
        "/readyz",
    ]
    responses = doc["paths"]["/api/events/{event_id}/review"]["post"]["responses"]
    assert "202" in responses
    assert "200" not in responses
    assert "409" in responses
    assert "StatsPage" not in doc["components"]["schemas"]


def raisers(cluster: NatsCluster) -> dict[str, str]:
    """event id -> the node that published its first revision to ALERTS."""
    out: dict[str, str] = {}
    for headers, data in stream(cluster, ALERTS_STREAM):
        out.setdefault(json.loads(data)["id"], headers["Vsa-Node"])
    return out


def carrier(messages: list[tuple[dict[str, str], bytes]], event_id: str, review: str) -> str:
    """Who published the first revision of ``event_id`` carrying ``review``."""
    return next(
        h["Vsa-Node"]
        for h, data in messages
        if json.loads(data)["id"] == event_id and json.loads(data)["review"] == review
    )


def reviewed(hook: Receiver, event_id: str, review: str) -> set[str]:
    """The webhook-ids of the revisions of ``event_id`` carrying ``review`` that arrived."""
    return {
        d.webhook_id
        for d in hook.snapshot()
        if d.valid and d.event["id"] == event_id and d.event["review"] == review
    }


def test_console_review_reaches_the_fleet_once_and_survives_the_node(
    video: Path, nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    from vsa_stream import config as config_mod

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "privacy: {legal_profile: lab}\ncameras:\n"
        f"  - id: gate\n    url: {video}\n    loop: true\n    fps: 5\n"
        f"    zones: [{{id: restricted, polygon: {ZONE}}}]\n"
        "    rules: [{type: intrusion, zones: [restricted], min_dwell_s: 1.0, "
        "exit_grace_s: 1.0, cooldown_s: 2.0}]\n"
    )
    options = ClusterOptions(servers=nats_cluster.urls.split(","), node_id="test")
    # a synchronous test: its wait_until predicates run loops of their own (anyio.run)
    anyio.run(admin.apply, options, config_mod.load(fleet))
    with receiver([SECRET]) as hook:
        daemons = [
            HookedDaemon(tmp_path / f"d{i}", f"d{i}", nats_cluster.urls, hook) for i in range(2)
        ]
        console = ConsoleProcess(tmp_path / "console", nats_cluster.urls, hook)
        try:
            for daemon in daemons:
                daemon.start()
            console.start()

            # Two intrusions raised by the camera's node (12 s apart), seen on the console.
            def raised() -> dict[str, list[str]]:
                # a wait_until predicate: synchronous, polled between sleeps
                st = anyio.run(admin.status, options)
                owner = next((n for n, rec in st.nodes.items() if "gate" in rec.cameras), "")
                seen = {e["id"] for e in console.get("/api/events?type=intrusion").json()["events"]}
                mine = [i for i, node in raisers(nats_cluster).items() if node == owner]
                return {owner: [i for i in mine if i in seen]}

            wait_until(lambda: len(next(iter(raised().values()))) >= 2, 120, step=0.5)
            [(owner, events)] = raised().items()
            first, second = (console.get(f"/api/events/{i}").json() for i in events[:2])
            victim = next(d for d in daemons if d.node_id == owner)

            # The page, the cameras of the fleet and its event stream.
            assert httpx.get(console.url + "/operator").status_code == 200
            cameras = console.get("/api/cameras").json()["cameras"]
            assert [(c["id"], c["node"]) for c in cameras] == [("gate", owner)]
            auth = {"authorization": f"Bearer {TOKEN}", "last-event-id": "0"}
            with httpx.stream("GET", console.url + "/api/stream", headers=auth) as sse:
                data = next(line for line in sse.iter_lines() if line.startswith("data: "))
            assert json.loads(data[len("data: ") :])["camera_id"] == "gate"

            # Bad requests are refused, naming what is wrong; nothing is recorded.
            assert console.review("no-such-event", {"review": "confirmed"}).status_code == 404
            bad = console.review(first["id"], {"review": "false_alarm"})
            assert bad.status_code == 422
            assert "cause" in bad.json()["error"]
            anonymous = httpx.post(
                f"{console.url}/api/events/{first['id']}/review", json={"review": "confirmed"}
            )
            assert anonymous.status_code == 401

            # A snapshot the camera's node stored, served by the console.
            wait_until(lambda: console.snapshot(first["id"]).status_code == 200, 30, step=0.5)
            stored = victim.state / "evidence" / "gate" / f"{first['id']}-open.jpg"
            assert console.snapshot(first["id"]).content == stored.read_bytes()
            assert console.snapshot(first["id"], "other").status_code == 404

            # 1. The node alive: it applies the review (its own sinks and ALERTS).
            answer = console.review(first["id"], {"review": "confirmed", "note": "seen"})
            assert answer.status_code == 202, answer.text
            assert answer.headers["vsa-review-recorded"] == "true"
            assert answer.json()["review"] == "confirmed"
            took = wait_until(lambda: reviewed(hook, first["id"], "confirmed"), 30, step=0.2)
            print(f"review applied by its node, at the webhook {took:.1f} s after it was made")

            # 2. The node killed: the console emits the revision in its place.
            victim.kill()
            body = {"review": "false_alarm", "cause": "reflection"}
            answer = console.review(second["id"], body)
            assert answer.status_code == 202, answer.text
            again = console.review(second["id"], body)  # the same verdict: not a second record
            assert again.status_code == 202
            assert again.headers["vsa-review-recorded"] == "false"
            took = wait_until(
                lambda: reviewed(hook, second["id"], "false_alarm"), TTL_S + 30, step=0.2
            )
            print(f"stand-in review delivered {took:.1f} s after it was made (TTL {TTL_S} s)")
            wait_until(
                lambda: (
                    console.get(f"/api/events/{second['id']}").json()["review"] == "false_alarm"
                ),
                30,
                step=0.2,
            )

            # The killed node's snapshot is still served (from the bucket).
            shot = console.snapshot(second["id"])
            assert shot.status_code == 200
            assert (
                shot.content
                == (victim.state / "evidence" / "gate" / f"{second['id']}-open.jpg").read_bytes()
            )

            # The node comes back: it applies the review too, under the same number (one
            # webhook-id, one message in ALERTS).
            victim.start()
            wait_until(
                lambda: any(
                    '"review applied"' in line and second["id"] in line
                    for line in victim.log.read_text().splitlines()
                ),
                90,
                step=0.5,
            )
            wait_until(
                lambda: (
                    sum(
                        d.event["id"] == second["id"] and d.event["review"] == "false_alarm"
                        for d in hook.snapshot()
                    )
                    >= 2
                ),
                30,
                step=0.2,
            )
            assert len(reviewed(hook, second["id"], "false_alarm")) == 1

            # In ALERTS: each review is one revision, and who emitted it.
            messages = stream(nats_cluster, ALERTS_STREAM)
            ids = Counter(h["Nats-Msg-Id"] for h, _ in messages)
            assert max(ids.values()) == 1, "a revision is twice in ALERTS"
            assert carrier(messages, first["id"], "confirmed") == owner
            assert carrier(messages, second["id"], "false_alarm") == "console-1"
            assert len(reviewed(hook, second["id"], "false_alarm")) == 1

            # The audit log: each review exactly once, the chain intact.
            entries = [e for e in console.audit() if e["kind"] == "review"]
            assert Counter(e["data"]["event_id"] for e in entries) == {
                first["id"]: 1,
                second["id"]: 1,
            }
            reads = [
                e["data"]["event_id"] for e in console.audit() if e["kind"] == "evidence_access"
            ]
            assert Counter(reads) == {first["id"]: 2, second["id"]: 1}
            assert console.stop() == 0
            audit_file = console.state / "audit.jsonl"
            lost = audit_file.read_bytes()
            replicated = [json.loads(d) for _, d in stream(nats_cluster, AUDIT_STREAM)]
            assert [e["seq"] for e in replicated] == [e["seq"] for e in console.audit()]

            # 3. The console loses its audit file: it comes back from AUDIT, then goes on.
            audit_file.unlink()
            console.start()
            wait_until(lambda: console.get("/readyz").status_code == 200, 60, step=0.5)
            assert audit_file.read_bytes().startswith(lost)
            assert console.stop() == 0
            verify = subprocess.run(
                [sys.executable, "-m", "vsa_stream", "audit", "verify", str(audit_file),
                 "--key-file", str(console.key),
                 "--outbox", str(console.state / "outbox.sqlite3")],
                env=dict(os.environ, PYTHONPATH=str(PYTHON_SRC)),
                capture_output=True,
                text=True,
            )  # fmt: skip
            assert verify.returncode == 0, verify.stdout + verify.stderr
            reviews = [e for e in console.audit() if e["kind"] == "review"]
            assert len(reviews) == 2

            # Another machine rebuilds the console's log from AUDIT alone, and verifies it.
            copy = tmp_path / "copy.jsonl"
            run = [sys.executable, "-m", "vsa_stream"]
            env = dict(os.environ, PYTHONPATH=str(PYTHON_SRC))
            subprocess.run(
                [*run, "cluster", "audit", "console-1", "--out", str(copy),
                 "--cluster", nats_cluster.urls],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
            assert copy.read_bytes() == audit_file.read_bytes()
            check = subprocess.run(
                [*run, "audit", "verify", str(copy), "--key-file", str(console.key)],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            assert check.returncode == 0, check.stdout + check.stderr
        finally:
            console.stop()
            for daemon in daemons:
                daemon.stop()
