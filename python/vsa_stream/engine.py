"""The engine: every camera's pipeline, one event stream, every sink.

::

    camera pipelines ──emit──► memory stream ──► deliver ──► each sink in turn

SIGINT or SIGTERM stops the cameras (their open events are closed and emitted), drains the
event stream into the sinks and returns, within a few seconds; a second signal stops at once.
"""

from __future__ import annotations

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
from vsa_stream.pipeline import CameraPipeline, CameraStatus
from vsa_stream.sinks import Sink

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

    def stop(self) -> None:
        """Ask every camera to stop (safe to call from the event loop only)."""
        for pipeline in self._pipelines:
            pipeline.stop()

    async def run(self, *, handle_signals: bool = True) -> EngineResult:
        """Run all enabled cameras; returns when they have all ended and events are delivered."""
        started = time.monotonic()
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=256)
        token = anyio.lowlevel.current_token()

        def emit(event: Event) -> None:
            anyio.from_thread.run(send.send, event, token=token)

        self._pipelines = [
            CameraPipeline(cam, self.config.motion_for(cam), emit, scan=self.scan)
            for cam in self.config.cameras
            if cam.enabled
        ]
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._deliver, receive)
            if handle_signals:
                outer.start_soon(self._watch_signals)
            with anyio.CancelScope() as self._cameras_scope:
                async with send, anyio.create_task_group() as cameras:
                    for pipeline in self._pipelines:
                        cameras.start_soon(pipeline.run)
            if handle_signals:
                outer.cancel_scope.cancel()  # stops the signal watcher; delivery has finished
        self.result.cameras = [p.status for p in self._pipelines]
        self.result.elapsed_s = time.monotonic() - started
        for sink in self.sinks:
            await sink.aclose()
        return self.result

    async def _deliver(self, receive: MemoryObjectReceiveStream[Event]) -> None:
        with anyio.CancelScope(shield=True):  # drain everything emitted, even while stopping
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

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                if not self.result.stopped_by_signal:
                    self.result.stopped_by_signal = True
                    self._log.info("stopping", signal=signal.Signals(signum).name)
                    self.stop()
                    if self._cameras_scope is not None:
                        self._cameras_scope.deadline = anyio.current_time() + _STOP_GRACE_S
                else:
                    self._log.warning("second signal: stopping now")
                    if self._cameras_scope is not None:
                        self._cameras_scope.cancel()
