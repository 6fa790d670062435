"""The cluster's state in NATS JetStream: buckets, records, and reading them safely.

Buckets (``<prefix>`` is ``vsa`` by default):

- ``<prefix>_leases`` (bucket TTL = the lease TTL, history 1): ``nodes.<id>`` (a small
  :class:`NodeRecord`, renewed every second by its daemon's lease process) and ``leader`` (the
  assigner's node id, created with ``create`` and renewed with a revision check);
- ``<prefix>_assign``: ``node.<id>`` = :class:`NodeAssignments`, every camera given to that
  node, written by the leader and claimed by the worker, always with a revision check
  (compare-and-swap); a worker reads only its own record;
- ``<prefix>_runs``: ``node.<id>`` = :class:`RunRecord`, the cameras a node runs (or is about
  to), written by that node when they change; it counts only while the node's lease lives;
- ``<prefix>_config``: ``cam.<id>`` (a camera's configuration), ``shared`` (motion, tracking,
  detectors), ``drain.<node>`` and ``revision`` (rewritten after every change by
  ``vsa-stream cluster apply`` / ``drain``: daemons read the rest only when it changes).

Server 2.9 (Debian) has only bucket-wide TTLs and sends watchers nothing when a key expires:
everything here is read by polling, never from a long-lived watcher, which also sidesteps
consumers that do not resume after a server restart. Reads go to the stream leader (no direct
get), so a read that follows a write sees it.
"""

from __future__ import annotations

import contextlib
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
    "NodeAssignments",
    "NodeRecord",
    "RunRecord",
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
        poll_s: how often the leader reads nodes and assignments, and how often a worker reads
            its own assignments and the fleet revision while they change.
        max_poll_s: a worker's reads back off to this interval while nothing changes (a
            message from the leader after it changes the worker's assignments cuts the wait).
        batch: cameras a worker claims with one write and starts together.
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
    max_poll_s: float = 2.0
    batch: int = 32
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
    """What ``nodes.<id>`` holds: renewed every ``renew_s``; gone ``ttl_s`` after the last.

    ``cameras`` is not stored in the lease (its size would grow with the node's cameras): it is
    filled from the node's :class:`RunRecord` by :meth:`ClusterStore.nodes` when asked.
    ``renew_ms_p99`` and ``renew_ms_max``: how long the node's last 100 renewals took, from the
    time each was due to the server's acknowledgement.
    """

    node: str
    capacity: int
    cameras: dict[str, CameraRun] = msgspec.field(default_factory=dict)
    draining: bool = False
    leader: bool = False
    lag_s: float = 0.0
    lag_revisions: int = 0
    started_at: float = 0.0
    renewed_at: float = 0.0
    renew_ms_p99: float = 0.0
    renew_ms_max: float = 0.0
    fenced: int = 0


class RunRecord(msgspec.Struct, kw_only=True):
    """What ``node.<id>`` of the runs bucket holds: the cameras the node runs or is claiming."""

    node: str
    cameras: dict[str, CameraRun] = msgspec.field(default_factory=dict)
    at: float = 0.0


class Assignment(msgspec.Struct, kw_only=True):
    """One camera's assignment. ``epoch`` grows by one each time the camera changes node;
    ``claimed`` is set by the worker (compare-and-swap on its record) before it starts the
    camera, so a leader's later change and a worker's start are strictly ordered. ``prev``:
    the last node that claimed the camera before this assignment (the one that must have let
    it go before this node starts it)."""

    node: str | None
    epoch: int
    claimed: bool = False
    at: float = 0.0
    prev: str | None = None

    def last_claimer(self) -> str | None:
        """The node that may still run the camera once this assignment is replaced."""
        return self.node if self.claimed else self.prev


class NodeAssignments(msgspec.Struct, kw_only=True):
    """What ``node.<id>`` of the assign bucket holds.

    ``cameras``: the node's cameras. ``moved``: cameras the leader took from the node and has
    not yet seen in their new node's record, with their new assignment (so that a leader that
    dies between the two writes leaves nothing lost: its successor finishes the move with the
    epoch and ``prev`` kept here).
    """

    cameras: dict[str, Assignment] = msgspec.field(default_factory=dict)
    moved: dict[str, Assignment] = msgspec.field(default_factory=dict)


