"""The gate between a session's DoPut streams and its finalize.

A DoPut passes the gate (`entered`) before it claims its topic; a finalize
closes the gate (`closing`) before it waits for the streams inside and
commits. So a DoPut either entered first, and the finalize waits for it to
end, or it finds the gate closed and is refused; and a DoPut entering after
the commit is refused by the catalog, which checks that the session is not
finalized in the same transaction that claims the topic. Once a finalize
returns, no stream can add to the session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mosaico_ros.server.errors import ConflictError


class UploadGate:
    """Counts the open DoPut streams of each session and lets a finalize shut them out."""

    def __init__(self) -> None:
        self._open: dict[int, int] = {}
        self._closing: set[int] = set()
        self._changed = threading.Condition()

    @contextmanager
    def entered(self, session_id: int, what: str) -> Iterator[None]:
        """Hold the session open for one DoPut stream.

        Raises:
            ConflictError: The session is being finalized.

        """
        with self._changed:
            if session_id in self._closing:
                raise ConflictError(f'{what}: its session is being finalized')
            self._open[session_id] = self._open.get(session_id, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                self._open[session_id] -= 1
                if not self._open[session_id]:
                    del self._open[session_id]
                self._changed.notify_all()

    @contextmanager
    def closing(self, session_id: int, timeout: float, what: str) -> Iterator[None]:
        """Refuse new streams, wait for the open ones to end, then run the body (the commit).

        Raises:
            ConflictError: Another finalize of the session is running, or
                streams are still open after `timeout` seconds.

        """
        with self._changed:
            if session_id in self._closing:
                raise ConflictError(f'{what}: the session is already being finalized')
            self._closing.add(session_id)
        try:
            with self._changed:
                idle = self._changed.wait_for(lambda: session_id not in self._open, timeout)
            if not idle:
                raise ConflictError(f'{what}: DoPut streams of the session are still open')
            yield
        finally:
            with self._changed:
                self._closing.discard(session_id)
