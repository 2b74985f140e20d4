"""The package as `colcon build` installs it: executables, launch and parameter files."""

from __future__ import annotations

import py_compile
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import clean_env, free_port, wait_answering
from colcon_build import ColconInstall
from conftest import REPO
from ros_support import ros_domain  # noqa: F401 (fixture)
from ruamel.yaml import YAML


def test_the_executable_runs_the_installed_package(colcon_install: ColconInstall) -> None:
    scripts = colcon_install.console_scripts()
    assert 'mosaico-ros' in scripts
    for name in scripts:  # where `ros2 run mosaico_ros NAME` looks
        assert colcon_install.executable(name).is_file(), name
    version = colcon_install.run('mosaico-ros', '--version')
    assert version.returncode == 0, version.stderr
    assert '0.1.0' in version.stdout
    where = subprocess.run(
        [sys.executable, '-c', 'import mosaico_ros; print(mosaico_ros.__file__)'],
        env=colcon_install.env(),
        cwd=colcon_install.workspace,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(colcon_install.site_packages())


def test_launch_and_parameter_files_are_installed(colcon_install: ColconInstall) -> None:
    for folder, pattern in (('launch', '*.launch.py'), ('config', '*.yaml')):
        source = sorted(path.name for path in (REPO / folder).glob(pattern))
        assert source, f'{folder}/ has no {pattern}'
        assert sorted(p.name for p in colcon_install.share(folder).iterdir()) == source
    launch = colcon_install.share('launch', 'serve.launch.py')
    py_compile.compile(str(launch), doraise=True, cfile=str(colcon_install.workspace / 'x.pyc'))
    text = launch.read_text()
    assert "package='mosaico_ros'" in text
    assert "executable='mosaico-ros'" in text
    parameters = YAML(typ='safe').load(colcon_install.share('config', 'serve.yaml').read_text())
    assert set(parameters['/**']['ros__parameters']) == {'store', 'host', 'port'}


def test_serve_takes_the_parameter_file_and_expands_home(
    colcon_install: ColconInstall, tmp_path: Path
) -> None:
    """What serve.launch.py runs: the installed executable with the installed parameter file."""
    from mosaicolabs import MosaicoClient as PeerClient

    home, work = tmp_path / 'home', tmp_path / 'work'
    work.mkdir(parents=True)
    env = clean_env(home)
    port = free_port()
    overrides = tmp_path / 'overrides.yaml'  # launch_ros writes `port:=...` overrides like this
    overrides.write_text(f'/**:\n  ros__parameters:\n    port: "{port}"\n')
    server = colcon_install.popen(
        'mosaico-ros',
        'serve',
        '--ros-args',
        '-r',
        '__node:=mosaico_server',
        '--params-file',
        str(colcon_install.share('config', 'serve.yaml')),
        '--params-file',
        str(overrides),
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_answering(port, server)
        with PeerClient.connect('127.0.0.1', port) as peer:
            assert peer.list_sequences() == []
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert (home / '.local' / 'share' / 'mosaico_ros' / 'store' / 'catalog.sqlite').is_file(), (
        output
    )
    assert not (work / '~').exists()

    listed = colcon_install.run(
        'mosaico-ros',
        'list',
        '--ros-args',
        '-p',
        'store:=~/.local/share/mosaico_ros/store',
        env=env,
        cwd=work,
    )
    assert listed.returncode == 0, listed.stderr
    assert '0 sequence(s)' in listed.stdout


@pytest.mark.usefixtures('ros_domain')
def test_the_installed_recorder_records_with_the_installed_parameter_file(
    colcon_install: ColconInstall, tmp_path: Path
) -> None:
    """What record.launch.py runs: lib/mosaico_ros/recorder with config/recorder.yaml."""
    import signal
    import time

    from ros_support import published, publisher

    from mosaico_ros.connect import Target, open_client

    launch = colcon_install.share('launch', 'record.launch.py')
    py_compile.compile(str(launch), doraise=True, cfile=str(colcon_install.workspace / 'r.pyc'))
    assert "executable='recorder'" in launch.read_text()
    assert "'recorder.yaml'" in launch.read_text()
    store, spool = tmp_path / 'store', tmp_path / 'spool'
    overrides = tmp_path / 'overrides.yaml'  # as launch_ros writes `output:=...` overrides
    overrides.write_text(
        '/**:\n  ros__parameters:\n'
        f'    store: "{store}"\n    spool_dir: "{spool}"\n    output: "installed"\n'
    )
    recorder = colcon_install.popen(
        'recorder',
        '--ros-args',
        '--params-file',
        str(colcon_install.share('config', 'recorder.yaml')),
        '--params-file',
        str(overrides),
        env=colcon_install.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(3.0)
        spec = {
            'topics': [{'topic': '/imu', 'type': 'sensor_msgs/msg/Imu', 'hz': 100, 'count': 100}],
            'hold_s': 0.5,
        }
        with publisher(spec, tmp_path) as sensors:
            sent = published(sensors)
        time.sleep(1.5)
    finally:
        recorder.send_signal(signal.SIGINT)
        output, _ = recorder.communicate(timeout=120)
    assert recorder.returncode == 0, output
    assert 'recording into sequence installed_0' in output
    with open_client(Target(store=store)) as client:
        handler = client.topic_handler('installed_0', '/imu')
        assert handler is not None, output
        assert handler.msg_count == len(sent['/imu'])


@pytest.mark.usefixtures('ros_domain')
def test_the_installed_player_plays_with_the_installed_parameter_file(
    colcon_install: ColconInstall, tmp_path: Path
) -> None:
    """What play.launch.py runs: lib/mosaico_ros/player with config/player.yaml."""
    from replay_support import imu, imu_index, store_sequence
    from ros_support import received, subscriber

    from mosaico_ros.connect import Target, open_client

    launch = colcon_install.share('launch', 'play.launch.py')
    py_compile.compile(str(launch), doraise=True, cfile=str(colcon_install.workspace / 'p.pyc'))
    assert "executable='player'" in launch.read_text()
    assert "'player.yaml'" in launch.read_text()
    store = tmp_path / 'store'
    with open_client(Target(store=store)) as client:
        stamps = [1_700_000_000_000_000_000 + i * 10_000_000 for i in range(50)]
        imu_qos = {'reliability': 'reliable', 'durability': 'volatile', 'depth': 100}
        store_sequence(
            client,
            'installed',
            {'/imu': ('sensor_msgs/msg/Imu', imu_qos)},
            [('/imu', stamp, imu(i)) for i, stamp in enumerate(stamps)],
        )
    overrides = tmp_path / 'overrides.yaml'  # as launch_ros writes `sequences:=...` overrides
    overrides.write_text(
        '/**:\n  ros__parameters:\n'
        f'    store: "{store}"\n    sequences: [installed]\n    delay: 2.5\n'
    )
    spec = {'topics': [{'topic': '/imu', 'type': 'sensor_msgs/msg/Imu'}], 'expect': {'/imu': 50}}
    with subscriber(spec, tmp_path) as sub:
        sub.wait_for('subscribed')
        player = colcon_install.popen(
            'player',
            '--ros-args',
            '--params-file',
            str(colcon_install.share('config', 'player.yaml')),
            '--params-file',
            str(overrides),
            env=colcon_install.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        got = received(sub)['/imu']
        output, _ = player.communicate(timeout=120)
    assert player.returncode == 0, output
    assert [imu_index(payload) for _, _, payload in got] == list(range(50))
