"""`mosaico-ros serve`: the embedded server on a store, with API keys and TLS as in mosaicod."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console
from mosaico_ros.connect import default_store
from mosaico_ros.protocol import DEFAULT_PORT

_PEM = click.Path(dir_okay=False, exists=True, path_type=Path)


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (`localhost`, 127.0.0.0/8, ::1)."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_files(
    tls: bool, cert_file: Path | None, key_file: Path | None
) -> tuple[bytes, bytes] | None:
    """Read the certificate chain and key of `--tls`; None without `--tls`."""
    context = click.get_current_context()
    given = [
        name
        for name in ('tls_cert_file', 'tls_key_file')
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if not tls:
        if given:
            raise click.UsageError('--tls-cert-file and --tls-key-file need --tls')
        return None
    missing = [
        option
        for option, env, path in (
            ('--tls-cert-file', 'MOSAICOD_TLS_CERT_FILE', cert_file),
            ('--tls-key-file', 'MOSAICOD_TLS_PRIVATE_KEY_FILE', key_file),
        )
        if path is None
    ]
    if missing:
        raise click.UsageError(f'--tls needs {" and ".join(missing)} (or their variables)')
    assert cert_file is not None
    assert key_file is not None
    return cert_file.read_bytes(), key_file.read_bytes()


def _has_manage_key(store: Path) -> bool:
    import time

    from mosaico_ros.server.keys import KeyStore

    keys = KeyStore(store)
    try:
        now_ns = time.time_ns()
        return any(
            key.permission == 'manage' and key.state(now_ns) == 'valid' for key in keys.all_keys()
        )
    finally:
        keys.close()


@main.command()
@click.option(
    '--store',
    type=click.Path(file_okay=False, path_type=Path),
    default=default_store,
    show_default='$MOSAICO_STORE or the XDG data directory',
    help='Directory holding the catalog, the data chunks and the API keys; created if missing.',
)
@click.option('--host', default='127.0.0.1', show_default=True, help='Address to listen on.')
@click.option(
    '--port', type=int, default=DEFAULT_PORT, show_default=True, help='Port to listen on.'
)
@click.option(
    '--require-api-key',
    is_flag=True,
    help='Refuse every call without a valid API key (mosaicod run --api-key); '
    'make the first one with `mosaico-ros api-key create --store`.',
)
@click.option('--tls', is_flag=True, help='Serve TLS (grpc+tls) with the certificate below.')
@click.option(
    '--tls-cert-file',
    type=_PEM,
    envvar='MOSAICOD_TLS_CERT_FILE',
    help='PEM certificate chain for --tls [env: MOSAICOD_TLS_CERT_FILE].',
)
@click.option(
    '--tls-key-file',
    type=_PEM,
    envvar='MOSAICOD_TLS_PRIVATE_KEY_FILE',
    help='PEM private key for --tls [env: MOSAICOD_TLS_PRIVATE_KEY_FILE].',
)
@click.option(
    '--insecure',
    is_flag=True,
    help='Listen on a non-loopback address without API keys or without TLS anyway.',
)
def serve(  # noqa: PLR0917
    store: Path,
    host: str,
    port: int,
    require_api_key: bool,
    tls: bool,
    tls_cert_file: Path | None,
    tls_key_file: Path | None,
    insecure: bool,
) -> None:
    """Run an embedded Mosaico server on a store directory.

    Speaks the same Arrow Flight protocol as mosaicod, so the official
    mosaicolabs SDK and every mosaico-ros command (with --host) can use it.
    Stop it with Ctrl-C; the store stays consistent even if it is killed.

    On an address other than loopback it needs --require-api-key and --tls,
    so that nobody can read or delete data unasked and keys do not cross the
    network in clear, unless --insecure says otherwise.
    """
    tls_pair = _tls_files(tls, tls_cert_file, tls_key_file)
    unsafe = [
        what
        for what, missing in (
            ('API keys (--require-api-key)', not require_api_key),
            ('TLS (--tls)', tls_pair is None),
        )
        if missing
    ]
    if unsafe and not is_loopback(host) and not insecure:
        raise click.UsageError(
            f'refusing to listen on {host} without {" and ".join(unsafe)}: anyone who reaches '
            'the port could read or delete data; add them, or pass --insecure',
        )
    from mosaico_ros.server import EmbeddedServer, StoreError

    store.mkdir(parents=True, exist_ok=True)
    if require_api_key and not _has_manage_key(store):
        console.print(
            f'[yellow]{store} has no valid manage key yet: make one with '
            f'`mosaico-ros api-key create --store {store} --permissions manage` '
            '(with the server stopped), then manage the others with --host[/]',
            highlight=False,
        )
    server = EmbeddedServer(
        store,
        host=host,
        port=port,
        require_api_key=require_api_key,
        tls_cert_chain=tls_pair[0] if tls_pair else None,
        tls_private_key=tls_pair[1] if tls_pair else None,
    )
    # Each DoPut message arrives in a buffer of its own (megabytes for images): keep freed ones
    # for the next instead of faulting fresh pages in (11% of the server's CPU on
    # bench/inject.py's mixed recording); what is kept is the uploads' working set.
    from mosaico_ros.pipeline.conversion import keep_freed_memory

    keep_freed_memory()
    keys = 'API keys required' if require_api_key else 'no API keys'
    console.print(
        f'Serving [bold]{store}[/] on {server.scheme}://{host}:{port} ({keys}; Ctrl-C to stop)'
    )
    try:
        server.serve_forever()
    except StoreError as err:
        raise click.ClickException(str(err)) from None
