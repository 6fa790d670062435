"""The cluster's state in NATS JetStream: buckets, records, and reading them safely.

Buckets (``<prefix>`` is ``vsa`` by default):

- ``<prefix>_leases`` (bucket TTL = the lease TTL, history 1): ``nodes.<id>`` (a
  :class:`NodeRecord`, renewed every second by its daemon) and ``leader`` (the assigner's node
  id, created with ``create`` and renewed with a revision check);
- ``<prefix>_assign``: ``cam.<id>`` = :class:`Assignment`, written by the leader and claimed by
  the worker, always with a revision check (compare-and-swap);
- ``<prefix>_config``: ``cam.<id>`` (a camera's configuration), ``shared`` (motion, tracking,
  detectors) and ``drain.<node>``, written by ``vsa-stream cluster apply`` / ``drain``.

Server 2.9 (Debian) has only bucket-wide TTLs and sends watchers nothing when a key expires:
everything here is read by polling (:func:`read_all`), never from a long-lived watcher, which
also sidesteps consumers that do not resume after a server restart. Reads go to the stream
leader (no direct get), so a read that follows a write sees it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.kv import KeyValue

from vsa_stream.config import (
    Authorisation,
    Camera,
    DetectorConfig,
    MotionConfig,
    Privacy,
    TrackingConfig,
)
from vsa_stream.log import get_logger

__all__ = [
    "ALERTS_STREAM",
    "Assignment",
    "CameraRun",
    "ClusterOptions",
    "ClusterStore",
    "NodeRecord",
    "SharedConfig",
    "connect",
    "read_all",
]

ALERTS_STREAM = "ALERTS"
# Longest wait for the next entry of a read (loopback or LAN: milliseconds).
_READ_STEP_S = 2.0


@dataclass(slots=True)
class ClusterOptions:
    """How a daemon joins the cluster.

    Attributes:
        servers: NATS URLs (every server of the cluster is best: the client fails over).
        node_id: this daemon's id (stable across restarts: its cameras come back to it).
        capacity: cameras this daemon may run.
        ttl_s: lease TTL: a daemon silent this long is dead, its cameras move.
        renew_s: how often leases are renewed.
        margin_s: a daemon that could not renew for ``ttl_s - margin_s`` stops its cameras.
        poll_s: how often assignments, configs and (for the leader) nodes are read.
        replicas: replicas of the buckets and of ``ALERTS`` (0: 3 when the server says the
            cluster has at least 3 servers, else 1).
        prefix: bucket name prefix and the alert subjects' first token.
        duplicate_window_s: de-duplication window of ``ALERTS``.
    """

    servers: list[str]
    node_id: str
    capacity: int = 32
    ttl_s: float = 5.0
    renew_s: float = 1.0
    margin_s: float = 1.5
    poll_s: float = 0.5
    replicas: int = 0
    prefix: str = "vsa"
    duplicate_window_s: float = 120.0
    extra: dict[str, Any] = field(default_factory=dict)


class CameraRun(msgspec.Struct, kw_only=True):
    """A camera as its node reports it."""

    epoch: int
    state: str = "starting"
    analysed: int = 0


class NodeRecord(msgspec.Struct, kw_only=True):
    """What ``nodes.<id>`` holds: renewed every ``renew_s``; gone ``ttl_s`` after the last."""

    node: str
    capacity: int
    cameras: dict[str, CameraRun] = msgspec.field(default_factory=dict)
    draining: bool = False
    leader: bool = False
    lag_s: float = 0.0
    lag_revisions: int = 0
    started_at: float = 0.0
    renewed_at: float = 0.0


class Assignment(msgspec.Struct, kw_only=True):
    """What ``cam.<id>`` of the assign bucket holds. ``epoch`` grows by one each time the
    camera changes node; ``claimed`` is set by the worker (compare-and-swap) before it starts
    the camera, so a leader's later change and a worker's start are strictly ordered."""

    node: str | None
    epoch: int
    claimed: bool = False
    at: float = 0.0


class SharedConfig(msgspec.Struct, kw_only=True):
    """What ``shared`` of the config bucket holds: the fleet's non-camera analysis settings."""

    motion: MotionConfig = msgspec.field(default_factory=MotionConfig)
    tracking: TrackingConfig = msgspec.field(default_factory=TrackingConfig)
    detectors: list[DetectorConfig] = msgspec.field(default_factory=list)
    #: The fleet's legal profile and authorisations: every node gates its cameras with them
    #: (a record written before they existed reads fr-2023 with none: nothing analyses).
    legal_profile: str = Privacy().legal_profile
    authorisations: list[Authorisation] = msgspec.field(default_factory=list)


