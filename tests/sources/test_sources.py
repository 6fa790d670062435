"""PyAV sources: zero-copy strided luma, pacing, looping, clear errors."""

from __future__ import annotations

import itertools
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tiny_detector import build_bright_detector
from vsa_stream import config
from vsa_stream.config import DetectorConfig, MotionConfig
from vsa_stream.detection import ModelSpec, load_model
from vsa_stream.detection.scheduler import DetectorService
from vsa_stream.errors import SourceError
from vsa_stream.pipeline import CameraPipeline
from vsa_stream.sources import VideoSource, is_network_url, luma_view


def write_clip(path: Path, width: int, height: int, frames: int, fps: int = 25) -> None:
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(frames):
            y = rng.integers(0, 255, (height, width), dtype=np.uint8)
            y[:, : 4 + i] = 200
            yuv = np.concatenate([y, np.full((height // 2, width), 128, np.uint8)])
            for packet in stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_luma_view_is_zero_copy_with_the_real_stride() -> None:
    width, height = 100, 60  # rows get padded to an aligned line size
    yuv = np.random.default_rng(0).integers(0, 255, (height * 3 // 2, width), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    view, keepalive = luma_view(frame)
    plane = frame.planes[0]
    assert plane.line_size > width
    assert view.shape == (height, width)
    assert view.strides == (plane.line_size, 1)
    assert view.__array_interface__["data"][0] == plane.buffer_ptr  # no copy
    assert not view.flags.writeable
    assert keepalive is frame
    np.testing.assert_array_equal(view, yuv[:height])


def test_luma_view_converts_formats_without_a_luma_plane() -> None:
    rgb = np.zeros((40, 64, 3), dtype=np.uint8)
    rgb[:, :32] = 255
    view, _ = luma_view(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert view.shape == (40, 64)
    assert view[:, :32].min() > 200
    assert view[:, 32:].max() < 40


def test_file_source_decodes_every_frame_with_increasing_times(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    write_clip(clip, 96, 64, 20)
    source = VideoSource(f"file://{clip}")
    frames = list(source.frames(threading.Event()))
    assert [f.index for f in frames] == list(range(20))
    assert frames[0].time_s == 0.0
    assert frames[-1].time_s == pytest.approx(19 / 25)
    assert source.stats.decoded == 20
    assert (source.stats.width, source.stats.height, source.stats.codec) == (96, 64, "h264")


def test_loop_restarts_the_file_and_stream_time_keeps_growing(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    write_clip(clip, 96, 64, 10)
    source = VideoSource(str(clip), loop=True)
    stop = threading.Event()
    times = []
    for frame in source.frames(stop):
        times.append(frame.time_s)
        if len(times) == 35:
            stop.set()
    assert len(times) == 35
    assert source.stats.loops == 3
    assert all(b > a for a, b in itertools.pairwise(times))
    assert times[-1] == pytest.approx(34 / 25)


def test_realtime_playback_is_paced_and_stops_promptly(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    write_clip(clip, 96, 64, 25)  # one second
    source = VideoSource(str(clip), realtime=True)
    started = time.monotonic()
    assert len(list(source.frames(threading.Event()))) == 25
    assert time.monotonic() - started >= 0.9  # not decoded as fast as possible
    stop = threading.Event()
    stop.set()
    assert list(VideoSource(str(clip), realtime=True).frames(stop)) == []


def test_bad_sources_raise_source_error_naming_the_url(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"cannot open .*missing\.mp4"):
        list(VideoSource(str(tmp_path / "missing.mp4")).frames(threading.Event()))
    garbage = tmp_path / "garbage.ts"
    garbage.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(SourceError) as info:
        list(VideoSource(str(garbage)).frames(threading.Event()))
    assert isinstance(info.value, OSError)
    url = "rtsp://admin:hunter2@127.0.0.1:9/live"
    with pytest.raises(SourceError) as net:
        list(VideoSource(url, open_timeout_s=2).frames(threading.Event()))
    assert "hunter2" not in str(net.value)
    assert "admin:***@127.0.0.1" in str(net.value)


def test_network_urls_are_recognised() -> None:
    assert is_network_url("rtsp://cam/x")
    assert is_network_url("UDP://239.0.0.1:1234")
    assert not is_network_url("/videos/rtsp.mp4")


def test_timestamps_that_jump_back_are_made_continuous(tmp_path: Path) -> None:
    """Two MPEG-TS files joined byte for byte: the second restarts its clock at zero."""
    first, second = tmp_path / "a.ts", tmp_path / "b.ts"
    write_clip(first, 96, 64, 20)
    write_clip(second, 96, 64, 20)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    source = VideoSource(str(joined))
    frames = list(source.frames(threading.Event()))
    times = [f.time_s for f in frames]
    assert len(frames) >= 38  # the decoder may drop a frame or two at the splice
    assert all(b > a for a, b in itertools.pairwise(times))
    assert all(b - a == pytest.approx(1 / 25) for a, b in itertools.pairwise(times))
    assert source.stats.time_jumps == 1
    assert [f.index for f in frames] == list(range(len(frames)))


def test_a_camera_with_a_detector_decodes_with_deblocking(tmp_path: Path) -> None:
    # Measured on real clips (docs/config.md, skip_loop_filter): skipping H.264 deblocking
    # costs the detector scores and confident persons; motion analysis does not need it.
    model = load_model(ModelSpec(path=build_bright_detector(tmp_path / "b.onnx", ["person"])))
    lane = (DetectorService("d", model), DetectorConfig(id="d", model=ModelSpec(path="unused")))

    def skips(text: str, detectors: bool) -> bool:
        camera = config.loads(
            f"privacy: {{legal_profile: lab}}\ncameras: [{{id: a, url: a.mp4{text}}}]", env={}
        ).cameras[0]
        pipeline = CameraPipeline(
            camera, MotionConfig(), lambda _: None, detectors=[lane] if detectors else None
        )
        return pipeline.source.skip_loop_filter

    assert not skips("", detectors=True)
    assert skips("", detectors=False)
    assert skips(", skip_loop_filter: true", detectors=True)
    assert not skips(", skip_loop_filter: false", detectors=False)
