"""The background thread of a session: encodes and sends while the caller pushes."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

_T = TypeVar('_T')

logger = logging.getLogger(__name__)


class UploadWorker:
    """One thread running the upload jobs of a session in submission order.

    The queue is bounded in jobs and in the bytes they hold, so a producer
    faster than the encoder and the network blocks in `submit` instead of
    growing memory without limit.
    """

    def __init__(self, depth: int, name: str, max_bytes: int | None = None) -> None:
        """Start the thread.

        Args:
            depth: Jobs that may wait before `submit` blocks.
            name: Thread name, for debugging.
            max_bytes: Bytes that may wait before `submit` blocks (a job
                larger than that waits alone); None for no byte bound.

        """
        self._jobs: queue.Queue[tuple[Callable[[], Any], int] | None] = queue.Queue(maxsize=depth)
        self._max_bytes = max_bytes
        self._queued_bytes = 0
        self._room = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = False
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, nbytes = item
            try:
                job()
            except Exception:
                # Jobs record their own failures; anything escaping is a bug
                # that must not kill the thread every other topic depends on.
                logger.exception('upload job failed unexpectedly')
            finally:
                if nbytes:
                    with self._room:
                        self._queued_bytes -= nbytes
                        self._room.notify_all()

    def submit(self, job: Callable[[], Any], nbytes: int = 0) -> None:
        """Queue a job holding `nbytes`, blocking while the queue is full.

        Raises:
            RuntimeError: The worker was stopped.

        """
        if self._stopped:
            raise RuntimeError('upload worker is stopped')
        if self._max_bytes is None:
            nbytes = 0
        elif nbytes:
            with self._room:
                limit = self._max_bytes - nbytes
                self._room.wait_for(lambda: not self._queued_bytes or self._queued_bytes <= limit)
                self._queued_bytes += nbytes
        self._jobs.put((job, nbytes))

    def call(self, job: Callable[[], _T]) -> Future[_T]:
        """Queue a job and return a future of its result."""
        future: Future[_T] = Future()

        def run() -> None:
            try:
                future.set_result(job())
            except BaseException as err:
                future.set_exception(err)

        self.submit(run)
        return future

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        if self._stopped:
            return
        self._stopped = True
        self._jobs.put(None)
        self._thread.join()
