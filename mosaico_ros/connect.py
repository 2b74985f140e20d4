"""Connect to a target: a remote Mosaico server, or a local store served in-process.

A local store is served by exactly one server at a time (its `LOCK`). The
first command to open a store serves it in-process; commands that open the
same store while it runs share that server instead of failing. The first
command then keeps serving, after its own work, until the commands sharing
it are done, and says so. A store that a `mosaico-ros serve` holds is shared
the same way.

Sharing is coordinated with two `flock`s in the store: `LOCK` (the server)
and `LOCK.guests` (held shared by every command using another's server, and
taken exclusively by the server's command before it stops).
"""

from __future__ import annotations

import fcntl
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mosaico_ros.server.errors import StoreError
from mosaico_ros.target import Target, default_store, split_address

if TYPE_CHECKING:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server.store_lock import StoreHolder

__all__ = ['StoreMissingError', 'Target', 'default_store', 'open_client', 'serve_store']

CATALOG_NAME = 'catalog.sqlite'
"""The file whose presence makes a directory a store."""

GUESTS_NAME = 'LOCK.guests'
"""Lock file held shared by the commands using another command's server."""

RETRY_S = 0.05
"""Pause before trying again to serve or share a store that is changing hands."""

Notify = Callable[[str], None]


class StoreMissingError(StoreError):
    """A command that only reads was pointed at a directory that holds no store."""


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def open_client(
    target: Target,
    *,
    create: bool = True,
    notify: Notify = _to_stderr,
    timeout: float = 5.0,
) -> Iterator[MosaicoClient]:
    """Connect to the target, serving a local store in-process or sharing its server.

    Args:
        target: Where to connect.
        create: Create a local store that does not exist yet; commands that
            only read pass False, so a mistyped path is an error.
        notify: Where to say that the store is shared or waited for.
        timeout: Seconds to wait for the server to answer.

    Yields:
        A connected client.

    Raises:
        StoreMissingError: `create` is False and the store does not exist.
        ConnectionError: The server did not answer.

    """
    from mosaico_ros.client import MosaicoClient

    if target.host is not None:
        with MosaicoClient.connect(
            target.host,
            target.port,
            api_key=target.api_key,
            enable_tls=target.tls,
            tls_cert_path=target.tls_cert,
            timeout=timeout,
        ) as client:
            yield client
        return
    with (
        serve_store(target.store_path, owner=target.client_name, create=create, notify=notify) as (
            host,
            port,
        ),
        MosaicoClient.connect(host, port, timeout=timeout) as client,
    ):
        yield client


@contextmanager
def serve_store(
    store: Path,
    *,
    owner: str,
    create: bool = True,
    notify: Notify = _to_stderr,
) -> Iterator[tuple[str, int]]:
    """Make sure a server serves the store for as long as the block runs.

    Serves it in-process on an ephemeral loopback port, or shares the server
    that already holds it.

    Args:
        store: The store directory.
        owner: Who serves or shares, named to other commands (e.g.
            `mosaico-ros list`).
        create: Create the store when it does not exist.
        notify: Where to say that the store is shared or waited for.

    Yields:
        Host and port of the server.

    Raises:
        StoreMissingError: `create` is False and the store does not exist.

    """
    from mosaico_ros.server import EmbeddedServer
    from mosaico_ros.server.store_lock import StoreInUseError

    if not (store / CATALOG_NAME).is_file():
        if not create:
            raise StoreMissingError(
                f'there is no store at {store}: check the path (--store, MOSAICO_STORE), '
                'or inject a bag to create it',
            )
        store.mkdir(parents=True, exist_ok=True)
    said_waiting = False
    with _GuestsLock(store / GUESTS_NAME) as guests:
        while True:
            server = EmbeddedServer(store, host='127.0.0.1', port=0, owner=owner)
            try:
                server.start()
            except StoreInUseError:
                pass
            else:
                try:
                    yield '127.0.0.1', server.port
                finally:
                    try:
                        guests.wait_alone(store, notify)
                    finally:
                        server.stop()
                return
            holder = _share(store, guests)
            if holder is None:
                if not said_waiting:
                    notify(f'store {store} is changing hands; waiting for it')
                    said_waiting = True
                time.sleep(RETRY_S)
                continue
            notify(f'store {store} is in use by {holder.describe()}; sharing it')
            try:
                host, port, _ = split_address(holder.location)
                yield _loopback(host), port or 0
            finally:
                guests.leave()
            return


def _share(store: Path, guests: _GuestsLock) -> StoreHolder | None:
    """Join the server holding the store; None when it is starting or stopping."""
    from mosaico_ros.server.store_lock import StoreInUseError, StoreLock

    if not guests.join():
        return None  # its command is waiting for its guests to leave, then stops
    probe = StoreLock(store)
    try:
        probe.acquire()
    except StoreInUseError as err:
        if err.holder is not None:
            # Held while we are a guest: its command cannot stop before we leave.
            return err.holder
    else:
        probe.release()  # nobody holds it: serve it ourselves
    guests.leave()
    return None


def _loopback(host: str) -> str:
    return {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)


class _GuestsLock:
    """The `LOCK.guests` file: shared by guests, exclusive for the serving command's exit."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[Any] | None = None

    def __enter__(self) -> _GuestsLock:
        self._file = self._path.open('a+')
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()  # closing drops any flock held through it
            self._file = None

    def join(self) -> bool:
        """Take the shared lock without waiting; False while the server's command exits."""
        assert self._file is not None
        try:
            fcntl.flock(self._file, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def leave(self) -> None:
        """Drop the shared lock."""
        assert self._file is not None
        fcntl.flock(self._file, fcntl.LOCK_UN)

    def wait_alone(self, store: Path, notify: Notify) -> None:
        """Take the exclusive lock: wait until no other command uses this server."""
        assert self._file is not None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            notify(
                f'other commands are using store {store} through this one; '
                'serving it until they finish (Ctrl-C stops them too)',
            )
            fcntl.flock(self._file, fcntl.LOCK_EX)
