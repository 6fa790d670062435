"""The ASGI application of the HTTP API and the operator page (Starlette).

Every handler reads live state of one :class:`~vsa_stream.engine.Engine`: its outbox (events,
through a worker thread), its cameras' statuses, its metrics. A review goes through
:meth:`~vsa_stream.sinks.delivery.Delivery.review`, so it becomes a new revision that every sink
gets like any other. Errors are small JSON bodies (``{"error": "..."}``); 401 and 403 say
nothing more than their status.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anyio
import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from vsa_stream.audit import CHECKPOINT_TYPE, AuditLog
from vsa_stream.config import Config
from vsa_stream.config.statistics import STATISTICS_TYPE
from vsa_stream.engine import Engine
from vsa_stream.events import encode
from vsa_stream.evidence import EvidenceStore
from vsa_stream.log import get_logger
from vsa_stream.metrics import CONTENT_TYPE
from vsa_stream.reload import ReloadReport
from vsa_stream.server.auth import Authenticator, Principal, Role
from vsa_stream.server.hosts import HostGuard
from vsa_stream.server.openapi import ReviewRequest, openapi_document
from vsa_stream.server.stats_api import statistics_handler
from vsa_stream.stats.store import StatisticsStore

__all__ = ["ApiContext", "ReviewRequest", "build_app"]

_STATES = ("open", "updated", "closed")
_REVIEWS = ("pending", "confirmed", "false_alarm", "unclear", "dismissed")
_MAX_PAGE = 500
# An idle event stream sends a comment this often (keeps proxies and clients from timing out).
_KEEPALIVE_S = 15.0
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_STATIC = {
    "operator.js": "text/javascript; charset=utf-8",
    "operator.css": "text/css; charset=utf-8",
}


_review_decoder = msgspec.json.Decoder(ReviewRequest)


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


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status, headers, "application/json")


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json({"error": message}, status, headers)


Handler = Callable[[Request, Principal], Awaitable[Response]]


def _guard(
    ctx: ApiContext, role: Role, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler`` only for a request whose token grants ``role`` (401 / 403 otherwise)."""

    async def endpoint(request: Request) -> Response:
        principal = ctx.auth.identify(request.headers.get("authorization"))
        if principal is None:
            if ctx.audit is not None and "authorization" in request.headers:
                # a credential was given and refused: audited (rate-limited), never its value
                address = request.client.host if request.client else "unknown"
                try:
                    await anyio.to_thread.run_sync(ctx.audit.auth_failed, address, request.url.path)
                except OSError as exc:
                    get_logger().error("failed authentication not audited", error=str(exc))
            return _error(401, "unauthorized")
        if not principal.allows(role):
            return _error(403, "forbidden")
        return await handler(request, principal)

    return endpoint


