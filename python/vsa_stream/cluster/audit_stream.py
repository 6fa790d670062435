"""The console's audit log, replicated entry by entry to the ``AUDIT`` stream.

Every entry of ``<state_dir>/audit.jsonl`` is published, in order and as written (hash chain
and MAC included), on ``<prefix>.audit.<console id>`` of the replicated ``AUDIT`` stream, with
``Nats-Msg-Id: <console id>-<seq>`` (a re-publication after a crash is dropped). A console
whose file lacks entries the stream holds writes them back before it appends
(:func:`restore_audit`); ``vsa-stream cluster audit CONSOLE --out FILE`` writes a console's log
from the stream alone (:func:`export_audit`). ``vsa-stream audit verify`` checks either file as
it checks a daemon's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import anyio.to_thread
import nats.js.errors
from nats.js.api import DeliverPolicy, StorageType, StreamConfig

from vsa_stream.cluster.store import ClusterOptions, ClusterStore, connect
from vsa_stream.log import get_logger
from vsa_stream.private import private_dir, private_file

__all__ = ["AUDIT_STREAM", "AuditReplica", "export_audit", "restore_audit"]

AUDIT_STREAM = "AUDIT"


class AuditReplica:
    """Publishes the entries of one console's audit file that ``AUDIT`` lacks, forever."""

    def __init__(self, store: ClusterStore, console_id: str, path: Path) -> None:
        self.store = store
        self.id = console_id
        self.path = path
        self.subject = f"{store.options.prefix}.audit.{console_id}"
        #: The last entry the stream acknowledged.
        self.seq = 0
        self._offset = 0
        self._written = anyio.Event()
        self._published = anyio.Event()
        self._log = get_logger(console=console_id)

    async def open(self) -> AuditReplica:
        """Create the ``AUDIT`` stream when it does not exist."""
        options = self.store.options
        try:
            await self.store.js.stream_info(AUDIT_STREAM)
            return self
        except nats.js.errors.NotFoundError:
            pass
        config = StreamConfig(
            name=AUDIT_STREAM,
            subjects=[f"{options.prefix}.audit.>"],
            storage=StorageType.FILE,
            num_replicas=self.store.replicas,
            duplicate_window=options.duplicate_window_s,
        )
        try:
            await self.store.js.add_stream(config)
        except nats.js.errors.BadRequestError:  # another console created it meanwhile
            await self.store.js.stream_info(AUDIT_STREAM)
        return self

    def wake(self) -> None:
        """An entry was written: publish it now (else within 5 s)."""
        self._written.set()

    async def replicated(self, seq: int) -> None:
        """Wait until the stream holds entry ``seq``."""
        self.wake()
        while self.seq < seq:
            await self._published.wait()

    async def run(self) -> None:
        self.seq = await _last_replicated(self.store, self.subject)
        self._published.set()
        self._published = anyio.Event()
        while True:
            wake = self._written = anyio.Event()
            try:
                lines, self._offset = await anyio.to_thread.run_sync(
                    _lines_after, self.path, self.seq, self._offset
                )
                for seq, line in lines:
                    await self.store.js.publish(
                        self.subject,
                        line,
                        stream=AUDIT_STREAM,
                        headers={"Nats-Msg-Id": f"{self.id}-{seq}"},
                        timeout=2.0,
                    )
                    self.seq = seq
                    self._published.set()
                    self._published = anyio.Event()
            except Exception as exc:  # a server being elected: published at the next round
                self._log.warning("audit entry not replicated yet", error=f"{type(exc).__name__}")
                await anyio.sleep(0.5)
                continue
            with anyio.move_on_after(5.0):
                await wake.wait()


async def _last_replicated(store: ClusterStore, subject: str) -> int:
    """The ``seq`` of the last audit entry on ``subject`` (0 when none)."""
    try:
        msg = await store.js.get_last_msg(AUDIT_STREAM, subject)
    except nats.js.errors.NotFoundError:
        return 0
    return int(json.loads(msg.data or b"{}").get("seq", 0))


def _lines_after(path: Path, seq: int, offset: int = 0) -> tuple[list[tuple[int, bytes]], int]:
    """The complete entries of the audit file after ``seq``, as written (without the
    newline), read from byte ``offset`` on; and the offset after the last one."""
    out = []
    try:
        with open(path, "rb") as file:
            file.seek(offset)
            for line in file:
                if not line.endswith(b"\n"):
                    break  # being written
                offset += len(line)
                entry = json.loads(line)
                if int(entry["seq"]) > seq:
                    out.append((int(entry["seq"]), line.rstrip(b"\n")))
    except FileNotFoundError:
        return [], 0
    return out, offset


async def restore_audit(store: ClusterStore, console_id: str, path: Path) -> int:
    """Write back to ``path`` the entries of ``console_id`` that the ``AUDIT`` stream holds
    beyond the file's last one (all of them for a missing file); returns how many.

    The lines are the file's own (hash chain and MAC included), so ``vsa-stream audit verify``
    checks the restored file as it would have checked the lost one.
    """
    subject = f"{store.options.prefix}.audit.{console_id}"
    last = await _last_replicated(store, subject)
    have = await anyio.to_thread.run_sync(_last_seq, path)
    if last <= have:
        return 0
    sub = await store.js.subscribe(
        subject, stream=AUDIT_STREAM, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    lines: list[bytes] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=5.0)
            seq = int(json.loads(msg.data)["seq"])
            if seq > have:
                lines.append(msg.data)
            if seq >= last:
                break
    finally:
        await sub.unsubscribe()
    await anyio.to_thread.run_sync(_append_lines, path, lines)
    return len(lines)


async def export_audit(options: ClusterOptions, console_id: str, path: Path) -> int:
    """``vsa-stream cluster audit CONSOLE --out FILE``: write the entries of ``console_id``
    that ``AUDIT`` holds to ``path`` (beyond its last entry when it exists); returns how many.

    Raises:
        LookupError: the stream holds no entry of this console.
    """
    nc = await connect(options.servers, name="vsa-stream cluster audit")
    try:
        store = ClusterStore(nc, options)
        subject = f"{options.prefix}.audit.{console_id}"
        try:
            if not await _last_replicated(store, subject):
                raise LookupError(console_id)
        except nats.js.errors.NotFoundError:
            raise LookupError(console_id) from None
        return await restore_audit(store, console_id, path)
    finally:
        await nc.close()


def _last_seq(path: Path) -> int:
    lines, _ = _lines_after(path, 0)
    return lines[-1][0] if lines else 0


def _append_lines(path: Path, lines: list[bytes]) -> None:
    private_dir(path.parent)
    private_file(path)
    with open(path, "ab") as out:
        for line in lines:
            out.write(line + b"\n")
        out.flush()
        os.fsync(out.fileno())
