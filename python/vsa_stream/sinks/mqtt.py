"""Alerts and camera status over MQTT (paho-mqtt 2.x, its own network thread).

- each revision on ``<prefix>/<camera>/<type>``, QoS 1, not retained; a revision counts as
  delivered when the broker acknowledged it (PUBACK);
- each camera's status, ``online`` or ``offline``, retained on ``<prefix>/<camera>/status``,
  published when it changes, again after every reconnection, and ``offline`` on stop;
- the daemon's own status retained on ``<prefix>/_engine/status``: ``online`` while connected,
  ``offline`` on stop and, through the MQTT last will, when the daemon dies or loses the broker.
  A camera's retained status is only current while this says ``online``. (Camera ids cannot
  start with ``_``, so ``_engine`` is never a camera.)

With ``tls``, the broker's certificate is checked against the system's CA store plus
``ca_file`` (see :mod:`vsa_stream.tls`), its name included; ``cert_file`` (and ``key_file``)
authenticate the daemon to a broker that requires client certificates. A refused handshake
is logged once per distinct reason, and ``send``'s error says it (``not connected ... (TLS:
certificate verify failed ...)``) while it lasts.

paho reconnects by itself, every second, after the broker goes away; while it is away, ``send``
fails at once and the outbox retries in order every second (:attr:`MqttSink.policy`), so
nothing is lost or reordered and delivery resumes within about a second of the broker's return.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.to_thread
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vsa_stream.config import MqttSink as MqttConfig
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, encode
from vsa_stream.log import get_logger
from vsa_stream.sinks.base import CameraStates, DeliveryError, DeliveryPolicy, Sink
from vsa_stream.tls import TlsFileError, client_context

__all__ = ["MqttSink", "camera_status", "default_client_id"]

# How long a QoS 1 publication may wait for its PUBACK.
_PUBACK_TIMEOUT_S = 10.0
# How often camera states are compared with what was published.
_STATUS_POLL_S = 0.5

_ONLINE = frozenset({"streaming"})
_OFFLINE = frozenset({"backoff", "ended", "stopped", "failed"})


def _closing_sockets(on_error: Callable[[BaseException], None]) -> type[ssl.SSLSocket]:
    """A socket class that closes itself when its handshake fails and says why to
    ``on_error``: paho drops such a socket without closing it (a file descriptor and a
    ResourceWarning per attempt, every second, while a broker's certificate is refused) and
    keeps the reason to itself."""

    class _ClosingSSLSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            try:
                super().do_handshake(block)
            except BaseException as exc:
                self.close()
                on_error(exc)
                raise

    return _ClosingSSLSocket


def camera_status(state: str) -> str | None:
    """``online`` / ``offline`` for a pipeline state; None while a camera is still starting.

    Example:
        >>> camera_status("streaming"), camera_status("backoff"), camera_status("connecting")
        ('online', 'offline', None)
    """
    if state == "unauthorised":
        return "unauthorised"  # online, analysing nothing: outside every authorisation
    if state in _ONLINE:
        return "online"
    if state in _OFFLINE:
        return "offline"
    return None


def default_client_id(state_dir: str | None) -> str:
    """``vsa-stream-<hostname>-<8 hex digits of the state folder's absolute path>``: daemons on
    one host have their own state folders, so their own ids (a broker disconnects a client
    when another connects with its id: two daemons sharing one would take turns, once a
    second), and a restarted daemon takes its session back. ``vsa-stream-<hostname>``
    without a state folder."""
    host = f"vsa-stream-{socket.gethostname()}"
    if state_dir is None:
        return host
    folder = os.path.realpath(state_dir).encode()
    return f"{host}-{hashlib.sha256(folder).hexdigest()[:8]}"


class MqttSink(Sink):
    """Publishes to one broker (see the module docstring)."""

    name = "mqtt"
    #: In order; a failed send is retried after 0.5 s, then every second (the failure is
    #: immediate while the broker is away, so frequent retries cost nothing).
    policy = DeliveryPolicy(mode="ordered", schedule=(0.0, 0.5, 1.0))

    def __init__(self, config: MqttConfig, *, state_dir: str | None = None) -> None:
        self.config = config
        self.prefix = config.topic_prefix.rstrip("/")
        self.engine_topic = f"{self.prefix}/_engine/status"
        self._log = get_logger().bind(sink=self.name)
        #: ``client_id``, else one per host and state folder (see :func:`default_client_id`)
        self.client_id = config.client_id or default_client_id(state_dir)
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id)
        self._client.will_set(self.engine_topic, "offline", qos=1, retain=True)
        if config.username is not None:
            self._client.username_pw_set(config.username, config.password)
        if config.tls:  # the system's CAs plus ca_file; a client certificate if given
            try:
                context = client_context(config.ca_file, config.cert_file, config.key_file)
            except TlsFileError as exc:  # changed since the configuration was checked
                raise ConfigError(str(exc), path=f"sinks.mqtt.{exc.which}_file") from None
            context.sslsocket_class = _closing_sockets(self._on_handshake_error)
            self._client.tls_set_context(context)
        # A broker that comes back is used within a second: one TCP connection attempt a second
        # while it is away costs nothing, and alerts wait for it.
        self._client.reconnect_delay_set(min_delay=1, max_delay=1)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._lock = threading.Lock()
        self._published: dict[str, str] = {}  # camera id -> status the broker has
        self._republish = False
        self._closed = False
        self._tls_error: str | None = None  # why the last TLS handshake failed
        self._client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        self._client.loop_start()

    # --- paho callbacks (its network thread) --------------------------------------------------

    def _on_handshake_error(self, exc: BaseException) -> None:
        reason = str(exc)
        if reason != self._tls_error:  # once per distinct reason, not every second
            self._log.error("MQTT TLS handshake failed", error=reason)
        self._tls_error = reason

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._log.error("MQTT connection refused", reason=str(reason))
            return
        self._log.info("MQTT connected", host=self.config.host, port=self.config.port)
        self._tls_error = None
        client.publish(self.engine_topic, "online", qos=1, retain=True)
        with self._lock:
            self._republish = True

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not self._closed:
            self._log.warning("MQTT disconnected; reconnecting", reason=str(reason))

    # --- publishing -------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        if not self._client.is_connected():
            why = f" (TLS: {self._tls_error})" if self._tls_error else ""
            raise DeliveryError(f"not connected to {self.config.host}:{self.config.port}{why}")
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout=_PUBACK_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise DeliveryError(str(exc)) from None
        if not info.is_published():
            raise DeliveryError(f"no acknowledgement from the broker in {_PUBACK_TIMEOUT_S:g} s")

    async def send(self, event: Event) -> None:
        """Publish one revision with QoS 1; returns once the broker acknowledged it."""
        topic = f"{self.prefix}/{event.camera_id}/{event.type}"
        await anyio.to_thread.run_sync(self._publish, topic, encode(event))

    def _publish_statuses(self, states: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            republish, self._republish = self._republish, False
        for camera_id, state in states:
            status = camera_status(state)
            if status is None or (not republish and self._published.get(camera_id) == status):
                continue
            try:
                self._publish(f"{self.prefix}/{camera_id}/status", status, retain=True)
            except DeliveryError:
                with self._lock:
                    self._republish = True  # try again on the next poll
                return
            self._published[camera_id] = status

    async def watch_cameras(self, states: CameraStates) -> None:
        """Publish each camera's status when it changes (runs until cancelled)."""
        while True:
            current = list(states())
            await anyio.to_thread.run_sync(self._publish_statuses, current)
            await anyio.sleep(_STATUS_POLL_S)

    def _close(self) -> None:
        if self._client.is_connected():
            try:
                for camera_id in list(self._published):
                    self._publish(f"{self.prefix}/{camera_id}/status", "offline", retain=True)
                self._publish(self.engine_topic, "offline", retain=True)
            except DeliveryError as exc:
                self._log.warning("could not publish offline status", error=str(exc))
        self._closed = True
        self._client.disconnect()
        self._client.loop_stop()

    async def aclose(self) -> None:
        """Publish ``offline`` for every camera and the daemon, then disconnect."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._close)
