"""One daemon of the cluster: its lease, its share of the cameras, and the assigner role.

Four activities (server 2.9 tells watchers nothing when a key expires: the KV state is polled):

- **lease** (:class:`~vsa_stream.cluster.lease.Lease`, a child process with its own connection):
  every ``renew_s``, ``nodes.<id>`` is written (a small :class:`NodeRecord`: capacity, flags,
  renewal figures; no camera list). The lease is valid until ``sent + ttl_s - margin_s`` on the
  monotonic clock (sent: when the renewal that succeeded was sent); past that the node is
  **fenced**: every frame is refused by the pipelines' guard at once, the cameras are stopped,
  and no renewal is sent before they are. The server expires the key ``ttl_s`` after it stored
  it, so the node has stopped analysing before anyone may take its cameras over. Camera starts
  and stops never delay a renewal.
- **leader**: a node with a valid lease tries ``create("leader")``; the one that succeeds
  renews it with a revision check. The leader reads the live nodes and every node's assignment
  record, computes :func:`~vsa_stream.cluster.assign.assign` and moves each changed camera in
  two revision-checked writes: out of the old node's record (kept there under ``moved``, with
  its new epoch) then into the new node's record; a message on ``<prefix>.kick.<node>`` tells
  each node whose record changed to read it now.
- **reconcile**: a worker reads only its own assignment record and the fleet revision (the
  camera configurations are read again only when the revision changes); its reads back off
  from ``poll_s`` to ``max_poll_s`` while nothing changes. It stops cameras no longer its own
  (or whose epoch or configuration changed) and starts its new ones in batches of ``batch``:
  once the camera's last claimer (``prev``) no longer lists it (or has no lease), the batch is
  listed in this node's run record, claimed with one revision-checked write of its assignment
  record, then started. A leader's later change and this start are strictly ordered, so no
  camera is analysed by two nodes at once.
- **runs**: the node's run record (cameras, epochs, states, frames analysed) is rewritten when
  it changes, checked every ``renew_s``.

Each camera run leaves one line in ``<state_dir>/ownership.jsonl`` when it ends (camera, node,
epoch, wall times of the first and last analysed frame, why it ended): an audit of who analysed
what, and when.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgspec
import nats.js.errors

from vsa_stream.cluster.assign import assign
from vsa_stream.cluster.lease import Lease
from vsa_stream.cluster.store import (
    Assignment,
    CameraRun,
    ClusterOptions,
    ClusterStore,
    NodeAssignments,
    NodeRecord,
    RunRecord,
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
# A run record is rewritten at least this often (frames analysed, for `cluster status`).
_RUNS_REFRESH_S = 10.0


class NodeIdInUseError(RuntimeError):
    """Another live daemon renews the lease of this node id."""


@dataclass(slots=True)
class _Owned:
    epoch: int
    config: bytes
    shared: bytes
    started_at: float
    status: CameraStatus | None = None


@dataclass(slots=True)
class _Fleet:
    """The fleet's configuration as of one fleet revision."""

    revision: int | None
    configs: dict[str, bytes]
    enabled: list[str]
    shared: SharedConfig
    shared_bytes: bytes
    draining: set[str]


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
        self.leader_rev: int | None = None
        self.leader_deadline = 0.0
        self.owned: dict[str, _Owned] = {}
        self.epochs: dict[str, int] = {}
        self.draining = False
        self.fenced = 0
        self.started_at = now()
        self.lease = Lease(options, Path(local.state_dir))
        self._lease_failing = False
        self._frames: dict[str, list[float]] = {}
        self._failed: dict[str, bytes] = {}
        self._desired: tuple[object, dict[str, str | None]] | None = None
        self._live: set[str] = set()
        self._fleet: _Fleet | None = None
        self._fleet_lock = anyio.Lock()
        self._runs_lock = anyio.Lock()
        self._runs_written: tuple[object, float] | None = None
        self._kick = anyio.Event()
        self._lag = 0
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

    @property
    def lease_deadline(self) -> float:
        """Monotonic time until which the lease is valid (written by the lease process)."""
        return self.lease.deadline()

    def _publish(self) -> None:
        """This node's state, for the lease process (its fencing check and its record)."""
        self.lease.publish(
            owned=len(self.owned),
            leader=self.leader_rev is not None,
            draining=self.draining,
            lag=self._lag,
            fenced=self.fenced,
            started_at=self.started_at,
        )

    # --- running ----------------------------------------------------------------------------

    async def run(self, engine: Engine) -> None:
        """Run the loops until the engine stops; then leave the cluster."""
        self.engine = engine
        await engine.wait_accepting()
        # A predecessor's list (a crash) must not hold up the cameras it ran: empty it first.
        await self._write_runs(force=True)
        self._publish()
        kick = await self.store.nc.subscribe(
            f"{self.options.prefix}.kick.{self.id}", cb=self._on_kick
        )
        self.lease.start()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._fence_loop)
                tg.start_soon(self._runs_loop)
                tg.start_soon(self._leader_loop)
                tg.start_soon(self._reconcile_loop)
                await engine.wait_stopping()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5.0):
                with contextlib.suppress(Exception):
                    await kick.unsubscribe()
                await self.leave()

    async def _on_kick(self, _msg: Any) -> None:
        self._kick.set()

    async def leave(self) -> None:
        """Stop every camera, delete this node's lease and, when leader, the leader key: the
        survivors take over at once instead of after the TTL."""
        if self._left:
            return
        self._left = True
        await anyio.to_thread.run_sync(self.lease.stop)
        for camera_id in list(self.owned):
            await self._stop(camera_id, "node leaving")
        try:
            await self._write_runs(force=True)
            await self.store.leases.delete(f"nodes.{self.id}")
            if self.leader_rev is not None:
                await self.store.leases.delete("leader", last=self.leader_rev)
        except Exception as exc:
            self._log.warning("could not leave cleanly", error=f"{type(exc).__name__}: {exc}")
        self.lease.close()
        self._log.info("left the cluster")

    # --- lease ------------------------------------------------------------------------------

    async def _fence_loop(self) -> None:
        """Stops every camera once the lease ran out (the lease process waits for it)."""
        while True:
            if self.owned and time.monotonic() >= self.lease_deadline:
                async with self._lock:
                    if self.owned and time.monotonic() >= self.lease_deadline:
                        await self._fence()
            await anyio.sleep(0.05)

    async def _fence(self) -> None:
        late = time.monotonic() - self.lease_deadline
        self.fenced += 1
        self._publish()
        self._log.error(
            "lease not renewed in time: fenced, stopping every camera",
            late_s=round(late, 2),
            cameras=sorted(self.owned),
        )
        for camera_id in list(self.owned):
            await self._stop(camera_id, "fenced")
        with contextlib.suppress(Exception):
            await self._write_runs()

    # --- run record -------------------------------------------------------------------------

    def _runs(self) -> dict[str, CameraRun]:
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
        return cameras

    async def _write_runs(self, *, force: bool = True) -> None:
        """Write this node's run record; unless ``force``, only when a camera, its epoch, its
        state or whether it analysed a frame changed (or every ``_RUNS_REFRESH_S``)."""
        async with self._runs_lock:
            cameras = self._runs()
            summary = sorted((c, r.epoch, r.state, r.analysed > 0) for c, r in cameras.items())
            written = self._runs_written
            if (
                not force
                and written is not None
                and written[0] == summary
                and time.monotonic() - written[1] < _RUNS_REFRESH_S
            ):
                return
            record = RunRecord(node=self.id, cameras=cameras, at=now())
            await self.store.runs.put(f"node.{self.id}", encode(record))
            self._runs_written = (summary, time.monotonic())

    async def _runs_loop(self) -> None:
        assert self.engine is not None
        while True:
            try:
                self._lag = self.engine.delivery.undelivered()
                self._publish()
                code = self.lease.ended()
                if code is not None and not self._left:
                    self._log.error("lease process ended; starting it again", code=code)
                    self.lease.restart()
                failing = self.lease.failing
                if failing != self._lease_failing:
                    self._lease_failing = failing
                    if failing:
                        self._log.warning("lease renewal failed")
                    else:
                        self._log.info("lease renewed again")
                await self._write_runs(force=False)
            except Exception as exc:
                self._log.warning("run record", error=f"{type(exc).__name__}: {exc}")
            await anyio.sleep(self.options.renew_s)

    # --- fleet configuration ----------------------------------------------------------------

    async def _read_fleet(self) -> tuple[_Fleet, bool]:
        """The fleet's configuration, read again only when the fleet revision changed (every
        time when there is none: a fleet applied by an older version). True: it changed."""
        async with self._fleet_lock:
            store = self.store
            revision = await store.fleet_revision()
            fleet = self._fleet
            if fleet is not None and revision is not None and revision == fleet.revision:
                return fleet, False
            configs = await store.camera_configs()
            shared = await store.shared()
            enabled: list[str] = []
            for camera_id, data in configs.items():
                try:
                    if decode_camera(data).enabled:
                        enabled.append(camera_id)
                except msgspec.DecodeError:
                    self._log.error("camera configuration unreadable", camera_id=camera_id)
            fleet = _Fleet(
                revision=revision,
                configs=configs,
                enabled=sorted(enabled),
                shared=shared,
                shared_bytes=encode(shared),
                draining=await store.draining(),
            )
            changed = self._fleet is None or (
                (self._fleet.configs, self._fleet.shared_bytes, self._fleet.draining)
                != (fleet.configs, fleet.shared_bytes, fleet.draining)
            )
            self._fleet = fleet
            return fleet, changed

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
            # Not the leader: try for the role once per renewal period (one request).
            period = self.options.poll_s if self.leader_rev is not None else self.options.renew_s
            await anyio.sleep(max(0.05, period - (time.monotonic() - started)))

    async def _assign_round(self) -> None:
        store = self.store
        nodes = await store.nodes()
        if self.id not in nodes:
            return  # this node's own lease is not in the read: not a view to act on
        # A node missing from the read (an ordered read that raced the node's renewal) loses
        # its cameras only once a direct read of its lease finds it gone.
        for node_id in self._live - set(nodes):
            entry = await get_entry(store.leases, f"nodes.{node_id}")
            if entry is not None:
                with contextlib.suppress(msgspec.DecodeError):
                    nodes[node_id] = msgspec.json.decode(entry.value or b"", type=NodeRecord)
                    self._log.info("node missing from the read of leases, yet live", node=node_id)
        self._live = set(nodes)
        fleet, _ = await self._read_fleet()
        if self.id in fleet.draining:
            self.draining = True  # the leader loop hands the role over before any move
            return
        live = {
            n: rec.capacity
            for n, rec in nodes.items()
            if n not in fleet.draining and not rec.draining
        }
        records = await store.all_assignments()
        key = (tuple(fleet.enabled), tuple(sorted(live.items())))
        if self._desired is None or self._desired[0] != key:
            # Recomputed only when cameras or nodes change (5,000 cameras over 50 nodes: a
            # few hundred milliseconds).
            self._desired = (key, assign(fleet.enabled, live))
        desired = self._desired[1]
        await _Plan(records, desired, set(live)).write(self)

    # --- worker -----------------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        wait = self.options.poll_s
        while True:
            started = time.monotonic()
            busy = False
            try:
                if self.guard():
                    busy = await self._reconcile()
            except Exception as exc:
                self._log.warning("reconcile", error=f"{type(exc).__name__}: {exc}")
                busy = True
            # Back off while nothing changes; the leader's message cuts the wait.
            wait = self.options.poll_s if busy else min(self.options.max_poll_s, wait * 1.5)
            with anyio.move_on_after(max(0.05, wait - (time.monotonic() - started))):
                await self._kick.wait()
            if self._kick.is_set():
                self._kick = anyio.Event()
                wait = self.options.poll_s

    async def _reconcile(self) -> bool:
        """One round; True when something changed or is still to do (poll again soon)."""
        fleet, fleet_changed = await self._read_fleet()
        record, rev = await self.store.node_assignments(self.id)
        self.draining = self.id in fleet.draining
        mine = record.cameras
        stopped = False
        async with self._lock:
            for camera_id, owned in list(self.owned.items()):
                found = mine.get(camera_id)
                reason = None
                if camera_id not in fleet.configs:
                    reason = "removed"
                elif fleet.configs[camera_id] != owned.config or fleet.shared_bytes != owned.shared:
                    reason = "configuration changed"
                elif found is None or found.epoch != owned.epoch:
                    reason = "reassigned"
                if reason is not None:
                    await self._stop(camera_id, reason)
                    stopped = True
            if stopped:
                await self._write_runs()  # the next owner waits for this
        wanted = [
            c
            for c in sorted(mine)
            if c not in self.owned
            and c in fleet.configs
            and self._failed.get(c) != fleet.configs[c]
        ]
        if not wanted:
            return fleet_changed or stopped
        blocked = await self._not_released(wanted, mine)
        ready = [c for c in wanted if c not in blocked]
        for first in range(0, len(ready), max(1, self.options.batch)):
            room = self.options.capacity - len(self.owned)
            if room <= 0 or not self.guard():
                break
            batch = ready[first : first + max(1, self.options.batch)][:room]
            claimed = await self._start_batch(batch, record, rev, fleet)
            if claimed is None:
                break  # the leader changed the record meanwhile: read it again
            record, rev = claimed
        return True

    async def _not_released(self, wanted: list[str], mine: dict[str, Assignment]) -> set[str]:
        """Cameras whose last claimer is another live node that still lists them."""
        by_prev: dict[str, list[str]] = defaultdict(list)
        for camera_id in wanted:
            value = mine[camera_id]
            if not value.claimed and value.prev not in (None, self.id):
                by_prev[str(value.prev)].append(camera_id)
        blocked: set[str] = set()
        for prev, cameras in by_prev.items():
            if await get_entry(self.store.leases, f"nodes.{prev}") is None:
                continue  # no lease: it has stopped analysing (fenced) before its key expired
            run = await self.store.run_record(prev)
            listed = set(run.cameras) if run is not None else set()
            blocked.update(c for c in cameras if c in listed)
        return blocked

    def _settings(self, shared: SharedConfig) -> Config:
        return msgspec.structs.replace(
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

    async def _start_batch(
        self, batch: list[str], record: NodeAssignments, rev: int, fleet: _Fleet
    ) -> tuple[NodeAssignments, int] | None:
        """List, claim (one revision-checked write) and start ``batch``; returns the record
        as claimed and its revision, or None when the claim lost to a leader's write."""
        assert self.engine is not None
        settings = self._settings(fleet.shared)
        cameras: list[Camera] = []
        for camera_id in batch:
            data = fleet.configs[camera_id]
            try:
                camera = decode_camera(data)
            except msgspec.DecodeError as exc:
                self._log.error("unreadable configuration", camera_id=camera_id, error=str(exc))
                self._failed[camera_id] = data
                continue
            if not camera.enabled:
                continue
            # Models load before the lock: a load of several seconds (a GPU provider's
            # start-up) would hold up the reconcile and stop rounds.
            try:
                await self.engine.load_models(camera, settings)
            except (ModelError, KeyError) as exc:
                self._failed[camera_id] = data
                self._log.error("camera not started", camera_id=camera_id, error=str(exc))
                continue
            cameras.append(camera)
        if not cameras:
            return record, rev
        async with self._lock:
            if self._left or self.engine.stopping or not self.guard():
                return None
            # Listed in this node's run record before the claim: whoever sees a later
            # assignment also sees that this node may run the camera, and waits for it.
            for camera in cameras:
                epoch = record.cameras[camera.id].epoch
                self.owned[camera.id] = _Owned(
                    epoch, fleet.configs[camera.id], fleet.shared_bytes, now()
                )
            self._publish()
            try:
                await self._write_runs()
                claimed = msgspec.structs.replace(record, cameras=dict(record.cameras))
                for camera in cameras:
                    claimed.cameras[camera.id] = msgspec.structs.replace(
                        record.cameras[camera.id], claimed=True, at=now()
                    )
                new_rev = await self.store.write_assignments(self.id, claimed, rev)
            except Exception as exc:
                for camera in cameras:
                    del self.owned[camera.id]
                self._publish()
                with contextlib.suppress(Exception):
                    await self._write_runs()
                if not isinstance(exc, _NOT_MINE):
                    raise
                return None
            if not self.guard():
                for camera in cameras:
                    del self.owned[camera.id]
                self._publish()
                return None
            for camera in cameras:
                await self._start_one(camera, settings, fleet.configs[camera.id])
            return claimed, new_rev

    async def _start_one(self, camera: Camera, settings: Config, config: bytes) -> None:
        assert self.engine is not None
        camera_id = camera.id
        self._frames.pop(camera_id, None)
        try:
            status = await self.engine.start_camera(camera, settings, guard=self.guard)
        except (ModelError, ConfigError, KeyError) as exc:  # a rule its detectors cannot serve
            del self.owned[camera_id]
            self._publish()
            self._failed[camera_id] = config
            self._log.error("camera not started", camera_id=camera_id, error=str(exc))
            return
        owned = self.owned[camera_id]
        owned.status = status
        self.epochs[camera_id] = owned.epoch
        self._log.info("camera started", camera_id=camera_id, epoch=owned.epoch)

    async def _stop(self, camera_id: str, reason: str) -> None:
        assert self.engine is not None
        owned = self.owned.get(camera_id)
        if owned is None:
            return
        status = await self.engine.stop_camera(camera_id) or owned.status
        del self.owned[camera_id]
        self._publish()
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


class _Plan:
    """One assigner round's writes: every node record losing cameras first (each write
    revision-checked), then every record gaining cameras whose old record was written."""

    def __init__(
        self,
        records: dict[str, tuple[NodeAssignments, int]],
        desired: dict[str, str | None],
        live: set[str],
    ) -> None:
        self.records = {
            n: (msgspec.structs.replace(r, cameras=dict(r.cameras), moved=dict(r.moved)), rev)
            for n, (r, rev) in records.items()
        }
        # The current assignment of each camera: the highest epoch over the records (an entry
        # of `cameras` wins over a `moved` one of the same epoch: the move is done).
        current: dict[str, tuple[str, Assignment, bool]] = {}
        for node_id, (record, _) in records.items():
            for moved, entries in ((False, record.cameras), (True, record.moved)):
                for camera_id, value in entries.items():
                    found = current.get(camera_id)
                    if (
                        found is None
                        or found[1].epoch < value.epoch
                        or (found[1].epoch == value.epoch and found[2] and not moved)
                    ):
                        current[camera_id] = (node_id, value, moved)
        self.changed_out: set[str] = set()  # records to write in the first step
        self.added: dict[str, dict[str, tuple[Assignment, str | None]]] = defaultdict(dict)
        self.moves: list[tuple[str, Assignment, str | None]] = []
        for node_id, (record, _) in self.records.items():
            # Stale entries: a camera gone from the fleet, or replaced by a later assignment.
            for camera_id in list(record.cameras):
                found = current.get(camera_id)
                if camera_id not in desired or (
                    found is not None and (found[0], found[2]) != (node_id, False)
                ):
                    del record.cameras[camera_id]
                    self.changed_out.add(node_id)
            for camera_id in list(record.moved):
                found = current.get(camera_id)
                if (
                    camera_id not in desired
                    or found is None
                    or (found[0], found[2]) != (node_id, True)
                ):
                    del record.moved[camera_id]
                    self.changed_out.add(node_id)
        for camera_id, target in desired.items():
            found = current.get(camera_id)
            if found is None:
                if target is not None:
                    self.added[target][camera_id] = (
                        Assignment(node=target, epoch=1, at=now()),
                        None,
                    )
                continue
            holder, value, moved = found
            if not moved and value.node == target:
                continue
            if target is None and not moved and holder in live:
                continue  # no room elsewhere: leave it where it runs
            if moved and value.node == target:
                new = value  # a move a previous round (or leader) began: finish it
            else:
                new = Assignment(
                    node=target, epoch=value.epoch + 1, at=now(), prev=value.last_claimer()
                )
                record, _ = self.records[holder]
                record.cameras.pop(camera_id, None)
                record.moved[camera_id] = new
                self.changed_out.add(holder)
                self.moves.append((camera_id, new, value.node))
            if target is not None:
                self.added[target][camera_id] = (new, holder)

    async def write(self, node: Node) -> None:
        store = node.store
        failed: set[str] = set()
        kicked: set[str] = set()
        for node_id in sorted(self.changed_out):
            record, rev = self.records[node_id]
            try:
                self.records[node_id] = (
                    record,
                    await store.write_assignments(node_id, record, rev),
                )
                kicked.add(node_id)
            except _NOT_MINE:
                failed.add(node_id)  # it claimed meanwhile: the next round reads it again
        for camera_id, new, previous in self.moves:
            if new.node is not None and self._source_ok(camera_id, new.node, failed):
                node._log.info(
                    "camera assigned",
                    camera_id=camera_id,
                    node=new.node,
                    previous=previous,
                    epoch=new.epoch,
                )
        for target, cameras in sorted(self.added.items()):
            ready = {c: v for c, (v, holder) in cameras.items() if holder not in failed}
            if not ready:
                continue
            record, rev = self.records.get(target, (NodeAssignments(), 0))
            record.cameras.update(ready)
            with contextlib.suppress(*_NOT_MINE):  # claimed meanwhile: the next round finishes
                self.records[target] = (record, await store.write_assignments(target, record, rev))
                kicked.add(target)
        for node_id in kicked:
            if node_id != node.id:
                await store.nc.publish(f"{node.options.prefix}.kick.{node_id}", b"")
            else:
                node._kick.set()

    def _source_ok(self, camera_id: str, target: str, failed: set[str]) -> bool:
        found = self.added.get(target, {}).get(camera_id)
        return found is not None and found[1] not in failed


def _append_line(path: Path, record: dict[str, object]) -> None:
    os.makedirs(path.parent, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
