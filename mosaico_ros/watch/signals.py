"""Stopping a long-running service between bags, or abandoning the bag in progress.

The first SIGTERM or SIGINT asks to stop: the service takes no new work and
lets the work in progress finish within a grace period. When the grace
period runs out, or at a second signal, the work is asked to abandon: its
next `check()` raises `Abandon`, whose cleanup (the session's `Delete`
policy) removes what it stored, so it is redone at the next start.

The handlers only set flags. Raising from a signal handler could interrupt
anything, a `fork` of worker processes or a lock held by the main thread
included; the work raises at points where that is safe instead.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_NAP_S = 0.05


class Abandon(BaseException):
    """Raised inside the work in progress to abandon it (a `BaseException`, like Ctrl-C)."""


class StopSignals:
    """Handle SIGTERM and SIGINT while the block runs (main thread only).

    Args:
        grace_s: Seconds the work in progress may go on after the first signal.

    """

    def __init__(self, grace_s: float) -> None:
        self._grace_s = grace_s
        self.stopping = False
        self.abandoning = False
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

    def sleep(self, seconds: float) -> None:
        """Sleep, waking up early when asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, _NAP_S))

    @contextmanager
    def working(self) -> Iterator[None]:
        """Mark the work in progress: it may be asked to abandon."""
        self._busy = True
        self.abandoning = False
        try:
            yield
        finally:
            self._busy = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    def check(self) -> None:
        """Raise `Abandon` if the work in progress is to be abandoned.

        Raises:
            Abandon: The grace period ran out, or a second signal came.

        """
        if self.abandoning and self._busy:
            raise Abandon('stopped by a signal')

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        del frame
        if number == signal.SIGALRM or self.stopping or self._grace_s <= 0:
            self.abandoning = True
        elif self._busy:
            signal.setitimer(signal.ITIMER_REAL, self._grace_s)
        self.stopping = True


class AbandonCheck:
    """A progress sink for the injector that abandons the bag when asked (`StopSignals`)."""

    def __init__(self, signals: StopSignals) -> None:
        self._signals = signals

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        """Check before the first message is stored."""
        del path, messages, size_bytes
        self._signals.check()

    def advance(self, messages: int, payload_bytes: int) -> None:
        """Check between batches of messages."""
        del messages, payload_bytes
        self._signals.check()

    def finish(self) -> None:
        """Check before the session is finalized."""
        self._signals.check()
