"""The console's HTTP API, event stream and operator page: the single daemon's routes, over the
fleet view (see :mod:`vsa_stream.cluster.console`).

Same tokens, roles, TLS and ``Host`` checks as a daemon's server (``server:`` of the console's
configuration). What differs:

- ``GET /api/events``, ``/api/events/{id}``, ``/api/stream``: every node's alerts, from
  ``ALERTS``;
- ``POST /api/events/{id}/review``: recorded once in the reviews bucket and audited; answers
  ``202`` with the event as its next revision will read (the raising node, or the console in
  its place, emits it), and ``Vsa-Review-Recorded: false`` when the same verdict was already
  recorded;
- ``GET /api/cameras``: the cameras the live nodes report (node, state, frames analysed);
- ``GET /api/events/{id}/snapshot``: from the evidence bucket, wherever the camera's node
  stored it (:mod:`vsa_stream.cluster.evidence`), audited as on a daemon;
- no outbox, reload or statistics routes (they belong to each node).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from vsa_stream.audit import CHECKPOINT_TYPE
from vsa_stream.cluster.store import decode_camera
from vsa_stream.errors import ConfigError
from vsa_stream.event_types import STATISTICS_TYPE
from vsa_stream.events import CAUSES, encode
from vsa_stream.log import get_logger
from vsa_stream.metrics import CONTENT_TYPE
from vsa_stream.server.auth import Authenticator, Principal, Role
from vsa_stream.server.hosts import HostGuard, is_loopback_host
from vsa_stream.server.openapi import ReviewRequest, openapi_document
from vsa_stream.tls import TlsFileError, server_context

if TYPE_CHECKING:
    from vsa_stream.cluster.console import Console

__all__ = ["ConsoleServer", "build_console_app"]

_STATES = ("open", "updated", "closed")
_REVIEWS = ("pending", "confirmed", "false_alarm", "unclear", "dismissed")
_NOT_ALERTS = (CHECKPOINT_TYPE, STATISTICS_TYPE)
_MAX_PAGE = 500
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

Handler = Callable[[Request, Principal], Awaitable[Response]]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status, headers, "application/json")


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return _json({"error": message}, status, headers)


def build_console_app(console: Console, closing: anyio.Event) -> Starlette:
    """The Starlette application of ``console`` (event streams end when ``closing`` is set)."""
    fleet = console.fleet
    auth = Authenticator(console.config.server.tokens)
    rates: dict[str, tuple[float, int, float]] = {}

    def guard(role: Role, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            principal = auth.identify(request.headers.get("authorization"))
            if principal is None:
                if "authorization" in request.headers:  # refused: audited, never its value
                    address = request.client.host if request.client else "unknown"
                    await anyio.to_thread.run_sync(
                        console.audit.auth_failed, address, request.url.path
                    )
                return _error(401, "unauthorized")
            if not principal.allows(role):
                return _error(403, "forbidden")
            return await handler(request, principal)

        return endpoint

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if not console.caught_up:
            return _json({"ready": False, "waiting": ["alerts"]}, 503)
        return _json({"ready": True})

    async def metrics(request: Request, who: Principal) -> Response:
        body = await anyio.to_thread.run_sync(console.metrics.exposition)
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
            lambda: fleet.list_events(
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
        event = await fleet.call(fleet.get_event, request.path_params["event_id"])
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
        if wanted.review == "false_alarm" and wanted.cause is None:
            return _error(422, f"invalid review: cause: a false_alarm needs one of {CAUSES}")
        if wanted.review != "false_alarm" and wanted.cause is not None:
            return _error(422, "invalid review: cause: only a false_alarm has a cause")
        event = await fleet.call(fleet.get_event, request.path_params["event_id"])
        if event is None:
            return _error(404, "no such event")
        if event.type in _NOT_ALERTS:
            return _error(422, "invalid review: review: this revision is not an alert")
        try:
            stored, written = await console.review(
                event, wanted.review, wanted.cause, wanted.note, who.name
            )
        except LookupError:
            return _error(409, "the node that raised this event is not known")
        expected = event.revised(
            review=stored.review, review_cause=stored.cause, review_note=stored.note
        )
        headers = {"Vsa-Review-Recorded": "true" if written else "false"}
        return Response(encode(expected), 202, headers, "application/json")

    async def snapshot(request: Request, who: Principal) -> Response:
        kind = request.query_params.get("kind", "open")
        event = await fleet.call(fleet.get_event, request.path_params["event_id"])
        if event is None or kind not in ("open", "closed"):
            return _error(404, "no such snapshot")
        data = await console.evidence.get(event.camera_id, event.id, kind)
        if data is None:
            return _error(404, "no such snapshot")
        await console.record(
            "evidence_access",
            {
                "actor": who.name,
                "event_id": event.id,
                "kind": kind,
                "node": console.raised_by.get(event.id),
            },
        )
        return Response(data, 200, {"Cache-Control": "no-store"}, "image/jpeg")

    async def me(request: Request, who: Principal) -> Response:
        return _json({"name": who.name, "role": who.role})

    async def cameras(request: Request, who: Principal) -> Response:
        nodes = await console.store.nodes(cameras=True)
        configs = await console.store.camera_configs()
        now = time.monotonic()
        out = []
        for node, record in sorted(nodes.items()):
            for camera_id, run in sorted(record.cameras.items()):
                # frames per second between two requests at least a second apart
                last = rates.get(camera_id)
                fps = last[2] if last is not None else 0.0
                if last is None or now - last[0] >= 1.0:
                    if last is not None and run.analysed >= last[1]:
                        fps = (run.analysed - last[1]) / (now - last[0])
                    rates[camera_id] = (now, run.analysed, fps)
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
        return _json({"cameras": out})

    async def stream(request: Request, who: Principal) -> Response:
        camera = request.query_params.get("camera")
        last = request.headers.get("last-event-id")
        if last is not None and not (last.isascii() and last.isdigit()):
            return _error(400, "Last-Event-ID must be the id (a number) of an event of this stream")
        start = int(last) if last is not None else fleet.head
        return StreamingResponse(
            _revisions(console, closing, start, camera),
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
        Route("/metrics", guard("viewer", metrics)),
        Route("/api/openapi.json", openapi),
        Route("/api/events", guard("viewer", list_events)),
        Route("/api/events/{event_id}", guard("viewer", get_event)),
        Route("/api/events/{event_id}/review", guard("operator", review), methods=["POST"]),
        Route("/api/events/{event_id}/snapshot", guard("operator", snapshot)),
        Route("/api/cameras", guard("viewer", cameras)),
        Route("/api/me", guard("viewer", me)),
        Route("/api/stream", guard("viewer", stream)),
        Route("/operator", page),
        Route("/operator/{name}", static),
    ]
    hosts = Middleware(HostGuard, names=console.config.server.host_names())
    return Starlette(routes=routes, middleware=[hosts])


async def _revisions(
    console: Console, closing: anyio.Event, after: int, camera: str | None
) -> AsyncIterator[bytes]:
    """Server-sent events: every revision of the fleet view after ``after`` (its ``seq`` is
    the SSE id)."""
    fleet = console.fleet
    yield b": vsa_stream console event stream\nretry: 2000\n\n"
    while not closing.is_set():
        wake = console.next_change()
        rows = await fleet.call(fleet.read_after, after, 256)
        for row in rows:
            after = row.seq
            if row.event.type in _NOT_ALERTS:
                continue
            if camera is None or row.event.camera_id == camera:
                yield b"id: %d\nevent: revision\ndata: %s\n\n" % (row.seq, row.body)
        if rows:
            continue
        with anyio.move_on_after(_KEEPALIVE_S) as timer:
            async with anyio.create_task_group() as tg:

                async def until_closing() -> None:
                    await closing.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(until_closing)
                await wake.wait()
                tg.cancel_scope.cancel()
        if timer.cancelled_caught:
            yield b": keepalive\n\n"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the console handles SIGINT and SIGTERM


class ConsoleServer:
    """Serves :func:`build_console_app` on ``server.host:server.port`` of the console's
    configuration (HTTPS with ``server.tls``), as :class:`~vsa_stream.server.ApiServer` does
    for a daemon."""

    def __init__(self, console: Console) -> None:
        settings = console.config.server
        self.host, self.port, self.tls = settings.host, settings.port, settings.tls
        self.closing = anyio.Event()
        tls = self.tls
        config = uvicorn.Config(
            build_console_app(console, self.closing),
            ssl_context_factory=(lambda *_: server_context(tls.cert, tls.key)) if tls else None,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self._server = _Server(config)
        self._socket: socket.socket | None = None

    def bind(self) -> None:
        """Read the TLS files and open the listening socket (``port`` 0: a free one).

        Raises:
            ConfigError: the certificate or the key cannot be used (``server.tls.*``).
            OSError: the address cannot be bound.
        """
        if not self._server.config.loaded:
            try:
                self._server.config.load()
            except TlsFileError as exc:
                raise ConfigError(str(exc), path=f"server.tls.{exc.which}") from None
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host.strip("[]"), self.port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = int(sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def run(self) -> None:
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        log = get_logger()
        log.info("console http api listening", url=self.url, tls=self.tls is not None)
        if self.tls is None and not is_loopback_host(self.host):
            log.warning(
                "console http api served without TLS on a non-loopback address: set server.tls",
                host=self.host,
            )
        await self._server.serve(sockets=[self._socket])

    def stop(self) -> None:
        self.closing.set()
        self._server.should_exit = True
