"""Operator reviews of a fleet, written once: the ``<prefix>_reviews`` bucket.

::

    console ──CAS──► KV vsa_reviews: ev.<node>.<event id> = ReviewRecord   (history 16, R3)
    node    ◄─poll── its own keys (ev.<node>.>) ──► Delivery.review ──► its sinks + ALERTS

A review is keyed by the node that raised the event and the event's id. Writing it is
idempotent: a verdict, cause and note equal to the stored ones write nothing (a second identical
review is not a second record); a different verdict replaces the record with a revision check,
and the bucket keeps the history.

The node that raised the event applies the review to its own outbox (:func:`follow_reviews`):
it numbers the event's revisions, so the review becomes the next revision and every later one
(``updated``, ``closed``) carries it, to the node's own sinks and to ``ALERTS`` alike. When that
node is gone (no lease), the console emits the revision in its place (see
:mod:`vsa_stream.cluster.console`); a node that comes back later applies the review too, with
the same revision number when nothing else came in between, so ``ALERTS`` and the webhooks
(``webhook-id`` = ``<event id>-<revision>``) see one revision.
"""

from __future__ import annotations

import anyio
import msgspec
import nats.js.errors
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from vsa_stream.cluster.store import ClusterStore, encode, get_entry, read_all
from vsa_stream.events import Event, Review
from vsa_stream.log import get_logger
from vsa_stream.sinks.delivery import Delivery

__all__ = ["ReviewBook", "ReviewRecord", "follow_reviews", "same_verdict"]

_HISTORY = 16


class ReviewRecord(msgspec.Struct, kw_only=True):
    """What ``ev.<node>.<event id>`` holds: the operator's verdict on one event."""

    event_id: str
    #: The node that raised the event (it applies the review while it lives).
    node: str
    camera_id: str
    type: str
    review: Review
    cause: str | None = None
    note: str | None = None
    actor: str
    at: float


def same_verdict(event: Event, record: ReviewRecord) -> bool:
    """True when ``event`` already carries the verdict, cause and note of ``record``."""
    return (event.review, event.review_cause, event.review_note) == (
        record.review,
        record.cause,
        record.note,
    )


class ReviewBook:
    """The reviews bucket (created on first use, with the cluster's replicas)."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self.kv: KeyValue
        self._last_seq: int | None = None

    async def open(self) -> ReviewBook:
        config = KeyValueConfig(
            bucket=f"{self.store.options.prefix}_reviews",
            history=_HISTORY,
            storage=StorageType.FILE,
            replicas=self.store.replicas,
            direct=False,
        )
        try:
            self.kv = await self.store.js.key_value(config.bucket)
        except nats.js.errors.BucketNotFoundError:
            try:
                self.kv = await self.store.js.create_key_value(config)
            except nats.js.errors.BadRequestError:  # another process created it meanwhile
                self.kv = await self.store.js.key_value(config.bucket)
        return self

    @staticmethod
    def key(node: str, event_id: str) -> str:
        return f"ev.{node}.{event_id}"

    async def get(self, node: str, event_id: str) -> tuple[ReviewRecord, int] | None:
        """The stored review of an event and its revision in the bucket, if any."""
        entry = await get_entry(self.kv, self.key(node, event_id))
        if entry is None or entry.value is None:
            return None
        return msgspec.json.decode(entry.value, type=ReviewRecord), int(entry.revision or 0)

    async def write(self, record: ReviewRecord) -> tuple[ReviewRecord, int, bool]:
        """Store ``record`` unless the same verdict, cause and note are stored already.

        Returns:
            the stored record, its bucket revision, and whether this call wrote it.
        """
        key = self.key(record.node, record.event_id)
        for _ in range(5):
            found = await self.get(record.node, record.event_id)
            if found is not None:
                stored, revision = found
                if (stored.review, stored.cause, stored.note) == (
                    record.review,
                    record.cause,
                    record.note,
                ):
                    return stored, revision, False
            try:
                if found is None:
                    revision = await self.kv.create(key, encode(record))
                else:
                    revision = await self.kv.update(key, encode(record), last=found[1])
            except nats.js.errors.KeyWrongLastSequenceError:
                continue  # another console wrote it meanwhile: compare again
            return record, revision, True
        raise TimeoutError(f"review of {record.event_id}: the record kept changing")

    async def changed(self) -> bool:
        """True when the bucket got a write since the last call (one stream info request)."""
        info = await self.store.js.stream_info(self.kv._stream)
        last = int(info.state.last_seq)
        moved = last != self._last_seq
        self._last_seq = last
        return moved

    async def all(self, node: str | None = None) -> dict[str, tuple[ReviewRecord, int]]:
        """Every stored review (of one node's events with ``node``), by key."""
        prefix = "ev." if node is None else f"ev.{node}."
        out: dict[str, tuple[ReviewRecord, int]] = {}
        for key, entry in (await read_all(self.kv, prefix)).items():
            try:
                record = msgspec.json.decode(entry.value or b"", type=ReviewRecord)
            except msgspec.DecodeError:
                continue
            out[key] = (record, int(entry.revision or 0))
        return out


async def follow_reviews(book: ReviewBook, delivery: Delivery, node_id: str) -> None:
    """Apply the reviews of this node's events to its outbox, forever (polling every second;
    the node's keys are read only when the bucket changed).

    An event already carrying the verdict is left alone, so a review is applied once, also
    across restarts; an event this outbox no longer holds (pruned) is skipped.
    """
    log = get_logger(node=node_id)
    outbox = delivery.outbox
    while True:
        try:
            if await book.changed():
                for record, _ in (await book.all(node_id)).values():
                    event = await outbox.call(outbox.get_event, record.event_id)
                    if event is None or same_verdict(event, record):
                        continue
                    try:
                        await delivery.review(
                            record.event_id, record.review, record.note, record.cause
                        )
                    except (KeyError, ValueError) as exc:
                        log.warning("review not applied", event_id=record.event_id, error=str(exc))
                        continue
                    log.info(
                        "review applied",
                        event_id=record.event_id,
                        review=record.review,
                        actor=record.actor,
                    )
        except Exception as exc:  # a server being elected: the next round reads again
            book._last_seq = None
            log.warning("reviews not read", error=f"{type(exc).__name__}: {exc}")
        await anyio.sleep(1.0)