class _Revision(msgspec.Struct, kw_only=True):
    at: float


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


def decode_assignments(data: bytes) -> NodeAssignments:
    """A node's assignments; an unreadable record reads as empty (the leader rewrites it)."""
    try:
        return msgspec.json.decode(data, type=NodeAssignments)
    except msgspec.DecodeError:
        return NodeAssignments()


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
        self.runs: KeyValue
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
        self.runs = await self._bucket(f"{prefix}_runs", ttl=None, history=1)
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

    async def nodes(self, *, cameras: bool = False) -> dict[str, NodeRecord]:
        """Every live node's record; ``cameras``: with the cameras each runs (from the runs
        bucket: one more read, of every node's list)."""
        entries = await read_all(self.leases, "nodes.", may_expire=True)
        out: dict[str, NodeRecord] = {}
        for key, entry in entries.items():
            try:
                out[key[len("nodes.") :]] = msgspec.json.decode(entry.value or b"", type=NodeRecord)
            except msgspec.DecodeError:
                continue
        if cameras and out:
            for node_id, run in (await self.run_records()).items():
                if node_id in out:
                    out[node_id].cameras = run.cameras
        return out

    async def run_records(self) -> dict[str, RunRecord]:
        """Every node's list of running cameras (the dead nodes' too: check their lease)."""
        out: dict[str, RunRecord] = {}
        for key, entry in (await read_all(self.runs, "node.")).items():
            with contextlib.suppress(msgspec.DecodeError):
                out[key[len("node.") :]] = msgspec.json.decode(entry.value or b"", type=RunRecord)
        return out

    async def run_record(self, node_id: str) -> RunRecord | None:
        """One node's list of running cameras."""
        entry = await get_entry(self.runs, f"node.{node_id}")
        if entry is None:
            return None
        try:
            return msgspec.json.decode(entry.value or b"", type=RunRecord)
        except msgspec.DecodeError:
            return None

    async def node_assignments(self, node_id: str) -> tuple[NodeAssignments, int]:
        """One node's assignments and the record's revision (0: no record)."""
        entry = await get_entry(self.assign, f"node.{node_id}")
        if entry is None:
            return NodeAssignments(), 0
        return decode_assignments(entry.value or b""), int(entry.revision or 0)

    async def all_assignments(self) -> dict[str, tuple[NodeAssignments, int]]:
        """node id -> (its assignments, the record's revision): the leader's view."""
        entries = await read_all(self.assign, "node.")
        return {
            k[len("node.") :]: (decode_assignments(e.value or b""), int(e.revision or 0))
            for k, e in entries.items()
        }

    async def assignments(self) -> dict[str, Assignment]:
        """camera id -> its current assignment (the highest epoch over every node's record)."""
        out: dict[str, Assignment] = {}
        for records, _ in (await self.all_assignments()).values():
            for camera_id, value in records.cameras.items():
                if camera_id not in out or out[camera_id].epoch < value.epoch:
                    out[camera_id] = value
        return out

    async def write_assignments(self, node_id: str, value: NodeAssignments, rev: int) -> int:
        """Write a node's assignments if the record is still at ``rev`` (0: absent); returns
        the new revision. Raises ``KeyWrongLastSequenceError`` when someone wrote it since."""
        data = encode(value)
        if rev == 0:
            return int(await self.assign.create(f"node.{node_id}", data))
        return int(await self.assign.update(f"node.{node_id}", data, last=rev))

    async def fleet_revision(self) -> int | None:
        """The fleet revision (grows with every ``apply`` or ``drain``); None when no ``apply``
        has written one (a fleet applied by an older version: read everything every round)."""
        entry = await get_entry(self.config, "revision")
        return None if entry is None else int(entry.revision or 0)

    async def bump_revision(self) -> None:
        """Tell every daemon that the fleet's configuration changed."""
        await self.config.put("revision", encode(_Revision(at=now())))

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
