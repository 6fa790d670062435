"""A daemon's lease, renewed by a small process of its own.

The lease is what keeps a node's cameras its own: one renewal that comes too late fences the
node (its cameras stop, the leader moves them, they come back: hundreds of moves for nothing).
Renewing from the daemon's event loop made a renewal wait for whatever the loop was doing;
renewing from a thread of the daemon still made it wait for Python's interpreter lock, which
hundreds of analysis threads hand around (renewals measured 9 to 15 s late with 400 replayed
cameras per daemon on a loaded machine). So the lease is renewed by a child process (``python
-m vsa_stream.cluster.lease``), one thread, its own NATS connection, which the daemon talks to
through a small memory-mapped file (``<state_dir>/lease.<node>.mmap``, a few numbers):

- the daemon writes how many cameras it owns, its leader and draining flags, its outbox lag
  and how often it was fenced (for the record);
- the child writes the lease's deadline (monotonic clock: the system's, the same in both
  processes) after each renewal the server acknowledged, and its renewal figures.

The child renews only while its parent is alive and running: it dies with it
(``PR_SET_PDEATHSIG``; ``kill -9`` of the daemon ends the renewals at once), and it sends
nothing while the parent is stopped (``SIGSTOP``: state ``T`` in ``/proc``), so a paused daemon
loses its cameras after the TTL as before. The fencing rule is kept: once the lease has run
out while the daemon still owns cameras, no renewal is sent until it has stopped them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import mmap
import os
import struct
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import BinaryIO

import msgspec

from vsa_stream.cluster.store import ClusterOptions, NodeRecord, connect, encode, now

__all__ = ["Lease"]

# The shared numbers, each a float64 at 8 * index.
_DEADLINE, _OWNED, _LEADER, _DRAINING, _LAG, _FENCED = 0, 1, 2, 3, 4, 5
_RENEWALS, _FAILURES, _P99, _MAX, _STOP, _STARTED_AT, _FAILING = 6, 7, 8, 9, 10, 11, 12
_SLOTS = 16
# Renewal durations kept for the figures (p99 and max).
_KEPT = 100
_PR_SET_PDEATHSIG = 1


class Lease:
    """The daemon's side: starts the child, reads the deadline, publishes its own state.

    Args:
        options: the node's cluster options.
        folder: where the shared file lives (the daemon's ``state_dir``).
    """

    def __init__(self, options: ClusterOptions, folder: Path) -> None:
        self.options = options
        self.path = folder / f"lease.{options.node_id}.mmap"
        self._file: BinaryIO | None = None
        self._map: mmap.mmap | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _get(self, slot: int) -> float:
        if self._map is None:
            return 0.0
        return float(struct.unpack_from("d", self._map, 8 * slot)[0])

    def _set(self, slot: int, value: float) -> None:
        if self._map is not None:
            struct.pack_into("d", self._map, 8 * slot, value)

    def deadline(self) -> float:
        """Monotonic time until which the lease is valid (0 before the first renewal)."""
        return self._get(_DEADLINE)

    def publish(
        self, *, owned: int, leader: bool, draining: bool, lag: int, fenced: int, started_at: float
    ) -> None:
        """The daemon's state, for the child's fencing check and its record."""
        self._set(_OWNED, owned)
        self._set(_LEADER, leader)
        self._set(_DRAINING, draining)
        self._set(_LAG, lag)
        self._set(_FENCED, fenced)
        self._set(_STARTED_AT, started_at)

    def figures(self) -> tuple[float, float]:
        """p99 and max (ms) of the recent renewals' durations, from when each was due to its
        acknowledgement."""
        return self._get(_P99), self._get(_MAX)

    @property
    def renewals(self) -> int:
        return int(self._get(_RENEWALS))

    @property
    def failing(self) -> bool:
        """The last renewal failed (the child logs nothing itself: the daemon does)."""
        return bool(self._get(_FAILING))

    def start(self) -> None:
        """Create the shared file and start the child."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb") as out:
            out.write(bytes(8 * _SLOTS))
        self._file = open(self.path, "r+b")  # noqa: SIM115 (open as long as the map)
        self._map = mmap.mmap(self._file.fileno(), 8 * _SLOTS)
        self._spawn()

    def ended(self) -> int | None:
        """The exit status of a child that ended while it should renew (None: running)."""
        if self._proc is None or self._get(_STOP):
            return None
        return self._proc.poll()

    def restart(self) -> None:
        """Start a new child after one ended (the shared numbers are kept)."""
        self._spawn()

    def _spawn(self) -> None:
        settings = msgspec.json.encode(
            {
                "servers": self.options.servers,
                "node_id": self.options.node_id,
                "ttl_s": self.options.ttl_s,
                "renew_s": self.options.renew_s,
                "margin_s": self.options.margin_s,
                "prefix": self.options.prefix,
                "capacity": self.options.capacity,
            }
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "vsa_stream.cluster.lease", str(self.path), str(os.getpid())],
            stdin=subprocess.PIPE,
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write(settings)
        self._proc.stdin.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop renewing (blocks up to ``timeout``: call it from a worker thread)."""
        self._set(_STOP, 1.0)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def close(self) -> None:
        """Forget the shared file (after :meth:`stop`): the deadline reads 0 from now on."""
        shared, self._map = self._map, None
        if shared is not None:
            shared.close()
        if self._file is not None:
            self._file.close()
            self._file = None
            with contextlib.suppress(OSError):
                self.path.unlink()


# --- the child ---------------------------------------------------------------------------------


class _Shared:
    def __init__(self, path: str) -> None:
        self._file = open(path, "r+b")  # noqa: SIM115
        self.map = mmap.mmap(self._file.fileno(), 8 * _SLOTS)

    def get(self, slot: int) -> float:
        return float(struct.unpack_from("d", self.map, 8 * slot)[0])

    def set(self, slot: int, value: float) -> None:
        struct.pack_into("d", self.map, 8 * slot, value)


def _parent_running(ppid: int) -> bool:
    """The parent is still our parent and not stopped (SIGSTOP, a debugger)."""
    if os.getppid() != ppid:
        return False
    try:
        with open(f"/proc/{ppid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: the death signal still ends us with the parent
    return state not in ("T", "t", "Z", "X")


async def _renew(shared: _Shared, settings: dict[str, object], ppid: int) -> None:
    node_id = str(settings["node_id"])
    ttl, renew, margin = (float(settings[k]) for k in ("ttl_s", "renew_s", "margin_s"))  # type: ignore[arg-type]
    servers = [str(s) for s in settings["servers"]]  # type: ignore[attr-defined]
    key = f"nodes.{node_id}"
    durations: deque[float] = deque(maxlen=_KEPT)
    nc = None
    due = time.monotonic()
    try:
        while not shared.get(_STOP):
            if os.getppid() != ppid:
                return  # the parent died before the death signal was set up
            try:
                if nc is None:
                    nc = await connect(servers, name=f"vsa-stream {key} lease")
                    kv = await nc.jetstream(timeout=2.0).key_value(f"{settings['prefix']}_leases")
                expired = time.monotonic() >= shared.get(_DEADLINE)
                if not _parent_running(ppid) or (expired and shared.get(_OWNED) > 0):
                    await asyncio.sleep(0.02)  # stopped, or fencing itself first
                    continue
                record = NodeRecord(
                    node=node_id,
                    capacity=int(settings["capacity"]),  # type: ignore[call-overload]
                    draining=bool(shared.get(_DRAINING)),
                    leader=bool(shared.get(_LEADER)),
                    lag_revisions=int(shared.get(_LAG)),
                    started_at=shared.get(_STARTED_AT),
                    renewed_at=now(),
                    renew_ms_p99=round(shared.get(_P99), 1),
                    renew_ms_max=round(shared.get(_MAX), 1),
                    fenced=int(shared.get(_FENCED)),
                )
                sent = time.monotonic()
                await asyncio.wait_for(kv.put(key, encode(record)), max(0.5, ttl - margin))
                shared.set(_DEADLINE, max(shared.get(_DEADLINE), sent + ttl - margin))
                durations.append((time.monotonic() - due) * 1000)
                recent = sorted(durations)
                shared.set(_P99, recent[min(len(recent) - 1, int(len(recent) * 0.99))])
                shared.set(_MAX, recent[-1])
                shared.set(_RENEWALS, shared.get(_RENEWALS) + 1)
                shared.set(_FAILING, 0.0)
            except Exception:
                shared.set(_FAILURES, shared.get(_FAILURES) + 1)
                shared.set(_FAILING, 1.0)
            due += renew
            if due < time.monotonic():
                due = time.monotonic()  # late (a pause, a failure): the next one is due now
            # The stop flag is set by the daemon, another process, in the shared file: no
            # event can be awaited across processes, so it is polled (every 50 ms at most).
            while not shared.get(_STOP) and time.monotonic() < due:  # noqa: ASYNC110
                await asyncio.sleep(min(0.05, due - time.monotonic()))
    finally:
        if nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 2.0)


def main(argv: list[str]) -> int:
    """``python -m vsa_stream.cluster.lease SHARED_FILE PARENT_PID`` (settings on stdin)."""
    path, ppid = argv[0], int(argv[1])
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, 9)  # SIGKILL with the parent
    if os.getppid() != ppid:
        return 0
    settings = msgspec.json.decode(sys.stdin.buffer.read())
    asyncio.run(_renew(_Shared(path), settings, ppid))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
