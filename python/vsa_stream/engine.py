"""The engine: every camera's pipeline, one event stream, every sink.

::

    camera pipelines ──emit──► memory stream ──► outbox (commit) ──► one task per sink

An event revision counts as accepted once the outbox has committed it (group commit of whatever
is waiting); each sink then gets it from its own cursor (:class:`~vsa_stream.sinks.delivery.
Delivery`), so a slow or failing sink holds back neither the cameras nor the other sinks.
Without an ``outbox`` the engine keeps one in memory: same order, nothing durable (``scan``).

With ``dynamic=True`` (cluster mode) the engine starts with no camera and runs until it is
stopped; cameras are started and stopped while it runs (:meth:`Engine.start_camera`,
:meth:`Engine.stop_camera`), each with an optional guard that a frame must pass to be analysed
(the cluster's fencing). A static engine's cameras are started and stopped the same way by a
configuration reload (:mod:`vsa_stream.reload`).

SIGINT or SIGTERM stops the cameras (their open events are closed and emitted), drains the
event stream into the sinks and returns, within a few seconds; a second signal stops at once,
and logs how many events were left undelivered.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream
from prometheus_client.core import Metric

from vsa_stream.config import Camera, Config, DetectorConfig, class_problems
from vsa_stream.detection.model import Model, load_model
from vsa_stream.detection.names import class_table
from vsa_stream.detection.pose import PoseModel, load_pose
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.detection.spec import ENGINE_CLASSES
from vsa_stream.errors import ConfigError, ModelError
from vsa_stream.events import Event
from vsa_stream.evidence import EvidenceStore
from vsa_stream.lawful import AuthorisationGate
from vsa_stream.log import get_logger
from vsa_stream.metrics import Metrics, counter, gauge
from vsa_stream.observation import Observation
from vsa_stream.outbox import Outbox
from vsa_stream.pipeline import CameraPipeline, CameraStatus
from vsa_stream.rules import wants_pose as _wants_pose
from vsa_stream.sinks import Sink
from vsa_stream.sinks.delivery import Delivery
from vsa_stream.stats.metrics import statistics_metrics
from vsa_stream.supervisor import camera_metrics

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


def model_classes(model: Model) -> frozenset[str]:
    """The engine classes a loaded detector produces (its class map over the model's classes)."""
    engine, thresholds = class_table(model.spec, model.class_names)
    return frozenset(
        ENGINE_CLASSES[int(e)]
        for e, t in zip(engine, thresholds, strict=True)
        if e >= 0 and t < math.inf
    )


class Engine:
    """Runs a configuration until every stream ends or a stop is requested.

    Args:
        config: a validated configuration.
        sinks: where events go (built from ``config.sinks`` by the caller).
        scan: analyse files as fast as possible (see :class:`CameraPipeline`).
        observe: called from the analysis threads with every observation of every camera.
        outbox: the durable outbox (the caller opens and closes it); in memory when None.
        evidence: where cameras store snapshots (``privacy.snapshots``); none when None.
        dynamic: start no camera of ``config``; run until stopped, cameras being started and
            stopped with :meth:`start_camera` and :meth:`stop_camera` (cluster mode).
        clock: the engine's clock (Unix seconds): which authorisations are in force, and the
            events' times. Read once per frame about to be analysed; tests drive it.

    A detector that cannot be loaded (a :class:`~vsa_stream.errors.ModelError`) stops only the
    cameras that use it: they end ``failed`` with the reason, the others run.
    """

    def __init__(
        self,
        config: Config,
        sinks: list[Sink],
        *,
        scan: bool = False,
        observe: Callable[[Observation], None] | None = None,
        outbox: Outbox | None = None,
        evidence: EvidenceStore | None = None,
        dynamic: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        #: Called with each camera's authorisation changes (audit records), from the
        #: analysis threads; the daemon writes them to the audit log.
        self.on_authorisation: Callable[[dict[str, object]], None] | None = None
        self.evidence = evidence
        self.dynamic = dynamic
        #: True once every enabled camera's pipeline was built (or refused).
        self.cameras_started = False
        self.sinks = sinks
        self.scan = scan
        self.observe = observe
        self.result = EngineResult()
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
            camera_states=self._camera_states,
        )
        self.detectors: dict[str, DetectorService] = {}
        #: The pose model of ``person_down`` (``pose`` config), loaded when a camera needs it.
        self.pose: PoseModel | None = None
        #: Awaited once the cameras have ended, before the sinks are told that no more
        #: revisions come (the daemon's last audit checkpoint); at most 5 s.
        self.before_finish: Callable[[], Awaitable[None]] | None = None
        self._log = get_logger()
        self._pipelines: list[CameraPipeline] = []
        self._unstarted: list[CameraStatus] = []
        self.metrics.add_collector(self._detection_metrics)
        self._cameras_scope: anyio.CancelScope | None = None
        self._outer_scope: anyio.CancelScope | None = None
        # Dynamic mode: the running cameras' task group, their end events, the ended ones.
        self._cameras_tg: anyio.abc.TaskGroup | None = None
        self._emit: Callable[[Event], None] | None = None
        self._done: dict[str, anyio.Event] = {}
        self._ended: list[CameraStatus] = []
        self._stopping = anyio.Event()
        self._accepting = anyio.Event()
        self._loading = anyio.Lock()  # one model load at a time: none loaded twice
        self.metrics.add_collector(camera_metrics(self.camera_statuses))
        self.metrics.add_collector(
            statistics_metrics(
                lambda: [s for p in self._pipelines if (s := p.analyzer.statistics) is not None]
            )
        )

    def _camera_states(self) -> list[tuple[str, str]]:
        """``(camera_id, state)`` of every enabled camera, for the sinks that watch them."""
        return [(s.camera_id, s.state) for s in self.camera_statuses()]

    def camera_statuses(self) -> list[CameraStatus]:
        """Every enabled camera's status, started or not (read by the HTTP API)."""
        return [p.status for p in self._pipelines] + self._unstarted

    def frame_sizes(self) -> dict[str, tuple[int, int]]:
        """``(width, height)`` of the last frame each camera analysed."""
        sizes: dict[str, tuple[int, int]] = {}
        for p in self._pipelines:
            last = p.analyzer.last
            if last is not None:
                sizes[p.camera.id] = (last.width, last.height)
        return sizes

    @property
    def stopping(self) -> bool:
        """True once a stop was asked for (:meth:`stop` or a signal)."""
        return self._stopping.is_set()

    @property
    def cameras_running(self) -> bool:
        """True while cameras can be started and stopped (running, not stopping)."""
        return self._cameras_tg is not None and not self._stopping.is_set()

    def stop(self) -> None:
        """Ask every camera to stop (safe to call from the event loop only)."""
        for pipeline in self._pipelines:
            pipeline.stop()
        self._stopping.set()

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

        watcher = anyio.CancelScope()
        try:
            self._emit = emit
            if not self.dynamic:
                await self._start_cameras(emit)
            self.cameras_started = True
            async with anyio.create_task_group() as outer:
                self._outer_scope = outer.cancel_scope
                outer.start_soon(self.delivery.run)
                outer.start_soon(self._deliver, receive)
                if handle_signals:
                    outer.start_soon(self._watch_signals, watcher)
                with anyio.CancelScope() as self._cameras_scope:
                    async with send, anyio.create_task_group() as cameras:
                        self._cameras_tg = cameras  # a reload starts cameras here too
                        for pipeline in self._pipelines:
                            self._launch(pipeline, keep=True)
                        if self.dynamic:
                            cameras.start_soon(self._stopping.wait)
                            self._accepting.set()
                self._cameras_tg = None
                watcher.cancel()  # delivery goes on until every event is handed over
        finally:
            for service in self.detectors.values():
                service.close()
            self.result.cameras = self._ended + self.camera_statuses()
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

    async def wait_accepting(self) -> None:
        """Wait until a dynamic engine's :meth:`run` can take cameras."""
        await self._accepting.wait()

    async def wait_stopping(self) -> None:
        """Wait until a stop is asked for (:meth:`stop` or a signal)."""
        await self._stopping.wait()

    def running(self) -> dict[str, CameraPipeline]:
        """The pipelines running now, by camera id."""
        return {p.camera.id: p for p in self._pipelines}

    async def start_camera(
        self,
        camera: Camera,
        shared: Config | None = None,
        *,
        guard: Callable[[], bool] | None = None,
    ) -> CameraStatus:
        """Start ``camera`` in a running engine (dynamic, or reloading its configuration);
        returns its (live) status.

        Args:
            camera: the camera; its id must not be running already.
            shared: where its motion, tracking and detector settings come from (default: the
                engine's config). A detector is loaded the first time a camera needs it.
            guard: called before each frame is analysed; a frame is skipped while it is False.

        Raises:
            RuntimeError: the engine is not running (or stopping), or the camera runs.
            ModelError: a detector (or the pose model) the camera needs cannot be loaded.
        """
        tg, emit = self._cameras_tg, self._emit
        if tg is None or emit is None or self._stopping.is_set():
            raise RuntimeError("start_camera needs a running engine (dynamic, or reloading)")
        if camera.id in self._done:
            raise RuntimeError(f"camera {camera.id!r} is already running")
        config = shared if shared is not None else self.config
        await self.load_models(camera, config)
        ids = config.detectors_for(camera)
        produced = {d: model_classes(self.detectors[d].model) for d in ids}
        for path, message in class_problems(camera, produced):
            raise ConfigError(message, path=f"cameras[{camera.id}].{path}")
        pipeline = self._pipeline(camera, config, emit, guard)
        self._pipelines.append(pipeline)
        self._launch(pipeline, keep=not self.dynamic)
        return pipeline.status

    def _launch(self, pipeline: CameraPipeline, *, keep: bool) -> None:
        """Run ``pipeline`` in the cameras' task group; ``keep``: its status stays listed
        once it has ended (a static engine's cameras), else it moves to the ended ones."""
        assert self._cameras_tg is not None
        camera_id = pipeline.camera.id
        done = self._done[camera_id] = anyio.Event()

        async def run() -> None:
            try:
                await pipeline.run()
            finally:
                if not keep:
                    self._retire(pipeline)
                if self._done.get(camera_id) is done:
                    del self._done[camera_id]
                done.set()

        self._cameras_tg.start_soon(run)

    def _retire(self, pipeline: CameraPipeline) -> None:
        if pipeline in self._pipelines:
            self._pipelines.remove(pipeline)
            self._ended.append(pipeline.status)
            del self._ended[:-1000]

    async def load_models(self, camera: Camera, config: Config | None = None) -> None:
        """Load (once) the detectors and pose model ``camera`` needs, settings from ``config``
        (default: the engine's). :meth:`start_camera` calls it; a caller that must not hold a
        lock for seconds (a cluster node, whose lease renewals wait on its lock) calls it first.

        Raises:
            ModelError: a model cannot be loaded, naming its config field.
        """
        config = config if config is not None else self.config
        async with self._loading:
            for detector_id in config.detectors_for(camera):
                if detector_id in self.detectors:
                    continue
                dconf = config.detector(detector_id)
                try:
                    model = await anyio.to_thread.run_sync(load_model, dconf.model)
                except ModelError as exc:
                    raise ModelError(f"{_model_field(config, detector_id)}: {exc}") from exc
                service = self._service(detector_id, dconf, model)
                self.detectors[detector_id] = service
                service.start()
            if config.pose is not None and self.pose is None and _wants_pose(camera):
                self.pose = await anyio.to_thread.run_sync(load_pose, config.pose)

    async def stop_camera(
        self, camera_id: str, reason: str = "engine stopped"
    ) -> CameraStatus | None:
        """Stop a camera and wait until it has ended (its open events closed and emitted with
        ``reason``); its status leaves :meth:`camera_statuses`. None when it was not running
        (a camera that could not start is forgotten)."""
        self._unstarted = [s for s in self._unstarted if s.camera_id != camera_id]
        done = self._done.get(camera_id)
        pipeline = self.running().get(camera_id)
        if pipeline is None:
            return None
        if done is not None:
            pipeline.stop(reason)
            await done.wait()
        self._retire(pipeline)
        return pipeline.status

    def install_detector(self, detector_id: str, config: DetectorConfig, model: Model) -> None:
        """Serve a loaded ``model`` as detector ``detector_id`` (replacing, and closing, the
        one of that id: the cameras using it must have been stopped)."""
        self.remove_detector(detector_id)
        service = self._service(detector_id, config, model)
        # a new dict: the metrics read this one from a worker thread
        self.detectors = {**self.detectors, detector_id: service}
        service.start()

    def remove_detector(self, detector_id: str) -> None:
        """Close detector ``detector_id`` if it is served (no camera may still use it)."""
        if detector_id in self.detectors:
            detectors = dict(self.detectors)
            detectors.pop(detector_id).close()
            self.detectors = detectors

    async def _start_cameras(self, emit: Callable[[Event], None]) -> None:
        """Load the detectors the enabled cameras use, then build the cameras' pipelines."""
        config = self.config
        cameras = [c for c in config.cameras if c.enabled]
        wanted = {d for c in cameras for d in config.detectors_for(c)}
        broken: dict[str, str] = {}
        for detector_id in sorted(wanted):
            dconf = config.detector(detector_id)
            try:
                model = await anyio.to_thread.run_sync(load_model, dconf.model)
            except ModelError as exc:
                broken[detector_id] = f"{_model_field(config, detector_id)}: {exc}"
                self._log.error("detector unavailable", detector=detector_id, error=str(exc))
                continue
            self._log.info(
                "detector loaded", detector=detector_id, model=repr(model), input=model.input_note
            )
            self.detectors[detector_id] = self._service(detector_id, dconf, model)
        pose_error = None
        if config.pose is not None and any(_wants_pose(c) for c in cameras):
            try:
                self.pose = await anyio.to_thread.run_sync(load_pose, config.pose)
            except ModelError as exc:
                pose_error = str(exc)
                self._log.error("pose model unavailable", error=pose_error)
            else:
                self._log.info("pose model loaded", model=repr(self.pose))
        produced = {d: model_classes(s.model) for d, s in self.detectors.items()}
        for camera in cameras:
            ids = config.detectors_for(camera)
            missing = [d for d in ids if d in broken]
            unfit = [
                f"{path}: {message}"
                for path, message in class_problems(
                    camera, {d: produced[d] for d in ids if d in produced}
                )
            ]
            error = None
            if missing:
                error = f"detector {missing[0]} unavailable: {broken[missing[0]]}"
            elif unfit:
                error = f"configuration error: {unfit[0]}"
            elif pose_error is not None and _wants_pose(camera):
                error = f"pose model unavailable: {pose_error}"
            if error is not None:
                status = CameraStatus(camera.id, state="failed")
                status.error = error
                self._log.error("camera not started", camera_id=camera.id, error=status.error)
                self._unstarted.append(status)
                continue
            self._pipelines.append(self._pipeline(camera, config, emit))
        for service in self.detectors.values():
            service.start()

    def _pipeline(
        self,
        camera: Camera,
        config: Config,
        emit: Callable[[Event], None],
        guard: Callable[[], bool] | None = None,
    ) -> CameraPipeline:
        """The pipeline of ``camera``, its detectors already loaded into ``self.detectors``."""
        return CameraPipeline(
            camera,
            config.motion_for(camera),
            emit,
            scan=self.scan,
            tracking=config.tracking,
            detectors=[
                (self.detectors[d], config.detector(d)) for d in config.detectors_for(camera)
            ],
            observe=self.observe,
            evidence=self.evidence,
            guard=guard,
            pose=self.pose,
            gate=AuthorisationGate(camera, config),
            clock=self.clock,
            on_audit=self.on_authorisation,
        )

    def _service(self, detector_id: str, config: DetectorConfig, model: Model) -> DetectorService:
        histogram = self.metrics.inference_seconds.labels(detector=detector_id)

        def on_inference(seconds: float, frames: int) -> None:
            histogram.observe(seconds)

        return DetectorService(
            detector_id, model, max_batch=config.max_batch, on_inference=on_inference
        )

    def _detection_metrics(self) -> Iterator[Metric]:
        """Per camera and detector: what was asked, served, deferred (overload), failed."""
        rows = [
            (camera, name, stats)
            for name, service in self.detectors.items()
            for camera, stats in list(service.stats.items())
        ]
        for what, help_text in (
            ("requested", "Frames sent to a detector."),
            ("served", "Frames a detector returned detections for."),
            ("deferred", "Due frames not sent: the camera's previous frame was still queued."),
            ("superseded", "Queued frames replaced by a newer one of the same camera."),
            ("failed", "Frames a detector failed on."),
        ):
            yield counter(
                f"vsa_detection_{what}",
                help_text,
                ["camera", "detector"],
                (([c, n], float(getattr(s, what))) for c, n, s in rows),
            )
        by_id = {c.id: c for c in self.config.cameras}
        yield gauge(
            "vsa_detection_target_fps",
            "Configured detection rate of each camera and detector.",
            ["camera", "detector"],
            (
                ([c, n], by_id[c].detect_fps or self.config.detector(n).fps)
                for c, n, _ in rows
                if c in by_id
            ),
        )
        yield gauge(
            "vsa_detection_pending",
            "Frames waiting for each detector (at most one per camera).",
            ["detector"],
            (([n], float(s.pending())) for n, s in self.detectors.items()),
        )

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
            if self.before_finish is not None:
                with anyio.move_on_after(5.0, shield=True):
                    try:
                        await self.before_finish()
                    except Exception as exc:
                        self._log.error("before finishing", error=f"{type(exc).__name__}: {exc}")
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
                for event in batch:
                    self.metrics.events.labels(
                        camera=event.camera_id, type=event.type, state=event.state
                    ).inc()
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


def _model_field(config: Config, detector_id: str) -> str:
    """The config field of a detector's model, as errors name it: ``detectors[i].model``."""
    i = next(i for i, d in enumerate(config.detectors) if d.id == detector_id)
    return f"detectors[{i}].model"
