"""API keys handed to the server in code, and TLS, driven by the real SDK and raw Flight calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.flight as flight
import pytest
from certificates import self_signed
from test_server_helpers import connect, imu_message, sdk, write_drive

from mosaico_ros.server import EmbeddedServer

KEYS = {
    'msco_reader0000000000000000000000000_00000001': 'read',
    'msco_writer0000000000000000000000000_00000002': 'write',
    'msco_deleter000000000000000000000000_00000003': 'delete',
}
READ, WRITE, DELETE = KEYS


@pytest.fixture
def keyed(store_dir: Path) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(store_dir, api_keys=KEYS) as running:
        yield running


def test_write_key_writes_and_read_key_reads(keyed: EmbeddedServer) -> None:
    writer = connect(keyed.port, api_key=WRITE)
    write_drive(writer, 'secured', imu=100, gps=30, images=1)
    writer.close()
    reader = connect(keyed.port, api_key=READ)
    assert reader.list_sequences() == ['secured']
    handler = reader.topic_handler('secured', 'sensors/imu')
    assert len(list(handler.get_data_streamer())) == 100
    reader.close()


def test_read_key_cannot_write(keyed: EmbeddedServer) -> None:
    mc = sdk()
    reader = connect(keyed.port, api_key=READ)
    with pytest.raises(flight.FlightUnauthorizedError, match='needs write permission'):
        reader.sequence_create('forbidden', {}).__enter__()
    reader.close()
    deleter = connect(keyed.port, api_key=DELETE)
    assert deleter.list_sequences() == []
    with deleter.sequence_create('allowed', {}) as writer:
        writer.topic_create('imu', {}, mc.IMU).push(imu_message(0))
    assert deleter.list_sequences() == ['allowed']
    deleter.close()


def test_write_key_cannot_delete(keyed: EmbeddedServer) -> None:
    writer = connect(keyed.port, api_key=WRITE)
    write_drive(writer, 'keep', imu=20, gps=5, images=1)
    writer.close()
    with flight.connect(keyed.location) as raw:
        options = flight.FlightCallOptions(headers=[(b'mosaico-api-key-token', WRITE.encode())])
        action = flight.Action('sequence_delete', b'{"locator": "keep"}')
        with pytest.raises(flight.FlightUnauthorizedError, match='needs delete permission'):
            list(raw.do_action(action, options=options))
        malformed = flight.FlightCallOptions(headers=[(b'mosaico-api-key-token', b'msco_unknown')])
        with pytest.raises(flight.FlightUnauthenticatedError, match='malformed API key'):
            list(raw.list_flights(options=malformed))
        unknown = READ[:-1] + ('2' if READ[-1] != '2' else '3')
        denied = flight.FlightCallOptions(headers=[(b'mosaico-api-key-token', unknown.encode())])
        with pytest.raises(flight.FlightUnauthenticatedError, match='unknown API key'):
            list(raw.list_flights(options=denied))
        with pytest.raises(flight.FlightUnauthenticatedError, match='missing API key'):
            list(raw.list_flights())
        flights = list(raw.list_flights(options=options))
    assert [f.descriptor.path for f in flights] == [[b'keep']]


def test_tls_with_api_key(store_dir: Path, tmp_path: Path) -> None:
    cert, key = self_signed()
    cert_path = tmp_path / 'cert.pem'
    cert_path.write_bytes(cert)
    with EmbeddedServer(
        store_dir,
        api_keys=KEYS,
        tls_cert_chain=cert,
        tls_private_key=key,
    ) as server:
        assert server.location.startswith('grpc+tls://127.0.0.1:')
        client = connect(server.port, tls_cert_path=str(cert_path), api_key=WRITE)
        write_drive(client, 'tls_drive', imu=50, gps=10, images=1)
        handler = client.topic_handler('tls_drive', 'sensors/imu')
        assert [m.timestamp_ns for m in handler.get_data_streamer()][:2] == [
            imu_message(0).timestamp_ns,
            imu_message(1).timestamp_ns,
        ]
        client.close()
        with pytest.raises(ConnectionError):
            connect(server.port, api_key=READ, timeout=1)
