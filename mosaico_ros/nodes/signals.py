"""SIGINT and SIGTERM as a request to stop, for nodes that finish their work before exiting."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def stop_on_signals(
    stop: threading.Event, give_up: threading.Event | None = None
) -> Iterator[None]:
    """Set `stop` on SIGINT or SIGTERM while the block runs; restore the handlers after.

    Args:
        stop: Set by the first signal.
        give_up: Set by a second signal, when given (a person insisting).

    """
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        (give_up if give_up is not None and stop.is_set() else stop).set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
