"""One camera's pipeline: a decode thread and an analysis thread around a frame slot.

::

    decode thread ──► FrameSlot ──► analysis thread ──► emit(event)
    (PyAV, GIL free)   (latest or    (Rust kernels,      (into the engine's
                        block)        GIL free; rules)     event stream)

Frames are sampled at the camera's target analysis rate by their stream time, so a scan and a
live run of the same file analyse the same frames. A failing camera logs why and ends; it
never touches another camera. A live stream is supervised (:mod:`vsa_stream.supervisor`):
stalls are detected, the stream is reconnected with exponential backoff (1 s to 60 s, with
jitter) until the engine stops, and ``camera_offline`` / ``camera_online`` events are emitted.
"""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Callable

import anyio

from vsa_stream.analyzer import Analyzer
from vsa_stream.config import Camera, DetectorConfig, MotionConfig, TrackingConfig
from vsa_stream.detection.pose import PoseModel
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.errors import FrameError, InternalError, SourceError
from vsa_stream.events import Event
from vsa_stream.evidence import EvidenceStore
from vsa_stream.lawful import AuthorisationGate
from vsa_stream.log import get_logger
from vsa_stream.observation import Observation
from vsa_stream.redact import redact_text
from vsa_stream.sources import Frame, FrameSlot, VideoSource
from vsa_stream.sources.replay import DetectionReplay, is_replay_url
from vsa_stream.supervisor import ABANDON_AFTER_S, CameraStatus, DecodeSupervisor
from vsa_stream.threads import run_in_daemon_thread

__all__ = ["CameraPipeline", "CameraStatus"]

# How long a stopping camera waits for its decode thread before abandoning it.
_DECODE_GRACE_S = ABANDON_AFTER_S + 0.5  # the supervisor's own abandon delay, and some


