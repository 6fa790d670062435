"""The audit log: append-only JSON lines, chained by SHA-256 and, with a key, by HMAC-SHA256.

Each line is one entry::

    {"seq": 3, "at": 1795000000.5, "kind": "review", "data": {...},
     "prev": "<hash of entry 2>", "kid": "<key id>", "mac": "<HMAC>", "hash": "<SHA-256>"}

``hash`` is the SHA-256 (hex) of the entry's canonical JSON (sorted keys, no spaces) without
``hash`` and ``mac``; ``prev`` is the ``hash`` of the entry before (64 zeros for the first).
With a key (``audit.key_file`` or ``audit.key_env``), ``mac`` is the HMAC-SHA256 of the same
canonical JSON and ``kid`` names the key (a fingerprint, not the key). Editing an entry breaks
its hash; recomputing the hashes of a plain chain is easy, recomputing MACs needs the key;
removing or inserting an entry breaks the next link and the numbering.

Cutting the end off leaves a valid chain, so the head ``(seq, hash, mac)`` is also kept outside
the file: in the outbox database after every entry (:meth:`Outbox.set_audit_head`) and in
``audit_checkpoint`` revisions sent to the sinks (:func:`checkpoint_event`). :func:`verify`
checks the file against such a head and says which guarantee failed (:data:`FAILURES`).

What is recorded (:data:`KINDS`): the daemon's start with the hash of its configuration file,
its stop, every operator review, every read or deletion of evidence, re-queued dead letters,
failed authentications (at most one entry per address per minute, with a count) and a head
found behind its anchor at start. Entries name the API token (its ``name``, never its value),
never a person seen by a camera.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    >>> log = AuditLog(path, key=b"k" * 32)
    >>> log.append("daemon_start", {"config_sha256": "ab"})["seq"]
    1
    >>> log.append("review", {"event_id": "e1", "review": "confirmed", "actor": "alice"})["seq"]
    2
    >>> result = verify(path, key=b"k" * 32, head=log.head)
    >>> result.ok, result.keyed
    (True, 2)
    >>> verify(path).failure  # MACs present, no key to check them
    'key_missing'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vsa_stream.event_types import CHECKPOINT_TYPE
from vsa_stream.events import Event, Evidence, new_event_id
from vsa_stream.private import private_dir, private_file

__all__ = [
    "AUTH_FAILURE_WINDOW_S",
    "CHECKPOINT_CAMERA",
    "CHECKPOINT_TYPE",
    "EXIT_CODES",
    "FAILURES",
    "GENESIS",
    "KINDS",
    "MIN_KEY_BYTES",
    "AuditHead",
    "AuditLog",
    "Failure",
    "Verification",
    "checkpoint_event",
    "entry_hash",
    "entry_mac",
    "head_mac",
    "key_id",
    "parse_head",
    "read_key",
    "verify",
]

#: The ``prev`` of the first entry.
GENESIS = "0" * 64
#: The kinds of entries the daemon writes.
KINDS = (
    "daemon_start",
    "daemon_stop",
    "review",
    "evidence_access",
    "evidence_deleted",
    "outbox_redrive",
    "auth_failed",
    "audit_truncated",
)
#: A key shorter than this many bytes is refused (``openssl rand -hex 32`` gives 64).
MIN_KEY_BYTES = 32
#: Failed authentications from one address make at most one entry per this many seconds.
AUTH_FAILURE_WINDOW_S = 60.0
#: Addresses whose failures are counted at once; beyond, they are counted under ``"*"``.
_MAX_ADDRESSES = 4096
#: The ``camera_id`` the checkpoint revisions (:data:`CHECKPOINT_TYPE`) carry (not a valid
#: camera id, so never one of a camera's events).
CHECKPOINT_CAMERA = "_audit"

Failure = Literal["unreadable", "entry_hash", "mac", "chain", "anchor", "key_missing"]
#: What :func:`verify` can report, with the exit code of ``vsa-stream audit verify``.
EXIT_CODES: dict[Failure, int] = {
    "unreadable": 1,
    "entry_hash": 3,
    "mac": 4,
    "chain": 5,
    "anchor": 6,
    "key_missing": 7,
}
FAILURES: tuple[Failure, ...] = tuple(EXIT_CODES)


def _canonical(entry: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {k: v for k, v in entry.items() if k not in ("hash", "mac")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's canonical JSON, its ``hash`` and ``mac`` left out."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def entry_mac(key: bytes, entry: Mapping[str, Any]) -> str:
    """The HMAC-SHA256 (hex) of an entry's canonical JSON under ``key``."""
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short fingerprint naming ``key`` in entries (16 hex digits; reveals nothing useful)."""
    return hashlib.sha256(b"vsa-audit-key-id\0" + key).hexdigest()[:16]


def head_mac(key: bytes, seq: int, hash: str) -> str:
    """The HMAC-SHA256 (hex) of a head ``(seq, hash)``: what a checkpoint is signed with."""
    return hmac.new(key, f"vsa-audit-head\0{seq}\0{hash}".encode(), hashlib.sha256).hexdigest()


def checkpoint_event(
    head: AuditHead, previous: Event | None = None, *, final: bool = False
) -> Event:
    """The ``audit_checkpoint`` revision carrying ``head`` to the sinks: the next revision of
    ``previous`` (one event per daemon run: ``open`` at start, ``updated``, ``closed`` at stop).

    ``evidence.values["audit_seq"]`` is the head's seq; ``reason`` reads
    ``audit head seq=<seq> hash=<hash> mac=<mac or none>``, what ``audit verify --head`` takes.

    Example:
        >>> ev = checkpoint_event(AuditHead(3, "a" * 64, "b" * 64))
        >>> ev.type, ev.state, ev.reason.split()[:3]
        ('audit_checkpoint', 'open', ['audit', 'head', 'seq=3'])
    """
    now = time.time()
    reason = f"audit head seq={head.seq} hash={head.hash} mac={head.mac or 'none'}"
    values = {"audit_seq": float(head.seq)}
    if previous is None:
        return Event(
            id=new_event_id(now),
            revision=1,
            type=CHECKPOINT_TYPE,
            camera_id=CHECKPOINT_CAMERA,
            state="closed" if final else "open",
            started_at=now,
            updated_at=now,
            ended_at=now if final else None,
            start_s=0.0,
            start_frame=0,
            evidence=Evidence(frame_index=0, stream_time_s=0.0, values=values),
            reason=reason,
        )
    return previous.revised(
        state="closed" if final else "updated",
        updated_at=now,
        ended_at=now if final else None,
        evidence=Evidence(frame_index=0, stream_time_s=0.0, values=values),
        reason=reason,
    )


def parse_head(text: str) -> AuditHead:
    """The head written in a checkpoint's ``reason`` (or ``SEQ:HASH[:MAC]``).

    Raises:
        ValueError: neither form.
    """
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    if not fields:
        parts = text.strip().split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"expected SEQ:HASH[:MAC] or a checkpoint's reason, got {text!r}")
        fields = {"seq": parts[0], "hash": parts[1], "mac": parts[2] if len(parts) == 3 else "none"}
    try:
        seq, hash = int(fields["seq"]), fields["hash"]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"no seq and hash in {text!r}") from exc
    mac = fields.get("mac", "none")
    return AuditHead(seq, hash, None if mac == "none" else mac)


def read_key(
    *,
    key_file: str | None = None,
    key_env: str | None = None,
    env: Mapping[str, str] | None = None,
) -> bytes | None:
    """The audit key from a file or an environment variable (surrounding blanks stripped).

    Returns None when neither is given. A key file must be private to its owner (no access for
    the group or others), like the state folder.

    Raises:
        OSError: the key file cannot be read.
        PermissionError: the key file is open to other users.
        ValueError: the key is missing (unset variable) or shorter than :data:`MIN_KEY_BYTES`.
    """
    if key_file is not None:
        mode = stat.S_IMODE(os.stat(key_file).st_mode)
        if mode & 0o077:
            raise PermissionError(
                f"audit key {key_file} is open to other users (mode {mode:04o}): chmod 600 it"
            )
        key, source = Path(key_file).read_bytes().strip(), f"audit key file {key_file}"
    elif key_env is not None:
        value = (os.environ if env is None else env).get(key_env)
        if value is None:
            raise ValueError(f"audit key variable {key_env} is not set")
        key, source = value.strip().encode(), f"audit key variable {key_env}"
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"{source} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            "(openssl rand -hex 32)"
        )
    return key


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The last entry of a log: its ``seq`` and ``hash``, and ``mac`` = :func:`head_mac` (None
    for an unkeyed log)."""

    seq: int
    hash: str
    mac: str | None = None


