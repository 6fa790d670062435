"""Alerts appended to a JSON-lines file, each line on disk (fsync) before it counts."""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread

from vsa_stream.events import Event, encode
from vsa_stream.private import make_private, private_dir
from vsa_stream.sinks.base import Sink

__all__ = ["JsonlSink"]


class JsonlSink(Sink):
    """Appends one JSON line per event revision; with ``fsync`` each survives a power cut.

    The file is opened in append mode, so several runs add to the same file; it is ``0600``
    (alerts are personal data), and its folder is created ``0700`` if needed.
    """

    name = "jsonl"

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        private_dir(self.path.parent)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        make_private(self._fd)

    _torn = False  # a write failed half-way: the next line starts on a fresh line

    def _write(self, line: bytes) -> None:
        view = memoryview(b"\n" + line if self._torn else line)
        self._torn = True
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)
        self._torn = False

    async def send(self, event: Event) -> None:
        """Append one revision (in a worker thread)."""
        await anyio.to_thread.run_sync(self._write, encode(event) + b"\n")

    async def aclose(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            await anyio.to_thread.run_sync(os.close, fd)
