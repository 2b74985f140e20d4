"""`mosaico-ros delete` as a process: confirmation, refusals, permissions; checked with the SDK."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import clean_env, run, sdk_contents, serve
from test_server_security import DELETE, KEYS, WRITE

BAGS = (('ros2_db3', 'rosbag2_talker'), ('ros2_mcap', 'rosbag2_cdr_test'))


def _inject(bags_dir: Path, env: dict[str, str], *target: str) -> None:
    paths = [str(bags_dir.joinpath(*bag)) for bag in BAGS]
    result = run(['inject', *paths, *target], env)
    assert result.returncode == 0, result.stdout + result.stderr


def _on_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run mosaico-ros with stdin, stdout and stderr on a pseudo-terminal; answer its prompt."""
    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, '-m', 'mosaico_ros', *args],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env=env,
        close_fds=True,
    )
    os.close(child_fd)
    output = b''
    deadline = time.monotonic() + 60
    while b'[y/N]' not in output and time.monotonic() < deadline:
        try:
            output += os.read(main_fd, 4096)
        except OSError:
            break
    os.write(main_fd, answer.encode() + b'\n')
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(main_fd)
    return process.wait(timeout=60), output.decode(errors='replace')


def test_delete_asks_on_a_terminal_and_refuses_without_one(tmp_path: Path, bags_dir: Path) -> None:
    env = clean_env(tmp_path / 'home')
    with serve(tmp_path / 'store', env) as port:
        host = ['--host', f'127.0.0.1:{port}']
        _inject(bags_dir, env, *host)
        before = sdk_contents(port)
        assert sorted(before) == ['rosbag2_cdr_test', 'rosbag2_talker']

        piped = run(['delete', 'rosbag2_talker', *host], env)
        assert piped.returncode == 2
        assert 'stdin is not a terminal; pass --yes' in piped.stderr
        missing = run(['delete', 'rosbag2_talker', 'no_such', *host, '--yes'], env)
        assert missing.returncode == 1
        assert "no sequence 'no_such'" in missing.stderr
        assert 'nothing deleted' in missing.stderr
        assert sdk_contents(port) == before

        status, shown = _on_terminal(['delete', 'rosbag2_talker', *host], env, 'n')
        assert status == 1, shown
        assert 'rosbag2_talker: 2 topic(s)' in shown
        assert 'Aborted' in shown
        assert sdk_contents(port) == before

        status, shown = _on_terminal(['delete', 'rosbag2_talker', *host], env, 'y')
        assert status == 0, shown
        assert 'deleted rosbag2_talker' in shown
        assert sdk_contents(port) == {'rosbag2_cdr_test': before['rosbag2_cdr_test']}

        scripted = run(['delete', 'rosbag2_cdr_test', *host, '--yes'], env)
        assert scripted.returncode == 0, scripted.stderr
        assert sdk_contents(port) == {}


def test_delete_without_the_permission_says_which_is_needed(tmp_path: Path, bags_dir: Path) -> None:
    from mosaico_ros.server import EmbeddedServer

    with EmbeddedServer(tmp_path / 'store', api_keys=KEYS) as server:
        env = clean_env(tmp_path / 'home', MOSAICO_DAEMON_URL=f'127.0.0.1:{server.port}')
        _inject(bags_dir, {**env, 'MOSAICO_API_KEY': WRITE})
        refused = run(['delete', 'rosbag2_talker', '--yes', '--api-key', WRITE], env)
        assert refused.returncode == 1
        assert 'refused to delete' in refused.stderr
        assert 'needs delete permission' in refused.stderr
        assert 'Deleting needs an API key with the delete permission' in refused.stderr
        assert 'Traceback' not in refused.stderr
        allowed = run(['delete', 'rosbag2_talker', '--yes'], {**env, 'MOSAICO_API_KEY': DELETE})
        assert allowed.returncode == 0, allowed.stderr
        assert sorted(sdk_contents(server.port, api_key=DELETE)) == ['rosbag2_cdr_test']


def test_delete_never_creates_a_store(tmp_path: Path) -> None:
    env = clean_env(tmp_path / 'home')
    result = run(['delete', 'x', '--yes', '--store', str(tmp_path / 'nope')], env)
    assert result.returncode == 1
    assert 'there is no store at' in result.stderr
    assert not (tmp_path / 'nope').exists()