class CameraPipeline:
    """Decode and analyse one camera until its stream ends or :meth:`stop` is called.

    Args:
        camera: the camera's configuration.
        motion: motion-kernel settings for it.
        emit: called from the analysis thread with each event revision; it should return at
            once (the engine's hands the revision to the event loop, never waiting for a
            sink, so a slow sink never holds up analysis).
        scan: analyse a file as fast as possible: no pacing, no looping, no dropped frames,
            and every detection waited for.
        tracking: tracker settings.
        detectors: the shared detector services this camera uses, with their configuration.
        observe: called from the analysis thread with every observation.
        evidence: where snapshots of opening and closing events go (``privacy.snapshots``).
        guard: called before each frame is analysed; the frame is skipped while it returns
            False (cluster fencing: a node whose lease may have expired analyses nothing).
        pose: the pose model ``person_down`` asks about candidate persons (``pose`` config).
        gate: the camera's authorisations (:mod:`vsa_stream.lawful`), asked before each frame;
            None: every frame is analysed with every rule.
        clock: the engine's clock (Unix seconds), read once per frame that reaches analysis;
            the authorisations and the events' times follow it.
        on_audit: called with each authorisation change's audit record (from the analysis
            thread).
    """

    def __init__(
        self,
        camera: Camera,
        motion: MotionConfig,
        emit: Callable[[Event], None],
        *,
        scan: bool = False,
        tracking: TrackingConfig | None = None,
        detectors: list[tuple[DetectorService, DetectorConfig]] | None = None,
        observe: Callable[[Observation], None] | None = None,
        evidence: EvidenceStore | None = None,
        guard: Callable[[], bool] | None = None,
        pose: PoseModel | None = None,
        gate: AuthorisationGate | None = None,
        clock: Callable[[], float] = time.time,
        on_audit: Callable[[dict[str, object]], None] | None = None,
    ) -> None:
        self.camera = camera
        self.gate = gate
        self.clock = clock
        self.on_audit = on_audit
        self.evidence = evidence
        self._detected = bool(detectors)  # a detector classifies this camera's objects
        self.guard = guard
        self.emit = emit
        self.scan = scan
        self.status = CameraStatus(camera.id)
        self.source = VideoSource(
            camera.url,
            options=camera.options,
            realtime=camera.realtime and not scan,
            loop=camera.loop and not scan,
            # Unset: deblock the frames a detector sees (scores), skip it for motion alone.
            skip_loop_filter=(
                not detectors if camera.skip_loop_filter is None else camera.skip_loop_filter
            ),
            frame_threads=scan,
            open_timeout_s=camera.supervision.open_timeout_s,
            read_timeout_s=camera.supervision.read_timeout_s,
        )
        # A live stream keeps only its newest frame; a file read faster than real time waits
        # for analysis instead, so nothing of it is skipped.
        offline = not self.source.network and not self.source.realtime
        self.slot: FrameSlot[Frame] = FrameSlot(
            "block" if offline else "latest", 2 if offline else 1
        )
        self.analyzer = Analyzer(
            camera,
            motion,
            tracking=tracking,
            detectors=detectors,
            wait=scan,
            observe=observe,
            pose=pose,
        )
        self._stop = threading.Event()  # a stop was asked for
        self._stop_reason = "engine stopped"
        # Held while a frame is analysed and its events emitted: rules swap between frames.
        self._analysing = threading.Lock()
        self._halt = threading.Event()  # the decoder must end (stop, failure, end of analysis)
        self._log = get_logger(camera_id=camera.id)
        self.supervisor = DecodeSupervisor(
            camera, self.source, self.status, self._sample, emit, self._halt
        )

    def stop(self, reason: str = "engine stopped") -> None:
        """Ask both threads to end; open events are closed and emitted with ``reason``."""
        self._stop_reason = reason
        self._stop.set()
        self._halt.set()
        self.slot.close()

    def reconfigure(self, camera: Camera, pose: PoseModel | None = None) -> None:
        """Swap the rules and zones for those of ``camera`` between two frames, the stream
        going on (blocking: call it from a worker thread); closing revisions of the rules
        taken out are emitted (see :meth:`Analyzer.reconfigure`)."""
        with self._analysing:
            events = self.analyzer.reconfigure(camera, pose)
            self.camera = camera
            for event in events:
                self.emit(event)

    async def run(self) -> CameraStatus:
        """Run until the stream ends, fails, or :meth:`stop`; never raises for a bad stream."""
        status = self.status
        status.started = time.monotonic()
        self._log.info("camera starting", url=self.source.display_url, scan=self.scan)
        self._decode_done = anyio.Event()
        refused = self.gate.refusal(self.camera.url) if self.gate is not None else None
        if refused is not None:
            self._fail(refused)
            self._finished()
            return status
        if is_replay_url(self.camera.url):
            try:
                await run_in_daemon_thread(self._replay, name=f"replay-{self.camera.id}")
            finally:
                self._finished()
            return status
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._run_decode)
                await run_in_daemon_thread(self._analyse, name=f"analyse-{self.camera.id}")
                # Analysis ends when the stream ended, the camera failed or a stop was asked
                # for; a decoder stuck in a read that ignores its timeout is abandoned.
                self._halt.set()
                with anyio.move_on_after(_DECODE_GRACE_S):
                    await self._decode_done.wait()
                tg.cancel_scope.cancel()
        finally:
            self._finished()
        return status

    def _finished(self) -> None:
        status = self.status
        status.finished = time.monotonic()
        status.dropped = self.slot.dropped
        status.bad_packets = self.source.stats.bad_packets
        if status.state != "failed":
            status.set_state("stopped" if self._stop.is_set() else "ended")
        self._log.info(
            "camera finished",
            state=status.state,
            decoded=status.decoded,
            analysed=status.analysed,
            dropped=status.dropped,
            bad_frames=status.bad_frames,
            decode_fps=round(status.decode_fps, 1),
            **self._pose_stats(),
        )

    def _pose_stats(self) -> dict[str, float]:
        analyzer = self.analyzer
        if analyzer.pose is None:
            return {}
        return {"pose_crops": analyzer.pose_crops, "pose_s": round(analyzer.pose_s, 3)}

    def _fail(self, error: str) -> None:
        self.status.set_state("failed", redact_text(error))
        self._log.error("camera failed", error=self.status.error)

    _decode_done: anyio.Event

    async def _run_decode(self) -> None:
        try:
            await run_in_daemon_thread(self.supervisor.run, name=f"supervise-{self.camera.id}")
        except SourceError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug or an unexpected library error: this camera only
            self._fail(f"unexpected {type(exc).__name__} while decoding: {exc}")
        finally:
            self.slot.close()
            self._decode_done.set()

    def _sample(self, frame: Frame) -> bool:
        """Called in the decode thread with each frame; False once analysis is over."""
        slot_index = math.floor(frame.time_s * self.camera.fps + 1e-6)
        if slot_index == self._last_slot:
            return True  # sampled at the analysis rate by stream time
        self._last_slot = slot_index
        accepted = self.slot.put(frame)
        self.status.dropped = self.slot.dropped
        return accepted

    _last_slot = -1

    def _replay(self) -> None:
        """A replay source (load tests): recorded detections at the camera's rate, paced like
        a live camera (as fast as possible in a scan), through the tracker and the rules."""
        camera = self.camera
        try:
            replay = DetectionReplay.open(camera.url, camera.options)
        except SourceError as exc:
            self._fail(str(exc))
            return
        self.status.set_state("streaming")
        period = 1.0 / camera.fps
        size = (replay.width, replay.height)
        position, index = replay.start - 1, 0
        # Live cameras are not in phase with one another: each replay's first frame comes at
        # its own point of the period (from its id), not at the instant a batch started.
        phase = zlib.crc32(camera.id.encode()) % 1000 / 1000 * period
        due = time.monotonic() + (0.0 if self.scan else phase)
        try:
            while not self._stop.is_set():
                if position >= len(replay.frames):
                    if not camera.loop or self.scan:
                        break
                    position = 0
                if not self.scan:
                    if self._stop.wait(max(0.0, due - time.monotonic())):
                        break
                    due = max(due + period, time.monotonic() - period)
                boxes = replay.frames[position][1]
                position += 1
                index += 1
                self.status.decoded += 1
                if self.guard is not None and not self.guard():
                    continue
                now = self.clock()
                with self._analysing:
                    if not self._authorised(now, index, (index - 1) * period):
                        continue
                    events = self.analyzer.process_recorded(
                        index,
                        (index - 1) * period,
                        size,
                        [b.box for b in boxes],
                        [b.score for b in boxes],
                        replay.label,
                        wall=now,
                    )
                    self.status.analysed += 1
                    for event in events:
                        self.emit(event)
        except Exception as exc:  # never let one camera's analysis take the others down
            self._fail(f"analysis failed: {type(exc).__name__}: {exc}")
        self._close_events()

    def _close_events(self) -> None:
        """Close whatever the rules have open, saying why the analysis ended."""
        if self._stop.is_set():
            reason = self._stop_reason
        elif self.status.state == "failed":
            reason = "camera failed"
        else:
            reason = "stream ended"
        with self._analysing:
            for event in self.analyzer.finish(reason):
                self.emit(event)
            if self.gate is not None:
                for event in self.gate.finish(self.clock(), f"camera ended: {reason}"):
                    self.emit(event)

    def _analyse_frame(self, frame: Frame, wall: float) -> None:
        try:
            events = self.analyzer.process(frame, wall=wall)
        except (FrameError, InternalError) as exc:  # a kernel's bug fails this frame only
            self.status.bad_frames += 1
            self._log.warning("frame rejected", frame=frame.index, error=str(exc))
            return
        self.status.analysed += 1
        if self.evidence is not None:
            self.evidence.remember(self.analyzer.last)
            if events:
                foreground = None if self._detected else self.analyzer.perception
                self.evidence.capture(
                    frame,
                    self.analyzer.last,
                    events,
                    foreground=foreground.foreground() if foreground else None,
                )
        for event in events:
            self.emit(event)

    def _authorised(self, now: float, index: int, time_s: float) -> bool:
        """Ask the gate about the frame at ``now``; apply a change (rules, state, health event,
        audit record). False: the frame must not be analysed."""
        if self.gate is None:
            return True
        decision = self.gate.check(now, index, time_s)
        if decision.change is not None:
            status = self.status
            status.unauthorised = not decision.analyse
            status.authorised = sorted(decision.situations) if decision.analyse else []
            status.authorisations = list((decision.audit or {}).get("references", []))
            if status.state in ("streaming", "unauthorised"):
                status.set_state("streaming")  # reads unauthorised while it is
            reason = "outside the authorisations in force"
            situations = decision.situations if decision.analyse else frozenset()
            for event in self.analyzer.authorise(situations, reason):
                self.emit(event)
            self._log.info(
                "authorisation " + decision.change,
                situations=status.authorised,
                references=status.authorisations,
            )
            if self.on_audit is not None and decision.audit is not None:
                self.on_audit(decision.audit)
        for event in decision.events:
            self.emit(event)
        # Statistics (aggregates, not one of the eight situations) go on outside every
        # authorisation; the analyzer then runs none of the camera's rules.
        return decision.analyse or self.analyzer.statistics is not None

    def _analyse(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.slot.get()
                if frame is None:
                    break
                if self.guard is not None and not self.guard():
                    continue
                now = self.clock()
                with self._analysing:
                    if not self._authorised(now, frame.index, frame.time_s):
                        continue
                    self._analyse_frame(frame, wall=now - (time.monotonic() - frame.wall))
        except Exception as exc:  # never let one camera's analysis take the others down
            self._fail(f"analysis failed: {type(exc).__name__}: {exc}")
        finally:
            self._halt.set()
            self.slot.close()
        self._close_events()
