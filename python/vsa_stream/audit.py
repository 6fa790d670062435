"""The audit log: append-only JSON lines, each chained to the one before by SHA-256.

Each line is one entry::

    {"seq": 3, "at": 1795000000.5, "kind": "review", "data": {...},
     "prev": "<hash of entry 2>", "hash": "<SHA-256 of this entry without 'hash'>"}

``hash`` is the SHA-256 (hex) of the entry's canonical JSON (sorted keys, no spaces) without the
``hash`` key; ``prev`` is the ``hash`` of the entry before (64 zeros for the first). Editing an
entry breaks its own hash; removing or inserting one breaks the next entry's ``prev`` and the
numbering. :func:`verify` names the first broken entry (``vsa-stream audit verify``).

What is recorded (:data:`KINDS`): the daemon's start with the hash of its configuration file,
every operator review, every read of evidence. Entries name the API token (its ``name``, never
its value), never a person seen by a camera.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    >>> log = AuditLog(path)
    >>> log.append("daemon_start", {"config_sha256": "ab"})["seq"]
    1
    >>> log.append("review", {"event_id": "e1", "review": "confirmed", "actor": "alice"})["seq"]
    2
    >>> verify(path).ok
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsa_stream.private import private_dir, private_file

__all__ = ["GENESIS", "KINDS", "AuditLog", "Verification", "entry_hash", "verify"]

#: The ``prev`` of the first entry.
GENESIS = "0" * 64
#: The kinds of entries the daemon writes.
KINDS = ("daemon_start", "daemon_stop", "review", "evidence_access", "evidence_deleted")


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(
        {k: v for k, v in entry.items() if k != "hash"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's canonical JSON, its ``hash`` key left out."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


class AuditLog:
    """Appends entries to one audit file (thread-safe; each entry is fsynced).

    Opening an existing file reads its last entry to go on with its chain; it does not verify
    the whole file (:func:`verify` does).

    Raises:
        OSError: the file cannot be created, read or written.
        ValueError: the last line of an existing file is not an audit entry.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        private_file(self.path)
        self._lock = threading.Lock()
        self._seq, self._prev = 0, GENESIS
        last = _last_line(self.path)
        if last:
            try:
                entry = json.loads(last)
                self._seq, self._prev = int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.path}: the last line is not an audit entry") from exc

    def append(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Write one entry (blocking: call it from a worker thread in the event loop)."""
        with self._lock:
            entry: dict[str, Any] = {
                "seq": self._seq + 1,
                "at": round(time.time(), 6),
                "kind": kind,
                "data": data,
                "prev": self._prev,
            }
            entry["hash"] = entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._seq, self._prev = entry["seq"], entry["hash"]
            return entry


def _last_line(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            step = 4096
            data = b""
            while size > 0:
                take = min(step, size)
                size -= take
                f.seek(size)
                data = f.read(take) + data
                lines = data.rstrip(b"\n").split(b"\n")
                if len(lines) > 1 or size == 0:
                    return lines[-1].strip()
    except FileNotFoundError:
        return b""
    return b""


@dataclass(frozen=True, slots=True)
class Verification:
    """What :func:`verify` found: ``entries`` checked, and the first broken one if any."""

    entries: int
    broken_line: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the whole chain holds."""
        return self.broken_line is None


def verify(path: str | os.PathLike[str]) -> Verification:
    """Check the whole chain of an audit file; names the first broken entry (1-based line).

    Raises:
        OSError: the file cannot be read.
    """
    prev, seq = GENESIS, 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip(b"\n")
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                stored = entry["hash"]
            except (ValueError, KeyError) as exc:
                return Verification(number - 1, number, f"not an audit entry ({exc})")
            if entry_hash(entry) != stored:
                return Verification(number - 1, number, "the entry was altered (hash mismatch)")
            if entry.get("prev") != prev:
                return Verification(
                    number - 1, number, "prev does not match the entry before (removed or altered)"
                )
            if entry.get("seq") != seq + 1:
                return Verification(
                    number - 1, number, f"seq {entry.get('seq')} follows {seq} (entries missing)"
                )
            prev, seq = stored, seq + 1
    return Verification(seq)
