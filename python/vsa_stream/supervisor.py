"""The decode side of a camera: connection attempts, watchdog, backoff and health events.

A live camera goes through these states (a file only through ``connecting``, ``streaming``
and ``ended``/``failed``)::

    connecting ──first frame──► streaming ──no frame for the stall timeout──► stalled
        ▲   │                      │                                            │
        │   └──open fails──┐       └──stream ends or fails──┐                   │
        │                  ▼                                ▼                   ▼
        └─────delay──── backoff ◄───────────────────────────┴───────────────────┘

Each connection attempt runs in its own daemon thread. A watchdog (the supervisor thread)
checks every tick that frames keep coming: no decoded frame for ``max(3 frame intervals,
stall_after_s)`` (or no first frame within ``open_timeout_s + stall_after_s``) marks the camera
``stalled``; the attempt is told to stop and, when it sits in an FFmpeg call that ignores its
timeouts, it is abandoned: a fresh attempt starts, and whatever the old thread decodes later is
dropped. Backoff doubles from ``backoff_min_s`` to ``backoff_max_s`` with ±20 % jitter, retries
forever, and starts again from the minimum after ``healthy_after_s`` of streaming.

``camera_offline`` is emitted after ``offline_after_s`` without a frame (also when a camera
never delivered one), ``camera_online`` with the next frame; the offline event is closed then.
They are health events, not detections: they go to the sinks like any event, and no rule can
be configured with these types.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from vsa_stream.config import Camera
from vsa_stream.errors import SourceError
from vsa_stream.event_types import OFFLINE_TYPE, ONLINE_TYPE
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.log import get_logger
from vsa_stream.redact import redact_text
from vsa_stream.sources import Frame, VideoSource

__all__ = [
    "ABANDON_AFTER_S",
    "STATES",
    "CameraState",
    "CameraStatus",
    "DecodeSupervisor",
    "camera_metrics",
]

CameraState = Literal[
    "starting",
    "connecting",
    "streaming",
    "stalled",
    "backoff",
    "ended",
    "stopped",
    "failed",
    "unauthorised",
]
#: Every camera state, in the order of the ``vsa_camera_state`` metric.
STATES: tuple[CameraState, ...] = (
    "starting",
    "connecting",
    "streaming",
    "stalled",
    "backoff",
    "ended",
    "stopped",
    "failed",
    "unauthorised",
)

# How often the watchdog looks at a camera, seconds.
_TICK_S = 0.1
#: How long a stopped attempt gets to return before its thread is abandoned, seconds.
ABANDON_AFTER_S = 1.0
# Backoff jitter: the delay is multiplied by a uniform factor in this range.
_JITTER = (0.8, 1.2)
# State transitions kept in CameraStatus.history.
_HISTORY = 64


@dataclass(slots=True)
class CameraStatus:
    """What a camera did and is doing; read by the engine, the metrics, the CLI and tests.

    ``history`` holds the latest state transitions as ``(monotonic time, state)``.
    """

    camera_id: str
    state: CameraState = "starting"
    error: str | None = None
    decoded: int = 0
    analysed: int = 0
    dropped: int = 0
    bad_frames: int = 0
    bad_packets: int = 0
    reconnects: int = 0
    stalls: int = 0
    abandoned_threads: int = 0
    offline: bool = False
    #: No authorisation in force covers the camera: frames are decoded, none is analysed; the
    #: state says ``unauthorised`` instead of ``streaming`` (see :mod:`vsa_stream.lawful`).
    unauthorised: bool = False
    #: The situations the authorisations in force allow now (None: no authorisation applies,
    #: every rule runs); the references of those authorisations.
    authorised: list[str] | None = None
    authorisations: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    history: list[tuple[float, CameraState]] = field(default_factory=list)

    @property
    def decode_fps(self) -> float:
        """Frames decoded per second of wall time."""
        elapsed = self.finished - self.started
        return self.decoded / elapsed if elapsed > 0 else 0.0

    def set_state(self, state: CameraState, error: str | None = None) -> None:
        """Move to ``state`` (recorded in ``history`` when it changes); a stream that flows while
        the camera is unauthorised reads ``unauthorised``."""
        if state == "streaming" and self.unauthorised:
            state = "unauthorised"
        elif state == "unauthorised" and not self.unauthorised:
            state = "streaming"
        if state != self.state:
            self.history.append((time.monotonic(), state))
            del self.history[:-_HISTORY]
        self.state, self.error = state, error

    @property
    def states(self) -> list[CameraState]:
        """The states of ``history``, oldest first."""
        return [state for _, state in self.history]


class _Attempt:
    """One connection: its thread, its stop flag and what it saw."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.stop = threading.Event()
        self.done = threading.Event()
        self.error: str | None = None
        self.started = time.monotonic()
        self.first_frame: float | None = None


