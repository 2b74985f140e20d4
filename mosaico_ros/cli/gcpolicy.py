"""How the CLI's process manages memory while it injects bags: the CLI's choice, not the library's.

Decoding allocates millions of small objects; with automatic collection,
full collections walk every buffered message again and again and cost
about 40 % of decode time. So, while a command runs `GcSchedule`:

- automatic collection is off;
- at the start of each bag, everything alive once the bag is set up
  (typestore, adapters, readers) is frozen out of the collector's reach
  (`freeze`): collections need not walk it, and forked workers share its
  pages instead of copying them when the collector touches them; it is
  thawed when the bag ends (`thaw`); left alone when something else froze
  objects already;
- each stored batch calls `collect`, which collects everything at most
  about once a second and so bounds cyclic garbage;
- memory freed by one batch is kept for the next (`keep_freed_memory`, as
  the conversion workers do): a bag's payloads pass through buffers of a
  few megabytes, which glibc would otherwise return to the kernel and fault
  in again (on the mixed recording of ``bench/inject.py``, a tenth of the
  page faults and about 0.5 s less system time).
"""

from __future__ import annotations

import gc
import time
from types import TracebackType

_FULL_GC_PERIOD_S = 1.0


class GcSchedule:
    """Scheduled instead of automatic garbage collection, for the length of a `with` block."""

    def __init__(self, period_s: float = _FULL_GC_PERIOD_S) -> None:
        """Collect at most every `period_s` seconds."""
        self.period_s = period_s
        self._last = 0.0
        self._frozen = False
        self._was_enabled = False

    def __enter__(self) -> GcSchedule:
        self._was_enabled = gc.isenabled()
        gc.disable()
        from mosaico_ros.pipeline.conversion import keep_freed_memory  # not on --help's path

        keep_freed_memory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.thaw()
        if self._was_enabled:
            gc.enable()

    def collect(self) -> None:
        """Collect everything, at most once a period."""
        now = time.monotonic()
        if now - self._last >= self.period_s:
            self._last = now
            gc.collect()

    def freeze(self) -> None:
        """Move every object alive now out of the collector's reach, until `thaw`."""
        if gc.get_freeze_count() == 0:
            gc.collect()
            gc.freeze()
            self._frozen = True

    def thaw(self) -> None:
        """Undo `freeze`."""
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
