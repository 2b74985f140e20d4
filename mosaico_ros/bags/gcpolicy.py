"""When the garbage collector runs while a bag is injected.

Decoding allocates millions of small objects; with automatic collection,
full collections walk every buffered message again and again and cost
about 40 % of decode time. So, for the length of a bag:

- automatic collection is off (`scheduled_gc`);
- everything alive once the bag is set up (typestore, adapters, readers) is
  frozen out of the collector's reach (`freeze_setup`): collections need
  not walk it, and forked workers share its pages instead of copying them
  when the collector touches them; left alone when the application froze
  objects itself;
- each stored batch calls `collect_garbage`, which collects everything at
  most about once a second and so bounds cyclic garbage.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

_FULL_GC_PERIOD_S = 1.0
_last_full_gc = [0.0]
_frozen_by_us = [False]


def collect_garbage() -> None:
    """Collect everything, at most about once a second."""
    now = time.monotonic()
    if now - _last_full_gc[0] >= _FULL_GC_PERIOD_S:
        _last_full_gc[0] = now
        gc.collect()


def freeze_setup() -> None:
    """Move every object alive now out of the collector's reach, until `scheduled_gc` ends."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
        _frozen_by_us[0] = True


@contextmanager
def scheduled_gc() -> Iterator[None]:
    """Turn automatic collection off while a bag is injected; undo `freeze_setup` after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _frozen_by_us[0]:
            _frozen_by_us[0] = False
            gc.unfreeze()
        if was_enabled:
            gc.enable()
