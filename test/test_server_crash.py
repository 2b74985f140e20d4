"""kill -9 of the server or of a writing client in the middle of an SDK upload."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_server_helpers import (
    connect,
    free_port,
    imu_message,
    imu_tuple,
    sdk,
    server_process,
    write_drive,
)

from mosaico_ros.server import EmbeddedServer

WRITER_SCRIPT = """
import itertools, sys
sys.path.insert(0, sys.argv[3])
import mosaicolabs as mc
import test_server_helpers as h
client = h.connect(int(sys.argv[1]))
with client.sequence_create(sys.argv[2], {}) as writer:
    imu = writer.topic_create('imu', {}, mc.IMU)
    for index in itertools.count():
        imu.push(h.imu_message(index))
        if index == 500:
            print('PUSHED', flush=True)
"""


@contextlib.contextmanager
def writer_process(port: int, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """An SDK client uploading IMU rows forever; yields once 500 rows were pushed."""
    process = subprocess.Popen(
        [sys.executable, '-c', WRITER_SCRIPT, str(port), name, str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != b'PUSHED':
            stderr = process.stderr.read().decode() if process.stderr else ''
            pytest.fail(f'writer did not start: {line!r} {stderr[-2000:]}')
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def referenced_files(store: Path) -> set[str]:
    return {p.relative_to(store).as_posix() for p in (store / 'data').glob('*/*')}


def test_server_killed_mid_upload(tmp_path: Path) -> None:
    store = tmp_path / 'store'
    port = free_port()
    with server_process(store, port) as server:
        client = connect(port)
        write_drive(client, 'done', imu=400, gps=100, images=3)
        expected = [
            imu_tuple(m) for m in client.topic_handler('done', 'sensors/imu').get_data_streamer()
        ]
        client.close()
        with writer_process(port, 'inflight'):
            assert any((store / 'data').glob('*/*')), 'the upload should have reached disk'
            server.kill()
            server.wait(timeout=10)
    files_before = referenced_files(store)
    with EmbeddedServer(store) as restarted:
        client = connect(restarted.port)
        assert client.list_sequences() == ['done']
        assert client.sequence_handler('inflight') is None
        handler = client.topic_handler('done', 'sensors/imu')
        assert [imu_tuple(m) for m in handler.get_data_streamer()] == expected
        assert len(client.sequence_handler('done').topics) == 4
        mc = sdk()
        with client.sequence_create('inflight', {'retry': True}) as writer:
            writer.topic_create('imu', {}, mc.IMU).push(imu_message(0))
        assert client.sequence_handler('inflight').user_metadata == {'retry': True}
        client.close()
    assert len(referenced_files(store)) < len(files_before)


def test_client_killed_mid_upload(store_dir: Path) -> None:
    with EmbeddedServer(store_dir, max_message_size=64 * 1024) as server:
        client_killed_mid_upload(server)


def client_killed_mid_upload(server: EmbeddedServer) -> None:
    with writer_process(server.port, 'abandoned') as writer:
        writer.kill()
    client = connect(server.port)
    assert client.list_sequences() == []
    assert client.sequence_handler('abandoned') is None
    write_drive(client, 'after', imu=100, gps=20, images=1)
    handler = client.topic_handler('after', 'sensors/imu')
    assert [m.timestamp_ns for m in handler.get_data_streamer()] == [
        imu_message(i).timestamp_ns for i in range(100)
    ]
    mc = sdk()
    with client.sequence_update('abandoned') as updater:
        updater.topic_create('imu2', {}, mc.IMU).push(imu_message(5))
    assert client.sequence_handler('abandoned').topics == ['/imu2']
    client.close()
