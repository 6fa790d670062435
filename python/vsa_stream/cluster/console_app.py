"""The console's side of the HTTP API: :class:`ConsoleBackend` serves the fleet view (see
:mod:`vsa_stream.cluster.console`) through the daemon's own application and server
(:func:`~vsa_stream.server.app.build_app`, :class:`~vsa_stream.server.ApiServer`).

Same routes, tokens, roles, TLS and ``Host`` checks as a daemon's server (``server:`` of the
console's configuration). What differs:

- ``GET /api/events``, ``/api/events/{id}``, ``/api/stream``: every node's alerts, from
  ``ALERTS``;
- ``POST /api/events/{id}/review``: recorded once in the reviews bucket and audited; answers
  ``202`` with the event as its next revision will read (the raising node, or the console in
  its place, emits it), and ``Vsa-Review-Recorded: false`` when the same verdict was already
  recorded;
- ``GET /api/cameras``: the cameras the live nodes report (node, state, frames analysed);
- ``GET /api/events/{id}/snapshot``: from the evidence bucket, wherever the camera's node
  stored it (:mod:`vsa_stream.cluster.evidence`), audited as on a daemon;
- no outbox, reload or statistics routes (they belong to each node): it is no
  :class:`~vsa_stream.server.backend.DaemonAdmin`, and its OpenAPI document lists only what it
  serves.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec

from vsa_stream.audit import CHECKPOINT_TYPE
from vsa_stream.cluster.store import decode_camera
from vsa_stream.config.server import ServerConfig
from vsa_stream.event_types import STATISTICS_TYPE
from vsa_stream.events import CAUSES
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.server.auth import Authenticator
from vsa_stream.server.backend import ApiError, Reviewed
from vsa_stream.server.openapi import ReviewRequest

if TYPE_CHECKING:
    from vsa_stream.cluster.console import Console

__all__ = ["ConsoleBackend"]

_NOT_ALERTS = (CHECKPOINT_TYPE, STATISTICS_TYPE)


class ConsoleBackend:
    """What the console's HTTP API serves: the fleet view of ``console``."""

    name = "console http api"
    review_status = 202

    def __init__(self, console: Console) -> None:
        self.console = console
        self.auth = Authenticator(console.config.server.tokens)
        self.closing = anyio.Event()
        #: camera id -> (when, frames analysed, frames per second) at the last rate update
        self._rates: dict[str, tuple[float, int, float]] = {}

    @property
    def settings(self) -> ServerConfig:
        return self.console.config.server

    @property
    def events(self) -> Outbox:
        return self.console.fleet

    def waiting(self) -> list[str]:
        return [] if self.console.caught_up else ["alerts"]

    @property
    def metrics(self) -> Metrics:
        return self.console.metrics

    async def review(self, event_id: str, wanted: ReviewRequest, actor: str) -> Reviewed:
        if wanted.review == "false_alarm" and wanted.cause is None:
            raise ApiError(422, f"invalid review: cause: a false_alarm needs one of {CAUSES}")
        if wanted.review != "false_alarm" and wanted.cause is not None:
            raise ApiError(422, "invalid review: cause: only a false_alarm has a cause")
        fleet = self.console.fleet
        event = await fleet.call(fleet.get_event, event_id)
        if event is None:
            raise ApiError(404, "no such event")
        if event.type in _NOT_ALERTS:
            raise ApiError(422, "invalid review: review: this revision is not an alert")
        try:
            stored, written = await self.console.review(
                event, wanted.review, wanted.cause, wanted.note, actor
            )
        except LookupError:
            raise ApiError(409, "the node that raised this event is not known") from None
        expected = event.revised(
            review=stored.review, review_cause=stored.cause, review_note=stored.note
        )
        return Reviewed(expected, 202, {"Vsa-Review-Recorded": "true" if written else "false"})

    async def snapshot(self, event_id: str, kind: str, actor: str) -> bytes:
        console = self.console
        fleet = self.console.fleet
        event = await fleet.call(fleet.get_event, event_id)
        if event is None or kind not in ("open", "closed"):
            raise ApiError(404, "no such snapshot")
        data = await console.evidence.get(event.camera_id, event.id, kind)
        if data is None:
            raise ApiError(404, "no such snapshot")
        await console.record(
            "evidence_access",
            {
                "actor": actor,
                "event_id": event.id,
                "kind": kind,
                "node": console.raised_by.get(event.id),
            },
        )
        return data

    async def cameras(self) -> list[dict[str, Any]]:
        nodes = await self.console.store.nodes(cameras=True)
        configs = await self.console.store.camera_configs()
        now = time.monotonic()
        out = []
        for node, record in sorted(nodes.items()):
            for camera_id, run in sorted(record.cameras.items()):
                # frames per second between two requests at least a second apart
                last = self._rates.get(camera_id)
                fps = last[2] if last is not None else 0.0
                if last is None or now - last[0] >= 1.0:
                    if last is not None and run.analysed >= last[1]:
                        fps = (run.analysed - last[1]) / (now - last[0])
                    self._rates[camera_id] = (now, run.analysed, fps)
                zones: list[dict[str, Any]] = []
                with contextlib.suppress(msgspec.DecodeError, KeyError):
                    zones = [
                        {"id": z.id, "units": z.units, "polygon": z.polygon}
                        for z in decode_camera(configs[camera_id]).zones
                    ]
                out.append(
                    {
                        "id": camera_id,
                        "node": node,
                        "epoch": run.epoch,
                        "state": run.state,
                        "error": None,
                        "analysed": run.analysed,
                        "decoded": run.analysed,
                        "dropped": 0,
                        "reconnects": 0,
                        "analysis_fps": fps,
                        "frame_size": None,
                        "zones": zones,
                    }
                )
        return out

    async def auth_failed(self, address: str, path: str) -> None:
        await anyio.to_thread.run_sync(self.console.audit.auth_failed, address, path)

    def next_change(self) -> anyio.Event:
        return self.console.next_change()
