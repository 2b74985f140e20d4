"""The lock that gives one server at a time a store directory, and says who holds it.

The lock is an exclusive `flock` on `<store>/LOCK`, released by the kernel
when its holder dies. The holder writes who it is into the file: a JSON line
with where it listens, its process id and, for a server that lives only as
long as one command, that command's name. The next opener's error names the
holder, and `mosaico_ros.connect` uses the line to share that server.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from mosaico_ros.server.errors import StoreError

LOCK_NAME = 'LOCK'
"""File name of the lock inside a store directory."""

DEFAULT_ADVICE = 'stop it, or reach it with --host/--port instead of --store'
"""What a second opener of a store held by a standing server is told to do."""


@dataclass(frozen=True)
class StoreHolder:
    """The server holding a store.

    Attributes:
        location: URI it listens on, e.g. `grpc://127.0.0.1:40123`.
        pid: Its process id.
        owner: The command it serves while that command runs (e.g.
            `mosaico-ros inject`); None for a standing server (`serve`).

    """

    location: str
    pid: int
    owner: str | None = None

    def describe(self) -> str:
        """Say who holds the store, in words for an error or a notice."""
        if self.owner is None:
            return f'the server at {self.location} (pid {self.pid})'
        return f'{self.owner} (pid {self.pid}), which serves it at {self.location} while it runs'

    def to_json(self) -> str:
        """Return the line written into the lock file."""
        return json.dumps({'location': self.location, 'pid': self.pid, 'owner': self.owner})

    @classmethod
    def from_json(cls, text: str) -> StoreHolder | None:
        """Parse the lock file's line; None when it is empty or plain text."""
        try:
            document = json.loads(text)
            return cls(str(document['location']), int(document['pid']), document.get('owner'))
        except (ValueError, TypeError, KeyError):
            return None


class StoreInUseError(StoreError):
    """Another process holds the store.

    Attributes:
        store: The store directory.
        holder: The server holding it, when the lock file says so.

    """

    def __init__(self, store: Path, text: str, advice: str) -> None:
        self.store = store
        self.holder = StoreHolder.from_json(text)
        if self.holder is None:
            who = text.strip() or 'another server'
        else:
            who = self.holder.describe()
            if self.holder.owner is not None:
                advice = 'wait for it to finish'
        super().__init__(f'store {store} is in use by {who}; {advice}')


class StoreLock:
    """Exclusive use of a store directory, as a context manager.

    Args:
        store: The store directory; created when absent.
        advice: What the error tells a second opener to do instead, when a
            standing server holds the store.

    """

    def __init__(self, store: Path, advice: str = DEFAULT_ADVICE) -> None:
        self.store = store
        self._advice = advice
        self._file: IO[Any] | None = None

    def acquire(self) -> None:
        """Take the lock and clear the previous holder's line.

        Raises:
            StoreInUseError: Another process holds it; the message names the holder.

        """
        self.store.mkdir(parents=True, exist_ok=True)
        lock_file = (self.store / LOCK_NAME).open('a+')
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            lock_file.seek(0)
            text = lock_file.read()
            lock_file.close()
            raise StoreInUseError(self.store, text, self._advice) from err
        lock_file.truncate(0)
        self._file = lock_file

    def announce(self, holder: StoreHolder | str) -> None:
        """Say in the lock file who holds the store, for the next opener."""
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(holder.to_json() if isinstance(holder, StoreHolder) else holder)
        self._file.flush()

    def release(self) -> None:
        """Give the store up (nothing happens when it is not held)."""
        if self._file is not None:
            self._file.truncate(0)
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
