"""What the HTTP API serves, whoever serves it: a daemon (its engine and outbox, see
:class:`~vsa_stream.server.context.ApiContext`) or the cluster console (the fleet view, see
:mod:`vsa_stream.cluster.console_app`).

:func:`~vsa_stream.server.app.build_app` builds the same routes, checks and answers over any
:class:`ApiBackend`; the routes that manage one daemon (dead letters, redrive, reload,
statistics) exist only when the backend is also a :class:`DaemonAdmin`. A backend refuses a
request with :class:`ApiError`, which the API answers as ``{"error": message}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio

from vsa_stream.config.server import ServerConfig
from vsa_stream.events import Event
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.reload import ReloadReport
from vsa_stream.server.auth import Authenticator
from vsa_stream.server.openapi import ReviewRequest
from vsa_stream.stats.store import StatisticsStore

__all__ = ["ApiBackend", "ApiError", "DaemonAdmin", "Reviewed"]


class ApiError(Exception):
    """A request the backend refuses: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class Reviewed:
    """What a review answers: the event as it now reads, with its status and headers."""

    event: Event
    status: int = 200
    headers: dict[str, str] | None = None


class ApiBackend(Protocol):
    """The state one HTTP API serves: events, reviews, snapshots, cameras, readiness, metrics."""

    @property
    def name(self) -> str:
        """What the logs call this API (``http api``, ``console http api``)."""
        ...

    @property
    def settings(self) -> ServerConfig:
        """The ``server:`` section: address, TLS, tokens, allowed hosts."""
        ...

    @property
    def auth(self) -> Authenticator: ...

    @property
    def closing(self) -> anyio.Event:
        """Set when the server shuts down: open event streams end."""
        ...

    @property
    def review_status(self) -> int:
        """The status of an accepted review (200: applied; 202: recorded, applied later)."""
        ...

    @property
    def events(self) -> Outbox:
        """The revisions the API reads and streams: a daemon's outbox, the console's fleet view."""
        ...

    def waiting(self) -> list[str]:
        """What the backend still waits for before it is ready (empty: ready)."""
        ...

    @property
    def metrics(self) -> Metrics:
        """What ``/metrics`` exposes."""
        ...

    async def review(self, event_id: str, wanted: ReviewRequest, actor: str) -> Reviewed:
        """Record ``actor``'s verdict (audited). Raises :class:`ApiError` (404, 422, ...)."""
        ...

    async def snapshot(self, event_id: str, kind: str, actor: str) -> bytes:
        """An event's evidence JPEG (the read audited). Raises :class:`ApiError` (404)."""
        ...

    async def cameras(self) -> list[dict[str, Any]]: ...

    async def auth_failed(self, address: str, path: str) -> None:
        """Audit a refused credential (never its value)."""
        ...

    def next_change(self) -> anyio.Event:
        """Set at the next stored revision; the same set event once no more will come."""
        ...


@runtime_checkable
class DaemonAdmin(Protocol):
    """What only a daemon offers: its outbox's dead letters, reload, statistics."""

    async def dead_letters(self, sink: str | None) -> list[dict[str, Any]]: ...

    async def redrive(self, sink: str | None, actor: str) -> int:
        """Re-queue the dead letters (audited); how many."""
        ...

    @property
    def reload(self) -> Callable[[str], Awaitable[ReloadReport]] | None:
        """Reloads the configuration file, given who asks (None: cannot)."""
        ...

    @property
    def statistics(self) -> StatisticsStore | None: ...
