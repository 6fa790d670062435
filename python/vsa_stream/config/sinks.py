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

    enabled: Annotated[
        bool, msgspec.Meta(description="`false` turns it off while keeping the section")
    ] = True


class JsonlSink(_Base):
    """Alerts appended to a JSON-lines file, fsynced per event."""

    path: Annotated[
        str,
        msgspec.Meta(min_length=1, description="the file; parent folders are created; runs append"),
    ]
    fsync: Annotated[
        bool,
        msgspec.Meta(
            description=("sync each line to disk before the next (an alert survives a power cut)")
        ),
    ] = True


#: Default waits before each webhook attempt: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
WEBHOOK_RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class WebhookEndpoint(_Base):
    """A receiver of signed webhooks (Standard Webhooks)."""

    name: Annotated[
        _ID,
        msgspec.Meta(
            description=(
                "unique; names the endpoint's delivery cursor (`webhook:<name>`) and its metrics"
            )
        ),
    ]
    url: Annotated[str, msgspec.Meta(min_length=1, description="where to POST")]
    secrets: Annotated[
        list[str],
        msgspec.Meta(
            min_length=1,
            max_length=8,
            description=(
                "`whsec_` + base64 of a 24..64-byte key; every request is signed "
                "with each (several while rotating). Use `${VAR}` to keep them "
                "out of the file"
            ),
        ),
    ]
    types: Annotated[
        list[str] | None,
        msgspec.Meta(
            description=(
                "only these types are sent (the eight situations, "
                "`camera_offline`, `camera_online`, `camera_tampered`, "
                "`camera_unauthorised`, `alert_storm`, `audit_checkpoint`, "
                "`statistics`: `vsa_stream.event_types.EVENT_TYPES`)"
            )
        ),
    ] = None
    concurrency: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=64,
            description=(
                "requests in flight at once, each on its own kept-alive "
                "connection (`1`: first attempts strictly in order). Throughput "
                "to one endpoint is at most `concurrency` / the receiver's answer"
                " time: 16 in flight to a receiver answering in 10 ms is 1,600/s"
            ),
        ),
    ] = 16
    timeout_s: Annotated[
        float,
        msgspec.Meta(
            gt=0.0, le=300.0, description="per request: connecting, sending and the whole answer"
        ),
    ] = 15.0
    retry_schedule_s: Annotated[
        list[Annotated[float, msgspec.Meta(ge=0.0, le=604800.0)]],
        msgspec.Meta(
            min_length=1,
            max_length=32,
            description=(
                "the wait before each attempt (±20 % jitter); after the last "
                "attempt fails, the revision is kept as dead in the outbox and "
                "logged"
            ),
        ),
    ] = msgspec.field(default_factory=lambda: list(WEBHOOK_RETRY_SCHEDULE_S))
    allow_private: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "allow hosts that are or resolve to private, loopback or "
                "link-local addresses (refused by default: SSRF guard)"
            )
        ),
    ] = False
    ca_file: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description=(
                "`https://` only: certificates of the authorities (a private CA, "
                "a self-signed receiver) trusted **in addition to** the system's "
                "store; the receiver's name is checked all the same. Checked at "
                "load: a missing file, or one without a readable certificate, is "
                "an error naming this field"
            )
        ),
    ] = None


class MqttSink(_Base):
    """An MQTT broker: events on ``<prefix>/<camera>/<type>``, camera status retained."""

    host: Annotated[str, msgspec.Meta(min_length=1, description="broker host")]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="broker port")] = 1883
    client_id: Annotated[
        Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None,
        msgspec.Meta(description="MQTT client id (unique per daemon)"),
    ] = None
    username: Annotated[
        str | None, msgspec.Meta(description="the broker account (with `password`)")
    ] = None
    password: Annotated[str | None, msgspec.Meta(description="use `${VAR}`")] = None
    tls: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "TLS: the broker's certificate is checked against the system's "
                "certificate authorities (plus `ca_file`), its name included"
            )
        ),
    ] = False
    topic_prefix: Annotated[
        str, msgspec.Meta(pattern=r"^[^#+\s]+$", description="first level of every topic")
    ] = "vsa"
    keepalive_s: Annotated[
        int,
        msgspec.Meta(
            ge=5,
            le=3600,
            description=(
                "MQTT keep-alive; a dead daemon's last will is sent after about 1.5× this"
            ),
        ),
    ] = 30
    ca_file: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description=(
                "with `tls: true`: certificates of the authorities trusted **in "
                "addition to** the system's store (a broker with a private CA)"
            )
        ),
    ] = None
    cert_file: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description=(
                "with `tls: true`: the daemon's client certificate, for a broker "
                "that requires one (Mosquitto's `require_certificate true`)"
            )
        ),
    ] = None
    key_file: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(
            description=(
                "the private key of `cert_file` (unencrypted); omit it when "
                "`cert_file` holds the key too"
            )
        ),
    ] = None


class Sinks(_Base):
    """Where alerts go; every alert reaches every configured sink."""

    stdout: Annotated[
        StdoutSink | None,
        msgspec.Meta(description="each event revision as a JSON line on standard output"),
    ] = None
    jsonl: Annotated[
        JsonlSink | None,
        msgspec.Meta(description="each event revision appended to a JSON-lines file"),
    ] = None
    webhooks: Annotated[
        list[WebhookEndpoint], msgspec.Meta(description="signed HTTP webhooks (Standard Webhooks)")
    ] = msgspec.field(default_factory=list)
    mqtt: Annotated[MqttSink | None, msgspec.Meta(description="an MQTT broker")] = None


class OutboxConfig(_Base):
    """The durable outbox every alert is committed to before delivery."""

    path: Annotated[
        Annotated[str, msgspec.Meta(min_length=1)] | None,
        msgspec.Meta(description="the database file; parent folders are created"),
    ] = None
    synchronous: Annotated[
        Literal["full", "normal"],
        msgspec.Meta(
            description=(
                "`full`: an accepted revision survives a power cut; `normal`: it "
                "survives a crash of the daemon, not of the machine (faster)"
            )
        ),
    ] = "full"
    keep_delivered_h: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=8760.0,
            description=(
                "revisions every sink has had are deleted after this many hours "
                "(checked every 5 minutes)"
            ),
        ),
    ] = 24.0
    keep_events_days: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=30.0,
            description=(
                "the latest state of each event (what the HTTP API lists) is "
                "deleted this many days after its last change, if every sink has "
                "had it (minimisation: 30 at most)"
            ),
        ),
    ] = 30.0
    drain_s: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=3600.0,
            description=(
                "on stop, how long sinks get to catch up; what is left is "
                "delivered at the next start"
            ),
        ),
    ] = 10.0
