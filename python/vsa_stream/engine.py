"""The engine: every camera's pipeline, one event stream, every sink.

::

    camera pipelines ──emit──► memory stream ──► outbox (commit) ──► one task per sink

An event revision counts as accepted once the outbox has committed it (group commit of whatever
is waiting); each sink then gets it from its own cursor (:class:`~vsa_stream.sinks.delivery.
Delivery`), so a slow or failing sink holds back neither the cameras nor the other sinks.
Without an ``outbox`` the engine keeps one in memory: same order, nothing durable (``scan``).

SIGINT or SIGTERM stops the cameras (their open events are closed and emitted), drains the
event stream into the sinks and returns, within a few seconds; a second signal stops at once,
and logs how many events were left undelivered.
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream

from vsa_stream.config import Config
from vsa_stream.events import Event
from vsa_stream.log import get_logger
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.pipeline import CameraPipeline, CameraStatus
from vsa_stream.sinks import Sink
from vsa_stream.sinks.delivery import Delivery

__all__ = ["Engine", "EngineResult"]

# After a stop signal, how long cameras get to finish before they are cancelled.
_STOP_GRACE_S = 3.0
# Revisions committed to the outbox in one transaction, at most.
_ACCEPT_BATCH = 1000


@dataclass(slots=True)
class EngineResult:
    """What a run did."""

    cameras: list[CameraStatus] = field(default_factory=list)
    events: int = 0
    delivery_failures: int = 0
    elapsed_s: float = 0.0
    stopped_by_signal: bool = False
    undelivered: int = 0


class Engine:
    """Runs a configuration until every stream ends or a stop is requested.

    Args:
        config: a validated configuration.
        sinks: where events go (built from ``config.sinks`` by the caller).
        scan: analyse files as fast as possible (see :class:`CameraPipeline`).
        outbox: the durable outbox (the caller opens and closes it); in memory when None.
    """

    def __init__(
        self,
        config: Config,
        sinks: list[Sink],
        *,
        scan: bool = False,
        outbox: Outbox | None = None,
    ) -> None:
        self.config = config
        self.sinks = sinks
        self.scan = scan
        self.metrics = Metrics()
        self._own_outbox = outbox is None
        self.outbox = outbox if outbox is not None else Outbox(":memory:")
        self.delivery = Delivery(
            self.outbox,
            sinks,
            self.metrics,
            keep_delivered_s=config.outbox.keep_delivered_h * 3600.0,
            keep_events_s=config.outbox.keep_events_days * 86400.0,
            drain_s=config.outbox.drain_s,
        )
        self.result = EngineResult()
        self._log = get_logger()
        self._pipelines: list[CameraPipeline] = []
        self._cameras_scope: anyio.CancelScope | None = None
        self._outer_scope: anyio.CancelScope | None = None

    def stop(self) -> None:
        """Ask every camera to stop (safe to call from the event loop only)."""
        for pipeline in self._pipelines:
            pipeline.stop()

    async def run(self, *, handle_signals: bool = True) -> EngineResult:
        """Run all enabled cameras; returns when they have all ended and events are delivered."""
        started = time.monotonic()
        # Unbounded: an analysis thread never waits on a slow sink, so a stopping camera always
        # hands over its closing events (they are small, and rules emit few of them).
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)

        token = anyio.lowlevel.current_token()

        def emit(event: Event) -> None:
            """Called from analysis threads: hand the event to the loop, never wait for sinks."""
            try:
                anyio.from_thread.run_sync(send.send_nowait, event, token=token)
            except (anyio.ClosedResourceError, RuntimeError):
                # Only a camera abandoned after the stop deadline gets here.
                self._log.error("event lost: the engine has stopped", event_id=event.id)

        self._pipelines = [
            CameraPipeline(cam, self.config.motion_for(cam), emit, scan=self.scan)
            for cam in self.config.cameras
            if cam.enabled
        ]
        self.delivery.camera_states = lambda: [
            (p.status.camera_id, p.status.state) for p in self._pipelines
        ]
        watcher = anyio.CancelScope()
        try:
            async with anyio.create_task_group() as outer:
                self._outer_scope = outer.cancel_scope
                outer.start_soon(self.delivery.run)
                outer.start_soon(self._deliver, receive)
                if handle_signals:
                    outer.start_soon(self._watch_signals, watcher)
                with anyio.CancelScope() as self._cameras_scope:
                    async with send, anyio.create_task_group() as cameras:
                        for pipeline in self._pipelines:
                            cameras.start_soon(pipeline.run)
                watcher.cancel()  # delivery goes on until every event is handed over
        finally:
            self.result.cameras = [p.status for p in self._pipelines]
            self.result.elapsed_s = time.monotonic() - started
            lost = receive.statistics().current_buffer_used
            if lost:
                self._log.error("stopped with events not accepted", count=lost)
            self.result.undelivered = lost + self.delivery.undelivered()
            self.result.delivery_failures = self.delivery.failures
            for sink in self.sinks:
                with anyio.CancelScope(shield=True):
                    await sink.aclose()
            if self._own_outbox:
                self.outbox.close()
        return self.result

    async def _deliver(self, receive: MemoryObjectReceiveStream[Event]) -> None:
        """Commit what the cameras emit to the outbox, in batches of whatever is waiting."""
        try:
            async with receive:
                async for event in receive:
                    batch = [event]
                    while len(batch) < _ACCEPT_BATCH:
                        try:
                            batch.append(receive.receive_nowait())
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    await self._accept(batch)
        finally:
            self.delivery.finish()

    async def _accept(self, batch: list[Event]) -> None:
        """Commit ``batch``; while the outbox cannot be written, keep it and try again."""
        delay = 0.1
        while True:
            try:
                await self.delivery.accept(batch)
            except Exception as exc:
                self._log.error(
                    "outbox write failed; retrying",
                    events=len(batch),
                    error=f"{type(exc).__name__}: {exc}",
                )
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.result.events += len(batch)
                return

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with scope, anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if not self.result.stopped_by_signal:
                    self.result.stopped_by_signal = True
                    self._log.info("stopping", signal=signal.Signals(signum).name)
                    self.stop()
                    if self._cameras_scope is not None:
                        self._cameras_scope.deadline = anyio.current_time() + _STOP_GRACE_S
                else:
                    self._log.warning("second signal: stopping now")
                    if self._outer_scope is not None:
                        self._outer_scope.cancel()
