"""`EmbeddedServer`: a store directory served over Arrow Flight from a background thread.

Start-up recovery: the store is locked against a second server, partial and
unreferenced chunk files are deleted, and sessions that were never finalized
are reaped with their data (no client can still be writing them after a
restart), together with sequences left without any session.

With `require_api_key` every call needs a key of the store's key table
(`keys.py`), or one handed over in code as `api_keys`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType

from pyarrow import flight

from mosaico_ros.server.catalog import Catalog
from mosaico_ros.server.chunks import DEFAULT_CHUNK_BYTES, ChunkFiles
from mosaico_ros.server.keys import Authenticator, KeyStore
from mosaico_ros.server.permissions import KeyMiddlewareFactory
from mosaico_ros.server.service import MosaicoFlightService
from mosaico_ros.server.store_lock import StoreHolder, StoreLock

logger = logging.getLogger(__name__)

STORE_IN_USE_ADVICE = 'stop it, or reach it with --host/--port instead of --store'
"""What a second opener of a store in use by a server is told to do."""

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
        require_api_key: Refuse every call without a valid key of the store.
        api_keys: Token to permission (`read`, `write`, `delete`, `manage`)
            of extra keys, valid while this server runs; giving any turns
            `require_api_key` on.
        tls_cert_chain: PEM certificate chain; with `tls_private_key`, serve TLS.
        tls_private_key: PEM private key.
        max_message_size: Largest gRPC message advertised to clients.
        chunk_max_bytes: Buffered upload size at which a topic rolls a new chunk file.
        owner: The command this server lives for (e.g. `mosaico-ros list`),
            named to other openers of the store; None for a standing server.

    """

    def __init__(
        self,
        store: Path,
        host: str = '127.0.0.1',
        port: int = 0,
        *,
        require_api_key: bool = False,
        api_keys: dict[str, str] | None = None,
        tls_cert_chain: bytes | None = None,
        tls_private_key: bytes | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        chunk_max_bytes: int = DEFAULT_CHUNK_BYTES,
        owner: str | None = None,
    ) -> None:
        if (tls_cert_chain is None) != (tls_private_key is None):
            raise ValueError('TLS needs both tls_cert_chain and tls_private_key')
        self.store = Path(store)
        self.host = host
        self._requested_port = port
        self._api_keys = api_keys
        self.require_api_key = require_api_key or api_keys is not None
        self._tls = (tls_cert_chain, tls_private_key) if tls_cert_chain is not None else None
        self._max_message_size = max_message_size
        self._chunk_max_bytes = chunk_max_bytes
        self._service: MosaicoFlightService | None = None
        self._thread: threading.Thread | None = None
        self._catalog: Catalog | None = None
        self._keys: KeyStore | None = None
        self._lock = StoreLock(self.store, STORE_IN_USE_ADVICE)
        self._owner = owner
        self.port = port

    @property
    def scheme(self) -> str:
        """`grpc+tls` when serving TLS, else `grpc`."""
        return 'grpc+tls' if self._tls is not None else 'grpc'

    @property
    def location(self) -> str:
        """URI clients connect to, e.g. `grpc://127.0.0.1:6726`."""
        return f'{self.scheme}://{self.host}:{self.port}'

    def _open_store(self) -> tuple[Catalog, ChunkFiles, KeyStore]:
        self._lock.acquire()
        catalog = Catalog(self.store / 'catalog.sqlite')
        files = ChunkFiles(self.store)
        files.remove(catalog.reap_pending())
        files.remove_orphans(catalog.chunk_files())
        return catalog, files, KeyStore(self.store)

    def start(self) -> None:
        """Open the store and start serving in a background thread."""
        if self._service is not None:
            raise RuntimeError('server already started')
        catalog, files, keys = self._open_store()
        self._catalog, self._keys = catalog, keys
        try:
            certificates = None
            if self._tls is not None:
                certificates = [flight.CertKeyPair(self._tls[0], self._tls[1])]
            auth = None
            if self.require_api_key:
                auth = KeyMiddlewareFactory(Authenticator(keys, self._api_keys).permission)
            self._service = MosaicoFlightService(
                f'{self.scheme}://{self.host}:{self._requested_port}',
                catalog,
                files,
                keys=keys,
                max_message_size=self._max_message_size,
                chunk_max_bytes=self._chunk_max_bytes,
                auth=auth,
                tls_certificates=certificates,
            )
        except BaseException:
            self._close_store()
            raise
        self.port = self._service.port
        self._announce_in_lock_file()
        # `wait`, not `serve`: `serve` takes over SIGINT and SIGTERM to shut the server down,
        # which must stay the embedding command's choice (it may finish its work first).
        self._thread = threading.Thread(
            target=self._service.wait,
            name=f'mosaico-server-{self.port}',
            daemon=True,
        )
        self._thread.start()
        logger.info('serving %s on %s', self.store, self.location)

    def _announce_in_lock_file(self) -> None:
        """Say in the LOCK file who holds the store, for the next opener to share or name it."""
        self._lock.announce(StoreHolder(self.location, os.getpid(), self._owner))

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
        for resource in (self._catalog, self._keys):
            if resource is not None:
                resource.close()
        self._catalog = self._keys = None
        self._lock.release()

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
