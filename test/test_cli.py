"""`mosaico-ros list` and `mosaico-ros serve` on real stores and a real server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mosaico_ros import IMU, Message, MosaicoClient, Vector3d
from mosaico_ros.cli import main
from mosaico_ros.connect import Target, open_client

T0 = 1_700_000_000_000_000_000


def _write_sequence(client: MosaicoClient, name: str, rows: int) -> None:
    with client.sequence_create(name, {'robot': 'husky'}) as writer:
        imu = writer.topic_create('/imu/data', {}, IMU)
        assert imu is not None
        for i in range(rows):
            data = IMU(
                acceleration=Vector3d(x=0.0, y=0.0, z=9.81),
                angular_velocity=Vector3d(x=0.0, y=0.0, z=float(i)),
            )
            imu.push(Message(timestamp_ns=T0 + i * 10_000_000, data=data))


@pytest.mark.usefixtures('wide_console')
def test_list_sequences_and_topics_of_a_store(tmp_path: Path) -> None:
    store = tmp_path / 'store'
    with open_client(Target(store=store)) as client:
        _write_sequence(client, 'drive_0042', 250)

    listing = CliRunner().invoke(main, ['list', '--store', str(store)])
    assert listing.exit_code == 0, listing.output
    assert '1 sequence(s)' in listing.output
    row = next(line for line in listing.output.splitlines() if 'drive_0042' in line)
    assert '2.5 s' in row

    topics = CliRunner().invoke(main, ['list', 'drive_0042', '--store', str(store)])
    assert topics.exit_code == 0, topics.output
    row = next(line for line in topics.output.splitlines() if '/imu/data' in line)
    assert 'IMU' in row
    assert ' 250 ' in row

    missing = CliRunner().invoke(main, ['list', 'nope', '--store', str(store)])
    assert missing.exit_code == 1
    assert "no sequence 'nope'" in missing.output


def test_store_and_host_exclude_each_other(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ['list', '--store', str(tmp_path), '--host', 'localhost'])
    assert result.exit_code == 2
    assert 'either --store or --host' in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


def test_serve_answers_the_official_sdk_and_stops_on_sigint(tmp_path: Path) -> None:
    from mosaicolabs import MosaicoClient as PeerClient

    store, port = tmp_path / 'store', _free_port()
    with open_client(Target(store=store)) as client:
        _write_sequence(client, 'served', 30)

    command = [sys.executable, '-m', 'mosaico_ros', 'serve', '--store', str(store)]
    process = subprocess.Popen(
        [*command, '--port', str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, 'COLUMNS': '200'},
    )
    try:
        with PeerClient.connect('127.0.0.1', port, timeout=20) as peer:
            assert peer.list_sequences() == ['served']
            handler = peer.topic_handler('served', '/imu/data')
            assert handler is not None
            values = [m.data.angular_velocity.z for m in handler.get_data_streamer()]
            assert values == [float(i) for i in range(30)]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f'on grpc://127.0.0.1:{port}' in output


def test_store_held_by_a_server_is_shared_with_it(tmp_path: Path) -> None:
    from mosaico_ros.server import EmbeddedServer

    store = tmp_path / 'store'
    with EmbeddedServer(store, port=0) as running:
        with MosaicoClient.connect('127.0.0.1', running.port) as client:
            _write_sequence(client, 'held', 5)
        result = CliRunner().invoke(main, ['list', '--store', str(store)])
        assert result.exit_code == 0, result.output
        assert f'in use by the server at grpc://127.0.0.1:{running.port}' in result.output
        assert 'sharing it' in result.output
        assert 'held' in result.stdout


def test_unreachable_server_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ['list', '--host', '127.0.0.1', '--port', str(_free_port())])
    assert result.exit_code == 1
    assert 'no Mosaico server answered at grpc://127.0.0.1:' in result.output
