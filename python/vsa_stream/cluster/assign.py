"""Which live node runs which camera: rendezvous (highest random weight) hashing with capacity.

Each camera ranks the nodes by a hash of ``(camera, node)`` and goes to the first node of its
ranking that still has room. Cameras are placed in the order of their own hash, so the result
depends only on the set of cameras and the nodes with their capacities: every leader computes
the same map, and when a node leaves only its cameras move (plus, near full capacity, the few
that its cameras push out); when it comes back, only the cameras that rank it first return.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

__all__ = ["assign", "weight"]


def weight(camera: str, node: str) -> int:
    """The rendezvous weight of ``node`` for ``camera`` (stable across processes and versions).

    Example:
        >>> weight("cam-1", "a") == weight("cam-1", "a") != weight("cam-1", "b")
        True
    """
    digest = hashlib.blake2b(f"{camera}\0{node}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(cameras: Iterable[str], nodes: Mapping[str, int]) -> dict[str, str | None]:
    """Map each camera to a node, or to None when every node is full.

    Args:
        cameras: camera ids.
        nodes: live node id -> capacity (cameras it may run; 0 takes none).

    Example:
        >>> placed = assign([f"c{i}" for i in range(9)], {"a": 4, "b": 4, "c": 4})
        >>> sorted(placed.values()).count("a") <= 4 and None not in placed.values()
        True
        >>> assign(["c1", "c2"], {"a": 1})
        {'c1': None, 'c2': 'a'}
    """
    room = {node: max(0, capacity) for node, capacity in nodes.items()}
    order = sorted(set(cameras), key=lambda c: (weight(c, ""), c))
    result: dict[str, str | None] = {}
    for camera in order:
        ranked = sorted(room, key=lambda n: (weight(camera, n), n), reverse=True)
        chosen = next((n for n in ranked if room[n] > 0), None)
        if chosen is not None:
            room[chosen] -= 1
        result[camera] = chosen
    return dict(sorted(result.items()))
