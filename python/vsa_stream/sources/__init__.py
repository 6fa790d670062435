"""Video sources: PyAV decoding in worker threads, frames as zero-copy luma views."""

from __future__ import annotations

from vsa_stream.sources.av_source import SourceStats, VideoSource, is_network_url
from vsa_stream.sources.frame import Frame, Planes, luma_view, yuv420p_views
from vsa_stream.sources.slot import FrameSlot

__all__ = [
    "Frame",
    "FrameSlot",
    "Planes",
    "SourceStats",
    "VideoSource",
    "is_network_url",
    "luma_view",
    "yuv420p_views",
]
