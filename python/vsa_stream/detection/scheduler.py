"""One detector shared by many cameras: :class:`DetectorService`.

::

    camera A ─submit─► [A's slot] ─┐
    camera B ─submit─► [B's slot] ─┼─► worker thread: round-robin, batches ─► request.done
    camera C ─submit─► [C's slot] ─┘        (one onnxruntime session)

Each camera has at most one pending request: a newer frame replaces an unserved one (latest
frame wins, the older request is *superseded*), so the backlog never exceeds the number of
cameras. The worker serves the cameras in round-robin order, up to ``max_batch`` frames in one
inference when the model takes a batch dimension, one frame at a time otherwise. Under overload
every camera waits at most one round, so detection rates fall evenly across cameras; the
superseded requests count, per camera, what overload cost.

A live camera submits and goes on with its analysis, collecting the result on a later frame; a
scan waits for each result (:meth:`DetectionRequest.wait`), so its output is deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vsa_stream.detection.model import Model, ModelDetection, Planes
from vsa_stream.detection.regions import Region
from vsa_stream.errors import FrameError, VsaError

__all__ = ["CameraDetectionStats", "DetectionRequest", "DetectorService", "SupersededError"]


class SupersededError(VsaError):
    """A newer frame of the same camera replaced this request before it was served."""


@dataclass(slots=True)
class CameraDetectionStats:
    """What one camera asked of a detector and got."""

    requested: int = 0
    deferred: int = 0  # due frames not submitted: the camera's previous one was not served yet
    served: int = 0
    superseded: int = 0
    failed: int = 0
    latency_s: float = 0.0  # submit to result, summed over served requests


class DetectionRequest:
    """One frame of one camera waiting for (or holding) its detections."""

    __slots__ = (
        "camera_id",
        "detections",
        "done",
        "error",
        "frame_index",
        "planes",
        "regions",
        "submitted",
    )

    def __init__(
        self, camera_id: str, frame_index: int, planes: Planes, regions: Sequence[Region] = ()
    ) -> None:
        self.camera_id = camera_id
        self.frame_index = frame_index
        self.planes: Planes | None = planes
        self.regions = tuple(regions)
        self.submitted = time.monotonic()
        self.done = threading.Event()
        self.detections: list[ModelDetection] | None = None
        self.error: Exception | None = None

    def _finish(
        self, detections: list[ModelDetection] | None, error: Exception | None = None
    ) -> None:
        self.detections, self.error, self.planes = detections, error, None
        self.done.set()

    def wait(self, timeout: float | None = None) -> list[ModelDetection]:
        """The detections, once served.

        Raises:
            FrameError: the model rejected this frame.
            SupersededError: a newer frame of the camera replaced it (never when the caller waits
                for each request before submitting the next).
            VsaError: the detector stopped, or the wait timed out.
        """
        if not self.done.wait(timeout):
            raise VsaError(f"no detections for frame {self.frame_index} after {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.detections is not None
        return self.detections


class DetectorService:
    """Serves detection requests of many cameras with one model (see the module docstring).

    Args:
        name: the detector's id (logs, metrics, thread name).
        model: a loaded model.
        max_batch: most frames in one inference (when the model takes a batch).
        on_inference: called after each inference with its wall time and its batch size.
    """

    def __init__(
        self,
        name: str,
        model: Model,
        *,
        max_batch: int = 8,
        on_inference: Callable[[float, int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.name = name
        self.model = model
        self.max_batch = max_batch if model.batched else 1
        self.on_inference = on_inference
        self.stats: dict[str, CameraDetectionStats] = {}
        self.inferences = 0
        self.frames = 0
        self.busy_s = 0.0  # wall time inside inferences (pre- and post-processing included)
        self.busy_cpu_s = 0.0  # CPU time of the worker thread inside inferences
        self._order: list[str] = []
        self._next = 0
        self._pending: dict[str, DetectionRequest] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"DetectorService({self.name!r}, cameras={len(self._order)}, {self.model!r})"

    def add_camera(self, camera_id: str) -> None:
        """Make ``camera_id`` one of the cameras served (idempotent)."""
        with self._cond:
            if camera_id not in self.stats:
                self.stats[camera_id] = CameraDetectionStats()
                self._order.append(camera_id)

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._work, name=f"detect-{self.name}", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Stop the worker; requests still pending fail with a VsaError."""
        with self._cond:
            self._closed = True
            pending, self._pending = list(self._pending.values()), {}
            self._cond.notify_all()
        for request in pending:
            request._finish(None, VsaError(f"detector {self.name} stopped"))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def submit(
        self, camera_id: str, frame_index: int, planes: Planes, regions: Sequence[Region] = ()
    ) -> DetectionRequest:
        """Queue one frame of ``camera_id``, with the regions to detect on besides the whole
        frame (see :meth:`Model.detect`); replaces that camera's unserved request, if any.

        Raises:
            KeyError: the camera was never added.
            VsaError: the service is closed.
        """
        request = DetectionRequest(camera_id, frame_index, planes, regions)
        with self._cond:
            if self._closed:
                raise VsaError(f"detector {self.name} is stopped")
            stats = self.stats[camera_id]
            stats.requested += 1
            older = self._pending.get(camera_id)
            self._pending[camera_id] = request
            self._cond.notify()
        if older is not None:
            stats.superseded += 1
            older._finish(None, SupersededError(f"frame {older.frame_index} superseded"))
        return request

    def pending(self) -> int:
        """Requests waiting for the worker (at most one per camera)."""
        with self._cond:
            return len(self._pending)

    def step(self) -> int:
        """Serve one batch of pending requests in the calling thread (for a service whose
        worker is not started); returns how many were served."""
        with self._cond:
            batch = self._take()
        if batch:
            self._serve(batch)
        return len(batch)

    def _take(self) -> list[DetectionRequest]:
        """Up to ``max_batch`` pending requests, in round-robin order over the cameras."""
        taken: list[DetectionRequest] = []
        n = len(self._order)
        last = self._next
        for step in range(n):
            i = (self._next + step) % n
            request = self._pending.pop(self._order[i], None)
            if request is not None:
                taken.append(request)
                last = i + 1
                if len(taken) == self.max_batch:
                    break
        self._next = last % n if n else 0
        return taken

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = self._take()
            try:
                self._serve(batch)
            except Exception as exc:  # a bug must not leave cameras waiting forever
                for request in batch:
                    if not request.done.is_set():
                        request._finish(None, VsaError(f"detector {self.name} failed: {exc!r}"))

    def _serve(self, batch: Sequence[DetectionRequest]) -> None:
        planes: list[Planes] = []
        for request in batch:
            assert request.planes is not None  # only a finished request drops its planes
            planes.append(request.planes)
        regions = [request.regions for request in batch]
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        try:
            results: list[list[ModelDetection] | Exception] = list(
                self.model.detect_batch(planes, regions)
            )
        except Exception:
            # One bad frame must fail only itself: serve the batch again frame by frame.
            results = [self._detect_one(p, r) for p, r in zip(planes, regions, strict=True)]
        wall = time.perf_counter() - wall0
        self.busy_s += wall
        self.busy_cpu_s += time.thread_time() - cpu0
        self.inferences += 1
        self.frames += len(batch)
        if self.on_inference is not None:
            self.on_inference(wall, len(batch))
        now = time.monotonic()
        for request, result in zip(batch, results, strict=True):
            stats = self.stats[request.camera_id]
            if isinstance(result, Exception):
                stats.failed += 1
                request._finish(None, result)
            else:
                stats.served += 1
                stats.latency_s += now - request.submitted
                request._finish(result)

    def _detect_one(
        self, planes: Planes, regions: Sequence[Region]
    ) -> list[ModelDetection] | Exception:
        try:
            return self.model.detect(*planes, regions=regions)
        except FrameError as exc:
            return exc
        except Exception as exc:  # onnxruntime's own errors: this frame only
            return FrameError(f"inference failed: {type(exc).__name__}: {exc}")
