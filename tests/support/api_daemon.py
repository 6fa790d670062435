"""A real daemon (engine, outbox, HTTP API) on a loopback port, run in a background thread."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio.from_thread
import av
import httpx
import numpy as np

from collect import Collect
from vsa_stream import config
from vsa_stream.daemon import Daemon
from vsa_stream.engine import EngineResult
from vsa_stream.event_types import EventType
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.outbox import Outbox, Row

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"


def still_clip(path: Path, seconds: float = 2.0) -> Path:
    """A small static clip (nothing moves: no alert of its own)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        rng = np.random.default_rng(0)
        image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        for _ in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


GATE = "[[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]"


def api_config(
    state: Path,
    video: Path,
    extra: str = "",
    camera: str = "    loop: true",
    zone: str = GATE,
    server: str = "",
) -> config.Config:
    """A daemon with the API on a free loopback port, an operator and a viewer token
    (``server``: more lines of the ``server`` section, indented by two spaces)."""
    # recorded files: the lab profile (``extra`` giving privacy says it itself)
    lab = "" if "privacy:" in extra else "privacy: {legal_profile: lab}"
    return config.loads(
        f"""
{lab}
cameras:
  - id: cam
    url: {json.dumps(str(video))}
    zones: [{{id: gate, polygon: {zone}}}]
{camera}
state_dir: {json.dumps(str(state))}
server:
  enabled: true
  port: 0
  tokens:
    - {{name: alice, token: "${{OP_TOKEN}}", role: operator}}
    - {{name: screen, token: {VIEWER}, role: viewer}}
{server}
{extra}
""",
        env={"OP_TOKEN": OPERATOR},
    )


def make_event(camera: str = "cam", kind: EventType = "intrusion", state: str = "open") -> Event:
    now = time.time()
    return Event(
        id=new_event_id(),
        revision=1,
        type=kind,
        camera_id=camera,
        state=state,  # type: ignore[arg-type]
        zone_id="gate",
        started_at=now,
        updated_at=now,
        start_s=1.0,
        start_frame=10,
        evidence=Evidence(
            frame_index=10,
            stream_time_s=1.0,
            boxes=[(0.55, 0.55, 0.7, 0.85)],
            values={"dwell_s": 2},
        ),
    )


@dataclass
class Running:
    daemon: Daemon
    portal: anyio.from_thread.BlockingPortal
    url: str
    sink: Collect
    #: How clients check the server's certificate (httpx's ``verify``).
    verify: ssl.SSLContext | bool = True

    def client(self, token: str | None = OPERATOR) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0, verify=self.verify)

    def inject(self, *events: Event) -> list[Row]:
        """Hand events to the engine as a camera would (committed, then delivered)."""
        rows: list[Row] = self.portal.call(self.daemon.engine.delivery.accept, list(events))
        return rows


@contextmanager
def running_daemon(cfg: config.Config, verify: ssl.SSLContext | bool = True) -> Iterator[Running]:
    sink = Collect()
    outbox = Outbox(cfg.outbox_path())
    daemon = Daemon(cfg, [sink], outbox, source="test")
    assert daemon.server is not None
    try:
        with anyio.from_thread.start_blocking_portal() as portal:
            future = portal.start_task_soon(partial(daemon.run, handle_signals=False))
            url = daemon.server.url.replace("://0.0.0.0:", "://127.0.0.1:")  # a wildcard bind
            running = Running(daemon, portal, url, sink, verify)
            with httpx.Client(base_url=running.url, verify=verify) as probe:
                for _ in range(400):  # a hang guard: ready within 20 s
                    try:
                        if probe.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                else:
                    raise TimeoutError("the daemon never became ready")
            try:
                yield running
            finally:
                portal.call(daemon.engine.stop)
                result: EngineResult = future.result(timeout=30)
                assert result.undelivered == 0
    finally:
        outbox.close()
