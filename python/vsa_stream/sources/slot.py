"""The hand-off between a camera's decode thread and its analysis thread.

A live camera keeps only the newest frame (``latest``): when analysis falls behind, the older
frame is dropped and counted, so latency never grows. A file scanned as fast as possible uses
``block``: the decoder waits for analysis, and nothing is dropped.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, Literal, TypeVar

__all__ = ["FrameSlot"]

T = TypeVar("T")


class FrameSlot(Generic[T]):
    """A bounded, thread-safe queue that either drops its oldest item or blocks when full.

    Example:
        >>> slot: FrameSlot[int] = FrameSlot("latest")
        >>> slot.put(1), slot.put(2), slot.dropped
        (True, True, 1)
        >>> slot.get()
        2
    """

    def __init__(self, mode: Literal["latest", "block"], capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.mode = mode
        self.capacity = capacity
        self.dropped = 0
        self.accepted = 0
        self._items: deque[T] = deque()
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item: T) -> bool:
        """Offer an item; False when the slot is closed (the item is discarded)."""
        with self._cond:
            if self.mode == "block":
                while len(self._items) >= self.capacity and not self._closed:
                    self._cond.wait()
            if self._closed:
                return False
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.accepted += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting for one; None once closed and empty, or on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """No more items: wakes every waiter; items already in remain readable."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed
