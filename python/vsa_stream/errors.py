"""Typed errors of vsa_stream.

Every error the engine raises on purpose derives from :class:`VsaError` and also from the
builtin exception a Python user would expect (``ValueError`` for bad values, ``OSError`` for
I/O), the way PyAV's errors do. The Rust core raises :class:`FrameError` for a bad frame
(wrong dtype, shape or stride) and for any internal failure of a kernel: a bad frame fails
that frame, never the daemon.

This module depends on nothing else in the package.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FrameError",
    "ModelError",
    "SourceError",
    "VsaError",
]


class VsaError(Exception):
    """Base class of every error raised on purpose by vsa_stream."""


class ConfigError(VsaError, ValueError):
    """An invalid configuration.

    Attributes:
        path: where the problem is, as ``cameras[2].zones[0].polygon`` ("" for the whole file).
        line: 1-based line of the YAML source when known.
        source: the file the configuration came from, when known.
    """

    def __init__(
        self, message: str, *, path: str = "", line: int | None = None, source: str | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.source = source
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.source is not None and self.line is not None:
            where = f"{self.source}:{self.line}: "
        elif self.source is not None:
            where = f"{self.source}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class FrameError(VsaError, ValueError):
    """A frame (or plane) a kernel cannot process: wrong dtype, shape, strides or size."""


class SourceError(VsaError, OSError):
    """A video source that cannot be opened, read or decoded."""


class ModelError(VsaError, ValueError):
    """A detector model that is missing, unreadable or not supported."""
