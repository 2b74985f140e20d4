"""The package as `colcon build` installs it: executables, launch and parameter files."""

from __future__ import annotations

import py_compile
import subprocess
import sys
from pathlib import Path

from cli_helpers import clean_env, free_port, wait_answering
from colcon_build import ColconInstall
from conftest import REPO
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
