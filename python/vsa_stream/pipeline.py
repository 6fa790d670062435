"""One camera's pipeline: a decode thread and an analysis thread around a frame slot.

::

    decode thread ──► FrameSlot ──► analysis thread ──► emit(event)
    (PyAV, GIL free)   (latest or    (Rust kernels,      (into the engine's
                        block)        GIL free; rules)     event stream)

Frames are sampled at the camera's target analysis rate by their stream time, so a scan and a
live run of the same file analyse the same frames. A failing camera logs why and ends; it
never touches another camera. A live stream that cannot be opened or drops is reconnected
with exponential backoff (1 s to 60 s, with jitter) until the engine stops.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import anyio

from vsa_stream.analyzer import Analyzer
from vsa_stream.config import Camera, DetectorConfig, MotionConfig, TrackingConfig
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.errors import FrameError, SourceError
from vsa_stream.events import Event
from vsa_stream.log import get_logger
from vsa_stream.observation import Observation
from vsa_stream.redact import redact_text
from vsa_stream.sources import Frame, FrameSlot, VideoSource
from vsa_stream.threads import run_in_daemon_thread

__all__ = ["CameraPipeline", "CameraStatus"]

CameraState = Literal[
    "starting", "connecting", "streaming", "backoff", "ended", "stopped", "failed"
]
# How long a stopping camera waits for its decode thread before abandoning it.
_DECODE_GRACE_S = 1.0
# Reconnection of live streams: exponential backoff with jitter, reset after a healthy minute.
_BACKOFF_MIN_S = 1.0
_BACKOFF_MAX_S = 60.0
_HEALTHY_S = 60.0


@dataclass(slots=True)
class CameraStatus:
    """What a camera did; read by the engine, the CLI and the tests."""

    camera_id: str
    state: CameraState = "starting"
    error: str | None = None
    decoded: int = 0
    analysed: int = 0
    dropped: int = 0
    bad_frames: int = 0
    bad_packets: int = 0
    started: float = 0.0
    finished: float = 0.0

    @property
    def decode_fps(self) -> float:
        """Frames decoded per second of wall time."""
        elapsed = self.finished - self.started
        return self.decoded / elapsed if elapsed > 0 else 0.0


class CameraPipeline:
    """Decode and analyse one camera until its stream ends or :meth:`stop` is called.

    Args:
        camera: the camera's configuration.
        motion: motion-kernel settings for it.
        emit: called from the analysis thread with each event revision; may block (it is the
            back-pressure of the sinks).
        scan: analyse a file as fast as possible: no pacing, no looping, no dropped frames,
            and every detection waited for.
        tracking: tracker settings.
        detectors: the shared detector services this camera uses, with their configuration.
        observe: called from the analysis thread with every observation.
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
    ) -> None:
        self.camera = camera
        self.emit = emit
        self.scan = scan
        self.status = CameraStatus(camera.id)
        self.source = VideoSource(
            camera.url,
            options=camera.options,
            realtime=camera.realtime and not scan,
            loop=camera.loop and not scan,
            skip_loop_filter=camera.skip_loop_filter,
            frame_threads=scan,
        )
        # A live stream keeps only its newest frame; a file read faster than real time waits
        # for analysis instead, so nothing of it is skipped.
        offline = not self.source.network and not self.source.realtime
        self.slot: FrameSlot[Frame] = FrameSlot(
            "block" if offline else "latest", 2 if offline else 1
        )
        self.analyzer = Analyzer(
            camera, motion, tracking=tracking, detectors=detectors, wait=scan, observe=observe
        )
        self._stop = threading.Event()  # a stop was asked for
        self._halt = threading.Event()  # the decoder must end (stop, failure, end of analysis)
        self._log = get_logger(camera_id=camera.id)

    def stop(self) -> None:
        """Ask both threads to end; open events are closed and emitted."""
        self._stop.set()
        self._halt.set()
        self.slot.close()

    async def run(self) -> CameraStatus:
        """Run until the stream ends, fails, or :meth:`stop`; never raises for a bad stream."""
        status = self.status
        status.started = time.monotonic()
        self._log.info("camera starting", url=self.source.display_url, scan=self.scan)
        self._decode_done = anyio.Event()
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
        status.decoded = self.source.stats.decoded
        status.bad_packets = self.source.stats.bad_packets
        if status.state != "failed":
            status.state = "stopped" if self._stop.is_set() else "ended"
            status.error = None
        self._log.info(
            "camera finished",
            state=status.state,
            decoded=status.decoded,
            analysed=status.analysed,
            dropped=status.dropped,
            bad_frames=status.bad_frames,
            decode_fps=round(status.decode_fps, 1),
        )

    def _fail(self, error: str) -> None:
        self.status.state, self.status.error = "failed", redact_text(error)
        self._log.error("camera failed", error=self.status.error)

    _decode_done: anyio.Event

    async def _run_decode(self) -> None:
        try:
            await run_in_daemon_thread(self._decode, name=f"decode-{self.camera.id}")
        except SourceError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug or an unexpected library error: this camera only
            self._fail(f"unexpected {type(exc).__name__} while decoding: {exc}")
        finally:
            self.slot.close()
            self._decode_done.set()

    def _decode(self) -> None:
        """Decode until the end (a file) or a stop; a live stream is reconnected forever."""
        backoff = _BACKOFF_MIN_S
        while not self._halt.is_set():
            try:
                self._decode_stream()
                if not self.source.network or self._halt.is_set():
                    return
                raise SourceError(f"{self.source.display_url}: the stream ended")
            except SourceError as exc:
                if not self.source.network:
                    raise
                error = str(exc)
            since = self._streaming_since
            if since is not None and time.monotonic() - since >= _HEALTHY_S:
                backoff = _BACKOFF_MIN_S
            delay = backoff * random.uniform(0.8, 1.2)
            self.status.state, self.status.error = "backoff", error
            self._log.warning("camera unavailable", error=error, retry_in_s=round(delay, 1))
            if self._halt.wait(delay):
                return
            backoff = min(backoff * 2.0, _BACKOFF_MAX_S)
            self.status.state = "connecting"

    _streaming_since: float | None = None

    def _decode_stream(self) -> None:
        fps = self.camera.fps
        self._streaming_since = None
        for frame in self.source.frames(self._halt):
            if self._streaming_since is None:
                self._streaming_since = time.monotonic()
                self.status.state, self.status.error = "streaming", None
                stats = self.source.stats
                self._log.info(
                    "camera streaming",
                    width=frame.width,
                    height=frame.height,
                    codec=stats.codec,
                    source_fps=round(stats.fps, 3),
                    analysis_fps=fps,
                )
            slot_index = math.floor(frame.time_s * fps + 1e-6)
            if slot_index == self._last_slot:
                continue  # sampled at the analysis rate by stream time
            self._last_slot = slot_index
            if not self.slot.put(frame):
                return

    _last_slot = -1

    def _analyse(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.slot.get()
                if frame is None:
                    break
                try:
                    events = self.analyzer.process(frame)
                except FrameError as exc:
                    self.status.bad_frames += 1
                    self._log.warning("frame rejected", frame=frame.index, error=str(exc))
                    continue
                self.status.analysed += 1
                for event in events:
                    self.emit(event)
        except Exception as exc:  # never let one camera's analysis take the others down
            self._fail(f"analysis failed: {type(exc).__name__}: {exc}")
        finally:
            self._halt.set()
            self.slot.close()
        if self._stop.is_set():
            reason = "engine stopped"
        elif self.status.state == "failed":
            reason = "camera failed"
        else:
            reason = "stream ended"
        for event in self.analyzer.finish(reason):
            self.emit(event)