@dataclass(slots=True)
class _Failures:
    """Failed authentications from one address since its last entry."""

    count: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    written_at: float = -float("inf")
    paths: set[str] = field(default_factory=set)


class AuditLog:
    """Appends entries to one audit file (thread-safe; each entry is fsynced).

    Args:
        path: the audit file (created ``0600``; its folder ``0700``).
        key: the HMAC key; None writes a plain SHA-256 chain.
        on_head: called with the new head after each entry (the daemon stores it in the outbox
            database); an error there is raised after the entry is written.
        clock: the wall clock of the entries' ``at`` (a scripted run gives its own).

    Opening an existing file reads its last entry to go on with its chain; it does not verify
    the whole file (:func:`verify` does).

    Raises:
        OSError: the file cannot be created, read or written.
        ValueError: the last line of an existing file is not an audit entry.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes | None = None,
        on_head: Callable[[AuditHead], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.key = key
        self.on_head = on_head
        private_dir(self.path.parent)
        private_file(self.path)
        self._lock = threading.Lock()
        self._seq, self._prev = 0, GENESIS
        self._failures: dict[str, _Failures] = {}
        last = _last_line(self.path)
        if last:
            try:
                entry = json.loads(last)
                self._seq, self._prev = int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{self.path}: the last line is not an audit entry") from exc

    @property
    def keyed(self) -> bool:
        """True when entries carry an HMAC."""
        return self.key is not None

    @property
    def head(self) -> AuditHead:
        """The last entry written (seq 0 for an empty log)."""
        with self._lock:
            return self._head()

    def _head(self) -> AuditHead:
        mac = head_mac(self.key, self._seq, self._prev) if self.key is not None else None
        return AuditHead(self._seq, self._prev, mac)

    def append(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Write one entry (blocking: call it from a worker thread in the event loop)."""
        with self._lock:
            entry: dict[str, Any] = {
                "seq": self._seq + 1,
                "at": round(self._clock(), 6),
                "kind": kind,
                "data": data,
                "prev": self._prev,
            }
            if self.key is not None:
                entry["kid"] = key_id(self.key)
                entry["mac"] = entry_mac(self.key, entry)
            entry["hash"] = entry_hash(entry)
            line = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._seq, self._prev = entry["seq"], entry["hash"]
            head = self._head()
        if self.on_head is not None:
            self.on_head(head)
        return entry

    def check_anchor(self, anchor: AuditHead | None) -> dict[str, Any] | None:
        """Compare the file's head with the one anchored outside it; when the file ends before
        the anchor (cut off, or replaced), write an ``audit_truncated`` entry saying so and
        return it. The chain then goes on from the file's head: :func:`verify` reports the loss
        at that entry for as long as the file exists.
        """
        if anchor is None:
            return None
        with self._lock:
            seq, prev = self._seq, self._prev
        if anchor.seq < seq or (anchor.seq == seq and anchor.hash == prev):
            return None
        return self.append(
            "audit_truncated",
            {
                "anchor_seq": anchor.seq,
                "anchor_hash": anchor.hash,
                "file_seq": seq,
                "file_hash": prev,
            },
        )

    # --- failed authentications ------------------------------------------------------------

    def auth_failed(self, address: str, path: str, now: float | None = None) -> bool:
        """Count a failed authentication from ``address``; write an ``auth_failed`` entry unless
        one was written for it less than :data:`AUTH_FAILURE_WINDOW_S` ago (the failures in
        between are in the next entry's count, or :meth:`flush_auth_failures`'s). Returns True
        when an entry was written. Never given the credential, so never records it."""
        now = time.time() if now is None else now
        with self._lock:
            if address not in self._failures and len(self._failures) >= _MAX_ADDRESSES:
                address = "*"
            f = self._failures.setdefault(address, _Failures())
            if f.count == 0:
                f.first_at = now
            f.count += 1
            f.last_at = now
            if len(f.paths) < 8:
                f.paths.add(path[:200])
            if now - f.written_at < AUTH_FAILURE_WINDOW_S:
                return False
            data = self._take_failures(address, f, now)
        self.append("auth_failed", data)
        return True

    def flush_auth_failures(self, now: float | None = None, *, all: bool = False) -> int:
        """Write the failures counted but not yet written whose window has passed (every one
        with ``all``, at stop); forget addresses quiet for a window. Returns entries written."""
        now = time.time() if now is None else now
        entries = []
        with self._lock:
            for address, f in list(self._failures.items()):
                due = now - f.written_at >= AUTH_FAILURE_WINDOW_S
                if f.count and (all or due):
                    entries.append(self._take_failures(address, f, now))
                elif due:
                    del self._failures[address]
        for data in entries:
            self.append("auth_failed", data)
        return len(entries)

    @staticmethod
    def _take_failures(address: str, f: _Failures, now: float) -> dict[str, Any]:
        data = {
            "address": address,
            "failures": f.count,
            "first_at": round(f.first_at, 3),
            "last_at": round(f.last_at, 3),
            "paths": sorted(f.paths),
        }
        f.count, f.written_at = 0, now
        f.paths.clear()
        return data


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
    """What :func:`verify` found.

    Attributes:
        entries: entries checked before the first failure (all of them when ``ok``).
        broken_line: the 1-based line of the first failure (None when ``ok``, or when the
            failure is about the file as a whole: a truncation past its end, a missing key).
        reason: what failed, in words.
        failure: which guarantee failed (:data:`FAILURES`), None when ``ok``.
        keyed: entries whose MAC was checked; ``unkeyed``: entries with no MAC (written before
            a key was configured, or with none).
        anchored: True when the file was checked against an anchored head.
    """

    entries: int
    broken_line: int | None = None
    reason: str | None = None
    failure: Failure | None = None
    keyed: int = 0
    unkeyed: int = 0
    anchored: bool = False

    @property
    def ok(self) -> bool:
        """True when every guarantee checked holds."""
        return self.failure is None

    @property
    def exit_code(self) -> int:
        """0 when ``ok``, else the code of the failed guarantee (:data:`EXIT_CODES`)."""
        return 0 if self.failure is None else EXIT_CODES[self.failure]


