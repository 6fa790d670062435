"""One daemon of the cluster: its lease, its share of the cameras, and the assigner role.

Three loops, all polling (server 2.9 tells watchers nothing when a key expires):

- **lease**: every ``renew_s``, ``nodes.<id>`` is written (a :class:`NodeRecord`: capacity and
  the cameras it runs). The lease is valid until ``sent + ttl_s - margin_s`` on the monotonic
  clock (sent: when the renewal that succeeded was sent); past that the node is **fenced**:
  every frame is refused by the pipelines' guard at once, the cameras are stopped before the
  next renewal is even sent, and nothing starts again until a renewal succeeds. The server
  expires the key ``ttl_s`` after it stored it, so the node has stopped analysing before anyone
  may take its cameras over.
- **leader**: a node with a valid lease tries ``create("leader")``; the one that succeeds
  renews it with a revision check. The leader reads the live nodes, the cameras and the drain
  marks, computes :func:`~vsa_stream.cluster.assign.assign` and writes each changed
  ``cam.<id> = {node, epoch + 1}`` with a revision check.
- **reconcile**: a worker reads the assignments and the camera configs; it stops cameras no
  longer its own (or whose epoch or configuration changed) and starts its new ones. Before
  starting, it waits until no other live node reports the camera (a moved camera is released
  first), lists the camera in its own record, then claims the assignment with a revision check:
  a leader's later change and this start are strictly ordered, so no camera is analysed by two
  nodes at once.

Each camera run leaves one line in ``<state_dir>/ownership.jsonl`` when it ends (camera, node,
epoch, wall times of the first and last analysed frame, why it ended): an audit of who analysed
what, and when.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
import msgspec
import nats.js.errors

from vsa_stream.cluster.assign import assign
from vsa_stream.cluster.store import (
    Assignment,
    CameraRun,
    ClusterOptions,
    ClusterStore,
    NodeRecord,
    SharedConfig,
    decode_camera,
    encode,
    get_entry,
    now,
)
from vsa_stream.config import Camera, Config
from vsa_stream.engine import Engine
from vsa_stream.errors import ConfigError, ModelError
from vsa_stream.log import get_logger
from vsa_stream.observation import Observation
from vsa_stream.pipeline import CameraStatus

__all__ = ["Node", "NodeIdInUseError"]

_NOT_MINE = (nats.js.errors.KeyWrongLastSequenceError,)


class NodeIdInUseError(RuntimeError):
    """Another live daemon renews the lease of this node id."""


@dataclass(slots=True)
class _Owned:
    epoch: int
    config: bytes
    shared: bytes
    started_at: float
    status: CameraStatus | None = None


class Node:
    """A daemon's membership, assignment and fencing (see the module docstring).

    Args:
        store: the opened cluster store.
        options: cluster options (node id, capacity, TTL, ...).
        local: the daemon's own configuration (sinks, outbox, state_dir); the fleet's analysis
            settings come from the cluster.
    """

    def __init__(self, store: ClusterStore, options: ClusterOptions, local: Config) -> None:
        self.store = store
        self.options = options
        self.id = options.node_id
        self.local = local
        self.engine: Engine | None = None
        self.lease_deadline = 0.0  # monotonic; the node may analyse before it
        self.leader_rev: int | None = None
        self.leader_deadline = 0.0
        self.owned: dict[str, _Owned] = {}
        self.epochs: dict[str, int] = {}
        self.draining = False
        self.fenced = 0
        self.started_at = now()
        self._frames: dict[str, list[float]] = {}
        self._failed: dict[str, bytes] = {}
        self._desired: tuple[object, dict[str, str | None]] | None = None
        self._lock = anyio.Lock()
        self._left = False
        self._log = get_logger(node=self.id)
        self._ownership = Path(local.state_dir) / "ownership.jsonl"

    async def check_unique(self) -> None:
        """Make sure no other live daemon uses this node id: a lease left by a crashed
        predecessor is waited out (it expires within the TTL); one that is still being renewed
        raises :class:`NodeIdInUseError`.
        """
        key = f"nodes.{self.id}"
        entry = await get_entry(self.store.leases, key)
        if entry is None:
            return
        self._log.info("a lease of this node id exists; waiting to see if it is renewed")
        deadline = time.monotonic() + self.options.ttl_s + self.options.renew_s
        while time.monotonic() < deadline:
            await anyio.sleep(self.options.renew_s / 2)
            latest = await get_entry(self.store.leases, key)
            if latest is None:
                return
            if latest.revision != entry.revision:
                raise NodeIdInUseError(f"another daemon runs as node {self.id!r}")

    # --- called from other threads --------------------------------------------------------

    def guard(self) -> bool:
        """True while the lease is valid (pipelines analyse a frame only then)."""
        return time.monotonic() < self.lease_deadline

    def observe(self, obs: Observation) -> None:
        """Engine observer: wall times of the first and last analysed frame of each camera."""
        times = self._frames.get(obs.camera_id)
        if times is None:
            self._frames[obs.camera_id] = [obs.wall_time, obs.wall_time]
        else:
            times[1] = obs.wall_time

    def epoch_of(self, camera_id: str) -> int | None:
        """The epoch under which this node last ran ``camera_id``."""
        return self.epochs.get(camera_id)

    # --- running ----------------------------------------------------------------------------

    async def run(self, engine: Engine) -> None:
        """Run the three loops until the engine stops; then leave the cluster."""
        self.engine = engine
        await engine.wait_accepting()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._lease_loop)
                tg.start_soon(self._leader_loop)
                tg.start_soon(self._reconcile_loop)
                await engine.wait_stopping()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5.0):
                await self.leave()

    async def leave(self) -> None:
        """Stop every camera, delete this node's lease and, when leader, the leader key: the
        survivors take over at once instead of after the TTL."""
        if self._left:
            return
        self._left = True
        for camera_id in list(self.owned):
            await self._stop(camera_id, "node leaving")
        try:
            await self.store.leases.delete(f"nodes.{self.id}")
            if self.leader_rev is not None:
                await self.store.leases.delete("leader", last=self.leader_rev)
        except Exception as exc:
            self._log.warning("could not leave cleanly", error=f"{type(exc).__name__}: {exc}")
        self._log.info("left the cluster")

    # --- lease ------------------------------------------------------------------------------

    def _record(self) -> NodeRecord:
        assert self.engine is not None
        running = self.engine.running()
        cameras: dict[str, CameraRun] = {}
        for camera_id, owned in self.owned.items():
            pipeline = running.get(camera_id)
            status = pipeline.status if pipeline is not None else owned.status
            cameras[camera_id] = CameraRun(
                epoch=owned.epoch,
                state=status.state if status is not None else "claiming",
                analysed=status.analysed if status is not None else 0,
            )
        return NodeRecord(
            node=self.id,
            capacity=self.options.capacity,
            cameras=cameras,
            draining=self.draining,
            leader=self.leader_rev is not None,
            lag_revisions=self.engine.delivery.undelivered(),
            started_at=self.started_at,
            renewed_at=now(),
        )

    async def _renew(self) -> None:
        """Write this node's record; extends the lease when the server acknowledged it.

        A node whose lease ran out stops its cameras first: a renewal never revives a lease
        under which frames might still be analysed.
        """
        async with self._lock:
            if self._left:
                return
            if time.monotonic() >= self.lease_deadline and self.owned:
                await self._fence()
            sent = time.monotonic()
            with anyio.fail_after(max(0.5, self.options.ttl_s - self.options.margin_s)):
                await self.store.leases.put(f"nodes.{self.id}", encode(self._record()))
            self.lease_deadline = max(
                self.lease_deadline, sent + self.options.ttl_s - self.options.margin_s
            )

    async def _fence(self) -> None:
        late = time.monotonic() - self.lease_deadline
        self.fenced += 1
        self._log.error(
            "lease not renewed in time: fenced, stopping every camera",
            late_s=round(late, 2),
            cameras=sorted(self.owned),
        )
        for camera_id in list(self.owned):
            await self._stop(camera_id, "fenced")

    async def _lease_loop(self) -> None:
        failing = False
        while True:
            started = time.monotonic()
            try:
                await self._renew()
                if failing:
                    self._log.info("lease renewed again")
                failing = False
            except Exception as exc:
                if not failing:
                    self._log.warning("lease renewal failed", error=f"{type(exc).__name__}: {exc}")
                failing = True
            await anyio.sleep(max(0.05, self.options.renew_s - (time.monotonic() - started)))

    # --- leader -----------------------------------------------------------------------------

    async def _leader_loop(self) -> None:
        last_renew = 0.0
        while True:
            started = time.monotonic()
            try:
                if self.leader_rev is None:
                    if self.guard() and not self.draining:
                        sent = time.monotonic()
                        rev = await self.store.leases.create("leader", self.id.encode())
                        self.leader_rev, last_renew = rev, sent
                        self.leader_deadline = sent + self.options.ttl_s - self.options.margin_s
                        self._log.info("elected leader (assigner)")
                elif self.draining:
                    await self.store.leases.delete("leader", last=self.leader_rev)
                    self.leader_rev = None
                    self._log.info("draining: no longer the assigner")
                elif started - last_renew >= self.options.renew_s:
                    sent = time.monotonic()
                    self.leader_rev = await self.store.leases.update(
                        "leader", self.id.encode(), last=self.leader_rev
                    )
                    last_renew = sent
                    self.leader_deadline = sent + self.options.ttl_s - self.options.margin_s
                if self.leader_rev is not None and time.monotonic() < self.leader_deadline:
                    await self._assign_round()
            except _NOT_MINE:
                if self.leader_rev is not None:
                    self._log.warning("leadership lost")
                self.leader_rev = None
            except Exception as exc:
                self._log.warning("leader loop", error=f"{type(exc).__name__}: {exc}")
                if self.leader_rev is not None and time.monotonic() >= self.leader_deadline:
                    self._log.warning("leadership not renewed in time: no longer assigning")
                    self.leader_rev = None
            await anyio.sleep(max(0.05, self.options.poll_s - (time.monotonic() - started)))

    async def _assign_round(self) -> None:
        store = self.store
        nodes = await store.nodes()
        if self.id not in nodes:
            return  # this node's own lease is not in the read: not a view to act on
        draining = await store.draining()
        live = {
            n: rec.capacity for n, rec in nodes.items() if n not in draining and not rec.draining
        }
        enabled: list[str] = []
        for camera_id, data in (await store.camera_configs()).items():
            try:
                if decode_camera(data).enabled:
                    enabled.append(camera_id)
            except msgspec.DecodeError:
                self._log.error("camera configuration unreadable", camera_id=camera_id)
        current = await store.assignments()
        key = (tuple(sorted(enabled)), tuple(sorted(live.items())))
        if self._desired is None or self._desired[0] != key:
            # Recomputed only when cameras or nodes change (5,000 cameras over 50 nodes: a
            # few hundred milliseconds).
            self._desired = (key, assign(enabled, live))
        desired = self._desired[1]
        for camera_id, target in desired.items():
            found = current.get(camera_id)
            if found is None:
                value = Assignment(node=target, epoch=1, at=now())
                await _ignore_race(store.assign.create(f"cam.{camera_id}", encode(value)))
                continue
            assignment, rev = found
            if assignment.node == target:
                continue
            if target is None and assignment.node in live:
                continue  # no room elsewhere: leave it where it runs
            value = Assignment(node=target, epoch=assignment.epoch + 1, at=now())
            self._log.info(
                "camera assigned",
                camera_id=camera_id,
                node=target,
                previous=assignment.node,
                epoch=value.epoch,
            )
            await _ignore_race(store.assign.update(f"cam.{camera_id}", encode(value), last=rev))
        for camera_id, (_, rev) in current.items():
            if camera_id not in desired:
                await _ignore_race(store.assign.delete(f"cam.{camera_id}", last=rev))

    # --- worker -----------------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                if self.guard():
                    await self._reconcile()
            except Exception as exc:
                self._log.warning("reconcile", error=f"{type(exc).__name__}: {exc}")
            await anyio.sleep(max(0.05, self.options.poll_s - (time.monotonic() - started)))

    async def _reconcile(self) -> None:
        store = self.store
        assignments = await store.assignments()
        configs = await store.camera_configs()
        shared = await store.shared()
        shared_bytes = encode(shared)
        self.draining = self.id in await store.draining()
        mine = {c: (a, r) for c, (a, r) in assignments.items() if a.node == self.id}
        async with self._lock:
            for camera_id, owned in list(self.owned.items()):
                found = mine.get(camera_id)
                if camera_id not in configs:
                    await self._stop(camera_id, "removed")
                elif configs[camera_id] != owned.config or shared_bytes != owned.shared:
                    await self._stop(camera_id, "configuration changed")
                elif found is None or found[0].epoch != owned.epoch:
                    await self._stop(camera_id, "reassigned")
        wanted = [c for c in sorted(mine) if c not in self.owned and c in configs]
        if not wanted:
            return
        nodes = await store.nodes()
        others = {c for n, rec in nodes.items() if n != self.id for c in rec.cameras}
        for camera_id in wanted:
            if len(self.owned) >= self.options.capacity or not self.guard():
                return
            if camera_id in others or self._failed.get(camera_id) == configs[camera_id]:
                continue
            assignment, rev = mine[camera_id]
            try:
                camera = decode_camera(configs[camera_id])
            except msgspec.DecodeError as exc:
                self._log.error("unreadable configuration", camera_id=camera_id, error=str(exc))
                self._failed[camera_id] = configs[camera_id]
                continue
            if not camera.enabled:
                continue
            await self._start(camera, assignment, rev, configs[camera_id], shared, shared_bytes)

    async def _start(
        self,
        camera: Camera,
        assignment: Assignment,
        rev: int,
        config: bytes,
        shared: SharedConfig,
        shared_bytes: bytes,
    ) -> None:
        assert self.engine is not None
        camera_id = camera.id
        settings = msgspec.structs.replace(
            self.local,
            motion=shared.motion,
            tracking=shared.tracking,
            detectors=shared.detectors,
            privacy=msgspec.structs.replace(
                self.local.privacy,
                legal_profile="lab" if shared.legal_profile == "lab" else "fr-2023",
            ),
            authorisations=shared.authorisations,
        )
        # Models load before the lock: a load of several seconds (a GPU provider's start-up)
        # would hold up the lease renewals, which take the lock, and fence this node.
        try:
            await self.engine.load_models(camera, settings)
        except (ModelError, KeyError) as exc:
            self._failed[camera_id] = config
            self._log.error("camera not started", camera_id=camera_id, error=str(exc))
            return
        async with self._lock:
            if self._left or self.engine.stopping or not self.guard():
                return
            # Listed in this node's record before the claim: whoever sees a later assignment
            # also sees that this node may run the camera, and waits for it to let go.
            self.owned[camera_id] = _Owned(assignment.epoch, config, shared_bytes, now())
            sent = time.monotonic()
            try:
                await self.store.leases.put(f"nodes.{self.id}", encode(self._record()))
                self.lease_deadline = max(
                    self.lease_deadline, sent + self.options.ttl_s - self.options.margin_s
                )
                claimed = msgspec.structs.replace(assignment, claimed=True, at=now())
                await self.store.assign.update(f"cam.{camera_id}", encode(claimed), last=rev)
            except Exception as exc:
                del self.owned[camera_id]
                if not isinstance(exc, _NOT_MINE):
                    raise
                return
            if not self.guard():
                del self.owned[camera_id]
                return
            self._frames.pop(camera_id, None)
            try:
                status = await self.engine.start_camera(camera, settings, guard=self.guard)
            except (ModelError, ConfigError, KeyError) as exc:  # a rule its detectors cannot serve
                del self.owned[camera_id]
                self._failed[camera_id] = config
                self._log.error("camera not started", camera_id=camera_id, error=str(exc))
                return
            self.owned[camera_id].status = status
            self.epochs[camera_id] = assignment.epoch
            self._log.info("camera started", camera_id=camera_id, epoch=assignment.epoch)

    async def _stop(self, camera_id: str, reason: str) -> None:
        assert self.engine is not None
        owned = self.owned.get(camera_id)
        if owned is None:
            return
        status = await self.engine.stop_camera(camera_id) or owned.status
        del self.owned[camera_id]
        frames = self._frames.pop(camera_id, None)
        record = {
            "camera": camera_id,
            "node": self.id,
            "epoch": owned.epoch,
            "started_at": owned.started_at,
            "stopped_at": now(),
            "first_frame_at": frames[0] if frames else None,
            "last_frame_at": frames[1] if frames else None,
            "analysed": status.analysed if status is not None else 0,
            "reason": reason,
        }
        self._log.info("camera stopped", camera_id=camera_id, epoch=owned.epoch, reason=reason)
        try:
            await anyio.to_thread.run_sync(_append_line, self._ownership, record)
        except OSError as exc:
            self._log.error("ownership record not written", error=str(exc))


async def _ignore_race(write: Awaitable[object]) -> None:
    """Await a compare-and-swap write; losing the race is normal (the next round re-reads)."""
    with contextlib.suppress(*_NOT_MINE):
        await write


def _append_line(path: Path, record: dict[str, object]) -> None:
    os.makedirs(path.parent, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