_ENCODER = msgspec.json.Encoder()


def encode(value: msgspec.Struct) -> bytes:
    """JSON of a record."""
    return _ENCODER.encode(value)


def decode_camera(data: bytes) -> Camera:
    """A camera configuration from the config bucket."""
    return msgspec.json.decode(data, type=Camera)


async def connect(servers: Sequence[str], *, name: str) -> Client:
    """A client that reconnects forever and fails over between ``servers``.

    Its own liveness checks (pings every 2 minutes by default) are not used for anything:
    liveness comes from leases.
    """
    return await nats.connect(
        servers=list(servers),
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        connect_timeout=2,
        ping_interval=5,
    )


def cluster_size(nc: Client) -> int:
    """Servers of the cluster the client knows of (from the server's INFO)."""
    info = nc._server_info or {}
    urls = set(info.get("connect_urls") or [])
    urls.update(u.netloc for u in nc.servers)
    return max(1, len(urls))


async def read_all(
    kv: KeyValue, prefix: str = "", *, may_expire: bool = False
) -> dict[str, KeyValue.Entry]:
    """The latest live entry of every key starting with ``prefix``; deleted and expired keys
    (and entries without a value) left out.

    One ordered consumer delivering the last message of each subject, read until the message
    the server says is the last (``num_pending`` 0). The client's own end-of-initial-values
    marker is not used: it can come before the values (nats-py sends it when the consumer info
    says nothing is pending, which is also the case once every value is already on its way),
    and a read that ends there finds no key at all. Whether there is anything to read is asked
    first (stream info filtered on the keys), since an empty read gets no message.
    ``may_expire``: the bucket has a TTL, so the keys that request saw may be gone when the
    consumer reads (nothing comes: an empty result, not an error).
    """
    stream, pre = kv._stream, kv._pre
    info = await kv._js.stream_info(stream, subjects_filter=f"{pre}{prefix}>")
    if not info.state.subjects:
        return {}
    watcher = await kv.watch(f"{prefix}>")
    found: dict[str, KeyValue.Entry] = {}
    got_any = False
    try:
        while True:
            try:
                entry = await watcher.updates(timeout=_READ_STEP_S)  # type: ignore[no-untyped-call]
            except nats.errors.TimeoutError:
                if may_expire and not got_any:
                    return {}  # the keys expired between the two requests
                raise
            if entry is None:
                continue
            got_any = True
            if entry.operation is None and entry.value:
                found[entry.key] = entry
            else:
                found.pop(entry.key, None)
            if entry.delta == 0:
                break
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return found


async def get_entry(kv: KeyValue, key: str) -> KeyValue.Entry | None:
    """The key's entry, or None when it is missing, deleted or expired (2.9 may hand back an
    entry without a value for an expired key)."""
    try:
        entry = await kv.get(key)
    except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
        return None
    return entry if entry.value else None


