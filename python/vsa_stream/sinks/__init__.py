"""Sinks: where alerts go.

Every sink is fed by the durable outbox (:mod:`vsa_stream.outbox`) through
:class:`~vsa_stream.sinks.delivery.Delivery`: one task and one cursor per sink.
"""

from __future__ import annotations

from vsa_stream.config import Sinks
from vsa_stream.sinks.base import DeliveryError, DeliveryPolicy, EndpointGoneError, Sink
from vsa_stream.sinks.jsonl import JsonlSink
from vsa_stream.sinks.memory import MemorySink
from vsa_stream.sinks.stdout import StdoutSink

__all__ = [
    "DeliveryError",
    "DeliveryPolicy",
    "EndpointGoneError",
    "JsonlSink",
    "MemorySink",
    "Sink",
    "StdoutSink",
    "build_sinks",
]


def build_sinks(config: Sinks, state_dir: str | None = None) -> list[Sink]:
    """The sinks a configuration enables; ``state_dir``, the daemon's state folder, tells
    daemons on one host apart (the default MQTT client id).

    Raises:
        OSError: a sink's file cannot be opened.
    """
    sinks: list[Sink] = []
    if config.stdout is not None and config.stdout.enabled:
        sinks.append(StdoutSink())
    if config.jsonl is not None:
        sinks.append(JsonlSink(config.jsonl.path, fsync=config.jsonl.fsync))
    if config.webhooks:
        from vsa_stream.sinks.webhook import WebhookSink

        sinks.extend(WebhookSink(endpoint) for endpoint in config.webhooks)
    if config.mqtt is not None:
        from vsa_stream.sinks.mqtt import MqttSink

        sinks.append(MqttSink(config.mqtt, state_dir=state_dir))
    return sinks
