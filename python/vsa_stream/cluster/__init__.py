"""Cluster mode on NATS JetStream: cameras spread over many daemons (see ``docs/cluster.md``).

::

    lease process ─► KV vsa_leases: nodes.<id> (TTL, small), leader (TTL)
    leader ──CAS───► KV vsa_assign: node.<id> = {cameras: {cam: {epoch, claimed, prev}}}
           ──pub───► vsa.kick.<node> (read your record now)
    worker ◄─get──── its own vsa_assign record + vsa_config revision (configs on change)
           ──put───► KV vsa_runs: node.<id> (cameras it runs) ──► Engine.start/stop_camera
    outbox ──sink──► stream ALERTS (Nats-Msg-Id = <event id>-<revision>, Vsa-Epoch)

The daemon only uses what JetStream provides (replicated buckets with compare-and-swap, a
replicated de-duplicating stream); it implements no consensus of its own.
"""

from __future__ import annotations

from vsa_stream.cluster.assign import assign
from vsa_stream.cluster.store import Assignment, ClusterOptions, NodeRecord

__all__ = ["Assignment", "ClusterOptions", "NodeRecord", "assign"]
