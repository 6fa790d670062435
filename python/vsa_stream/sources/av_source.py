"""Video sources through PyAV: files, RTSP, HTTP, TCP and UDP streams.

:class:`VideoSource` is blocking by design: it runs in a camera's decode thread, never on the
event loop. PyAV releases the GIL while FFmpeg demuxes and decodes, so decoding overlaps with
the analysis thread and with other cameras.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error

from vsa_stream.errors import SourceError
from vsa_stream.redact import redact_text, redact_url
from vsa_stream.sources.frame import Frame, luma_view

__all__ = ["SourceStats", "VideoSource", "is_network_url", "timeout_options"]

_NETWORK = tuple(
    f"{scheme}://"
    for scheme in ("rtsp", "rtsps", "rtmp", "http", "https", "tcp", "udp", "rtp", "srt")
)
#: Largest forward step between two frames' timestamps taken as real; more is a jump.
MAX_TIME_STEP_S = 5.0
# Consecutive packets that fail to decode before the source is declared broken.
_MAX_BAD_PACKETS = 200


def is_network_url(url: str) -> bool:
    """Whether ``url`` names a network stream rather than a file."""
    return url.lower().startswith(_NETWORK)


def timeout_options(url: str, read_timeout_s: float) -> dict[str, str]:
    """FFmpeg's own I/O timeout for ``url``'s protocol, in microseconds (none for a file).

    RTSP takes ``timeout`` (socket I/O; FFmpeg before 5.0 called it ``stimeout``); the other
    network protocols take the generic ``rw_timeout``. A camera's ``options`` override these.

    Example:
        >>> timeout_options("rtsp://cam/live", 5.0)
        {'timeout': '5000000'}
        >>> timeout_options("udp://239.0.0.1:1234", 2.5), timeout_options("video.mp4", 5.0)
        ({'rw_timeout': '2500000'}, {})
    """
    if not is_network_url(url):
        return {}
    micros = str(round(read_timeout_s * 1e6))
    if url.lower().startswith(("rtsp://", "rtsps://")):
        return {"timeout": micros}
    return {"rw_timeout": micros}


@dataclass(slots=True)
class SourceStats:
    """Counters of one source, updated by the decode thread."""

    decoded: int = 0
    bad_packets: int = 0
    loops: int = 0
    time_jumps: int = 0
    width: int = 0
    height: int = 0
    fps: float = 0.0
    codec: str = ""


class VideoSource:
    """Decode one video stream into :class:`~vsa_stream.sources.frame.Frame` objects.

    Args:
        url: a file path, ``file://`` URL or network URL.
        options: FFmpeg options for the demuxer and protocol (``rtsp_transport: tcp``...);
            they override the I/O timeouts of :func:`timeout_options`, set by default.
        realtime: pace a file at its native frame rate (network streams are live already).
        loop: start a file again at its end.
        skip_loop_filter: skip the H.264/HEVC deblocking filter of every frame: decoding about
            1.05-1.3x faster, for motion analysis; a detector scores deblocked frames better
            (a camera pipeline keeps it when the camera runs a detector; docs/config.md).
        open_timeout_s / read_timeout_s: give up on a stream that does not answer.
        threads: decoder threads (0: FFmpeg decides).
        frame_threads: decode several frames at once on several cores (adds a few frames of
            latency: for scanning files, not for live cameras sharing the cores).
    """

    def __init__(
        self,
        url: str,
        *,
        options: Mapping[str, str] | None = None,
        realtime: bool = False,
        loop: bool = False,
        skip_loop_filter: bool = True,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        threads: int = 0,
        frame_threads: bool = False,
    ) -> None:
        self.url = url[len("file://") :] if url.startswith("file://") else url
        self.network = is_network_url(url)
        self.options = {**timeout_options(self.url, read_timeout_s), **(options or {})}
        self.realtime = realtime and not self.network
        self.loop = loop and not self.network
        self.skip_loop_filter = skip_loop_filter
        self.timeouts = (open_timeout_s, read_timeout_s)
        self.threads = threads
        self.frame_threads = frame_threads
        self.stats = SourceStats()

    @property
    def display_url(self) -> str:
        """The URL with its credentials masked, fit for logs."""
        return redact_url(self.url)

    def _open(self, stop: threading.Event) -> av.container.InputContainer | None:
        """Open the stream; None when ``stop`` was set meanwhile (an abandoned open)."""
        try:
            container = av.open(self.url, mode="r", options=self.options, timeout=self.timeouts)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(f"cannot open {self.display_url}: {_reason(exc)}") from None
        if stop.is_set():
            container.close()
            return None
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.display_url} has no video stream")
        stream = container.streams.video[0]
        context = stream.codec_context
        if self.skip_loop_filter:
            context.options = {**context.options, "skip_loop_filter": "all"}
        context.thread_count = self.threads
        if self.frame_threads:
            context.thread_type = "AUTO"
        self.stats.width, self.stats.height = context.width, context.height
        self.stats.codec = context.name
        rate = stream.average_rate or stream.guessed_rate
        self.stats.fps = float(rate) if rate else 0.0
        return container

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Decode frames until the end of the stream or until ``stop`` is set.

        Frame indices and stream times continue across calls (a reconnect) and across passes
        over a looping file: times never go backwards. A timestamp jump (backwards, or more than
        :data:`MAX_TIME_STEP_S` forwards: an encoder restart, a spliced stream) is absorbed:
        time goes on from the previous frame, plus the wall-clock gap for a live stream.

        A thread abandoned by a watchdog (``stop`` set while it was stuck in FFmpeg) returns at
        its next step without yielding or touching the shared counters again.

        Raises:
            SourceError: the stream cannot be opened, has no video, or keeps failing.
        """
        start_wall: float | None = None
        while not stop.is_set():
            container = self._open(stop)
            if container is None:
                return
            base: float | None = None  # first timestamp of this pass: streams need not start at 0
            passed = 0
            try:
                clock = _TimestampGuess(container.streams.video[0].time_base)
                for frame in self._decode(container, stop):
                    if stop.is_set():
                        return
                    raw = clock.seconds(frame)  # None when the stream has no timestamps
                    if raw is None:
                        relative = passed / self._fps()
                    else:
                        base = float(raw) if base is None else base
                        relative = float(raw) - base
                    time_s = self._continuous(relative, mid_pass=passed > 0)
                    if self.realtime:
                        now = time.monotonic()
                        start_wall = now - time_s if start_wall is None else start_wall
                        delay = start_wall + time_s - now
                        if not -2.0 < delay < 2.0:  # far behind (or a jump): follow the new clock
                            start_wall, delay = now - time_s, 0.0
                        if delay > 0 and stop.wait(delay):
                            return
                    luma, keepalive = luma_view(frame)
                    self.stats.decoded += 1
                    self._last_wall = time.monotonic()
                    yield Frame(self._index, time_s, self._last_wall, luma, keepalive)
                    self._index += 1
                    passed += 1
            finally:
                container.close()
            if stop.is_set() or not self.loop or passed == 0:
                return
            self.stats.loops += 1

    _index = 0
    _offset = 0.0  # added to this pass's relative time to give the continuous stream time
    _last_time: float | None = None
    _last_wall = 0.0

    def _continuous(self, relative: float, *, mid_pass: bool) -> float:
        time_s = self._offset + relative
        last = self._last_time
        if last is not None and not 0.0 < time_s - last <= MAX_TIME_STEP_S:
            gap = time.monotonic() - self._last_wall if self.network else 0.0
            target = last + max(1.0 / self._fps(), gap)
            self._offset += target - time_s
            time_s = target
            self.stats.time_jumps += mid_pass
        self._last_time = time_s
        return time_s

    def _fps(self) -> float:
        return self.stats.fps if self.stats.fps > 0 else 25.0

    def _decode(
        self, container: av.container.InputContainer, stop: threading.Event
    ) -> Iterator[av.VideoFrame]:
        stream = container.streams.video[0]
        bad_in_a_row = 0
        while True:
            try:
                for packet in container.demux(stream):
                    if stop.is_set():
                        return
                    try:
                        decoded = packet.decode()
                    except av.error.InvalidDataError:
                        bad_in_a_row = self._bad_packet(bad_in_a_row)
                        continue
                    bad_in_a_row = 0
                    for frame in decoded:
                        if isinstance(frame, av.VideoFrame):
                            yield frame
                return
            except av.error.EOFError:
                return
            except av.error.FFmpegError as exc:
                raise SourceError(f"{self.display_url}: {_reason(exc)}") from None
            except IndexError:
                # A damaged stream announced a stream PyAV does not know yet (its demuxer then
                # fails on the packet): drop that packet and demux on from where it stopped.
                bad_in_a_row = self._bad_packet(bad_in_a_row)

    def _bad_packet(self, bad_in_a_row: int) -> int:
        self.stats.bad_packets += 1
        if bad_in_a_row + 1 > _MAX_BAD_PACKETS:
            raise SourceError(
                f"{self.display_url}: {bad_in_a_row + 1} packets in a row failed to decode"
            ) from None
        return bad_in_a_row + 1


