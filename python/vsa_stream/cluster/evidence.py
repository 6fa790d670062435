"""Evidence snapshots in a fleet: kept by the camera's node, replicated to an object store
bucket, served by the console.

::

    node ─ EvidenceStore ─► <state_dir>/evidence/<camera>/<event id>-<open|closed>.jpg
                              └─► object store <prefix>_evidence: <camera>/<event id>-<kind>.jpg
    console ─ GET /api/events/{id}/snapshot ─► the bucket (audited: evidence_access)

Minimisation is that of a single daemon: nothing is stored unless the node's own configuration
says ``privacy.snapshots: true``; the images are the node's (persons pixelated unless
``privacy.blur_persons: false``), copied as written; the node deletes its files after
``privacy.retention_days`` (hourly), and the bucket's TTL, set from the same setting by the
node that creates it, deletes the copies as long after their upload. Use the same retention on
every node (the bucket's TTL is the first node's).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import anyio
import anyio.to_thread
import nats.js.errors
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.object_store import ObjectStore

from vsa_stream.cluster.store import ClusterStore
from vsa_stream.config import Config
from vsa_stream.evidence import EvidenceStore
from vsa_stream.log import get_logger

__all__ = ["EvidenceBucket", "node_evidence"]

#: How often a node looks for new snapshots to copy, and deletes expired ones (seconds).
_COPY_EVERY_S = 1.0
_PRUNE_EVERY_S = 3600.0


def node_evidence(config: Config) -> EvidenceStore | None:
    """A node's evidence store, as a single daemon's (None unless ``privacy.snapshots``)."""
    privacy = config.privacy
    if not privacy.snapshots:
        return None
    return EvidenceStore(
        os.path.join(config.state_dir, "evidence"),
        blur_persons=privacy.blur_persons,
        retention_days=privacy.retention_days,
        blur_vehicles=privacy.blur_vehicles,
        hold_s=privacy.blur_hold_s,
    )


class EvidenceBucket:
    """The ``<prefix>_evidence`` object store (created on first use).

    Args:
        store: the opened cluster store.
        retention_days: the TTL of a bucket this call creates (the node's
            ``privacy.retention_days``); None only opens an existing bucket.
    """

    def __init__(self, store: ClusterStore, retention_days: float | None = None) -> None:
        self.store = store
        self.retention_days = retention_days
        self.name = f"{store.options.prefix}_evidence"
        self.bucket: ObjectStore | None = None
        self._copied: set[Path] = set()
        self._log = get_logger()

    async def open(self) -> EvidenceBucket:
        try:
            self.bucket = await self.store.js.object_store(self.name)
        except nats.js.errors.BucketNotFoundError:
            if self.retention_days is None:
                return self  # no node keeps snapshots (yet)
            config = ObjectStoreConfig(
                bucket=self.name,
                ttl=self.retention_days * 86400.0,
                storage=StorageType.FILE,
                replicas=self.store.replicas,
            )
            try:
                self.bucket = await self.store.js.create_object_store(self.name, config=config)
            except nats.js.errors.BadRequestError:  # another node created it meanwhile
                self.bucket = await self.store.js.object_store(self.name)
        return self

    @staticmethod
    def object_name(camera_id: str, event_id: str, kind: str) -> str:
        return f"{camera_id}/{event_id}-{kind}.jpg"

    async def get(self, camera_id: str, event_id: str, kind: str) -> bytes | None:
        """A snapshot's bytes, or None when no node copied it (or it expired)."""
        if self.bucket is None:
            await self.open()
            if self.bucket is None:
                return None
        try:
            result = await self.bucket.get(self.object_name(camera_id, event_id, kind))
        except (nats.js.errors.ObjectNotFoundError, nats.js.errors.ObjectDeletedError):
            return None
        return bytes(result.data or b"")

    async def keep(self, evidence: EvidenceStore) -> None:
        """Copy every new snapshot of ``evidence`` to the bucket (each second) and delete the
        node's expired files (hourly), forever."""
        pruned_at = 0.0
        while True:
            try:
                if anyio.current_time() - pruned_at >= _PRUNE_EVERY_S:
                    deleted = await anyio.to_thread.run_sync(evidence.prune)
                    pruned_at = anyio.current_time()
                    if deleted:
                        self._log.info("evidence deleted after retention", files=len(deleted))
                await self._copy_new(evidence.folder)
            except Exception as exc:  # a server being elected: copied at the next round
                self._log.warning("snapshots not copied yet", error=f"{type(exc).__name__}: {exc}")
            await anyio.sleep(_COPY_EVERY_S)

    async def _copy_new(self, folder: Path) -> None:
        files = await anyio.to_thread.run_sync(lambda: set(folder.glob("*/*.jpg")))
        self._copied &= files  # deleted after retention: forgotten
        if not files - self._copied:
            return
        if self.bucket is None:
            await self.open()
        assert self.bucket is not None
        for path in sorted(files - self._copied):
            name = f"{path.parent.name}/{path.name}"
            with contextlib.suppress(
                nats.js.errors.ObjectNotFoundError, nats.js.errors.ObjectDeletedError
            ):
                await self.bucket.get_info(name)
                self._copied.add(path)  # copied before a restart
                continue
            try:
                data = await anyio.to_thread.run_sync(path.read_bytes)
            except FileNotFoundError:
                continue
            await self.bucket.put(name, data)
            self._copied.add(path)
