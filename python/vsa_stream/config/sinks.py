"""Where alerts go (stdout, JSON lines, webhooks, MQTT) and the outbox in front of them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from vsa_stream.config._base import _ID, _Base

__all__ = [
    "WEBHOOK_RETRY_SCHEDULE_S",
    "JsonlSink",
    "MqttSink",
    "OutboxConfig",
    "Sinks",
    "StdoutSink",
    "WebhookEndpoint",
]


class StdoutSink(_Base):
    """Alerts as JSON lines on standard output."""

    enabled: bool = True


class JsonlSink(_Base):
    """Alerts appended to a JSON-lines file, fsynced per event."""

    path: Annotated[str, msgspec.Meta(min_length=1)]
    fsync: bool = True


#: Default waits before each webhook attempt: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class WebhookEndpoint(_Base):
    """A receiver of signed webhooks (Standard Webhooks)."""

    name: _ID
    url: Annotated[str, msgspec.Meta(min_length=1)]
    secrets: Annotated[list[str], msgspec.Meta(min_length=1, max_length=8)]
    types: list[str] | None = None
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=64)] = 16
    timeout_s: Annotated[float, msgspec.Meta(gt=0.0, le=300.0)] = 15.0
    retry_schedule_s: Annotated[
        list[Annotated[float, msgspec.Meta(ge=0.0, le=604800.0)]],
        msgspec.Meta(min_length=1, max_length=32),
    ] = msgspec.field(default_factory=lambda: list(WEBHOOK_RETRY_SCHEDULE_S))
    allow_private: bool = False
    ca_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class MqttSink(_Base):
    """An MQTT broker: events on ``<prefix>/<camera>/<type>``, camera status retained."""

    host: Annotated[str, msgspec.Meta(min_length=1)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[^#+\s]+$")] = "vsa"
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    ca_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    cert_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    key_file: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class Sinks(_Base):
    """Where alerts go; every alert reaches every configured sink."""

    stdout: StdoutSink | None = None
    jsonl: JsonlSink | None = None
    webhooks: list[WebhookEndpoint] = msgspec.field(default_factory=list)
    mqtt: MqttSink | None = None


class OutboxConfig(_Base):
    """The durable outbox every alert is committed to before delivery."""

    path: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    synchronous: Literal["full", "normal"] = "full"
    keep_delivered_h: Annotated[float, msgspec.Meta(ge=0.0, le=8760.0)] = 24.0
    keep_events_days: Annotated[float, msgspec.Meta(ge=0.0, le=30.0)] = 30.0
    drain_s: Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)] = 10.0
