"""Typed errors of vsa_stream.

Every error the engine raises on purpose derives from :class:`VsaError` and also from the
builtin exception a Python user would expect (``ValueError`` for bad values, ``OSError`` for
I/O, ``RuntimeError`` for our own bugs), the way PyAV's errors do.

The native core (``vsa_stream._core``) maps each of its error enums to one of four classes,
by variant, in one place (``rust/vsa_py/src/errors.rs``):

- :class:`FrameError`: a frame, plane or per-frame array (boxes, track ids, a timestamp) that a
  kernel cannot process. The pipeline drops that frame and goes on.
- :class:`ParameterError`: a kernel parameter out of range (a factor, a threshold, a window).
- :class:`GeometryError`: a degenerate polygon or homography (a :class:`ParameterError`).
- :class:`InternalError`: a panic caught at the boundary, or an impossible state: a bug of
  ours. It fails that call only (that frame, for a per-frame kernel), never the daemon.

Each keeps the fields of the Rust variant as attributes (``.field``, ``.width``, ``.expected``,
...; see :class:`KernelError`), and ``.code`` names the variant (``"size_mismatch"``).

This module depends on nothing else in the package.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FrameError",
    "GeometryError",
    "InternalError",
    "KernelError",
    "ModelError",
    "ParameterError",
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


class KernelError(VsaError):
    """An error of a native kernel, with the fields of the Rust variant it came from.

    Raised only through its subclasses. ``str(error)`` is the message; the keywords given to
    the constructor become attributes (the native core passes the variant's fields).

    Attributes:
        message: what went wrong, for a person.
        code: the variant, in snake case (``"size_mismatch"``, ``"internal"``); ``""`` when raised
            from Python.
        field: the argument or input at fault (``"luma plane"``, ``"max_missed"``), when known.
        details: every keyword given (``field`` and ``code`` included), by name.
    """

    message: str
    code: str
    field: str | None
    details: dict[str, object]

    def __init__(self, message: str = "", /, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        code = details.get("code", "")
        self.code = code if isinstance(code, str) else str(code)
        field = details.get("field")
        self.field = field if isinstance(field, str) else None

    def __getattr__(self, name: str) -> object:
        # Called only for attributes not found otherwise: a variant's fields (``.width``).
        details = self.__dict__.get("details", {})
        if name in details:
            return details[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable with its details (exceptions pickle their args only by default).
        return (_rebuild, (type(self), self.message, self.details))


def _rebuild(cls: type[KernelError], message: str, details: dict[str, object]) -> KernelError:
    return cls(message, **details)


class FrameError(KernelError, ValueError):
    """A frame (or plane, or per-frame array) a kernel cannot process: wrong dtype, shape,
    strides or size, NaN boxes, a timestamp going backwards. That frame fails, not the camera."""


class ParameterError(KernelError, ValueError):
    """A kernel parameter out of range; ``field`` names it."""


class GeometryError(ParameterError):
    """A degenerate geometry: a polygon that is not a simple polygon, a homography that is not
    invertible (collinear or repeated points)."""


class InternalError(KernelError, RuntimeError):
    """A failure of ours inside a native kernel (a caught panic); ``kernel`` names the kernel.

    It fails that call only. Please report it with the message.
    """


class SourceError(VsaError, OSError):
    """A video source that cannot be opened, read or decoded."""


class ModelError(VsaError, ValueError):
    """A detector model that is missing, unreadable or not supported."""
