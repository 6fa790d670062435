"""Logging: structlog with bound context, JSON lines when not on a terminal, no secrets.

Logs go to standard error (standard output carries alerts when the stdout sink is on). Every
string in every event passes through :func:`~vsa_stream.redact.redact_text`, so a stream URL's
password never reaches a log line, whoever logged it: the records of the standard library's
``logging`` (uvicorn, asyncio, paho-mqtt, ...) go through the same processors and renderer, so
they are JSON lines too, with their ``logger`` name.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

from vsa_stream.redact import redact_text

__all__ = ["configure_logging", "get_logger"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact_text(value)
        elif isinstance(value, BaseException):
            event_dict[key] = redact_text(f"{type(value).__name__}: {value}")
    return event_dict


class _Stderr:
    """Standard error as it is when a line is written (it may be replaced after set-up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
) -> None:
    """Set up structlog for the process.

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``.
        fmt: ``json`` lines, ``console`` (coloured, for people), or ``auto``: console on a
            terminal, JSON otherwise.
        stream: where to write; standard error by default.
    """
    out: TextIO = stream if stream is not None else sys.stderr
    tty = out.isatty()
    use_json = fmt == "json" or (fmt == "auto" and not tty)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    shared: list[structlog.types.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,  # tracebacks become text, then get redacted
        _redact,
    ]
    _route_standard_logging(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        ),
        out if stream is not None else _Stderr(),
        _LEVELS.get(level, logging.INFO),
    )
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(out if stream is not None else _Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module puts on the root logger (replaced at each configuration)."""


def _route_standard_logging(formatter: logging.Formatter, stream: Any, level: int) -> None:
    """Libraries' records through ``formatter``: warnings and above (everything in debug),
    since their information lines (a request made, a server started) are not the daemon's."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level if level == logging.DEBUG else max(level, logging.WARNING))


def get_logger(**context: Any) -> structlog.typing.FilteringBoundLogger:
    """A logger with ``context`` bound (``camera_id=...``, ``event_id=...``)."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger().bind(**context)
    return logger
