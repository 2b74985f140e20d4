"""What every command shares: the console, the server-choosing options, value parsers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from mosaico_ros.connect import Target, default_store
from mosaico_ros.protocol import DEFAULT_PORT
from mosaico_ros.server.errors import StoreError

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
        try:
            return func(target=target, **kwargs)
        except (StoreError, ConnectionError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object given inline or as `@file.json`."""
    source = text
    if text.startswith('@'):
        try:
            source = Path(text[1:]).read_text(encoding='utf-8')
        except OSError as err:
            raise click.BadParameter(f'cannot read {text[1:]}: {err}', param_hint=what) from None
    try:
        value = json.loads(source)
    except ValueError as err:
        raise click.BadParameter(f'not JSON: {err}', param_hint=what) from None
    if not isinstance(value, dict):
        raise click.BadParameter('must be a JSON object', param_hint=what)
    return value


def parse_topic_metadata(specs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Parse `--topic-metadata TOPIC=JSON` options into metadata by topic."""
    result: dict[str, dict[str, Any]] = {}
    for spec in specs:
        topic, sep, text = spec.partition('=')
        if not sep or not topic:
            raise click.BadParameter(f'{spec!r} is not TOPIC=JSON', param_hint='--topic-metadata')
        result[topic] = parse_json_object(text, f'--topic-metadata {topic}')
    return result


def parse_adapter_overrides(specs: tuple[str, ...]) -> dict[str, str]:
    """Parse `--adapter TOPIC=ADAPTER` options into adapter names by topic."""
    result: dict[str, str] = {}
    for spec in specs:
        topic, sep, name = spec.rpartition('=')
        if not sep or not topic or not name:
            raise click.BadParameter(f'{spec!r} is not TOPIC=ADAPTER', param_hint='--adapter')
        result[topic] = name
    return result


def parse_time_bound(text: str | None, option: str) -> int | None:
    """Parse an optional time bound option (see `parse_time`) into nanoseconds."""
    from mosaico_ros.bags.options import parse_time

    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
