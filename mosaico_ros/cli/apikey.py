"""`mosaico-ros api-key`: create, inspect, revoke and purge API keys, as `mosaicod api-key` does.

Without `--host` the commands edit a store's key table directly, in this
process and without checking any key: that is how the first `manage` key is
made, and it needs the store to be free (no server running on it). With
`--host` they go through the running server's key actions and need a
`manage` key (`--api-key`); revocation and expiry then take effect there at
once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Protocol

import click
from rich.table import Table

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, target_options
from mosaico_ros.connect import Target, default_store
from mosaico_ros.protocol import PERMISSIONS, ApiKeyStatus

_DURATION = re.compile(
    r'P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<MO>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?'
    r'(?:(?P<D>\d+(?:\.\d+)?)D)?'
    r'(?:T(?:(?P<H>\d+(?:\.\d+)?)H)?(?:(?P<MI>\d+(?:\.\d+)?)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?',
)
_SECONDS = {'Y': 365 * 86400, 'MO': 30 * 86400, 'W': 7 * 86400, 'D': 86400, 'H': 3600, 'MI': 60}


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration such as `P1Y2M3D` or `PT12H` (a year is 365 days, a month 30).

    Raises:
        ValueError: Not such a duration, or zero.

    """
    clean = text.strip().upper()
    found = _DURATION.fullmatch(clean)
    groups = found.groupdict() if found else {}
    parts = {unit: float(value) for unit, value in groups.items() if value}
    if not parts or clean.endswith('T'):
        raise ValueError(f'{text!r} is not an ISO 8601 duration such as P90D or PT12H')
    seconds = sum(value * _SECONDS.get(unit, 1) for unit, value in parts.items())
    if seconds <= 0:
        raise ValueError('the duration must be longer than zero')
    return timedelta(seconds=seconds)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 date-time with its offset, such as `2026-03-27T12:20:00Z`.

    Raises:
        ValueError: Not such a time, or one without a UTC offset.

    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'{text!r} is not an RFC 3339 time such as 2026-03-27T12:20:00Z') from None
    if moment.tzinfo is None:
        raise ValueError(f'{text!r} has no UTC offset; end it with Z or +HH:MM')
    return moment


def expiry_ns(expires_in: str | None, expires_at: str | None, now: datetime) -> int | None:
    """Turn `--expires-in` or `--expires-at` into ns since the epoch; None for never.

    Raises:
        click.BadParameter: A value does not parse, or the time is not in the future.

    """
    if expires_in is not None and expires_at is not None:
        raise click.UsageError('give --expires-in or --expires-at, not both')
    try:
        if expires_in is not None:
            moment = now + parse_duration(expires_in)
        elif expires_at is not None:
            moment = parse_time(expires_at)
        else:
            return None
    except ValueError as err:
        option = '--expires-in' if expires_in is not None else '--expires-at'
        raise click.BadParameter(str(err), param_hint=option) from None
    if moment <= now:
        raise click.BadParameter('the key would be expired already', param_hint='--expires-at')
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


class KeyManager(Protocol):
    """What both a store's key table and a server's key actions offer."""

    def create(
        self, permission: str, description: str = '', expires_at_ns: int | None = None
    ) -> tuple[str, ApiKeyStatus]:
        """Make a key; return its token and status."""
        ...

    def status(self, fingerprint: str) -> ApiKeyStatus:
        """Return a key's status."""
        ...

    def revoke(self, fingerprint: str) -> ApiKeyStatus:
        """Revoke a key; return its status."""
        ...

    def all_keys(self) -> list[ApiKeyStatus]:
        """Return every key."""
        ...

    def purge(self, everything: bool = False) -> list[ApiKeyStatus]:
        """Delete expired and revoked keys (or all); return them."""
        ...


