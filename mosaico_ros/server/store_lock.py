"""The lock that gives one process at a time a store directory.

The lock is an exclusive `flock` on `<store>/LOCK`, released by the kernel
when its holder dies. The holder writes who it is into the file, so the
next opener's error can name the server to reach instead.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from mosaico_ros.server.errors import StoreError


class StoreLock:
    """Exclusive use of a store directory, as a context manager.

    Args:
        store: The store directory; created when absent.
        advice: What the error tells a second opener to do instead.

    """

    def __init__(self, store: Path, advice: str) -> None:
        self.store = store
        self._advice = advice
        self._file: IO[Any] | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            StoreError: Another process holds it; the message names the holder.

        """
        self.store.mkdir(parents=True, exist_ok=True)
        lock_file = (self.store / 'LOCK').open('a+')
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            lock_file.seek(0)
            holder = lock_file.read().strip() or 'another server'
            lock_file.close()
            msg = f'store {self.store} is in use by {holder}; {self._advice}'
            raise StoreError(msg) from err
        self._file = lock_file

    def announce(self, holder: str) -> None:
        """Say in the lock file who holds the store, for the error a second opener gets."""
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(holder)
        self._file.flush()

    def release(self) -> None:
        """Give the store up (nothing happens when it is not held)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