class ClusterStore:
    """The buckets and the alert stream, created on first use (any daemon may do it)."""

    def __init__(self, nc: Client, options: ClusterOptions) -> None:
        self.nc = nc
        self.options = options
        self.js: JetStreamContext = nc.jetstream(timeout=2.0)
        self.replicas = options.replicas or (3 if cluster_size(nc) >= 3 else 1)
        self.leases: KeyValue
        self.assign: KeyValue
        self.config: KeyValue

    @property
    def subject_prefix(self) -> str:
        return f"{self.options.prefix}.alerts"

    # `timeout` bounds the retries and re-raises JetStream's own error at the deadline, which a
    # caller's fail_after (what ASYNC109 asks for) cannot do.
    async def open(self, timeout: float = 30.0) -> ClusterStore:  # noqa: ASYNC109
        """Bind to (or create) the buckets and the ``ALERTS`` stream; waits (up to
        ``timeout``) while JetStream is not ready (a cluster starting, electing its leader)."""
        deadline = time.monotonic() + timeout
        self_log = get_logger()
        while True:
            try:
                return await self._open()
            except (nats.errors.Error, nats.js.errors.Error) as exc:
                # Not ready (no meta leader yet, peers unknown: "insufficient resources"),
                # or another daemon creating the same bucket at the same time.
                if time.monotonic() > deadline:
                    raise
                self_log.info("JetStream not ready; retrying", error=f"{type(exc).__name__}: {exc}")
                await anyio.sleep(0.25)

    async def _open(self) -> ClusterStore:
        prefix = self.options.prefix
        self.leases = await self._bucket(f"{prefix}_leases", ttl=self.options.ttl_s, history=1)
        self.assign = await self._bucket(f"{prefix}_assign", ttl=None, history=1)
        self.config = await self._bucket(f"{prefix}_config", ttl=None, history=5)
        await self._alerts_stream()
        return self

    async def _bucket(self, name: str, *, ttl: float | None, history: int) -> KeyValue:
        try:
            return await self.js.key_value(name)
        except nats.js.errors.BucketNotFoundError:
            pass
        config = KeyValueConfig(
            bucket=name,
            history=history,
            ttl=ttl,
            storage=StorageType.FILE,
            replicas=self.replicas,
            direct=False,
        )
        return await self.js.create_key_value(config)

    async def _alerts_stream(self) -> None:
        try:
            await self.js.stream_info(ALERTS_STREAM)
            return
        except nats.js.errors.NotFoundError:
            pass
        config = StreamConfig(
            name=ALERTS_STREAM,
            subjects=[f"{self.subject_prefix}.>"],
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=self.options.duplicate_window_s,
        )
        await self.js.add_stream(config)

    async def nodes(self) -> dict[str, NodeRecord]:
        """Every live node's record."""
        entries = await read_all(self.leases, "nodes.", may_expire=True)
        out: dict[str, NodeRecord] = {}
        for key, entry in entries.items():
            try:
                out[key[len("nodes.") :]] = msgspec.json.decode(entry.value or b"", type=NodeRecord)
            except msgspec.DecodeError:
                continue
        return out

    async def assignments(self) -> dict[str, tuple[Assignment, int]]:
        """camera id -> (assignment, revision)."""
        entries = await read_all(self.assign, "cam.")
        out: dict[str, tuple[Assignment, int]] = {}
        for key, entry in entries.items():
            try:
                value = msgspec.json.decode(entry.value or b"", type=Assignment)
            except msgspec.DecodeError:
                continue
            out[key[len("cam.") :]] = (value, int(entry.revision or 0))
        return out

    async def camera_configs(self) -> dict[str, bytes]:
        """camera id -> its configuration (JSON, as ``cluster apply`` wrote it)."""
        entries = await read_all(self.config, "cam.")
        return {k[len("cam.") :]: bytes(e.value) for k, e in entries.items() if e.value}

    async def shared(self) -> SharedConfig:
        entry = await get_entry(self.config, "shared")
        if entry is None or entry.value is None:
            return SharedConfig()
        return msgspec.json.decode(entry.value, type=SharedConfig)

    async def draining(self) -> set[str]:
        entries = await read_all(self.config, "drain.")
        return {k[len("drain.") :] for k in entries}

    async def leader(self) -> str | None:
        entry = await get_entry(self.leases, "leader")
        return None if entry is None or entry.value is None else entry.value.decode()


def now() -> float:
    """Wall-clock time (records only; every deadline uses the monotonic clock)."""
    return time.time()
