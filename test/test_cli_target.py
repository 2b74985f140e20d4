"""Which server a command uses: flags, the mosaico CLI's environment and profiles.

The end-to-end tests run the official `mosaico` CLI (`mosaicolabs[cli]`),
which runs `mosaico ros ...` as the `mosaico-ros` found on PATH with the
chosen profile exported in the environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from certificates import self_signed
from cli_helpers import clean_env, free_port, run, sdk_contents, serve
from test_server_security import KEYS, WRITE

from mosaico_ros.protocol import DEFAULT_PORT
from mosaico_ros.target import Target, TargetError, resolve_target

TALKER_COUNTS = {'/rosout': 10, '/topic': 10}


def _write_profiles(path: Path, port: int) -> Path:
    # As `mosaico profile add` writes them: every value a string but booleans.
    path.write_text(
        '[lab]\n'
        'host = "127.0.0.1"\n'
        f'port = "{port}"\n'
        'tls = false\n'
        '\n'
        '[field]\n'
        f'host = "127.0.0.1:{port}"\n'
        'api_key = "msco_field"\n'
        'tls = true\n'
        'cert_path = "~/ca.pem"\n'
    )
    return path


def _mosaico(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pytest.importorskip('typer', reason='the official mosaico CLI needs mosaicolabs[cli]')
    return subprocess.run(
        [sys.executable, '-m', 'mosaicolabs_cli.main', *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- choosing the target -------------------------------------------------------------------------


def test_first_match_wins(tmp_path: Path) -> None:
    profiles = _write_profiles(tmp_path / 'config.toml', 7001)
    env = {
        'HOME': str(tmp_path),
        'XDG_DATA_HOME': str(tmp_path / 'data'),
        'MOSAICO_CONFIG_PATH': str(profiles),
    }
    assert resolve_target(environ=env) == Target(
        store=tmp_path / 'data' / 'mosaico_ros' / 'store', source='the default'
    )
    env['MOSAICO_STORE'] = '~/robot_store'
    assert resolve_target(environ=env).store == Path.home() / 'robot_store'
    assert resolve_target(environ=env).source == 'MOSAICO_STORE'
    env['MOSAICO_PROFILE'] = 'lab'
    chosen = resolve_target(environ=env)
    assert (chosen.host, chosen.port, chosen.tls) == ('127.0.0.1', 7001, False)
    assert chosen.source == f"profile 'lab' (MOSAICO_PROFILE) in {profiles}"
    chosen = resolve_target(profile='field', environ=env)
    assert (chosen.port, chosen.api_key) == (7001, 'msco_field')
    assert chosen.tls_cert == Path.home() / 'ca.pem'
    assert chosen.uses_tls
    assert chosen.source.startswith("profile 'field' (--profile)")
    env['MOSAICO_DAEMON_URL'] = 'mosaico.example.org'
    chosen = resolve_target(profile='field', environ=env)
    assert (chosen.host, chosen.port, chosen.source) == (
        'mosaico.example.org',
        DEFAULT_PORT,
        'MOSAICO_DAEMON_URL',
    )
    assert resolve_target(host='other:7100', environ=env).describe() == 'grpc://other:7100'
    assert resolve_target(store=Path('~/s'), host=None, environ=env).store == Path.home() / 's'
    with pytest.raises(TargetError, match='either --store or --host'):
        resolve_target(store=tmp_path, host='h', environ=env)


def test_ports_tls_and_keys_are_layered(tmp_path: Path) -> None:
    cert = tmp_path / 'ca.pem'
    env = {'MOSAICO_DAEMON_URL': 'grpc://h.example:7200/'}
    assert resolve_target(environ=env).port == 7200
    assert resolve_target(port=7300, environ=env).port == 7300
    assert resolve_target(host='h', environ={}).port == DEFAULT_PORT
    assert resolve_target(host='[::1]:7400', environ={}).describe() == 'grpc://::1:7400'
    assert not resolve_target(environ=env).uses_tls
    for value, on in (('1', True), ('true', True), ('yes please', True), ('0', False)):
        assert resolve_target(environ={**env, 'MOSAICO_TLS': value}).uses_tls is on
    assert resolve_target(tls=True, environ=env).describe() == 'grpc+tls://h.example:7200'
    assert resolve_target(environ={'MOSAICO_DAEMON_URL': 'grpc+tls://h'}).uses_tls
    for variable in ('MOSAICO_CERT_PATH', 'MOSAICO_TLS_CERT_FILE'):
        chosen = resolve_target(environ={**env, variable: str(cert)})
        assert (chosen.tls_cert, chosen.uses_tls) == (cert, True)
    key_env = {**env, 'MOSAICO_API_KEY': 'msco_env'}
    assert resolve_target(environ=key_env).api_key == 'msco_env'
    assert resolve_target(api_key='msco_flag', environ=key_env).api_key == 'msco_flag'
    assert 'with API key' in resolve_target(environ=key_env).explain()
    with pytest.raises(TargetError, match="port 'x' is not a number"):
        resolve_target(environ={'MOSAICO_DAEMON_URL': 'h:x'})


def test_profile_errors_name_the_file(tmp_path: Path) -> None:
    profiles = _write_profiles(tmp_path / 'config.toml', 7001)
    env = {'MOSAICO_CONFIG_PATH': str(profiles)}
    with pytest.raises(
        TargetError, match=r"no profile 'prod' in .*config.toml; profiles there: lab, field"
    ):
        resolve_target(profile='prod', environ=env)
    missing = {'MOSAICO_CONFIG_PATH': str(tmp_path / 'none.toml')}
    with pytest.raises(TargetError, match=r'there is no profiles file .*none\.toml'):
        resolve_target(profile='lab', environ=missing)
    profiles.write_text('[lab]\nhost = "h:7001"\nport = 7002\n')
    with pytest.raises(TargetError, match='gives two ports'):
        resolve_target(profile='lab', environ=env)


# -- end to end ---------------------------------------------------------------------------------


def test_mosaico_profile_ros_inject_stores_into_the_profiles_server(
    tmp_path: Path, bags_dir: Path
) -> None:
    """`mosaico --profile lab ros inject BAG` writes to the profile's server, not a local store."""
    env = clean_env(tmp_path / 'home')
    with serve(tmp_path / 'served', env) as port:
        profiles = _write_profiles(tmp_path / 'config.toml', port)
        env['MOSAICO_CONFIG_PATH'] = str(profiles)
        bag = bags_dir / 'ros2_db3' / 'rosbag2_talker'
        result = _mosaico(['--profile', 'lab', 'ros', 'inject', str(bag)], env)
        assert result.returncode == 0, result.stdout + result.stderr
        first_line = result.stderr.splitlines()[0]
        assert first_line == f'target: grpc://127.0.0.1:{port} (from MOSAICO_DAEMON_URL)'
        assert sdk_contents(port) == {'rosbag2_talker': TALKER_COUNTS}

        # Alone, `mosaico-ros --profile lab` reads the same profile itself.
        alone = run(['--profile', 'lab', 'list'], env)
        assert alone.returncode == 0, alone.stderr
        assert alone.stderr.splitlines()[0] == (
            f"target: grpc://127.0.0.1:{port} (from profile 'lab' (--profile) in {profiles})"
        )
        assert 'rosbag2_talker' in alone.stdout
        by_env = run(['list'], {**env, 'MOSAICO_PROFILE': 'lab'})
        assert 'rosbag2_talker' in by_env.stdout, by_env.stderr

        # --port wins over the profile's port.
        elsewhere = free_port()
        moved = run(['--profile', 'lab', 'list', '--port', str(elsewhere)], env, timeout=60)
        assert moved.returncode == 1
        assert f'no Mosaico server answered at grpc://127.0.0.1:{elsewhere}' in moved.stderr

        helped = run(['--profile', 'lab', 'inject', '--help'], env)
        assert f'runs on grpc://127.0.0.1:{port} (from profile' in ' '.join(helped.stdout.split())
    assert not (tmp_path / 'home' / '.local' / 'share' / 'mosaico_ros').exists()


