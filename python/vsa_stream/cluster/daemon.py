"""``vsa-stream run --cluster``: one daemon of the fleet (engine + node + the ALERTS sink)."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

from vsa_stream.cluster.alerts import AlertStreamSink
from vsa_stream.cluster.evidence import EvidenceBucket, node_evidence
from vsa_stream.cluster.node import Node
from vsa_stream.cluster.reviews import ReviewBook, follow_reviews
from vsa_stream.cluster.store import ClusterOptions, ClusterStore, connect
from vsa_stream.config import Config
from vsa_stream.engine import Engine, EngineResult
from vsa_stream.log import get_logger
from vsa_stream.outbox import Outbox
from vsa_stream.sinks import Sink

__all__ = ["serve"]


async def serve(
    config: Config, sinks: list[Sink], outbox: Outbox, options: ClusterOptions
) -> EngineResult:
    """Join the cluster and run this daemon's share of the cameras until SIGINT/SIGTERM.

    The cameras of ``config`` are not run: the fleet's cameras come from the cluster (``vsa-stream
    cluster apply``). ``config`` gives this daemon's sinks, outbox and state directory; the
    ``ALERTS`` stream is added to ``sinks``.
    """
    log = get_logger(node=options.node_id)
    # SIGHUP is caught before anything is logged: a reload sent as soon as the daemon says it
    # joined (systemd, a script watching the log) would otherwise end it (SIGHUP's default).
    # Signals that arrive before the task below reads them wait in the receiver.
    try:
        with anyio.open_signal_receiver(signal.SIGHUP) as hups:
            return await _serve(config, sinks, outbox, options, log, hups)
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # anyio put back the default: ending


async def _serve(
    config: Config,
    sinks: list[Sink],
    outbox: Outbox,
    options: ClusterOptions,
    log: Any,
    hups: AsyncIterator[signal.Signals],
) -> EngineResult:
    nc = await connect(options.servers, name=f"vsa-stream {options.node_id}")
    evidence = None
    try:
        store = await ClusterStore(nc, options).open()
        log.info(
            "joined the cluster",
            servers=options.servers,
            capacity=options.capacity,
            ttl_s=options.ttl_s,
            replicas=store.replicas,
        )
        node = Node(store, options, config)
        reviews = await ReviewBook(store).open()
        await node.check_unique()
        stream = AlertStreamSink(store, options.node_id, node.epoch_of)
        evidence = node_evidence(config)  # privacy.snapshots: copied to the evidence bucket
        engine = Engine(
            config,
            [*sinks, stream],
            outbox=outbox,
            dynamic=True,
            observe=node.observe,
            evidence=evidence,
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(node.run, engine)
            tg.start_soon(_ignore_sighup, hups, log)
            tg.start_soon(follow_reviews, reviews, engine.delivery, options.node_id)
            if evidence is not None:
                bucket = await EvidenceBucket(store, config.privacy.retention_days).open()
                tg.start_soon(bucket.keep, evidence)
            result = await engine.run()
            # The node left when the engine began to stop; this ends it in any case (also
            # when the engine stopped before it could take cameras).
            tg.cancel_scope.cancel()
        return result
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5.0):
            if evidence is not None:
                await anyio.to_thread.run_sync(evidence.close)
            await nc.close()


async def _ignore_sighup(hups: AsyncIterator[signal.Signals], log: Any) -> None:
    """A SIGHUP (systemd's ``ExecReload``) must not end a cluster daemon: it is logged."""
    async for _ in hups:
        log.warning(
            "SIGHUP ignored: in cluster mode cameras change with `vsa-stream cluster "
            "apply`; this daemon's own configuration changes at a restart"
        )
