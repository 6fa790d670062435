"""Cluster mode on NATS JetStream: cameras spread over many daemons (see ``docs/cluster.md``).

::

    daemon ──lease──► KV vsa_leases: nodes.<id> (TTL), leader (TTL)
    leader ──CAS────► KV vsa_assign: cam.<id> = {node, epoch}      (rendezvous hashing)
    workers ◄─poll─── KV vsa_assign, vsa_config ──► Engine.start_camera / stop_camera
    outbox ──sink───► stream ALERTS (Nats-Msg-Id = <event id>-<revision>, Vsa-Epoch)

The daemon only uses what JetStream provides (replicated buckets with compare-and-swap, a
replicated de-duplicating stream); it implements no consensus of its own.
"""

from __future__ import annotations

from vsa_stream.cluster.assign import assign
from vsa_stream.cluster.store import Assignment, ClusterOptions, NodeRecord

__all__ = ["Assignment", "ClusterOptions", "NodeRecord", "assign"]
