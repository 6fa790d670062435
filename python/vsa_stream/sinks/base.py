"""What a sink is: somewhere every event revision is delivered, and how the outbox treats it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from vsa_stream.events import Event

__all__ = [
    "ORDERED_BACKOFF_S",
    "CameraStates",
    "DeliveryError",
    "DeliveryPolicy",
    "EndpointGoneError",
    "Sink",
]

#: Waits between attempts of a sink that delivers strictly in order (the last one repeats).
ORDERED_BACKOFF_S: tuple[float, ...] = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)


#: A function returning the ``(camera_id, state)`` pair of every camera, as it is now.
CameraStates = Callable[[], Iterable[tuple[str, str]]]


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


class Sink(ABC):
    """An alert destination: the base class of every sink.

    A sink names itself (``name``, unique among the sinks of a run: it names the sink's cursor
    in the outbox) and implements :meth:`send`; :attr:`policy`, :meth:`aclose` and
    :meth:`watch_cameras` have defaults that a sink overrides when it needs to.
    """

    name: str
    #: How the outbox delivers to this sink: ordered, every type, by default.
    policy: DeliveryPolicy = DeliveryPolicy()

    @abstractmethod
    async def send(self, event: Event) -> None:
        """Deliver one event revision; return once it is delivered, or raise
        (:class:`DeliveryError` when the sink knows more, any exception otherwise)."""

    async def aclose(self) -> None:
        """Flush and release resources (nothing by default)."""
        return

    async def watch_cameras(self, states: CameraStates) -> None:
        """Run for as long as the sink delivers, given ``states`` (the cameras' states now);
        cancelled when the sink is taken out. By default there is nothing to watch: returns
        at once."""
        return
