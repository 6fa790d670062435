"""Load generator for alert delivery: N synthetic event revisions through the real outbox.

Real cameras do not produce 10,000 alerts in a few seconds; this does, to test and measure the
delivery path alone (outbox → every configured sink) as the daemon runs it::

    python -m vsa_stream.cli.loadgen CONFIG --count 10000 [--rate 2000] [--seed 1]

It reads ``CONFIG`` like ``vsa-stream run`` (sinks, ``outbox``, ``state_dir``) but starts none
of its cameras: it commits ``--count`` synthetic ``intrusion`` revisions of camera ``loadgen`` in
batches, delivers them, and exits once every sink has had them (status 0) or ``outbox.drain_s``
ran out (status 1, what is left stays in the outbox). The ids are a function of ``--seed`` and
the index, so a run killed half-way and started again with the same arguments only adds the
revisions the outbox does not have yet: the crash-and-restart test uses exactly that. A JSON
summary goes to standard output. Never point it at a production outbox: the events are fake.
It holds the state folder as a daemon does (``<state_dir>/daemon.lock``): on a folder a daemon
uses it exits 2 naming ``state_dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import uuid
from collections.abc import Sequence

import anyio
import msgspec

from vsa_stream import config as config_mod
from vsa_stream.daemon import lock_state_dir
from vsa_stream.errors import ConfigError
from vsa_stream.events import Event, Evidence
from vsa_stream.log import configure_logging
from vsa_stream.metrics import Metrics
from vsa_stream.outbox import Outbox
from vsa_stream.private import private_dir
from vsa_stream.sinks import build_sinks
from vsa_stream.sinks.delivery import Delivery

__all__ = ["main", "synthetic_event"]

_BASE_MS = 1_800_000_000_000  # 2027-01-15: far from any real event id


def synthetic_event(seed: int, index: int) -> Event:
    """The ``index``-th synthetic event of ``seed``: a UUIDv7 id that depends only on both.

    Example:
        >>> a = synthetic_event(1, 5)
        >>> a.id == synthetic_event(1, 5).id != synthetic_event(2, 5).id
        True
        >>> uuid.UUID(a.id).version
        7
    """
    ms = _BASE_MS + seed * 100_000_000 + index
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    rand = int.from_bytes(digest[:10], "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    now = time.time()
    return Event(
        id=str(uuid.UUID(int=value)),
        revision=1,
        type="intrusion",
        camera_id="loadgen",
        state="open",
        zone_id="synthetic",
        started_at=now,
        updated_at=now,
        start_s=index / 10.0,
        start_frame=index,
        evidence=Evidence(frame_index=index, stream_time_s=index / 10.0, values={"index": index}),
        reason="synthetic load (vsa_stream.cli.loadgen)",
    )


class Summary(msgspec.Struct):
    """What a run did (printed as JSON)."""

    count: int
    injected: int
    already_in_outbox: int
    undelivered: int
    delivery_failures: int
    inject_s: float
    elapsed_s: float


async def _run(
    config: config_mod.Config, count: int, seed: int, rate: float, batch: int
) -> Summary:
    started = time.monotonic()
    outbox = Outbox(config.outbox_path(), synchronous=config.outbox.synchronous)
    sinks = build_sinks(config.sinks)
    delivery = Delivery(
        outbox,
        sinks,
        Metrics(),
        keep_delivered_s=config.outbox.keep_delivered_h * 3600.0,
        keep_events_s=config.outbox.keep_events_days * 86400.0,
        drain_s=config.outbox.drain_s,
    )
    injected = present = 0
    inject_s = 0.0

    async def inject() -> None:
        nonlocal injected, present, inject_s
        try:
            for first in range(0, count, batch):
                events = [synthetic_event(seed, i) for i in range(first, min(first + batch, count))]
                known = await outbox.call(outbox.known, [e.id for e in events])
                fresh = [e for e in events if e.id not in known]
                present += len(events) - len(fresh)
                if fresh:
                    await delivery.accept(fresh)
                    injected += len(fresh)
                if rate > 0:
                    await anyio.sleep_until(started + (first + batch) / rate)
            inject_s = time.monotonic() - started
        finally:
            delivery.finish()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(delivery.run)
            tg.start_soon(inject)
    finally:
        for sink in sinks:
            with anyio.CancelScope(shield=True):
                await sink.aclose()
        outbox.close()
    return Summary(
        count=count,
        injected=injected,
        already_in_outbox=present,
        undelivered=delivery.undelivered(),
        delivery_failures=delivery.failures,
        inject_s=round(inject_s, 3),
        elapsed_s=round(time.monotonic() - started, 3),
    )


def _lock(config: config_mod.Config) -> int:
    """The state folder, held as a daemon holds it: the outbox in it is this process's.

    Raises:
        ConfigError: another daemon (or load generator) uses it, or it cannot be created.
    """
    try:
        private_dir(config.state_dir)
        return lock_state_dir(config)
    except OSError as exc:
        raise ConfigError(str(exc), path="state_dir") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m vsa_stream.cli.loadgen``."""
    parser = argparse.ArgumentParser(prog="python -m vsa_stream.cli.loadgen", description=__doc__)
    parser.add_argument("config", metavar="CONFIG")
    parser.add_argument("--count", type=int, default=1000, help="revisions to inject")
    parser.add_argument("--seed", type=int, default=0, help="which set of ids (0..1000)")
    parser.add_argument("--rate", type=float, default=0.0, help="revisions/s (0: no limit)")
    parser.add_argument("--batch", type=int, default=50, help="revisions per commit")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if not (0 <= args.seed <= 1000 and 0 <= args.count < 100_000_000 and args.batch >= 1):
        parser.error("need 0 <= --seed <= 1000, 0 <= --count < 1e8, --batch >= 1")
    configure_logging(args.log_level, "json")
    try:
        config = config_mod.load(args.config)
        lock = _lock(config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        summary = anyio.run(_run, config, args.count, args.seed, args.rate, args.batch)
    finally:
        os.close(lock)
    sys.stdout.buffer.write(msgspec.json.encode(summary) + b"\n")
    return 0 if summary.undelivered == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
