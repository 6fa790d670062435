"""Reading the report's inputs: dates on the command line, the audit log (its runs and head),
the configuration's cameras, situations and authorisations.

Example:
    >>> from zoneinfo import ZoneInfo
    >>> parse_instant("2026-11-01", ZoneInfo("Europe/Paris"))  # midnight in Paris
    1793487600.0
    >>> parse_instant("2026-11-01T00:00:00+00:00", ZoneInfo("Europe/Paris"))
    1793491200.0
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import msgspec

from vsa_stream.audit import AuditHead, verify
from vsa_stream.config import Config
from vsa_stream.report.model import AuditRef, Authorisation

__all__ = [
    "authorisations_from",
    "camera_situations",
    "parse_instant",
    "read_audit",
]


def parse_instant(text: str, tz: tzinfo) -> float:
    """Unix seconds of a date (midnight in ``tz``) or an ISO 8601 date-time (in ``tz`` when it
    gives no offset).

    Raises:
        ValueError: neither form.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected a date (2026-11-01) or an ISO date-time, got {text!r}"
        ) from None
    if len(text) == 10:  # a plain date
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def read_audit(
    path: str | os.PathLike[str], *, key: bytes | None, anchor: AuditHead | None
) -> tuple[list[dict[str, Any]], AuditRef | None]:
    """The audit log's entries and its head, checked (with ``key`` and the outbox's
    ``anchor``); ``([], None)`` when there is no log.

    Raises:
        OSError: the file exists but cannot be read.
    """
    if not os.path.exists(path):
        return [], None
    entries: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        for raw in f:
            try:
                entry = json.loads(raw)
            except ValueError:
                break  # verify() names the line
            if isinstance(entry, dict):
                entries.append(entry)
    result = verify(path, key=key, head=anchor)
    last = entries[-1] if entries else {}
    ref = AuditRef(
        path=os.fspath(path),
        head_seq=int(last.get("seq", 0)),
        head_hash=str(last.get("hash", "")),
        check="ok" if result.ok else str(result.failure),
        check_detail=None if result.ok else result.reason,
    )
    return entries, ref


def camera_situations(config: Config) -> dict[str, list[str]]:
    """Per enabled camera, the situations its rules watch."""
    out: dict[str, list[str]] = {}
    for camera in config.cameras:
        if camera.enabled:
            kinds = [str(type(rule).__struct_config__.tag) for rule in camera.rules]
            out[camera.id] = list(dict.fromkeys(kinds))
    return out


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.isoformat()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).isoformat()
    moment = datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).isoformat()


def authorisations_from(items: Iterable[Any]) -> list[Authorisation]:
    """Authorisations as the report lists them, from any records (Structs, dataclasses or
    dicts) with ``reference``, ``start``, ``end`` (datetime, ISO text or Unix seconds),
    ``cameras`` and ``situations``: the configuration's ``authorisations`` section.

    Raises:
        ValueError: a record lacks one of these fields, or a time cannot be read (the message
            names the field).
    """
    out = []
    for i, item in enumerate(items):
        data = (
            item if isinstance(item, dict) else msgspec.to_builtins(item, builtin_types=(datetime,))
        )
        try:
            out.append(
                Authorisation(
                    reference=str(data["reference"]),
                    start=_iso(data["start"]),
                    end=_iso(data["end"]),
                    cameras=[str(c) for c in data.get("cameras") or []],
                    situations=[str(s) for s in data.get("situations") or []],
                )
            )
        except KeyError as exc:
            raise ValueError(f"authorisations[{i}]: no {exc.args[0]}") from None
        except ValueError as exc:
            raise ValueError(f"authorisations[{i}]: {exc}") from None
    return out
