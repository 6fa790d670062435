"""The ASGI application of the HTTP API and the operator page (Starlette), for a daemon and for
the cluster console alike.

:func:`build_app` serves an :class:`~vsa_stream.server.backend.ApiBackend`: a daemon's
:class:`~vsa_stream.server.context.ApiContext` (its engine and outbox) or the console's fleet
view (:mod:`vsa_stream.cluster.console_app`). Both get the same routes, query checks, tokens and
roles, ``Host`` allow-list, event stream and page; the routes that manage one daemon (dead
letters, redrive, reload, statistics) exist only when the backend is a
:class:`~vsa_stream.server.backend.DaemonAdmin`, and ``/api/openapi.json`` lists only the
routes served. Errors are small JSON bodies (``{"error": "..."}``); 401 and 403 say nothing
more than their status.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
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

from vsa_stream.audit import CHECKPOINT_TYPE
from vsa_stream.event_types import STATISTICS_TYPE
from vsa_stream.events import encode
from vsa_stream.metrics import CONTENT_TYPE
from vsa_stream.server.auth import Principal, Role
from vsa_stream.server.backend import ApiBackend, ApiError, DaemonAdmin
from vsa_stream.server.context import ApiContext
from vsa_stream.server.hosts import HostGuard
from vsa_stream.server.openapi import ReviewRequest, openapi_document
from vsa_stream.server.stats_api import statistics_handler

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


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status, headers, "application/json")


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json({"error": message}, status, headers)


Handler = Callable[[Request, Principal], Awaitable[Response]]


def _guard(
    backend: ApiBackend, role: Role, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler`` only for a request whose token grants ``role`` (401 / 403 otherwise);
    an :class:`ApiError` it raises is answered as its status and message."""

    async def endpoint(request: Request) -> Response:
        principal = backend.auth.identify(request.headers.get("authorization"))
        if principal is None:
            if "authorization" in request.headers:
                # a credential was given and refused: audited, never its value
                address = request.client.host if request.client else "unknown"
                await backend.auth_failed(address, request.url.path)
            return _error(401, "unauthorized")
        if not principal.allows(role):
            return _error(403, "forbidden")
        try:
            return await handler(request, principal)
        except ApiError as exc:
            return _error(exc.status, exc.message)

    return endpoint


