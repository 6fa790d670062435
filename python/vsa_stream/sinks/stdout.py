"""Alerts as JSON lines on standard output."""

from __future__ import annotations

import sys
from typing import BinaryIO

import anyio.to_thread

from vsa_stream.events import Event, encode
from vsa_stream.sinks.base import Sink

__all__ = ["StdoutSink"]


class StdoutSink(Sink):
    """Writes each event revision as one JSON line and flushes it."""

    name = "stdout"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer

    def _write(self, line: bytes) -> None:
        self._stream.write(line)
        self._stream.flush()

    async def send(self, event: Event) -> None:
        """Print one revision (in a worker thread: a slow reader must not block the loop)."""
        await anyio.to_thread.run_sync(self._write, encode(event) + b"\n")

    async def aclose(self) -> None:
        """Nothing to release: standard output belongs to the process."""
