"""The engine: every camera's pipeline, one event stream, every sink.

::

    camera pipelines ──emit──► memory stream ──► deliver ──► each sink in turn

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
from vsa_stream.pipeline import CameraPipeline, CameraStatus
from vsa_stream.sinks import Sink
from vsa_stream.supervisor import camera_metrics

__all__ = ["Engine", "EngineResult"]

# After a stop signal, how long cameras get to finish before they are cancelled.
_STOP_GRACE_S = 3.0


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
    """

    def __init__(self, config: Config, sinks: list[Sink], *, scan: bool = False) -> None:
        self.config = config
        self.sinks = sinks
        self.scan = scan
        self.result = EngineResult()
        self._log = get_logger()
        self._pipelines: list[CameraPipeline] = []
        self._cameras_scope: anyio.CancelScope | None = None
        self._outer_scope: anyio.CancelScope | None = None
        self.metrics = Metrics()
        self.metrics.add_collector(camera_metrics(lambda: [p.status for p in self._pipelines]))

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
        watcher = anyio.CancelScope()
        try:
            async with anyio.create_task_group() as outer:
                self._outer_scope = outer.cancel_scope
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
            self.result.undelivered = receive.statistics().current_buffer_used
            if self.result.undelivered:
                self._log.error("stopped with events not delivered", count=self.result.undelivered)
            for sink in self.sinks:
                with anyio.CancelScope(shield=True):
                    await sink.aclose()
        return self.result

    async def _deliver(self, receive: MemoryObjectReceiveStream[Event]) -> None:
        async with receive:
            async for event in receive:
                self.result.events += 1
                for sink in self.sinks:
                    try:
                        await sink.send(event)
                    except Exception as exc:
                        self.result.delivery_failures += 1
                        self._log.error(
                            "delivery failed",
                            sink=sink.name,
                            event_id=event.id,
                            error=f"{type(exc).__name__}: {exc}",
                        )

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
