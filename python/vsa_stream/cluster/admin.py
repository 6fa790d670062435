"""``vsa-stream cluster status | apply | drain``: the fleet from the command line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec
import nats.js.errors

from vsa_stream.cluster.store import (
    ALERTS_STREAM,
    Assignment,
    ClusterOptions,
    ClusterStore,
    NodeRecord,
    SharedConfig,
    connect,
    encode,
)
from vsa_stream.config import Config

__all__ = ["ApplyResult", "Status", "apply", "drain", "status"]


@dataclass(slots=True)
class Status:
    """What ``cluster status`` shows."""

    leader: str | None
    nodes: dict[str, NodeRecord]
    assignments: dict[str, Assignment]
    cameras: list[str]
    draining: set[str]
    alerts_messages: int | None = None
    alerts_leader: str | None = None
    alerts_replicas: list[str] = field(default_factory=list)

    def unassigned(self) -> list[str]:
        """Cameras with no live node that runs them."""
        running = {c for rec in self.nodes.values() for c in rec.cameras}
        return [c for c in self.cameras if c not in running]

    def render(self) -> str:
        """A table for humans."""
        lines = [f"leader: {self.leader or '(none: election in progress)'}"]
        if self.alerts_messages is not None:
            replicas = ", ".join(self.alerts_replicas) or "-"
            lines.append(
                f"{ALERTS_STREAM}: {self.alerts_messages} messages, stream leader "
                f"{self.alerts_leader or '-'}, replicas {replicas}"
            )
        lines.append(f"{'node':<20} {'cameras':>7} {'capacity':>8} {'lag':>6} {'age_s':>6}  flags")
        now = time.time()
        for node_id, rec in sorted(self.nodes.items()):
            flags = ",".join(
                f
                for f, on in (
                    ("leader", rec.leader),
                    ("draining", rec.draining or node_id in self.draining),
                )
                if on
            )
            lines.append(
                f"{node_id:<20} {len(rec.cameras):>7} {rec.capacity:>8} {rec.lag_revisions:>6} "
                f"{now - rec.renewed_at:>6.1f}  {flags}"
            )
            for camera_id, run in sorted(rec.cameras.items()):
                lines.append(
                    f"    {camera_id:<24} epoch {run.epoch:<4} {run.state:<10} "
                    f"{run.analysed} frames analysed"
                )
        missing = self.unassigned()
        lines.append(f"cameras: {len(self.cameras)}, not running: {len(missing)}")
        if missing:
            lines.append("    " + " ".join(missing))
        return "\n".join(lines)


async def _open(options: ClusterOptions) -> ClusterStore:
    nc = await connect(options.servers, name="vsa-stream cluster")
    return await ClusterStore(nc, options).open()


async def status(options: ClusterOptions) -> Status:
    """Read the cluster's state once."""
    store = await _open(options)
    try:
        result = Status(
            leader=await store.leader(),
            nodes=await store.nodes(cameras=True),
            assignments=await store.assignments(),
            cameras=sorted(await store.camera_configs()),
            draining=await store.draining(),
        )
        try:
            info = await store.js.stream_info(ALERTS_STREAM)
        except nats.js.errors.NotFoundError:
            return result
        result.alerts_messages = info.state.messages
        if info.cluster is not None:
            result.alerts_leader = info.cluster.leader
            result.alerts_replicas = [r.name for r in info.cluster.replicas or [] if r.name]
        return result
    finally:
        await store.nc.close()


@dataclass(slots=True)
class ApplyResult:
    """What ``cluster apply`` changed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    shared_changed: bool = False


async def apply(options: ClusterOptions, config: Config) -> ApplyResult:
    """Write the cameras and the shared analysis settings of ``config`` to the cluster: only
    what changed is written, cameras absent from ``config`` are removed. Each daemon restarts
    the cameras whose configuration changed."""
    store = await _open(options)
    result = ApplyResult()
    try:
        current = await store.camera_configs()
        wanted = {c.id: encode(c) for c in config.cameras}
        for camera_id, data in sorted(wanted.items()):
            if current.get(camera_id) == data:
                continue
            (result.changed if camera_id in current else result.added).append(camera_id)
            await store.config.put(f"cam.{camera_id}", data)
        for camera_id in sorted(set(current) - set(wanted)):
            await store.config.delete(f"cam.{camera_id}")
            result.removed.append(camera_id)
        shared = encode(
            SharedConfig(
                motion=config.motion,
                tracking=config.tracking,
                detectors=config.detectors,
                legal_profile=config.privacy.legal_profile,
                authorisations=config.authorisations,
            )
        )
        if encode(await store.shared()) != shared:
            await store.config.put("shared", shared)
            result.shared_changed = True
        changed = result.added or result.changed or result.removed or result.shared_changed
        if changed or await store.fleet_revision() is None:
            await store.bump_revision()  # last: a daemon that sees it reads every change
        return result
    finally:
        await store.nc.close()


async def drain(options: ClusterOptions, node_id: str, *, undo: bool = False) -> None:
    """Mark ``node_id`` as draining (its cameras move to the others; it gets no new ones), or
    clear the mark."""
    store = await _open(options)
    try:
        if undo:
            await store.config.delete(f"drain.{node_id}")
        else:
            await store.config.put(f"drain.{node_id}", msgspec.json.encode({"at": time.time()}))
        await store.bump_revision()
    finally:
        await store.nc.close()
