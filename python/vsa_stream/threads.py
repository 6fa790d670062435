"""Blocking work in daemon threads, awaited from the event loop.

anyio's worker threads are shared and not daemonic; a camera's decode thread may sit in a
network read that ignores cancellation, so each camera gets its own daemon threads instead:
the loop awaits their completion, and at shutdown a stuck one is abandoned, not joined.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

__all__ = ["run_in_daemon_thread"]

T = TypeVar("T")


class _Outcome(Generic[T]):
    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None


async def run_in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """Run ``fn`` in a new daemon thread and wait for its result without blocking the loop.

    Cancelling the awaiting task abandons the thread: ``fn`` must watch a stop flag of its
    own to end promptly.
    """
    done = anyio.Event()
    outcome: _Outcome[T] = _Outcome()
    token = anyio.lowlevel.current_token()

    def target() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # handed to the awaiting task
            outcome.error = exc
        finally:
            # RuntimeError: the event loop is gone, nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(done.set, token=token)

    threading.Thread(target=target, name=name, daemon=True).start()
    await done.wait()
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]
