"""A daemon's lease, renewed from a thread of its own, on a connection of its own.

The lease is what keeps a node's cameras its own: one renewal that comes too late fences the
node (its cameras stop, the leader moves them, they come back: hundreds of moves for nothing).
Renewing from the daemon's event loop made a renewal wait for whatever the loop was doing:
starting a batch of cameras, stopping others, a slow callback. Here the renewal has its own
thread, its own asyncio loop and its own NATS connection, and never takes the node's lock: it
writes a small record (no camera list) every ``renew_s`` and only reads a few attributes of the
node. Python's threads share one interpreter lock, so a busy loop can still delay it by a few
switch intervals (5 ms each), not by the length of the work.

The fencing rule is kept: once the lease has run out while the node still owns cameras
(``may_renew`` is False), no renewal is sent until the node has stopped them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable

from vsa_stream.cluster.store import ClusterOptions, NodeRecord, connect, encode
from vsa_stream.log import get_logger

__all__ = ["LeaseThread"]

# Renewal durations kept for the figures in the lease record (p99 and max).
_KEPT = 100


class LeaseThread:
    """Renews ``nodes.<id>`` every ``renew_s`` from a daemon thread (see the module docstring).

    Args:
        options: the node's cluster options.
        record: the record to write (called from this thread: it must only read attributes).
        may_renew: False while a lease that ran out has cameras still to stop.
        renewed: called with the monotonic time a renewal that succeeded was sent.
    """

    def __init__(
        self,
        options: ClusterOptions,
        record: Callable[[], NodeRecord],
        may_renew: Callable[[], bool],
        renewed: Callable[[float], None],
    ) -> None:
        self.options = options
        self.record = record
        self.may_renew = may_renew
        self.renewed = renewed
        #: How long each recent renewal took, in ms: from when it was due to its acknowledgement.
        self.durations: deque[float] = deque(maxlen=_KEPT)
        self.renewals = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"lease-{options.node_id}", daemon=True
        )
        self._log = get_logger(node=options.node_id)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop renewing (blocks up to ``timeout``: call it from a worker thread)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def figures(self) -> tuple[float, float]:
        """p99 and max of the recent renewals' durations (ms)."""
        recent = sorted(self.durations)
        if not recent:
            return 0.0, 0.0
        return recent[min(len(recent) - 1, int(len(recent) * 0.99))], recent[-1]

    def _main(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        options = self.options
        key = f"nodes.{options.node_id}"
        timeout = max(0.5, options.ttl_s - options.margin_s)
        nc = None
        failing = False
        due = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    if nc is None:
                        nc = await connect(options.servers, name=f"vsa-stream {key} lease")
                        kv = await nc.jetstream(timeout=2.0).key_value(f"{options.prefix}_leases")
                    if not self.may_renew():
                        await asyncio.sleep(0.02)  # the node fences itself first
                        continue
                    sent = time.monotonic()
                    await asyncio.wait_for(kv.put(key, encode(self.record())), timeout)
                    self.renewed(sent)
                    self.durations.append((time.monotonic() - due) * 1000)
                    self.renewals += 1
                    if failing:
                        self._log.info("lease renewed again")
                    failing = False
                except Exception as exc:
                    self.failures += 1
                    if not failing:
                        self._log.warning(
                            "lease renewal failed", error=f"{type(exc).__name__}: {exc}"
                        )
                    failing = True
                due += options.renew_s
                now = time.monotonic()
                if due < now:
                    due = now  # late (a pause, a failure): the next one is due now
                while not self._stop.is_set() and time.monotonic() < due:
                    await asyncio.sleep(min(0.05, due - time.monotonic()))
        finally:
            if nc is not None:
                try:
                    await asyncio.wait_for(nc.close(), 2.0)
                except Exception as exc:
                    self._log.debug("lease connection close", error=str(exc))