def build_app(backend: ApiBackend) -> Starlette:
    """The Starlette application serving ``backend`` (routes: see :func:`openapi_document`)."""

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        waiting = backend.waiting()
        if waiting:
            return _json({"ready": False, "waiting": waiting}, 503)
        return _json({"ready": True})

    async def metrics(request: Request, who: Principal) -> Response:
        body = await anyio.to_thread.run_sync(backend.metrics.exposition)
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
            lambda: backend.events.list_events(
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
        events = backend.events
        event = await events.call(events.get_event, request.path_params["event_id"])
        if event is None:
            return _error(404, "no such event")
        return Response(encode(event), 200, media_type="application/json")

    async def review(request: Request, who: Principal) -> Response:
        try:
            wanted = _review_decoder.decode(await request.body())
        except msgspec.ValidationError as exc:
            return _error(422, f"invalid review: {exc}")
        except msgspec.DecodeError:
            return _error(
                400, "expected a JSON body {review: confirmed|false_alarm|unclear, cause, note}"
            )
        if wanted.note is not None and len(wanted.note) > 2000:
            return _error(422, "note is longer than 2000 characters")
        done = await backend.review(request.path_params["event_id"], wanted, who.name)
        return Response(encode(done.event), done.status, done.headers, "application/json")

    async def snapshot(request: Request, who: Principal) -> Response:
        kind = request.query_params.get("kind", "open")
        data = await backend.snapshot(request.path_params["event_id"], kind, who.name)
        return Response(data, 200, {"Cache-Control": "no-store"}, "image/jpeg")

    async def me(request: Request, who: Principal) -> Response:
        return _json({"name": who.name, "role": who.role})

    async def cameras(request: Request, who: Principal) -> Response:
        return _json({"cameras": await backend.cameras()})

    async def stream(request: Request, who: Principal) -> Response:
        camera = request.query_params.get("camera")
        last = request.headers.get("last-event-id")
        if last is not None and not (last.isascii() and last.isdigit()):
            return _error(400, "Last-Event-ID must be the id (a number) of an event of this stream")
        start = int(last) if last is not None else backend.events.head
        return StreamingResponse(
            _revisions(backend, start, camera),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

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
        Route("/metrics", _guard(backend, "viewer", metrics)),
        Route("/api/events", _guard(backend, "viewer", list_events)),
        Route("/api/events/{event_id}", _guard(backend, "viewer", get_event)),
        Route(
            "/api/events/{event_id}/review", _guard(backend, "operator", review), methods=["POST"]
        ),
        Route("/api/events/{event_id}/snapshot", _guard(backend, "operator", snapshot)),
        Route("/api/cameras", _guard(backend, "viewer", cameras)),
        Route("/api/me", _guard(backend, "viewer", me)),
        Route("/api/stream", _guard(backend, "viewer", stream)),
        Route("/operator", page),
        Route("/operator/{name}", static),
    ]
    if isinstance(backend, DaemonAdmin):
        routes += _admin_routes(backend, backend)
    served = {route.path for route in routes} | {"/api/openapi.json"}
    document = msgspec.json.encode(openapi_document(served, review_status=backend.review_status))

    async def openapi(request: Request) -> Response:
        return Response(document, 200, media_type="application/json")

    routes.append(Route("/api/openapi.json", openapi))
    hosts = Middleware(HostGuard, names=backend.settings.host_names())
    return Starlette(routes=routes, middleware=[hosts])


def _admin_routes(backend: ApiBackend, admin: DaemonAdmin) -> list[Route]:
    """The routes that manage one daemon (``admin``, the same object as ``backend``): its
    outbox's dead letters, redrive, reload, statistics."""

    async def dead_letters(request: Request, who: Principal) -> Response:
        return _json({"dead": await admin.dead_letters(request.query_params.get("sink"))})

    async def redrive(request: Request, who: Principal) -> Response:
        count = await admin.redrive(request.query_params.get("sink"), who.name)
        return _json({"redriven": count})

    async def reload(request: Request, who: Principal) -> Response:
        if admin.reload is None:
            return _error(503, "this server cannot reload a configuration")
        report = await admin.reload(f"api:{who.name}")
        return Response(
            msgspec.json.encode(report), 200 if report.ok else 422, None, "application/json"
        )

    return [
        Route("/api/outbox/dead", _guard(backend, "viewer", dead_letters)),
        Route("/api/outbox/redrive", _guard(backend, "operator", redrive), methods=["POST"]),
        Route("/api/config/reload", _guard(backend, "operator", reload), methods=["POST"]),
        Route(
            "/api/stats", _guard(backend, "viewer", statistics_handler(lambda: admin.statistics))
        ),
    ]


async def _revisions(backend: ApiBackend, after: int, camera: str | None) -> AsyncIterator[bytes]:
    """Server-sent events: every revision stored after ``after`` (its ``seq`` is the SSE id,
    so a client that reconnects with ``Last-Event-ID`` misses nothing still stored)."""
    yield b": vsa_stream event stream\nretry: 2000\n\n"
    while not backend.closing.is_set():
        wake = backend.next_change()
        rows = await backend.events.call(backend.events.read_after, after, 256)
        for row in rows:
            after = row.seq
            if row.event.type in (CHECKPOINT_TYPE, STATISTICS_TYPE):
                continue  # the audit log's anchor, or aggregates, for the sinks: not alerts
            if camera is None or row.event.camera_id == camera:
                yield b"id: %d\nevent: revision\ndata: %s\n\n" % (row.seq, row.body)
        if rows:
            continue
        with anyio.move_on_after(_KEEPALIVE_S) as timer:
            if wake.is_set():
                if backend.next_change() is wake:  # the source ended: no change will wake us
                    await anyio.sleep(1.0)
            else:
                async with anyio.create_task_group() as tg:

                    async def until_closing() -> None:
                        await backend.closing.wait()
                        tg.cancel_scope.cancel()

                    tg.start_soon(until_closing)
                    await wake.wait()
                    tg.cancel_scope.cancel()
        if timer.cancelled_caught:
            yield b": keepalive\n\n"
