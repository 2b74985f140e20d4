"""The `mosaico-ros` command line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from mosaico_ros.connect import Target, default_store, open_client
from mosaico_ros.protocol import DEFAULT_PORT

F = TypeVar('F', bound=Callable[..., Any])

console = Console()


def target_options(func: F) -> F:
    """Add the options that choose a server, and pass the result as `target`.

    Without `--host` the command works on a local store directory through an
    in-process server; with `--host` it talks to a running `mosaicod` or
    `mosaico-ros serve`.
    """

    @click.option(
        '--store',
        type=click.Path(file_okay=False, path_type=Path),
        help='Local store directory, served in-process '
        f'[default: $MOSAICO_STORE or {default_store()}].',
    )
    @click.option('--host', help='Host of a running Mosaico server; overrides --store.')
    @click.option('--port', type=int, default=DEFAULT_PORT, show_default=True, help='Server port.')
    @click.option('--api-key', envvar='MOSAICO_API_KEY', help='API key [env: MOSAICO_API_KEY].')
    @click.option(
        '--tls-cert',
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar='MOSAICO_TLS_CERT_FILE',
        help='PEM root certificate; turns TLS on [env: MOSAICO_TLS_CERT_FILE].',
    )
    @functools.wraps(func)
    def wrapper(
        store: Path | None,
        host: str | None,
        port: int,
        api_key: str | None,
        tls_cert: Path | None,
        **kwargs: Any,
    ) -> Any:
        if store is not None and host is not None:
            raise click.UsageError('give either --store or --host, not both')
        target = Target(store=store, host=host, port=port, api_key=api_key, tls_cert=tls_cert)
        return func(target=target, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(package_name='mosaico_ros')
def main() -> None:
    """Move ROS data into and out of Mosaico.

    Every command works on a local store by default (no server to run), or
    on a running Mosaico server with --host/--port.
    """


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


@main.command(name='list')
@click.argument('sequence', required=False)
@target_options
def list_command(target: Target, sequence: str | None) -> None:
    """List the sequences of a store or server, or the topics of SEQUENCE."""
    with open_client(target) as client:
        if sequence is None:
            console.print(_sequences_table(client, target))
            return
        handler = client.sequence_handler(sequence)
        if handler is None:
            raise click.ClickException(f'no sequence {sequence!r} in {target.describe()}')
        console.print(_topics_table(client, sequence, handler.topics))


def _sequences_table(client: Any, target: Target) -> Table:
    names = client.list_sequences()
    table = Table(title=f'{len(names)} sequence(s) in {target.describe()}')
    for column in ('sequence', 'topics', 'sessions', 'size', 'start', 'duration'):
        numeric = column in ('topics', 'sessions', 'size')
        table.add_column(column, justify='right' if numeric else 'left')
    for name in sorted(names):
        handler = client.sequence_handler(name)
        if handler is None:
            continue
        table.add_row(
            name,
            str(len(handler.topics)),
            str(len(handler.sessions)),
            _size(handler.total_size_bytes),
            _time(handler.timestamp_ns_min),
            _duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table


def _topics_table(client: Any, sequence: str, topics: list[str]) -> Table:
    table = Table(title=f'sequence {sequence}')
    for column in ('topic', 'ontology', 'rows', 'size', 'start', 'duration'):
        table.add_column(column, justify='right' if column in ('rows', 'size') else 'left')
    for topic in topics:
        handler = client.topic_handler(sequence, topic)
        if handler is None:
            continue
        table.add_row(
            topic,
            handler.ontology_tag,
            str(handler.row_count),
            _size(handler.total_size_bytes),
            _time(handler.timestamp_ns_min),
            _duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table


def _size(num_bytes: int | None) -> str:
    value = float(num_bytes or 0)
    for unit in ('B', 'kB', 'MB', 'GB'):
        if value < 1000 or unit == 'GB':
            return f'{value:.0f} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1000
    raise AssertionError


def _time(timestamp_ns: int | None) -> str:
    if timestamp_ns is None:
        return '-'
    return datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc).strftime('%Y-%m-%d %H:%M:%S')


def _duration(start_ns: int | None, end_ns: int | None) -> str:
    if start_ns is None or end_ns is None:
        return '-'
    return f'{(end_ns - start_ns) / 1e9:.1f} s'