def build_app(ctx: ApiContext) -> Starlette:
    """The Starlette application serving ``ctx`` (routes: see :func:`openapi_document`)."""
    engine = ctx.engine
    outbox = engine.outbox
    log = get_logger()

    async def audit(kind: str, data: dict[str, Any]) -> None:
        if ctx.audit is not None:
            await anyio.to_thread.run_sync(ctx.audit.append, kind, data)

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        waiting = []
        if not engine.cameras_started:
            waiting.append("cameras")
        if not engine.delivery.ready:
            waiting.append("outbox")
        if waiting:
            return _json({"ready": False, "waiting": waiting}, 503)
        return _json({"ready": True})

    async def metrics(request: Request, who: Principal) -> Response:
        body = await anyio.to_thread.run_sync(engine.metrics.exposition)
        return Response(body, 200, media_type=CONTENT_TYPE)

    async def list_events(request: Request, who: Principal) -> Response:
        q = request.query_params
        unknown = set(q) - {"camera", "type", "state", "review", "after", "limit", "order"}
        if unknown:
            return _error(400, f"unknown query parameter {sorted(unknown)[0]!r}")
        if q.get("state") is not None and q["state"] not in _STATES:
            return _error(400, f"state must be one of {', '.join(_STATES)}")
        if q.get("review") is not None and q["review"] not in _REVIEWS:
            return _error(400, f"review must be one of {', '.join(_REVIEWS)}")
        order = q.get("order", "desc")
        if order not in ("desc", "asc"):
            return _error(400, "order must be desc (newest first, the default) or asc")
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= _MAX_PAGE:
            return _error(400, f"limit must be an integer from 1 to {_MAX_PAGE}")
        events = await anyio.to_thread.run_sync(
            lambda: outbox.list_events(
                camera_id=q.get("camera"),
                type=q.get("type"),
                state=q.get("state"),
                review=q.get("review"),
                after_id=q.get("after"),
                limit=limit + 1,
                newest_first=order == "desc",
            )
        )
        more = len(events) > limit
        page = events[:limit]
        return _json({"events": page, "next": page[-1].id if more else None})

    async def get_event(request: Request, who: Principal) -> Response:
        event = await outbox.call(outbox.get_event, request.path_params["event_id"])
        if event is None:
            return _error(404, "no such event")
        return Response(encode(event), 200, media_type="application/json")

    async def review(request: Request, who: Principal) -> Response:
        event_id = request.path_params["event_id"]
        body = await request.body()
        try:
            wanted = _review_decoder.decode(body)
        except msgspec.ValidationError as exc:
            return _error(422, f"invalid review: {exc}")
        except msgspec.DecodeError:
            return _error(
                400, "expected a JSON body {review: confirmed|false_alarm|unclear, cause, note}"
            )
        if wanted.note is not None and len(wanted.note) > 2000:
            return _error(422, "note is longer than 2000 characters")
        try:
            event = await engine.delivery.review(event_id, wanted.review, wanted.note, wanted.cause)
        except KeyError:
            return _error(404, "no such event")
        except ValueError as exc:
            return _error(422, f"invalid review: {exc}")
        await audit(
            "review",
            {
                "actor": who.name,
                "event_id": event.id,
                "revision": event.revision,
                "review": event.review,
                "cause": event.review_cause,
                "note_sha256": hashlib.sha256((wanted.note or "").encode()).hexdigest(),
            },
        )
        log.info(
            "event reviewed",
            event_id=event.id,
            review=event.review,
            cause=event.review_cause,
            actor=who.name,
        )
        return Response(encode(event), 200, media_type="application/json")

    async def snapshot(request: Request, who: Principal) -> Response:
        event_id = request.path_params["event_id"]
        kind = request.query_params.get("kind", "open")
        if ctx.evidence is None:
            return _error(404, "snapshots are off (privacy.snapshots)")
        event = await outbox.call(outbox.get_event, event_id)
        path = None if event is None else ctx.evidence.path(event.camera_id, event.id, kind)
        if event is None or path is None:
            return _error(404, "no such snapshot")
        try:
            data = await anyio.Path(path).read_bytes()
        except FileNotFoundError:
            return _error(404, "no such snapshot")
        await audit("evidence_access", {"actor": who.name, "event_id": event.id, "kind": kind})
        return Response(data, 200, {"Cache-Control": "no-store"}, "image/jpeg")

    async def dead_letters(request: Request, who: Principal) -> Response:
        sink = request.query_params.get("sink")
        letters = await outbox.call(outbox.dead_letters, sink)
        return _json({"dead": [dataclasses.asdict(d) for d in letters]})

    async def redrive(request: Request, who: Principal) -> Response:
        sink = request.query_params.get("sink")
        count = await outbox.call(outbox.redrive, sink)
        await audit("outbox_redrive", {"actor": who.name, "sink": sink, "count": count})
        log.info("dead letters re-queued", count=count, sink=sink, actor=who.name)
        return _json({"redriven": count})

    async def reload(request: Request, who: Principal) -> Response:
        if ctx.reload is None:
            return _error(503, "this server cannot reload a configuration")
        report = await ctx.reload(f"api:{who.name}")
        return Response(
            msgspec.json.encode(report), 200 if report.ok else 422, None, "application/json"
        )

    async def me(request: Request, who: Principal) -> Response:
        return _json({"name": who.name, "role": who.role})

    async def cameras(request: Request, who: Principal) -> Response:
        return _json({"cameras": _cameras(engine)})

    async def stream(request: Request, who: Principal) -> Response:
        camera = request.query_params.get("camera")
        last = request.headers.get("last-event-id")
        if last is not None and not (last.isascii() and last.isdigit()):
            return _error(400, "Last-Event-ID must be the id (a number) of an event of this stream")
        start = int(last) if last is not None else outbox.head
        return StreamingResponse(
            _revisions(ctx, start, camera),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def openapi(request: Request) -> Response:
        return _json(openapi_document())

    async def page(request: Request) -> Response:
        html = resources.files("vsa_stream.server").joinpath("static/operator.html").read_bytes()
        return Response(html, 200, _PAGE_HEADERS, "text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return _error(404, "not found")
        data = resources.files("vsa_stream.server").joinpath(f"static/{name}").read_bytes()
        return Response(data, 200, _PAGE_HEADERS, _STATIC[name])

    async def root(request: Request) -> Response:
        return RedirectResponse("/operator")

    routes = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", _guard(ctx, "viewer", metrics)),
        Route("/api/openapi.json", openapi),
        Route("/api/events", _guard(ctx, "viewer", list_events)),
        Route("/api/events/{event_id}", _guard(ctx, "viewer", get_event)),
        Route("/api/events/{event_id}/review", _guard(ctx, "operator", review), methods=["POST"]),
        Route("/api/events/{event_id}/snapshot", _guard(ctx, "operator", snapshot)),
        Route("/api/cameras", _guard(ctx, "viewer", cameras)),
        Route("/api/me", _guard(ctx, "viewer", me)),
        Route("/api/outbox/dead", _guard(ctx, "viewer", dead_letters)),
        Route("/api/outbox/redrive", _guard(ctx, "operator", redrive), methods=["POST"]),
        Route("/api/config/reload", _guard(ctx, "operator", reload), methods=["POST"]),
        Route("/api/stream", _guard(ctx, "viewer", stream)),
        Route("/api/stats", _guard(ctx, "viewer", statistics_handler(lambda: ctx.statistics))),
        Route("/operator", page),
        Route("/operator/{name}", static),
    ]
    hosts = Middleware(HostGuard, names=ctx.config.server.host_names())
    return Starlette(routes=routes, middleware=[hosts])


async def _revisions(ctx: ApiContext, after: int, camera: str | None) -> AsyncIterator[bytes]:
    """Server-sent events: every revision committed after ``after`` (its ``seq`` is the SSE
    id, so a client that reconnects with ``Last-Event-ID`` misses nothing still stored)."""
    outbox = ctx.engine.outbox
    delivery = ctx.engine.delivery
    yield b": vsa_stream event stream\nretry: 2000\n\n"
    while not ctx.closing.is_set():
        wake = delivery.next_change()
        rows = await outbox.call(outbox.read_after, after, 256)
        for row in rows:
            after = row.seq
            if row.event.type in (CHECKPOINT_TYPE, STATISTICS_TYPE):
                continue  # the audit log's anchor, or aggregates, for the sinks: not alerts
            if camera is None or row.event.camera_id == camera:
                yield b"id: %d\nevent: revision\ndata: %s\n\n" % (row.seq, row.body)
        if rows:
            continue
        with anyio.move_on_after(_KEEPALIVE_S) as timer:
            if wake.is_set():  # the engine finished: no more commits will wake us
                await anyio.sleep(1.0)
            else:
                async with anyio.create_task_group() as tg:

                    async def until_closing() -> None:
                        await ctx.closing.wait()
                        tg.cancel_scope.cancel()

                    tg.start_soon(until_closing)
                    await wake.wait()
                    tg.cancel_scope.cancel()
        if timer.cancelled_caught:
            yield b": keepalive\n\n"


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