def verify(
    path: str | os.PathLike[str],
    *,
    key: bytes | None = None,
    head: AuditHead | None = None,
) -> Verification:
    """Check an audit file: each entry's hash, its MAC (with ``key``), the chain links and the
    numbering, then the file against ``head`` (anchored outside it: truncation). The first
    failure in file order is reported.

    Without ``key``, MACs cannot be checked: a file whose entries carry some fails with
    ``key_missing`` once everything else holds. With ``key``, entries without a MAC are
    accepted only before the first keyed one (a log started before the key was configured),
    whose MAC covers them through the chain; one after it was stripped (``mac``), and a file
    with no keyed entry at all fails (``mac``) unless a head with a valid MAC vouches for it.

    Raises:
        OSError: the file cannot be read (``unreadable`` for the CLI).
    """
    prev, seq, keyed, unkeyed, macs_unchecked = GENESIS, 0, 0, 0, 0
    kid = key_id(key) if key is not None else None
    hashes: dict[int, str] = {}

    def fail(line: int | None, failure: Failure, reason: str) -> Verification:
        return Verification(seq, line, reason, failure, keyed, unkeyed, head is not None)

    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip(b"\n")
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                stored = entry["hash"]
            except (ValueError, KeyError) as exc:
                return fail(number, "unreadable", f"not an audit entry ({exc})")
            if entry_hash(entry) != stored:
                return fail(number, "entry_hash", "the entry was altered (hash mismatch)")
            mac = entry.get("mac")
            if mac is None:
                if key is not None and (keyed or "kid" in entry):
                    return fail(number, "mac", "no MAC after keyed entries (stripped)")
                unkeyed += 1
            elif key is None:
                macs_unchecked += 1
            elif entry.get("kid") != kid:
                return fail(number, "mac", f"written with another key (kid {entry.get('kid')})")
            elif not hmac.compare_digest(str(mac), entry_mac(key, entry)):
                return fail(number, "mac", "the entry was altered and rehashed (MAC mismatch)")
            else:
                keyed += 1
            if entry.get("prev") != prev:
                return fail(number, "chain", "prev does not match the entry before (removed)")
            if entry.get("seq") != seq + 1:
                return fail(number, "chain", f"seq {entry.get('seq')} follows {seq} (missing)")
            if entry.get("kind") == "audit_truncated":
                data = entry.get("data") or {}
                return fail(
                    number,
                    "anchor",
                    f"entries {seq + 1}..{data.get('anchor_seq')} were cut off before this "
                    "line (found at a start: the file ended before its anchored head)",
                )
            prev, seq = stored, seq + 1
            if head is not None and seq == head.seq:
                hashes[seq] = stored
    if head is not None:
        if key is not None and (
            head.mac is None
            or not hmac.compare_digest(head.mac, head_mac(key, head.seq, head.hash))
        ):
            return fail(
                None,
                "anchor",
                f"the anchored head (seq {head.seq}) has no valid MAC under this key (forged, "
                "or anchored before the key was set)",
            )
        if seq < head.seq:
            return fail(
                None,
                "anchor",
                f"the file ends at seq {seq} but its head was anchored at seq {head.seq}: "
                f"{head.seq - seq} entries cut off (truncated)",
            )
        if head.seq and hashes.get(head.seq) != head.hash:
            return fail(
                None, "anchor", f"entry seq {head.seq} is not the anchored one (file replaced)"
            )
    if macs_unchecked:
        return fail(
            None, "key_missing", f"{macs_unchecked} entries carry a MAC; no key to check them"
        )
    if key is not None and seq and not keyed and head is None:
        # A keyed entry, or a keyed anchor, vouches for the unkeyed entries before it (their
        # hashes are in its chain); with neither, nothing here was checked with the key.
        return fail(
            None,
            "mac",
            f"none of the {seq} entries carries a MAC: never keyed, or every MAC stripped "
            "(verify it without the key as a plain chain, or with its anchor)",
        )
    return Verification(seq, None, None, None, keyed, unkeyed, head is not None)
