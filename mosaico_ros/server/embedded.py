"""`EmbeddedServer`: a store directory served over Arrow Flight from a background thread.

Start-up recovery: the store is locked against a second server, partial and
unreferenced chunk files are deleted, and sessions that were never finalized
are reaped with their data (no client can still be writing them after a
restart), together with sequences left without any session.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from pyarrow import flight

from mosaico_ros.server.catalog import Catalog
from mosaico_ros.server.chunks import DEFAULT_CHUNK_BYTES, ChunkFiles
from mosaico_ros.server.errors import StoreError
from mosaico_ros.server.permissions import KeyMiddlewareFactory
from mosaico_ros.server.service import MosaicoFlightService

logger = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
"""gRPC message size advertised by `info` (decode and encode)."""


class EmbeddedServer:
    """A Mosaico server on one store directory, as a context manager.

    Entering opens (and recovers) the store and starts serving in a
    background thread; leaving stops the server and closes the store.

    Args:
        store: Store directory; created when absent.
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (see `.port`).
        api_keys: Token to permission (`read`, `write`, `delete`, `manage`);
            None serves without authentication.
        tls_cert_chain: PEM certificate chain; with `tls_private_key`, serve TLS.
        tls_private_key: PEM private key.
        max_message_size: Largest gRPC message advertised to clients.
        chunk_max_bytes: Buffered upload size at which a topic rolls a new chunk file.

    """

    def __init__(
        self,
        store: Path,
        host: str = '127.0.0.1',
        port: int = 0,
        *,
        api_keys: dict[str, str] | None = None,
        tls_cert_chain: bytes | None = None,
        tls_private_key: bytes | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        chunk_max_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if (tls_cert_chain is None) != (tls_private_key is None):
            raise ValueError('TLS needs both tls_cert_chain and tls_private_key')
        self.store = Path(store)
        self.host = host
        self._requested_port = port
        self._api_keys = api_keys
        self._tls = (tls_cert_chain, tls_private_key) if tls_cert_chain is not None else None
        self._max_message_size = max_message_size
        self._chunk_max_bytes = chunk_max_bytes
        self._service: MosaicoFlightService | None = None
        self._thread: threading.Thread | None = None
        self._catalog: Catalog | None = None
        self._lock_file: IO[Any] | None = None
        self.port = port

    @property
    def scheme(self) -> str:
        """`grpc+tls` when serving TLS, else `grpc`."""
        return 'grpc+tls' if self._tls is not None else 'grpc'

    @property
    def location(self) -> str:
        """URI clients connect to, e.g. `grpc://127.0.0.1:6726`."""
        return f'{self.scheme}://{self.host}:{self.port}'

    def _open_store(self) -> tuple[Catalog, ChunkFiles]:
        self.store.mkdir(parents=True, exist_ok=True)
        lock_file = (self.store / 'LOCK').open('a+')
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            lock_file.seek(0)
            holder = lock_file.read().strip() or 'another server'
            lock_file.close()
            msg = (
                f'store {self.store} is in use by {holder}; stop it, or reach it '
                'with --host/--port instead of --store'
            )
            raise StoreError(msg) from err
        self._lock_file = lock_file
        catalog = Catalog(self.store / 'catalog.sqlite')
        files = ChunkFiles(self.store)
        files.remove(catalog.reap_pending())
        files.remove_orphans(catalog.chunk_files())
        return catalog, files

    def start(self) -> None:
        """Open the store and start serving in a background thread."""
        if self._service is not None:
            raise RuntimeError('server already started')
        catalog, files = self._open_store()
        self._catalog = catalog
        try:
            certificates = None
            if self._tls is not None:
                certificates = [flight.CertKeyPair(self._tls[0], self._tls[1])]
            self._service = MosaicoFlightService(
                f'{self.scheme}://{self.host}:{self._requested_port}',
                catalog,
                files,
                max_message_size=self._max_message_size,
                chunk_max_bytes=self._chunk_max_bytes,
                auth=KeyMiddlewareFactory(self._api_keys) if self._api_keys is not None else None,
                tls_certificates=certificates,
            )
        except BaseException:
            self._close_store()
            raise
        self.port = self._service.port
        self._announce_in_lock_file()
        self._thread = threading.Thread(
            target=self._service.serve,
            name=f'mosaico-server-{self.port}',
            daemon=True,
        )
        self._thread.start()
        logger.info('serving %s on %s', self.store, self.location)

    def _announce_in_lock_file(self) -> None:
        """Say in the LOCK file who holds the store, for the error a second opener gets."""
        assert self._lock_file is not None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f'the server at {self.location} (pid {os.getpid()})')
        self._lock_file.flush()

    def stop(self) -> None:
        """Stop serving and close the store."""
        if self._service is not None:
            self._service.shutdown()
            if self._thread is not None:
                self._thread.join()
            self._service = None
            self._thread = None
        self._close_store()

    def _close_store(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down cleanly (for the CLI)."""
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            number: signal.signal(number, request_stop)
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            with self:
                print(
                    f'mosaico server: {self.location} store={self.store} pid={os.getpid()}',
                    flush=True,
                )
                while not stop.wait(0.5):
                    pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
