"""`mosaico-ros query` as a process against `mosaico-ros serve`: catalog, content, windows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import clean_env, run, serve
from known_windows import IMU_WINDOWS_1S, IMU_WINDOWS_SMALL_GAP, write_known_windows

from mosaico_ros.client import MosaicoClient, merge_spans

RAZOR = ('ros1', 'imu_tools_sparkfun_razor.bag')


@pytest.fixture(scope='module')
def served(tmp_path_factory: pytest.TempPathFactory, bags_dir: Path) -> Iterator[tuple[int, Any]]:
    """A served store with two generated sequences and two real bags."""
    home = tmp_path_factory.mktemp('home')
    env = clean_env(home)
    with serve(home / 'store', env) as port:
        with MosaicoClient.connect('127.0.0.1', port) as client:
            write_known_windows(client, 'drive_a', {'robot': 'husky', 'env': {'visibility': 40}})
            write_known_windows(client, 'drive_b', {'robot': 'jackal', 'env': {'visibility': 80}})
        bags = [str(bags_dir.joinpath(*RAZOR)), str(bags_dir / 'ros2_db3' / 'rosbag2_talker')]
        injected = run(['inject', *bags, '--host', f'127.0.0.1:{port}'], env)
        assert injected.returncode == 0, injected.stdout + injected.stderr
        yield port, env


def _query(served: tuple[int, Any], *args: str) -> tuple[int, Any]:
    port, env = served
    result = run(['query', '--host', f'127.0.0.1:{port}', '--json', *args], env)
    assert result.stderr.startswith(f'target: grpc://127.0.0.1:{port} (from --host)'), result.stderr
    document = json.loads(result.stdout) if result.stdout else None
    return result.returncode, document


def _names(document: Any) -> dict[str, list[str]]:
    return {s['sequence']: [t['topic'] for t in s['topics']] for s in document['sequences']}


def test_catalog_filters(served: tuple[int, Any]) -> None:
    _, everything = _query(served)
    assert sorted(_names(everything)) == [
        'drive_a',
        'drive_b',
        'imu_tools_sparkfun_razor',
        'rosbag2_talker',
    ]
    assert _names(_query(served, '--name', 'drive_?')[1]) == {
        'drive_a': ['/imu', '/speed'],
        'drive_b': ['/imu', '/speed'],
    }
    assert sorted(_names(_query(served, '--metadata', 'env.visibility<50')[1])) == ['drive_a']
    assert sorted(_names(_query(served, '--metadata', 'robot=jackal')[1])) == ['drive_b']
    by_tag = _names(_query(served, '--ontology', 'IMU', '--name', '*razor')[1])
    assert by_tag == {'imu_tools_sparkfun_razor': ['/imu/data_raw']}
    assert _names(_query(served, '--topic', '/sp*', '--name', 'drive_b')[1]) == {
        'drive_b': ['/speed']
    }
    assert _names(_query(served, '--topic-metadata', 'mount=base', '--name', 'drive_a')[1]) == {
        'drive_a': ['/imu']
    }
    assert sorted(_names(_query(served, '--created-after', '2000-01-01T00:00:00')[1])) == sorted(
        _names(everything)
    )
    # Generated from 2023-11-14 22:13:20 UTC; the razor bag is of 2012, the talker of 2020.
    recorded = _query(served, '--recorded-after', '2023-01-01', '--recorded-before', '2023-11-15')
    assert sorted(_names(recorded[1])) == ['drive_a', 'drive_b']
    assert sorted(_names(_query(served, '--recorded-before', '2015-01-01')[1])) == [
        'imu_tools_sparkfun_razor'
    ]
    overlapping = _query(
        served, '--recorded-after', '2020-04-02T22:23:58Z', '--recorded-before', '2020-04-03'
    )
    assert sorted(_names(overlapping[1])) == ['rosbag2_talker']
    status, nothing = _query(served, '--name', 'no_such_*')
    assert (status, nothing['sequences']) == (1, [])


def test_content_and_windows(served: tuple[int, Any]) -> None:
    status, matched = _query(
        served, '--where', 'IMU.acceleration.x > 4', '--metadata', 'robot=husky'
    )
    assert status == 0
    assert _names(matched) == {'drive_a': ['/imu']}
    _, windows = _query(
        served,
        '--where',
        'IMU.acceleration.x > 4',
        '--name',
        'drive_a',
        '--windows',
        '--gap',
        '200ms',
    )
    (topic,) = windows['sequences'][0]['topics']
    assert [(w['start_ns'], w['end_ns']) for w in topic['windows']] == IMU_WINDOWS_SMALL_GAP
    _, merged = _query(
        served, '--where', 'IMU.acceleration.x > 4', '--name', 'drive_a', '--windows'
    )
    (topic,) = merged['sequences'][0]['topics']
    assert [(w['start_ns'], w['end_ns']) for w in topic['windows']] == IMU_WINDOWS_1S


def test_windows_of_a_real_bag_match_its_data(served: tuple[int, Any]) -> None:
    """Windows on the razor IMU bag equal those computed from its rows read with the SDK."""
    from mosaicolabs import MosaicoClient as PeerClient

    port, _ = served
    with PeerClient.connect('127.0.0.1', port) as peer:
        handler = peer.topic_handler('imu_tools_sparkfun_razor', '/imu/data_raw')
        rows = [(m.timestamp_ns, m.data.angular_velocity.z) for m in handler.get_data_streamer()]
    values = sorted(value for _, value in rows)
    threshold = values[int(len(values) * 0.95)]  # the top 5 %: a few short bursts
    gap = 100_000_000
    expected = merge_spans(((t, t) for t, value in rows if value > threshold), gap)
    assert 1 < len(expected) < len(rows) // 20
    _, document = _query(
        served,
        '--where',
        f'IMU.angular_velocity.z > {threshold!r}',
        '--name',
        'imu_tools_sparkfun_razor',
        '--windows',
        '--gap',
        '100ms',
    )
    (topic,) = document['sequences'][0]['topics']
    assert [(w['start_ns'], w['end_ns']) for w in topic['windows']] == expected


def test_table_and_mistakes(served: tuple[int, Any], tmp_path: Path) -> None:
    port, env = served
    host = ['--host', f'127.0.0.1:{port}']
    table = run(
        ['query', *host, '--where', 'IMU.acceleration.x > 4', '--windows', '--name', 'drive_a'], env
    )
    assert table.returncode == 0, table.stderr
    assert '1 sequence(s), 1 topic(s) match' in table.stdout
    assert '2 window(s)' in table.stdout
    assert '3.0 s' in table.stdout  # 5 s .. 8 s
    typo = run(['query', *host, '--where', 'IMU.accel.x > 4'], env)
    assert typo.returncode == 2
    assert "IMU has no field 'accel'" in typo.stderr
    lonely = run(['query', *host, '--windows'], env)
    assert lonely.returncode == 2
    assert '--windows needs a --where expression' in lonely.stderr
    missing = tmp_path / 'no_store'
    absent = run(['query', '--store', str(missing)], env)
    assert absent.returncode == 1
    assert f'there is no store at {missing}' in absent.stderr
    assert not missing.exists()
