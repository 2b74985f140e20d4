"""Several commands on one local store: the first one's server is shared, nothing is created by
commands that only read."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import clean_env, run, sdk_contents, serve

from mosaico_ros import IMU, Message, MosaicoClient, Vector3d
from mosaico_ros.connect import open_client
from mosaico_ros.target import Target

T0 = 1_700_000_000_000_000_000

GUEST = """
import sys, time
from pathlib import Path
from mosaico_ros.connect import open_client
from mosaico_ros.target import Target

with open_client(Target(store=Path(sys.argv[1]), client_name='slow guest')) as client:
    print('joined', flush=True)
    time.sleep(float(sys.argv[2]))
    print('sees', sorted(client.list_sequences()), flush=True)
"""


def _write(client: MosaicoClient, name: str, rows: int = 10) -> None:
    with client.sequence_create(name, {}) as writer:
        imu = writer.topic_create('/imu', {}, IMU)
        assert imu is not None
        for i in range(rows):
            data = IMU(
                acceleration=Vector3d(x=float(i), y=0.0, z=9.81),
                angular_velocity=Vector3d(x=0.0, y=0.0, z=0.0),
            )
            imu.push(Message(timestamp_ns=T0 + i * 1_000_000, data=data))


def test_reading_never_creates_a_store(tmp_path: Path) -> None:
    env = clean_env(tmp_path / 'home')
    typo = tmp_path / 'stroe'
    result = run(['list', '--store', str(typo)], env)
    assert result.returncode == 1
    assert f'there is no store at {typo}' in result.stderr
    assert not typo.exists()
    default = run(['list'], env)
    assert default.returncode == 1
    assert 'there is no store at' in default.stderr
    assert not (tmp_path / 'home' / '.local' / 'share' / 'mosaico_ros').exists()
    empty_dir = tmp_path / 'empty'
    empty_dir.mkdir()
    assert run(['list', '--store', str(empty_dir)], env).returncode == 1
    assert list(empty_dir.iterdir()) == []


def test_commands_share_the_first_commands_server(tmp_path: Path, bags_dir: Path) -> None:
    """A long-running holder (a recorder, say) and commands that list, inject and read meanwhile."""
    store = tmp_path / 'store'
    env = clean_env(tmp_path / 'home')
    notices: list[str] = []
    holder = Target(store=store, client_name='mosaico-ros record')
    with open_client(holder, notify=notices.append) as recorder:
        _write(recorder, 'recording')
        listed = run(['list', '--store', str(store)], env)
        assert listed.returncode == 0, listed.stderr
        assert 'recording' in listed.stdout
        assert f'store {store} is in use by mosaico-ros record (pid {os.getpid()})' in listed.stderr
        assert 'sharing it' in listed.stderr

        injected = run(
            ['inject', str(bags_dir / 'ros2_db3' / 'rosbag2_talker'), '--store', str(store)], env
        )
        assert injected.returncode == 0, injected.stderr
        assert sorted(recorder.list_sequences()) == ['recording', 'rosbag2_talker']

        # serve cannot take a store a command holds, and says which command holds it.
        served = run(['serve', '--store', str(store), '--port', '0'], env, timeout=30)
        assert served.returncode != 0
        assert 'in use by mosaico-ros record' in served.stderr
        assert 'while it runs; wait for it to finish' in served.stderr

        guest = subprocess.Popen(
            [sys.executable, '-c', GUEST, str(store), '2'],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert guest.stdout is not None
        assert guest.stdout.readline() == 'joined\n'
        leaving = time.monotonic()
    # The holder served on until its guest was done.
    waited = time.monotonic() - leaving
    out, err = guest.communicate(timeout=30)
    assert guest.returncode == 0, err
    assert out == "sees ['recording', 'rosbag2_talker']\n"
    assert waited > 1.0
    assert any('other commands are using store' in notice for notice in notices)

    # The store is free again: the next command serves it itself.
    with open_client(Target(store=store), notify=notices.append) as client:
        assert sorted(client.list_sequences()) == ['recording', 'rosbag2_talker']


def test_a_standing_server_is_shared_too(tmp_path: Path) -> None:
    store = tmp_path / 'store'
    env = clean_env(tmp_path / 'home')
    with open_client(Target(store=store)) as client:
        _write(client, 'before')
    with serve(store, env) as port:
        listed = run(['list', '--store', str(store)], env)
        assert listed.returncode == 0, listed.stderr
        assert f'in use by the server at grpc://127.0.0.1:{port}' in listed.stderr
        assert 'before' in listed.stdout
        notices: list[str] = []
        with open_client(Target(store=store), notify=notices.append) as client:
            _write(client, 'during')
        assert sdk_contents(port) == {'before': {'/imu': 10}, 'during': {'/imu': 10}}
