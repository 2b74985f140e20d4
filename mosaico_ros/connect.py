"""One way to reach a Mosaico server: an embedded store or a remote `mosaicod`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mosaico_ros.protocol import DEFAULT_PORT

if TYPE_CHECKING:
    from mosaico_ros.client import MosaicoClient


def default_store() -> Path:
    """Return the store used when neither `--store` nor `--host` is given.

    `$MOSAICO_STORE` wins; otherwise the XDG data directory, so every command on
    one machine meets the same store by default.
    """
    if env := os.environ.get('MOSAICO_STORE'):
        return Path(env)
    data_home = Path(os.environ.get('XDG_DATA_HOME', Path.home() / '.local' / 'share'))
    return data_home / 'mosaico_ros' / 'store'


@dataclass(frozen=True)
class Target:
    """Where to connect: a store directory served in-process, or a remote server."""

    store: Path | None = None
    host: str | None = None
    port: int = DEFAULT_PORT
    api_key: str | None = None
    tls_cert: Path | None = None

    def describe(self) -> str:
        """Human-readable form for progress lines and errors."""
        if self.host is None:
            return f'store {self.store or default_store()}'
        scheme = 'grpc+tls' if self.tls_cert else 'grpc'
        return f'{scheme}://{self.host}:{self.port}'


@contextmanager
def open_client(target: Target) -> Iterator[MosaicoClient]:
    """Connect to the target, starting an in-process server for a store.

    The in-process server listens on an ephemeral loopback port that lives
    exactly as long as the client, so there is no port to manage.

    Args:
        target: Where to connect.

    Yields:
        A connected client.

    """
    from mosaico_ros.client import MosaicoClient

    if target.host is not None:
        with MosaicoClient.connect(
            target.host,
            target.port,
            api_key=target.api_key,
            tls_cert_path=str(target.tls_cert) if target.tls_cert else None,
        ) as client:
            yield client
        return

    from mosaico_ros.server import EmbeddedServer

    store = target.store or default_store()
    store.mkdir(parents=True, exist_ok=True)
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as client,
    ):
        yield client
