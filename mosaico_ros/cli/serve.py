"""`mosaico-ros serve`: the embedded server on a store directory."""

from __future__ import annotations

from pathlib import Path

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console
from mosaico_ros.connect import default_store
from mosaico_ros.protocol import DEFAULT_PORT


@main.command()
@click.option(
    '--store',
    type=click.Path(file_okay=False, path_type=Path),
    default=default_store,
    show_default='$MOSAICO_STORE or the XDG data directory',
    help='Directory holding the catalog and the data chunks; created if missing.',
)
@click.option('--host', default='127.0.0.1', show_default=True, help='Address to listen on.')
@click.option(
    '--port', type=int, default=DEFAULT_PORT, show_default=True, help='Port to listen on.'
)
def serve(store: Path, host: str, port: int) -> None:
    """Run an embedded Mosaico server on a store directory.

    Speaks the same Arrow Flight protocol as mosaicod, so the official
    mosaicolabs SDK and every mosaico-ros command (with --host) can use it.
    Stop it with Ctrl-C; the store stays consistent even if it is killed.
    """
    from mosaico_ros.server import EmbeddedServer

    store.mkdir(parents=True, exist_ok=True)
    server = EmbeddedServer(store, host=host, port=port)
    console.print(f'Serving [bold]{store}[/] on grpc://{host}:{port} (Ctrl-C to stop)')
    server.serve_forever()
