"""Sinks: where alerts go."""

from __future__ import annotations

from vsa_stream.config import Sinks
from vsa_stream.sinks.base import Sink
from vsa_stream.sinks.jsonl import JsonlSink
from vsa_stream.sinks.stdout import StdoutSink

__all__ = ["JsonlSink", "Sink", "StdoutSink", "build_sinks"]


def build_sinks(config: Sinks) -> list[Sink]:
    """The sinks a configuration enables.

    Raises:
        OSError: a sink's file cannot be opened.
    """
    sinks: list[Sink] = []
    if config.stdout is not None and config.stdout.enabled:
        sinks.append(StdoutSink())
    if config.jsonl is not None:
        sinks.append(JsonlSink(config.jsonl.path, fsync=config.jsonl.fsync))
    return sinks
