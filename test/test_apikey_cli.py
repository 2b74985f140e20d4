"""`mosaico-ros api-key` on a store directly, and on a running server; `serve`'s safety checks."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mosaico_ros.cli import main
from mosaico_ros.cli.apikey import expiry_ns, parse_duration
from mosaico_ros.server import EmbeddedServer
from mosaico_ros.server.keys import KeyStore

TOKEN = re.compile(r'msco_[a-z0-9]{32}_[0-9a-f]{8}')


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def test_create_prints_the_token_alone_and_the_store_keeps_its_hash(tmp_path: Path) -> None:
    store = str(tmp_path)
    result = run(
        'api-key', 'create', '--store', store, '--permissions', 'write', '--description', 'ci'
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert TOKEN.fullmatch(token)
    assert result.stdout == token + '\n'
    keys = KeyStore(tmp_path)
    (status,) = keys.all_keys()
    keys.close()
    assert (status.fingerprint, status.permission, status.description) == (
        token.rpartition('_')[2],
        'write',
        'ci',
    )
    assert status.expires_at_ns is None


def test_status_list_revoke_purge(tmp_path: Path) -> None:
    store = str(tmp_path)
    tokens = [
        run(
            'api-key', 'create', '--store', store, '--permissions', level, '--expires-in', 'P1D'
        ).stdout.strip()
        for level in ('read', 'manage')
    ]
    reader = tokens[0].rpartition('_')[2]
    shown = run('api-key', 'status', reader, '--store', store)
    assert shown.exit_code == 0, shown.output
    assert 'permission: read' in shown.output
    assert 'state: valid' in shown.output
    listed = run('api-key', 'list', '--store', store)
    assert '2 API key(s)' in listed.output
    assert run('api-key', 'revoke', reader, '--store', store).exit_code == 0
    assert 'state: revoked' in run('api-key', 'status', reader, '--store', store).output
    purged = run('api-key', 'purge', '--store', store)
    assert f'purged 1 key(s): {reader}' in purged.output
    missing = run('api-key', 'status', reader, '--store', store)
    assert missing.exit_code == 1
    assert f"no API key has fingerprint '{reader}'" in missing.output
    assert 'purged 1 key(s)' in run('api-key', 'purge', '--all', '--store', store).output


def test_expiry_options() -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    start = int(now.timestamp()) * 10**9
    assert expiry_ns('P1Y2M3DT4H5M6.5S', None, now) == start + int(
        (365 + 60 + 3) * 86400e9 + 4 * 3600e9 + 5 * 60e9 + 6.5e9
    )
    assert expiry_ns('P2W', None, now) == start + 14 * 86400 * 10**9
    assert expiry_ns(None, '2030-01-02T00:00:00+01:00', now) == start + 23 * 3600 * 10**9
    assert expiry_ns(None, None, now) is None
    assert parse_duration('pt90m') == timedelta(minutes=90)
    for bad in ('P', 'PT', '90D', 'P1H', 'PT0S', '-P1D'):
        with pytest.raises(ValueError, match='duration'):
            parse_duration(bad)
    with pytest.raises(click.BadParameter, match='no UTC offset'):
        expiry_ns(None, '2031-01-01T00:00:00', now)
    with pytest.raises(click.BadParameter, match='expired already'):
        expiry_ns(None, '2029-12-31T00:00:00Z', now)
    with pytest.raises(click.UsageError, match='not both'):
        expiry_ns('P1D', '2031-01-01T00:00:00Z', now)


def test_a_key_that_expires_stops_working(tmp_path: Path) -> None:
    store = str(tmp_path)
    soon = (datetime.now(tz=timezone.utc) + timedelta(seconds=1)).isoformat()
    token = run(
        'api-key', 'create', '--store', store, '--permissions', 'read', '--expires-at', soon
    )
    assert token.exit_code == 0, token.output
    fingerprint = token.stdout.strip().rpartition('_')[2]
    assert 'state: valid' in run('api-key', 'status', fingerprint, '--store', store).output
    time.sleep(1.1)
    assert 'state: expired' in run('api-key', 'status', fingerprint, '--store', store).output


def test_local_commands_need_the_store_free_and_remote_ones_a_manage_key(tmp_path: Path) -> None:
    store = str(tmp_path)
    manage = run('api-key', 'create', '--store', store, '--permissions', 'manage').stdout.strip()
    delete = run('api-key', 'create', '--store', store, '--permissions', 'delete').stdout.strip()
    with EmbeddedServer(tmp_path, require_api_key=True) as server:
        busy = run('api-key', 'list', '--store', store)
        assert busy.exit_code == 1
        assert f'in use by the server at {server.location}' in busy.output
        assert 'manage its keys with --host' in busy.output
        remote = ['--host', '127.0.0.1', '--port', str(server.port)]
        made = run('api-key', 'create', '--permissions', 'read', *remote, '--api-key', manage)
        assert made.exit_code == 0, made.output
        assert TOKEN.fullmatch(made.stdout.strip())
        denied = run('api-key', 'create', '--permissions', 'read', *remote, '--api-key', delete)
        assert denied.exit_code == 1
        assert 'needs manage permission; this API key has delete' in denied.output
        anonymous = run('api-key', 'list', *remote)
        assert anonymous.exit_code == 1
        assert 'Traceback' not in anonymous.output
        listed = run('api-key', 'list', *remote, '--api-key', manage)
        assert '3 API key(s)' in listed.output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--host', '0.0.0.0'], 'without API keys (--require-api-key) and TLS (--tls)'),
        (['--host', '192.168.1.20', '--require-api-key'], 'without TLS (--tls)'),
        (['--host', '::', '--tls'], '--tls needs --tls-cert-file and --tls-key-file'),
        (['--tls-cert-file', __file__], '--tls-cert-file and --tls-key-file need --tls'),
    ],
)
def test_serve_refuses_to_expose_a_store_unprotected(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ['serve', '--store', str(tmp_path), *args], env={'MOSAICOD_TLS_CERT_FILE': ''}
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / 'catalog.sqlite').exists()
