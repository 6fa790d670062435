"""The ``ALERTS`` stream as a sink: every revision from the outbox, de-duplicated by JetStream.

Each revision is published on ``<prefix>.alerts.<camera>.<type>`` with the headers

- ``Nats-Msg-Id: <event id>-<revision>``: JetStream drops a second copy within the stream's
  duplicate window (a revision published again after a crash or a lost acknowledgement);
- ``Vsa-Node`` and ``Vsa-Epoch``: the node that published it and the camera's ownership epoch
  on that node when it last owned the camera (absent for a revision replayed after a restart
  from a camera this run never owned).

A revision counts as delivered once JetStream acknowledged it (stored on a majority of the
stream's replicas). During a stream leader election (a few seconds) publishing fails, the
revision waits in the outbox and is retried in order every half second.
"""

from __future__ import annotations

from collections.abc import Callable

from vsa_stream.cluster.store import ALERTS_STREAM, ClusterStore
from vsa_stream.events import Event, encode
from vsa_stream.sinks.base import DeliveryError, DeliveryPolicy, Sink

__all__ = ["AlertStreamSink"]

# How long a publication waits for JetStream's acknowledgement.
_ACK_TIMEOUT_S = 2.0


class AlertStreamSink(Sink):
    """Publishes every revision to ``ALERTS`` (see the module docstring)."""

    name = "nats"
    policy = DeliveryPolicy(mode="ordered", schedule=(0.0, 0.2, 0.5))

    def __init__(
        self, store: ClusterStore, node_id: str, epoch_of: Callable[[str], int | None]
    ) -> None:
        self.store = store
        self.node_id = node_id
        self.epoch_of = epoch_of
        self.published = 0
        self.duplicates = 0

    async def send(self, event: Event) -> None:
        """Publish one revision; returns once JetStream acknowledged it."""
        subject = f"{self.store.subject_prefix}.{event.camera_id}.{event.type}"
        headers = {"Nats-Msg-Id": f"{event.id}-{event.revision}", "Vsa-Node": self.node_id}
        epoch = self.epoch_of(event.camera_id)
        if epoch is not None:
            headers["Vsa-Epoch"] = str(epoch)
        try:
            ack = await self.store.js.publish(
                subject,
                encode(event),
                timeout=_ACK_TIMEOUT_S,
                stream=ALERTS_STREAM,
                headers=headers,
            )
        except Exception as exc:
            raise DeliveryError(f"{ALERTS_STREAM}: {type(exc).__name__}: {exc}") from exc
        self.published += 1
        self.duplicates += bool(ack.duplicate)

    async def aclose(self) -> None:
        """Nothing to release: the daemon closes the NATS connection after the sinks."""