@contextmanager
def key_manager(target: Target) -> Iterator[KeyManager]:
    """Open the key table of the target's store, or the key actions of its server.

    Errors of either (bad values, unknown fingerprints, missing permission)
    become `click.ClickException`s carrying their message.
    """
    from mosaico_ros.client.errors import ClientError
    from mosaico_ros.server.errors import ServerError

    try:
        if target.host is None:
            from mosaico_ros.server.keys import KeyStore
            from mosaico_ros.server.store_lock import StoreLock

            store = target.store or default_store()
            advice = 'manage its keys with --host and a manage --api-key'
            with StoreLock(store, advice):
                keys = KeyStore(store)
                try:
                    yield keys
                finally:
                    keys.close()
        else:
            from mosaico_ros.client.api_keys import ApiKeys
            from mosaico_ros.connect import open_client

            with open_client(target) as client:
                yield ApiKeys(client.connection)
    except ClientError as err:
        message = getattr(err, 'server_message', None) or str(err)
        raise click.ClickException(message.split('. Detail:')[0]) from None
    except ServerError as err:
        raise click.ClickException(str(err)) from None


def _time(ns: int | None) -> str:
    if ns is None:
        return 'never'
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


@main.group(name='api-key')
def api_key() -> None:
    """Create, inspect, revoke and purge API keys.

    Without --host the store's key table is edited directly (no server may
    be running on it): that is how the first manage key is made. With
    --host the running server's key actions are used, which needs a manage
    key (--api-key).
    """


@api_key.command()
@click.option(
    '--permissions',
    'permission',
    required=True,
    type=click.Choice(PERMISSIONS),
    help='What the key may do; each level includes the ones before it.',
)
@click.option('--description', default='', help='What the key is for.')
@click.option('--expires-in', help='ISO 8601 duration until it stops working (P90D, PT12H).')
@click.option('--expires-at', help='RFC 3339 time when it stops working (2026-03-27T12:20:00Z).')
@target_options
def create(
    target: Target,
    permission: str,
    description: str,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Make a key and print its token, alone, on stdout (it is shown only this once)."""
    expires = expiry_ns(expires_in, expires_at, datetime.now(tz=timezone.utc))
    with key_manager(target) as keys:
        token, _ = keys.create(permission, description, expires)
    click.echo(token)


@api_key.command()
@click.argument('fingerprints', nargs=-1, required=True)
@target_options
def revoke(target: Target, fingerprints: tuple[str, ...]) -> None:
    """Revoke the keys with these FINGERPRINTS (the last 8 characters of a token)."""
    with key_manager(target) as keys:
        for fingerprint in fingerprints:
            status = keys.revoke(fingerprint)
            console.print(f'revoked {status.fingerprint} ({status.permission})')


@api_key.command()
@click.argument('fingerprint')
@target_options
def status(target: Target, fingerprint: str) -> None:
    """Show the key with this FINGERPRINT."""
    with key_manager(target) as keys:
        key = keys.status(fingerprint)
    now_ns = time.time_ns()
    for label, value in (
        ('fingerprint', key.fingerprint),
        ('permission', key.permission),
        ('state', key.state(now_ns)),
        ('created', _time(key.created_at_ns)),
        ('expires', _time(key.expires_at_ns)),
        ('revoked', _time(key.revoked_at_ns) if key.revoked_at_ns is not None else 'no'),
        ('description', key.description),
    ):
        console.print(f'{label:>12}: {value}', highlight=False)


@api_key.command(name='list')
@target_options
def list_keys(target: Target) -> None:
    """List every key: fingerprint, permission, state, dates, description."""
    with key_manager(target) as keys:
        every = keys.all_keys()
    now_ns = time.time_ns()
    table = Table(title=f'{len(every)} API key(s) of {target.describe()}')
    for column in ('fingerprint', 'permission', 'state', 'created', 'expires', 'description'):
        table.add_column(column)
    for key in every:
        table.add_row(
            key.fingerprint,
            key.permission,
            key.state(now_ns),
            _time(key.created_at_ns),
            _time(key.expires_at_ns),
            key.description,
        )
    console.print(table)


@api_key.command()
@click.option('--all', '-A', 'everything', is_flag=True, help='Delete every key, valid or not.')
@target_options
def purge(target: Target, everything: bool) -> None:
    """Delete expired and revoked keys (every key with --all)."""
    with key_manager(target) as keys:
        gone = keys.purge(everything)
    names = ', '.join(key.fingerprint for key in gone) or 'none'
    console.print(f'purged {len(gone)} key(s): {names}', highlight=False)