class DecodeSupervisor:
    """Runs a camera's decoding with reconnection and a watchdog (see the module docstring).

    Args:
        camera: the camera (its ``supervision`` settings are used).
        source: the camera's source; shared by successive attempts, so frame indices and
            stream times go on across reconnects.
        status: updated in place.
        on_frame: called in the decode thread with each frame of the current attempt; returns
            False to end decoding (the analysis is over).
        emit: hands a health event to the engine (thread-safe, never blocks for long).
        halt: set when the camera must end.
    """

    def __init__(
        self,
        camera: Camera,
        source: VideoSource,
        status: CameraStatus,
        on_frame: Callable[[Frame], bool],
        emit: Callable[[Event], None],
        halt: threading.Event,
    ) -> None:
        self.camera = camera
        self.timing = camera.supervision
        self.source = source
        self.status = status
        self.on_frame = on_frame
        self.emit = emit
        self.halt = halt
        self._log = get_logger(camera_id=camera.id)
        self._lock = threading.Lock()
        self._attempt: _Attempt | None = None
        self._last_frame = time.monotonic()  # the start counts as a frame for offline
        self._last_index = 0
        self._last_time_s = 0.0
        self._offline_event: Event | None = None

    # --- the supervisor thread --------------------------------------------------------------

    def run(self) -> None:
        """Decode until the end of a file, a failure of a file, or ``halt``.

        Raises:
            SourceError: a file that cannot be read (a live stream is retried forever).
        """
        if not self.source.network:
            self.status.set_state("connecting")
            self._decode(_Attempt(0), raise_errors=True)
            return
        backoff = self.timing.backoff_min_s
        number = 0
        while not self.halt.is_set():
            if number > 0:
                self.status.reconnects += 1
            attempt = self._start(number)
            number += 1
            reason = self._watch(attempt)
            if self.halt.is_set():
                break
            first = attempt.first_frame
            if first is not None and self._last_frame - first >= self.timing.healthy_after_s:
                backoff = self.timing.backoff_min_s
            delay = backoff * random.uniform(*_JITTER)
            self.status.set_state("backoff", reason)
            self._log.warning("camera unavailable", error=reason, retry_in_s=round(delay, 2))
            if self._wait(delay):
                break
            backoff = min(backoff * 2.0, self.timing.backoff_max_s)
        self._end_attempt()
        self._close_offline("engine stopped while the camera was offline")

    def _close_offline(self, reason: str) -> None:
        """Close the open ``camera_offline`` event, if any: none outlives the camera's run."""
        with self._lock:
            offline, self._offline_event = self._offline_event, None
            self.status.offline = False
        if offline is not None:
            self.emit(_closed(offline, self._last_time_s, reason))

    def _start(self, number: int) -> _Attempt:
        attempt = _Attempt(number)
        with self._lock:
            self._attempt = attempt
        self.status.set_state("connecting", self.status.error)
        name = f"decode-{self.camera.id}-{number}"
        threading.Thread(target=self._decode, args=(attempt,), name=name, daemon=True).start()
        return attempt

    def _watch(self, attempt: _Attempt) -> str:
        """Wait for the attempt to end or stall; returns why it is over."""
        while not self.halt.wait(_TICK_S):
            self._check_offline()
            if attempt.done.is_set():
                return attempt.error or f"{self.source.display_url}: the stream ended"
            now = time.monotonic()
            if attempt.first_frame is None:
                limit = self.timing.open_timeout_s + self.timing.stall_after_s
                silent = now - attempt.started
            else:
                limit = self._stall_timeout()
                silent = now - self._last_frame
            if silent >= limit:
                self.status.stalls += 1
                reason = f"no frame for {silent:.1f} s"
                self.status.set_state("stalled", reason)
                self._log.warning("camera stalled", error=reason)
                self._end_attempt()
                return reason
        return "stopping"

    def _stall_timeout(self) -> float:
        fps = self.source.stats.fps if self.source.stats.fps > 0 else self.camera.fps
        return max(3.0 / fps, self.timing.stall_after_s)

    def _end_attempt(self) -> None:
        """Stop the current attempt; abandon its thread if it does not return in time."""
        with self._lock:
            attempt, self._attempt = self._attempt, None
        if attempt is None:
            return
        attempt.stop.set()
        if not attempt.done.wait(ABANDON_AFTER_S):
            self.status.abandoned_threads += 1
            self._log.warning("decode thread abandoned (stuck in a read)", attempt=attempt.number)

    def _wait(self, delay: float) -> bool:
        """Sleep ``delay`` seconds while watching for offline; True when halted."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            if self.halt.wait(min(_TICK_S, left)):
                return True
            self._check_offline()
        return self.halt.is_set()

    # --- the decode threads -----------------------------------------------------------------

    def _decode(self, attempt: _Attempt, *, raise_errors: bool = False) -> None:
        # A live attempt is stopped by the supervisor (which watches halt); a file by halt.
        stop = attempt.stop if self.source.network else self.halt
        try:
            for frame in self.source.frames(stop):
                with self._lock:
                    if attempt is not self._attempt and self.source.network:
                        return  # an abandoned attempt: its late frames are dropped
                    self._frame_arrived(attempt, frame)
                if not self.on_frame(frame):
                    self.halt.set()
                    return
        except SourceError as exc:
            if raise_errors:
                raise
            attempt.error = str(exc)
        except Exception as exc:  # a bug or an unexpected library error: this attempt only
            if raise_errors:
                raise
            attempt.error = redact_text(f"unexpected {type(exc).__name__} while decoding: {exc}")
        finally:
            attempt.done.set()

    def _frame_arrived(self, attempt: _Attempt, frame: Frame) -> None:
        now = time.monotonic()
        self._last_frame = now
        self._last_index, self._last_time_s = frame.index, frame.time_s
        self.status.decoded += 1
        if attempt.first_frame is None:
            attempt.first_frame = now
            self.status.set_state("streaming")
            stats = self.source.stats
            self._log.info(
                "camera streaming",
                width=frame.width,
                height=frame.height,
                codec=stats.codec,
                source_fps=round(stats.fps, 3),
                analysis_fps=self.camera.fps,
                attempt=attempt.number,
            )
        if self.status.offline:
            self._online(frame)

    # --- health events ----------------------------------------------------------------------

    def _check_offline(self) -> None:
        with self._lock:
            silent = time.monotonic() - self._last_frame
            if self.status.offline or silent < self.timing.offline_after_s:
                return
            self.status.offline = True
            now = time.time()
            event = Event(
                id=new_event_id(now),
                revision=1,
                type=OFFLINE_TYPE,
                camera_id=self.camera.id,
                state="open",
                started_at=now - silent,
                updated_at=now,
                start_s=self._last_time_s,
                start_frame=self._last_index,
                evidence=Evidence(
                    frame_index=self._last_index,
                    stream_time_s=self._last_time_s,
                    values={"silent_s": round(silent, 3)},
                ),
                reason=self.status.error or f"no frame for {silent:.1f} s",
            )
            self._offline_event = event
        self._log.warning("camera offline", silent_s=round(silent, 1), event_id=event.id)
        self.emit(event)

    def _online(self, frame: Frame) -> None:
        """Called under the lock with the first frame after an offline period."""
        self.status.offline = False
        now = time.time()
        offline = self._offline_event
        self._offline_event = None
        events: list[Event] = []
        if offline is not None:
            events.append(_closed(offline, frame.time_s, "camera back online", now))
        down_s = now - offline.started_at if offline is not None else 0.0
        events.append(
            Event(
                id=new_event_id(now),
                revision=1,
                type=ONLINE_TYPE,
                camera_id=self.camera.id,
                state="closed",
                started_at=now,
                updated_at=now,
                ended_at=now,
                start_s=frame.time_s,
                end_s=frame.time_s,
                start_frame=frame.index,
                evidence=Evidence(
                    frame_index=frame.index,
                    stream_time_s=frame.time_s,
                    values={"offline_s": round(down_s, 3)},
                ),
                reason="frames are decoded again",
            )
        )
        self._log.info("camera online", offline_s=round(down_s, 1))
        for event in events:
            self.emit(event)


def _closed(offline: Event, end_s: float, reason: str, now: float | None = None) -> Event:
    """The closing revision of a ``camera_offline`` event."""
    now = time.time() if now is None else now
    return offline.revised(state="closed", updated_at=now, ended_at=now, end_s=end_s, reason=reason)


def camera_metrics(statuses: Callable[[], list[CameraStatus]]) -> Callable[[], Iterable[Metric]]:
    """A :meth:`Metrics.add_collector <vsa_stream.metrics.Metrics.add_collector>` callback
    exposing each camera's state and frame counters.

    Example:
        >>> from vsa_stream.metrics import Metrics
        >>> m = Metrics()
        >>> m.add_collector(camera_metrics(lambda: [CameraStatus("gate", decoded=7)]))
        >>> b'vsa_frames_decoded_total{camera="gate"} 7.0' in m.exposition()
        True
    """

    def collect() -> Iterable[Metric]:
        current = statuses()
        state = GaugeMetricFamily(
            "vsa_camera_state",
            "1 for the state a camera is in, 0 for the others.",
            labels=["camera", "state"],
        )
        decoded = CounterMetricFamily(
            "vsa_frames_decoded", "Frames decoded, per camera.", labels=["camera"]
        )
        dropped = CounterMetricFamily(
            "vsa_frames_dropped",
            "Decoded frames analysis skipped (it was busy), per camera.",
            labels=["camera"],
        )
        reconnects = CounterMetricFamily(
            "vsa_camera_reconnects", "Reconnection attempts, per camera.", labels=["camera"]
        )
        stalls = CounterMetricFamily(
            "vsa_camera_stalls", "Stalls detected by the watchdog, per camera.", labels=["camera"]
        )
        for s in current:
            for name in STATES:
                state.add_metric([s.camera_id, name], 1.0 if s.state == name else 0.0)
            decoded.add_metric([s.camera_id], s.decoded)
            dropped.add_metric([s.camera_id], s.dropped)
            reconnects.add_metric([s.camera_id], s.reconnects)
            stalls.add_metric([s.camera_id], s.stalls)
        return [state, decoded, dropped, reconnects, stalls]

    return collect
