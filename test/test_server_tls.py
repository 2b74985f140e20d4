"""`mosaico-ros serve --tls --require-api-key` as a real process, used by the official SDK.

The first manage key is made with `api-key create --store`, the others
through the running server with `api-key create --host`; revocation there
takes effect at once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.flight as flight
import pytest
from certificates import self_signed
from test_server_helpers import connect, free_port, imu_message, imu_tuple, write_drive

TOKEN = re.compile(r'msco_[a-z0-9]{32}_[0-9a-f]{8}')


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m mosaico_ros` with these arguments; capture both streams."""
    return subprocess.run(
        [sys.executable, '-m', 'mosaico_ros', *args],
        capture_output=True,
        text=True,
        env={**os.environ, 'COLUMNS': '200', **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, str]]:
    """A `serve --tls --require-api-key` process; yields port, certificate and a manage token."""
    store = tmp_path / 'store'
    cert, key = self_signed()
    cert_file, key_file = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert_file.write_bytes(cert)
    key_file.write_bytes(key)
    created = cli('api-key', 'create', '--store', str(store), '--permissions', 'manage')
    assert created.returncode == 0, created.stderr
    assert TOKEN.fullmatch(created.stdout.strip()), created.stdout
    assert created.stdout.count('\n') == 1
    port = free_port()
    command = ['serve', '--store', str(store), '--port', str(port), '--tls', '--require-api-key']
    process = subprocess.Popen(
        [sys.executable, '-m', 'mosaico_ros', *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            'COLUMNS': '200',
            'MOSAICOD_TLS_CERT_FILE': str(cert_file),
            'MOSAICOD_TLS_PRIVATE_KEY_FILE': str(key_file),
        },
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f'grpc+tls://127.0.0.1:{port}' in banner, banner
        assert 'API keys required' in banner
        yield port, cert_file, created.stdout.strip()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output


def test_sdk_over_tls_with_keys_made_by_the_cli(tls_server: tuple[int, Path, str]) -> None:
    port, cert, manage = tls_server
    remote = ['--host', '127.0.0.1', '--port', str(port), '--tls-cert', str(cert)]
    made = cli('api-key', 'create', '--permissions', 'write', *remote, '--api-key', manage)
    assert made.returncode == 0, made.stderr
    writer_key = made.stdout.strip()
    assert TOKEN.fullmatch(writer_key)

    client = connect(port, tls_cert_path=str(cert), api_key=writer_key, timeout=20)
    write_drive(client, 'over_tls', imu=120, gps=40, images=2)
    handler = client.topic_handler('over_tls', 'sensors/imu')
    assert [imu_tuple(m) for m in handler.get_data_streamer()] == [
        imu_tuple(imu_message(i)) for i in range(120)
    ]
    client.close()

    with pytest.raises(ConnectionError):
        connect(port, tls_cert_path=str(cert), timeout=1)
    with pytest.raises(ConnectionError):
        connect(port, api_key=writer_key, timeout=1)

    listed = cli('api-key', 'list', *remote, '--api-key', manage)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count(' valid ') == 2

    refused = cli('api-key', 'list', *remote, '--api-key', writer_key)
    assert refused.returncode == 1
    assert 'needs manage permission' in refused.stderr
    assert 'Traceback' not in refused.stderr

    fingerprint = writer_key.rpartition('_')[2]
    revoked = cli('api-key', 'revoke', fingerprint, *remote, '--api-key', manage)
    assert revoked.returncode == 0, revoked.stderr
    header = flight.FlightCallOptions(headers=[(b'mosaico-api-key-token', writer_key.encode())])
    with (
        flight.connect(f'grpc+tls://127.0.0.1:{port}', tls_root_certs=cert.read_bytes()) as raw,
        pytest.raises(flight.FlightUnauthenticatedError, match='revoked'),
    ):
        next(raw.list_flights(options=header))
    status = cli('api-key', 'status', fingerprint, *remote, '--api-key', manage)
    assert 'revoked' in status.stdout
