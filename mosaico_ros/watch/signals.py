"""Stopping a long-running service between bags, or abandoning the bag in progress.

The first SIGTERM or SIGINT asks to stop: the service stops taking new work
and lets the work in progress finish within a grace period. When the grace
period runs out, or at a second signal, `Abandon` is raised in the main
thread inside the work, whose cleanup (the session's `Delete` policy)
removes what it stored, so it is redone at the next start.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Abandon(BaseException):
    """Raised inside the work in progress to abandon it (a `BaseException`, like Ctrl-C)."""


class StopSignals:
    """Handle SIGTERM and SIGINT while the block runs (main thread only).

    Args:
        grace_s: Seconds the work in progress may go on after the first signal.

    Attributes:
        stop: Set by the first signal.

    """

    def __init__(self, grace_s: float) -> None:
        self._grace_s = grace_s
        self.stop = threading.Event()
        self._busy = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for number in (*_SIGNALS, signal.SIGALRM):
            self._previous[number] = signal.signal(number, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    @contextmanager
    def working(self) -> Iterator[None]:
        """Mark the work in progress: a signal during it may abandon it."""
        self._busy = True
        try:
            yield
        finally:
            self._busy = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        del frame
        if number == signal.SIGALRM or self.stop.is_set():
            if self._busy:
                self._busy = False
                raise Abandon(signal.Signals(number).name)
            return
        self.stop.set()
        if self._busy:
            if self._grace_s <= 0:
                self._busy = False
                raise Abandon(signal.Signals(number).name)
            signal.setitimer(signal.ITIMER_REAL, self._grace_s)
