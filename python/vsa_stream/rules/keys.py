"""Zone keys whose cooldown holds back the same objects only, never a different one.

A zone rule (``intrusion``, ``wrong_way``) keys its events by zone: while an event is open,
every object of the zone folds into it. After it closes, the lifecycle's cooldown keeps the
same person, stepping out and back in or lost for a moment by the tracker, from alerting again.
It must not delay someone else: a track the zone's last event did not contain that triggers
during the cooldown gets a fresh key of the zone (``zone#1``, ``zone#2``, ...), hence its own
confirmation timer and no cooldown; the last event's tracks count for nothing until the
cooldown is over (alone they trigger nothing, beside a newcomer they join its condition's
evidence but do not hold it). Untracked objects (no track id) cannot be told apart and keep
the zone's cooldown.
"""

from __future__ import annotations

from collections.abc import Sequence

from vsa_stream.events import Event
from vsa_stream.rules.lifecycle import Lifecycle

__all__ = ["ZoneKeys"]


class ZoneKeys:
    """The lifecycle key of each zone, renewed for a newcomer arriving during a cooldown.

    Example:
        >>> from vsa_stream.rules.lifecycle import Timing
        >>> keys = ZoneKeys(Lifecycle("cam", "intrusion", Timing(cooldown_s=10.0)), 10.0)
        >>> keys.key("z", [1], 0.0), keys.key("z", [1, 2], 0.5)  # no cooldown: one condition
        ('z', 'z')
    """

    def __init__(self, lifecycle: Lifecycle, cooldown_s: float) -> None:
        self.lifecycle = lifecycle
        self.cooldown_s = cooldown_s
        self._key: dict[str, str] = {}
        self._generation: dict[str, int] = {}
        self._members: dict[str, set[int]] = {}  # tracks of the zone's current condition
        self._held: dict[str, set[int]] = {}  # tracks of the zone's last event
        self._closed: dict[str, tuple[float, str]] = {}  # when and under which key it closed

    def key(self, zone_id: str, track_ids: Sequence[int], now_s: float) -> str | None:
        """The key of ``zone_id``'s condition this frame for the tracks that trigger it; None
        when they are all tracks of the zone's last event, in its cooldown (no trigger)."""
        key = self._key.setdefault(zone_id, zone_id)
        members = self._members.setdefault(zone_id, set())
        closed_s, closed_key = self._closed.get(zone_id, (float("-inf"), ""))
        cooling = now_s - closed_s < self.cooldown_s
        held = self._held.get(zone_id, set()) if cooling else set()
        fresh = [t for t in track_ids if t not in held]
        if track_ids and not fresh:
            return None  # the same objects again, within the cooldown
        if cooling and fresh and key == closed_key:
            generation = self._generation.get(zone_id, 0) + 1
            self._generation[zone_id] = generation
            key = self._key[zone_id] = f"{zone_id}#{generation}"
            members.clear()
        elif not cooling and self.lifecycle.since(key, now_s) is None:
            members.clear()  # a new condition after the cooldown: its own members
        members.update(fresh)
        return key

    def closed(self, events: Sequence[Event], now_s: float) -> None:
        """Note the zones whose event closed among this frame's ``events``."""
        for event in events:
            if event.state == "closed" and event.zone_id is not None:
                zone_id = event.zone_id
                before_s, _ = self._closed.get(zone_id, (float("-inf"), ""))
                held = set(self._members.get(zone_id, ()))
                if now_s - before_s < self.cooldown_s:  # still held for the event before
                    held |= self._held.get(zone_id, set())
                self._closed[zone_id] = (now_s, self._key.get(zone_id, zone_id))
                self._held[zone_id] = held
