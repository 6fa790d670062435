"""The daemon's side of the HTTP API: :class:`ApiContext` serves one
:class:`~vsa_stream.engine.Engine`.

Every handler reads live state of the engine: its outbox (events, through a worker thread), its
cameras' statuses, its metrics. A review goes through
:meth:`~vsa_stream.sinks.delivery.Delivery.review`, so it becomes a new revision that every sink
gets like any other. It is also a :class:`~vsa_stream.server.backend.DaemonAdmin`: dead letters,
redrive, reload and statistics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from vsa_stream.audit import AuditLog
from vsa_stream.config import Config
from vsa_stream.config.server import ServerConfig
from vsa_stream.engine import Engine
from vsa_stream.evidence import EvidenceStore
from vsa_stream.log import get_logger
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.reload import ReloadReport
from vsa_stream.server.auth import Authenticator
from vsa_stream.server.backend import ApiError, Reviewed
from vsa_stream.server.openapi import ReviewRequest
from vsa_stream.stats.store import StatisticsStore

__all__ = ["ApiContext"]


@dataclass(slots=True)
class ApiContext:
    """What the handlers serve: the engine, and the daemon's audit log and evidence."""

    engine: Engine
    config: Config
    auth: Authenticator
    audit: AuditLog | None = None
    evidence: EvidenceStore | None = None
    #: The statistics intervals (``/api/stats``); None when no camera has statistics.
    statistics: StatisticsStore | None = None
    #: Set when the server shuts down: open event streams end.
    closing: anyio.Event = field(default_factory=anyio.Event)
    #: Reloads the daemon's configuration file, given who asks (``POST /api/config/reload``).
    reload: Callable[[str], Awaitable[ReloadReport]] | None = None

    @property
    def name(self) -> str:
        return "http api"

    @property
    def settings(self) -> ServerConfig:
        return self.config.server

    @property
    def review_status(self) -> int:
        return 200

    async def _audit(self, kind: str, data: dict[str, Any]) -> None:
        if self.audit is not None:
            await anyio.to_thread.run_sync(self.audit.append, kind, data)

    @property
    def events(self) -> Outbox:
        return self.engine.outbox

    def waiting(self) -> list[str]:
        waiting = []
        if not self.engine.cameras_started:
            waiting.append("cameras")
        if not self.engine.delivery.ready:
            waiting.append("outbox")
        return waiting

    @property
    def metrics(self) -> Metrics:
        return self.engine.metrics

    async def review(self, event_id: str, wanted: ReviewRequest, actor: str) -> Reviewed:
        try:
            event = await self.engine.delivery.review(
                event_id, wanted.review, wanted.note, wanted.cause
            )
        except KeyError:
            raise ApiError(404, "no such event") from None
        except ValueError as exc:
            raise ApiError(422, f"invalid review: {exc}") from None
        await self._audit(
            "review",
            {
                "actor": actor,
                "event_id": event.id,
                "revision": event.revision,
                "review": event.review,
                "cause": event.review_cause,
                "note_sha256": hashlib.sha256((wanted.note or "").encode()).hexdigest(),
            },
        )
        get_logger().info(
            "event reviewed",
            event_id=event.id,
            review=event.review,
            cause=event.review_cause,
            actor=actor,
        )
        return Reviewed(event)

    async def snapshot(self, event_id: str, kind: str, actor: str) -> bytes:
        if self.evidence is None:
            raise ApiError(404, "snapshots are off (privacy.snapshots)")
        outbox = self.engine.outbox
        event = await outbox.call(outbox.get_event, event_id)
        path = None if event is None else self.evidence.path(event.camera_id, event.id, kind)
        if event is None or path is None:
            raise ApiError(404, "no such snapshot")
        try:
            data = await anyio.Path(path).read_bytes()
        except FileNotFoundError:
            raise ApiError(404, "no such snapshot") from None
        await self._audit("evidence_access", {"actor": actor, "event_id": event.id, "kind": kind})
        return data

    async def cameras(self) -> list[dict[str, Any]]:
        return _cameras(self.engine)

    async def auth_failed(self, address: str, path: str) -> None:
        if self.audit is not None:  # rate-limited by the audit log
            try:
                await anyio.to_thread.run_sync(self.audit.auth_failed, address, path)
            except OSError as exc:
                get_logger().error("failed authentication not audited", error=str(exc))

    def next_change(self) -> anyio.Event:
        return self.engine.delivery.next_change()

    # --- DaemonAdmin ------------------------------------------------------------------------

    async def dead_letters(self, sink: str | None) -> list[dict[str, Any]]:
        outbox = self.engine.outbox
        letters = await outbox.call(outbox.dead_letters, sink)
        return [dataclasses.asdict(d) for d in letters]

    async def redrive(self, sink: str | None, actor: str) -> int:
        outbox = self.engine.outbox
        count = await outbox.call(outbox.redrive, sink)
        await self._audit("outbox_redrive", {"actor": actor, "sink": sink, "count": count})
        get_logger().info("dead letters re-queued", count=count, sink=sink, actor=actor)
        return count


def _cameras(engine: Engine) -> list[dict[str, Any]]:
    """Every enabled camera: state, history, counters, zones and detection figures."""
    now_wall, now_mono = time.time(), time.monotonic()
    configs = {c.id: c for c in engine.config.cameras}
    sizes = engine.frame_sizes()
    stats: dict[str, list[dict[str, Any]]] = {}
    for name, service in engine.detectors.items():
        for camera_id, s in list(service.stats.items()):
            stats.setdefault(camera_id, []).append(
                {
                    "detector": name,
                    "requested": s.requested,
                    "served": s.served,
                    "deferred": s.deferred,
                    "superseded": s.superseded,
                    "failed": s.failed,
                    "mean_latency_s": s.latency_s / s.served if s.served else None,
                }
            )
    out = []
    for status in engine.camera_statuses():
        cam = configs.get(status.camera_id)
        end = status.finished or now_mono
        elapsed = end - status.started if status.started else 0.0
        for row in stats.get(status.camera_id, []):
            row["served_per_s"] = row["served"] / elapsed if elapsed > 0 else 0.0
        out.append(
            {
                "id": status.camera_id,
                "state": status.state,
                "error": status.error,
                "offline": status.offline,
                "authorised": status.authorised,
                "authorisations": status.authorisations,
                "history": [
                    {"at": round(now_wall - (now_mono - t), 3), "state": state}
                    for t, state in status.history
                ],
                "decoded": status.decoded,
                "analysed": status.analysed,
                "dropped": status.dropped,
                "bad_frames": status.bad_frames,
                "reconnects": status.reconnects,
                "stalls": status.stalls,
                "decode_fps": status.decoded / elapsed if elapsed > 0 else 0.0,
                "analysis_fps": status.analysed / elapsed if elapsed > 0 else 0.0,
                "frame_size": sizes.get(status.camera_id),
                "zones": [
                    {"id": z.id, "units": z.units, "polygon": z.polygon}
                    for z in (cam.zones if cam else [])
                ],
                "detection": stats.get(status.camera_id, []),
            }
        )
    return out
