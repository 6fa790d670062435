"""Signed webhooks (Standard Webhooks) to one endpoint, over kept-alive HTTP/1.1 connections.

Each revision is POSTed as ``{"type": "event.<type>", "timestamp": ..., "data": <event>}`` with
``webhook-id: <event id>-<revision>`` (the same on every retry, so a receiver can drop
duplicates), ``webhook-timestamp`` and ``webhook-signature`` (see
:mod:`vsa_stream.webhook_signature`). Only a 2xx answer is a success; redirects are not
followed. 410 disables the endpoint; ``Retry-After`` is honoured on 429 and 503. Up to
``concurrency`` requests are in flight, each on its own connection
(:class:`~vsa_stream.sinks.http1.Http1Client`); proxies are not used.

Trust (``https``): the system's CA store, plus the certificates of ``ca_file`` when the endpoint
has one (see :mod:`vsa_stream.tls`); the server's name is always checked.

SSRF guard: unless ``allow_private`` is set, the host is resolved before a request and refused
when any of its addresses is private, loopback, link-local or otherwise not global.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio
import msgspec

from vsa_stream import __version__
from vsa_stream.config import WebhookEndpoint
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, encode
from vsa_stream.redact import redact_url
from vsa_stream.sinks.base import DeliveryError, DeliveryPolicy, EndpointGoneError, Sink
from vsa_stream.sinks.http1 import Http1Client, HttpError
from vsa_stream.tls import TlsFileError, client_context
from vsa_stream.webhook_signature import Signer

__all__ = ["WebhookSink", "parse_retry_after"]

# A resolution found safe is trusted this long.
_RESOLVE_TTL_S = 30.0


class _Envelope(msgspec.Struct):
    type: str
    timestamp: str
    data: msgspec.Raw


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent
    or unreadable.

    Example:
        >>> parse_retry_after("120")
        120.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
        10.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class WebhookSink(Sink):
    """POSTs each revision to one endpoint (see the module docstring)."""

    def __init__(self, endpoint: WebhookEndpoint) -> None:
        self.endpoint = endpoint
        self.name = f"webhook:{endpoint.name}"
        self.policy = DeliveryPolicy(
            mode="independent",
            concurrency=endpoint.concurrency,
            schedule=tuple(endpoint.retry_schedule_s),
            types=frozenset(endpoint.types) if endpoint.types is not None else None,
            target=endpoint.url,
        )
        self._url = redact_url(endpoint.url)
        try:
            context = (
                client_context(endpoint.ca_file)
                if urlsplit(endpoint.url).scheme == "https"
                else None
            )
        except TlsFileError as exc:  # changed since the configuration was checked
            raise ConfigError(f"webhook {endpoint.name}: {exc}", path="sinks.webhooks") from None
        self._client = Http1Client(
            endpoint.url,
            max_connections=endpoint.concurrency,
            timeout_s=endpoint.timeout_s,
            headers=[
                ("user-agent", f"vsa-stream/{__version__}"),
                ("content-type", "application/json"),
            ],
            ssl_context=context,
        )
        self._sign = Signer(endpoint.secrets)
        self._checked_until = 0.0
        self._addresses: list[str] | None = None

    async def _guard(self) -> list[str] | None:
        """The addresses to connect to, all checked (None: resolve when connecting)."""
        if self.endpoint.allow_private or time.monotonic() < self._checked_until:
            return self._addresses
        url = urlsplit(self.endpoint.url)
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise DeliveryError(f"cannot resolve {host}: {exc}") from None
        addresses: list[str] = []
        for info in infos:
            text = str(info[4][0])
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not address.is_global or address.is_multicast:
                raise DeliveryError(
                    f"refused: {host} resolves to {address}, a private, loopback or link-local "
                    "address (set allow_private: true to allow it)"
                )
            if text not in addresses:
                addresses.append(text)
        self._addresses = addresses
        self._checked_until = time.monotonic() + _RESOLVE_TTL_S
        return addresses

    def body(self, event: Event) -> bytes:
        """The request body for one revision."""
        stamp = datetime.fromtimestamp(event.updated_at, UTC).isoformat().replace("+00:00", "Z")
        return msgspec.json.encode(
            _Envelope(type=f"event.{event.type}", timestamp=stamp, data=msgspec.Raw(encode(event)))
        )

    async def send(self, event: Event) -> None:
        """POST one revision; returns on a 2xx answer.

        Raises:
            EndpointGoneError: the endpoint answered 410.
            DeliveryError: any other answer, a timeout, a connection error, the SSRF guard.
        """
        addresses = await self._guard()
        body = self.body(event)
        msg_id = f"{event.id}-{event.revision}"
        timestamp = int(time.time())
        headers = (
            ("webhook-id", msg_id),
            ("webhook-timestamp", str(timestamp)),
            ("webhook-signature", self._sign(msg_id, timestamp, body)),
        )
        try:
            response = await self._client.post(body, headers, addresses=addresses)
        except HttpError as exc:
            raise DeliveryError(f"{exc} ({self._url})") from None
        status = response.status
        if 200 <= status < 300:
            return
        if status == 410:
            raise EndpointGoneError(f"HTTP 410 Gone from {self._url}")
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise DeliveryError(f"HTTP {status} from {self._url}", retry_after=retry_after)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()