class _TimestampGuess:
    """The presentation time of decoded frames, even when a container's pts are wrong.

    Some files (H.264 with B-frames in AVI, notably) carry pts in decoding order, so the
    decoded frames' pts go back and forth while their dts are monotonic. Like FFmpeg's
    ``best_effort_timestamp``, count the frames whose pts (or dts) failed to increase and use
    whichever timestamp has failed less so far.

    ``time_base`` is the stream's (a decoded frame carries its packet's, which is the
    stream's); None: each frame's own is read.
    """

    def __init__(self, time_base: Fraction | None = None) -> None:
        self._last_pts: int | None = None
        self._last_dts: int | None = None
        self._bad_pts = 0
        self._bad_dts = 0
        # ts * num / den: one correctly rounded int division, float(ts * time_base) exactly
        self._base = (time_base.numerator, time_base.denominator) if time_base else None

    def seconds(self, frame: av.VideoFrame) -> float | None:
        pts, dts = frame.pts, frame.dts
        if pts is not None:
            self._bad_pts += self._last_pts is not None and pts <= self._last_pts
            self._last_pts = pts
        if dts is not None:
            self._bad_dts += self._last_dts is not None and dts <= self._last_dts
            self._last_dts = dts
        use = pts if pts is not None and (self._bad_pts <= self._bad_dts or dts is None) else dts
        if use is None:
            return None
        if self._base is not None:
            return use * self._base[0] / self._base[1]
        base = frame.time_base
        return None if base is None else float(use * base)


def _reason(exc: Exception) -> str:
    """Why an open or read failed, without errno noise or credentials."""
    reason = getattr(exc, "strerror", None) or str(exc)
    return redact_text(str(reason))
