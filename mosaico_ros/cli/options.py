"""What every command shares: the console, the server-choosing options, value parsers."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from mosaico_ros.cli.group import TARGET_ATTRIBUTE
from mosaico_ros.protocol import DEFAULT_PORT
from mosaico_ros.target import TargetError, resolve_target

F = TypeVar('F', bound=Callable[..., Any])

console = Console()
"""Tables, summaries and progress."""

err_console = Console(stderr=True)
"""The target line and notices, kept off stdout so `--json` output stays parseable."""


def target_options(func: F) -> F:
    """Add the options that choose a server, and pass the result as `target`.

    The choice (see `mosaico_ros.target`) is printed first, on stderr.
    """

    @click.option(
        '--store',
        type=click.Path(file_okay=False, path_type=Path),
        help='Local store directory, served in-process (and shared with other commands '
        'using it at the same time).',
    )
    @click.option(
        '--host',
        metavar='HOST[:PORT]',
        help='A running Mosaico server (mosaicod, or mosaico-ros serve).',
    )
    @click.option(
        '--port',
        type=click.IntRange(1, 65535),
        help=f'Server port [default: from --host, the URL or the profile, else {DEFAULT_PORT}].',
    )
    @click.option('--api-key', help='API key [env: MOSAICO_API_KEY].')
    @click.option(
        '--tls',
        is_flag=True,
        help='Use TLS, trusting the system certificate authorities [env: MOSAICO_TLS].',
    )
    @click.option(
        '--tls-cert',
        type=click.Path(dir_okay=False, path_type=Path),
        help='PEM root certificate to trust; turns TLS on '
        '[env: MOSAICO_CERT_PATH, or MOSAICO_TLS_CERT_FILE].',
    )
    @functools.wraps(func)
    def wrapper(
        *,
        store: Path | None,
        host: str | None,
        port: int | None,
        api_key: str | None,
        tls: bool,
        tls_cert: Path | None,
        **kwargs: Any,
    ) -> Any:
        ctx = click.get_current_context()
        try:
            target = resolve_target(
                store=store,
                host=host,
                port=port,
                api_key=api_key,
                tls=tls,
                tls_cert=tls_cert,
                profile=ctx.find_root().params.get('profile'),
                client_name=ctx.command_path,
            )
        except TargetError as err:
            raise click.UsageError(str(err)) from None
        if target.tls_cert is not None and not target.tls_cert.is_file():
            raise click.UsageError(
                f'TLS certificate {target.tls_cert} (from {target.source} or the environment) '
                'is not a file',
            )
        err_console.print(f'target: {target.explain()}', highlight=False, soft_wrap=True)
        return func(target=target, **kwargs)

    setattr(wrapper, TARGET_ATTRIBUTE, True)
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


def format_time(timestamp_ns: int | None) -> str:
    """Show a timestamp as UTC date and time to the millisecond, or `-`."""
    if timestamp_ns is None:
        return '-'
    moment = datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc)
    return moment.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]


def format_duration(start_ns: int | None, end_ns: int | None) -> str:
    """Show the time from `start_ns` to `end_ns` in seconds, or `-`."""
    if start_ns is None or end_ns is None:
        return '-'
    return f'{(end_ns - start_ns) / 1e9:.1f} s'
