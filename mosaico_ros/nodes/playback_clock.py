"""Recorded time as it advances during a playback: scaled by a rate, frozen while paused.

The clock maps the steady wall clock onto recorded time from an anchor
(recorded time `t0` at wall time `w0`): ``now = t0 + (wall - w0) * rate``.
Every change (pause, resume, rate, jump) moves the anchor to the present,
so recorded time never skips when the rate changes, and wakes every
`wait_until`, which then waits again under the new terms. A rate of 0
means as fast as possible: every wait returns at once, and the clock
follows the messages waited for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class PlaybackClock:
    """Recorded time during a playback, shared by the scheduler, the services and `/clock`.

    Args:
        rate: Playback speed factor; 0 plays as fast as possible.
        paused: Start paused.
        start_ns: Recorded time at start.
        monotonic_ns: The steady clock (the test's own, if it wants).

    """

    def __init__(
        self,
        rate: float = 1.0,
        *,
        paused: bool = False,
        start_ns: int = 0,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """Anchor recorded time `start_ns` at the present."""
        self._monotonic_ns = monotonic_ns
        self._changed = threading.Condition()
        self._rate = rate
        self._paused = paused
        self._wall = monotonic_ns()
        self._time = start_ns

    def _at(self, wall: int) -> int:
        if self._paused or self._rate == 0:
            return self._time
        return self._time + int((wall - self._wall) * self._rate)

    def _reanchor(self) -> None:
        wall = self._monotonic_ns()
        self._time, self._wall = self._at(wall), wall
        self._changed.notify_all()

    @property
    def rate(self) -> float:
        """The speed factor."""
        return self._rate

    @property
    def paused(self) -> bool:
        """Whether recorded time stands still."""
        return self._paused

    def now(self) -> int:
        """Return the recorded time now, in nanoseconds."""
        with self._changed:
            return self._at(self._monotonic_ns())

    def set_rate(self, rate: float) -> None:
        """Change the speed factor from now on (0: as fast as possible).

        Raises:
            ValueError: The rate is negative.

        """
        if rate < 0:
            raise ValueError(f'rate {rate} is negative')
        with self._changed:
            self._reanchor()
            self._rate = rate

    def set_paused(self, paused: bool) -> bool:
        """Pause or resume; return whether the state changed."""
        with self._changed:
            if paused == self._paused:
                return False
            self._reanchor()
            self._paused = paused
            return True

    def jump(self, time_ns: int) -> None:
        """Make `time_ns` the recorded time now (a seek, the next window, a step)."""
        with self._changed:
            self._time, self._wall = time_ns, self._monotonic_ns()
            self._changed.notify_all()

    def interrupt(self) -> None:
        """Wake every `wait_until`, so it checks its `cancel` again."""
        with self._changed:
            self._changed.notify_all()

    def wait_until(self, time_ns: int, cancel: Callable[[], bool] | None = None) -> bool:
        """Block until the recorded time reaches `time_ns`.

        Args:
            time_ns: Recorded time to wait for.
            cancel: Checked on every wake-up (see `interrupt`); True stops the wait.

        Returns:
            True when the time came, False when `cancel` stopped the wait.

        """
        if self._rate == 0 and not self._paused:  # as fast as possible: no lock, no wait
            if cancel is not None and cancel():
                return False
            self._time = max(self._time, time_ns)
            return True
        with self._changed:
            while True:
                if cancel is not None and cancel():
                    return False
                if self._paused:
                    self._changed.wait()
                    continue
                if self._rate == 0:
                    self._time = max(self._time, time_ns)
                    return True
                wall = self._monotonic_ns()
                remaining = (time_ns - self._at(wall)) / self._rate
                if remaining <= 0:
                    return True
                self._changed.wait(remaining / 1e9)
