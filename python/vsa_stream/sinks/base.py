"""What a sink is: somewhere every event revision is delivered, and how the outbox treats it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from vsa_stream.events import Event

__all__ = ["ORDERED_BACKOFF_S", "DeliveryError", "DeliveryPolicy", "EndpointGoneError", "Sink"]

#: Waits between attempts of a sink that delivers strictly in order (the last one repeats).
ORDERED_BACKOFF_S: tuple[float, ...] = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)


class DeliveryError(Exception):
    """A delivery failed and may succeed later; ``retry_after`` (seconds) is the receiver's
    wish (``Retry-After``), when it said one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EndpointGoneError(DeliveryError):
    """The receiver said it wants nothing more (HTTP 410): the sink is disabled."""


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the outbox delivers to a sink.

    Attributes:
        mode: ``ordered``: one revision at a time, a failure is retried (with
            :data:`ORDERED_BACKOFF_S`) until it succeeds, so order always holds (files, MQTT);
            ``independent``: a failed revision is retried on ``schedule`` while the next ones go
            on (webhooks: a broken receiver for one alert never holds back the others).
        concurrency: revisions in flight at once (``independent`` only).
        schedule: ``independent``: the wait before each attempt (the first is usually 0); after
            the last, the revision is given up and kept as dead in the outbox.
        types: event types this sink receives (None: all).
        target: where the sink delivers (a URL): a sink disabled by its receiver is enabled
            again when this changes.
    """

    mode: Literal["ordered", "independent"] = "ordered"
    concurrency: int = 1
    schedule: tuple[float, ...] = ORDERED_BACKOFF_S
    types: frozenset[str] | None = None
    target: str = ""


class Sink(Protocol):
    """An alert destination. ``send`` returns once the revision is delivered, or raises
    (:class:`DeliveryError` when it knows more, any exception otherwise).

    A sink may also have a ``policy`` attribute (:class:`DeliveryPolicy`; ordered delivery by
    default) and an ``async watch_cameras(states)`` method, run for as long as the engine
    runs, that is given a function returning ``(camera_id, state)`` pairs.
    """

    name: str

    async def send(self, event: Event) -> None:
        """Deliver one event revision."""
        ...

    async def aclose(self) -> None:
        """Flush and release resources."""
        ...