def test_mosaico_environment_with_api_key_and_tls(tmp_path: Path, bags_dir: Path) -> None:
    """The variables the mosaico CLI exports reach a TLS server with an API key."""
    from mosaico_ros.server import EmbeddedServer

    cert, key = self_signed()
    cert_path = tmp_path / 'ca.pem'
    cert_path.write_bytes(cert)
    with EmbeddedServer(
        tmp_path / 'secured', api_keys=KEYS, tls_cert_chain=cert, tls_private_key=key
    ) as server:
        env = clean_env(
            tmp_path / 'home',
            MOSAICO_DAEMON_URL=f'127.0.0.1:{server.port}',
            MOSAICO_API_KEY=WRITE,
            MOSAICO_TLS='1',
            MOSAICO_CERT_PATH=str(cert_path),
        )
        bag = bags_dir / 'ros2_db3' / 'rosbag2_talker'
        result = _mosaico(['ros', 'inject', str(bag)], env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr.splitlines()[0] == (
            f'target: grpc+tls://127.0.0.1:{server.port} with API key, CA {cert_path} '
            '(from MOSAICO_DAEMON_URL)'
        )
        contents = sdk_contents(server.port, api_key=WRITE, tls_cert_path=str(cert_path))
        assert contents == {'rosbag2_talker': TALKER_COUNTS}

        # The old variable name still works; without the key the server refuses.
        aliased = {**env, 'MOSAICO_TLS_CERT_FILE': str(cert_path)}
        del aliased['MOSAICO_CERT_PATH']
        listed = run(['list'], aliased)
        assert listed.returncode == 0, listed.stderr
        assert 'rosbag2_talker' in listed.stdout
        del aliased['MOSAICO_API_KEY']
        refused = run(['list'], aliased)
        assert refused.returncode == 1
        assert 'missing API key' in refused.stderr
    assert not (tmp_path / 'home' / '.local' / 'share' / 'mosaico_ros').exists()


def test_paths_expand_home(tmp_path: Path, bags_dir: Path) -> None:
    """A literal `~` (from a launch file or quotes) means the home directory, not `./~`."""
    home = tmp_path / 'home'
    env = clean_env(home)
    work = tmp_path / 'work'
    work.mkdir()
    bag = bags_dir / 'ros2_db3' / 'rosbag2_talker'
    result = run(['inject', str(bag), '--store', '~/robot_store'], env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f'target: store {home / "robot_store"} (from --store)'
    assert (home / 'robot_store' / 'catalog.sqlite').is_file()
    assert not (work / '~').exists()
