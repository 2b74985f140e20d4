"""The recorder node with real rclpy publishers in other processes, on loopback.

Each test runs in a ROS domain of its own (`ros_support.ros_domain`); the
recorder runs as ``mosaico-ros record`` in its own process, and its uploader
as that process's child.
"""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from ros_support import (
    DiagnosticsListener,
    ServiceCaller,
    expected_rows,
    mosaico_ros,
    published,
    publisher,
    ros_domain,  # noqa: F401 (fixture)
    stored_rows,
)

pytestmark = pytest.mark.usefixtures('ros_domain')

IMU = 'sensor_msgs/msg/Imu'
IMAGE = 'sensor_msgs/msg/Image'
STRING = 'std_msgs/msg/String'
MARKERS = 'visualization_msgs/msg/MarkerArray'
FIX = 'sensor_msgs/msg/NavSatFix'


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / 'store'


def _client(store: Path) -> Any:
    from mosaico_ros.connect import Target, open_client

    return open_client(Target(store=store))


def _record(tmp_path: Path, store: Path, *args: str) -> Any:
    process = mosaico_ros(
        'record',
        '--store',
        str(store),
        '--spool-dir',
        str(tmp_path / 'spool'),
        '--max-latency',
        '0.5',
        *args,
    )
    process.wait_for('recording into sequence')
    return process


def _rows_equal(client: Any, sequence: str, topic: str, msgtype: str, sent: list[bytes]) -> None:
    table = stored_rows(client, sequence, topic)
    rows = [{k: v for k, v in row.items() if k != 'timestamp_ns'} for row in table.to_pylist()]
    assert len(rows) == len(sent), f'{topic}: stored {len(rows)} of {len(sent)}'
    assert rows == expected_rows(msgtype, sent), topic
    times = table.column('timestamp_ns').to_pylist()
    assert times == sorted(times), f'{topic}: receive times out of order'


def test_records_every_published_message_of_every_kind(tmp_path: Path, store: Path) -> None:
    # /robot_description is latched and published before the recorder starts
    latched = {
        'topics': [{'topic': '/robot_description', 'type': STRING, 'count': 1, 'latched': True}],
        'hold_s': 60.0,
    }
    with publisher(latched, tmp_path) as description:
        time.sleep(1.0)
        recorder = _record(tmp_path, store, '--all', '-o', 'drive')
        spec = {
            'topics': [
                {'topic': '/imu', 'type': IMU, 'hz': 400, 'count': 1600},
                {'topic': '/camera/image_raw', 'type': IMAGE, 'hz': 15, 'count': 60},
                {'topic': '/markers', 'type': MARKERS, 'hz': 10, 'count': 40},
                # appears mid-run
                {'topic': '/gps/fix', 'type': FIX, 'hz': 5, 'count': 10, 'start_s': 2.0},
            ],
            'hold_s': 0.5,
        }
        with publisher(spec, tmp_path) as sensors:
            sent = published(sensors)
        time.sleep(1.5)  # the last messages reach the recorder
        status = recorder.stop(signal.SIGINT)
        assert status == 0, recorder.output
        description.stop(signal.SIGTERM)
    assert 'drive_0' in recorder.output
    sent.update(published(description, timeout=5))
    types = {
        '/imu': IMU,
        '/camera/image_raw': IMAGE,
        '/markers': MARKERS,
        '/gps/fix': FIX,
        '/robot_description': STRING,
    }
    with _client(store) as client:
        sequence = client.sequence_handler('drive_0')
        assert sequence is not None
        for topic, msgtype in types.items():
            _rows_equal(client, 'drive_0', topic, msgtype, sent[topic])
        markers = client.topic_handler('drive_0', '/markers')
        assert markers.ontology_tag == 'ros:visualization_msgs/msg/MarkerArray'
        meta = client.topic_handler('drive_0', '/robot_description').user_metadata['_ros_']
        assert meta['qos'][0]['durability'] == 'transient_local'
        assert meta['ros_version'] == 2
        imu_handler = client.topic_handler('drive_0', '/imu')
        assert imu_handler.locked
        accounting = stored_rows(client, 'drive_0', '/mosaico_recorder/accounting').to_pylist()
        counts = {row['topic']: (row['received'], row['stored']) for row in accounting}
        assert counts['/imu'] == (1600, 1600)
        # Replay and export leave the recorder's own account out, with no warning.
        from replay_support import humble

        from mosaico_ros.adapters import default_registry
        from mosaico_ros.pipeline.replay import StoredSequences

        stored = StoredSequences(client, ['drive_0'], registry=default_registry, typestore=humble())
        with stored:
            assert '/mosaico_recorder/accounting' not in stored.refused
            assert '/mosaico_recorder/accounting' not in stored.encoders
            assert '/imu' in stored.encoders
    _sdk_reads(store, sent)


def _sdk_reads(store: Path, sent: dict[str, list[bytes]]) -> None:
    """The official SDK reads the recorded IMU rows with the published values."""
    from mosaicolabs import MosaicoClient as PeerClient

    from mosaico_ros.server import EmbeddedServer

    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        PeerClient.connect(host='127.0.0.1', port=server.port) as sdk,
    ):
        handler = sdk.topic_handler('drive_0', '/imu')
        messages = list(handler.get_data_streamer())
        assert len(messages) == len(sent['/imu'])
        assert [m.data.acceleration.x for m in messages] == [float(i) for i in range(len(messages))]
        fixes = list(sdk.topic_handler('drive_0', '/gps/fix').get_data_streamer())
        assert [round(m.data.position.z) for m in fixes] == [100 + i for i in range(10)]


def _imu_indices(client: Any, sequence: str) -> list[int]:
    table = stored_rows(client, sequence, '/imu')
    return [int(row['x']) for row in table.column('acceleration').to_pylist()]


def test_pause_resume_and_split_by_service(tmp_path: Path, store: Path) -> None:
    recorder = _record(tmp_path, store, '/imu', '-o', 'svc')
    services = ServiceCaller('mosaico_recorder')
    try:
        spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 50, 'count': 400}], 'hold_s': 0.5}
        with publisher(spec, tmp_path) as sensors:
            sensors.wait_for('started /imu')
            time.sleep(1.0)
            assert services.call('is_paused').success is False
            assert services.call('pause').success
            assert services.call('is_paused').success is True
            time.sleep(1.5)
            assert services.call('resume').success
            time.sleep(1.0)
            split = services.call('split')
            assert 'svc_0 closed; next sequence svc_1' in split.message, recorder.output
            sent = published(sensors)
        time.sleep(1.0)
    finally:
        services.close()
    assert recorder.stop() == 0, recorder.output
    with _client(store) as client:
        first, second = _imu_indices(client, 'svc_0'), _imu_indices(client, 'svc_1')
        assert first
        assert second
        assert first[-1] < second[0], 'the split cuts the stream in two, in order'
        got = first + second
        gaps = [(a, b) for a, b in itertools.pairwise(got) if b != a + 1]
        # one gap: the pause (about 1.5 s at 50 Hz), nothing else missing
        assert len(gaps) == 1, gaps
        missing = gaps[0][1] - gaps[0][0] - 1
        assert 50 <= missing <= 100
        assert got[0] == 0
        assert got[-1] == len(sent['/imu']) - 1
        report = stored_rows(client, 'svc_0', '/mosaico_recorder/accounting').to_pylist()
        assert [row['topic'] for row in report] == ['/imu']


def test_split_by_duration_keeps_every_message_once(tmp_path: Path, store: Path) -> None:
    recorder = _record(tmp_path, store, '/imu', '-o', 'timed', '-d', '1.5')
    spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 100, 'count': 450}], 'hold_s': 0.5}
    with publisher(spec, tmp_path) as sensors:
        sent = published(sensors)
    time.sleep(1.0)
    assert recorder.stop() == 0, recorder.output
    with _client(store) as client:
        names = sorted(n for n in client.list_sequences() if n.startswith('timed_'))
        assert len(names) >= 3, names
        got = [
            i
            for name in sorted(names, key=lambda n: int(n.rsplit('_', 1)[1]))
            for i in _imu_indices(client, name)
        ]
    assert got == list(range(len(sent['/imu'])))


def test_snapshot_mode_stores_the_ring_buffer_on_request(tmp_path: Path, store: Path) -> None:
    recorder = _record(
        tmp_path, store, '/imu', '-o', 'snap', '--snapshot-mode', '--max-cache-duration', '1.0'
    )
    services = ServiceCaller('mosaico_recorder')
    try:
        spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 100, 'count': 300}], 'hold_s': 3.0}
        with publisher(spec, tmp_path) as sensors:
            sent = published(sensors)
            time.sleep(0.5)
            answer = services.call('snapshot')
            assert answer.success
            assert 'snap_0' in answer.message
    finally:
        services.close()
    assert recorder.stop() == 0, recorder.output
    with _client(store) as client:
        assert [n for n in client.list_sequences() if n.startswith('snap')] == ['snap_0']
        got = _imu_indices(client, 'snap_0')
    total = len(sent['/imu'])
    # the last second at 100 Hz, contiguous, ending with the last message
    assert got == list(range(got[0], total))
    assert 90 <= len(got) <= 110


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


def _serve(store: Path, port: int) -> Any:
    server = mosaico_ros('serve', '--store', str(store), '--port', str(port))
    server.wait_for('Serving')
    return server


def _stop_telling_the_uploader_state(recorder: Any, spool: Path) -> None:
    """Stop a recorder; if it does not stop, say where its uploader was (its status file)."""
    from mosaico_ros.nodes.uploader import read_status

    try:
        status = recorder.stop()
    except AssertionError as err:
        raise AssertionError(f'{err}\nuploader status: {read_status(spool)}') from None
    assert status == 0, recorder.output


def test_a_server_outage_of_30_s_loses_nothing(tmp_path: Path, store: Path) -> None:
    port = _free_port()
    server = _serve(store, port)
    diagnostics = DiagnosticsListener()
    recorder = mosaico_ros(
        'record',
        '/imu',
        '-o',
        'outage',
        '--host',
        '127.0.0.1',
        '--port',
        str(port),
        '--spool-dir',
        str(tmp_path / 'spool'),
        '--max-latency',
        '0.5',
    )
    try:
        recorder.wait_for('recording into sequence')
        spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 50, 'count': 2100}], 'hold_s': 0.5}
        with publisher(spec, tmp_path) as sensors:
            sensors.wait_for('started /imu')
            time.sleep(4.0)
            server.kill()
            time.sleep(30.0)
            during = diagnostics.values('mosaico_recorder: recorder')
            server = _serve(store, port)
            sent = published(sensors)
        time.sleep(3.0)
        _stop_telling_the_uploader_state(recorder, tmp_path / 'spool')
    finally:
        diagnostics.close()
        server.stop(signal.SIGINT)
    assert any(v['server_connected'] == 'False' for v in during), during[-3:]
    assert any(int(v['spool_bytes']) > 0 for v in during)
    assert any(int(v['outages']) >= 1 for v in diagnostics.values('mosaico_recorder: recorder'))
    with _client(store) as client:
        assert _imu_indices(client, 'outage_0') == list(range(len(sent['/imu'])))


def test_a_killed_recorder_is_completed_by_the_next_start(tmp_path: Path, store: Path) -> None:
    hz, flush = 100, 0.5
    args = ('/imu', '-o', 'killed', '--spool-flush-period', str(flush))
    first = _record(tmp_path, store, *args)
    spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': hz, 'count': 900}], 'hold_s': 0.5}
    with publisher(spec, tmp_path) as sensors:
        sensors.wait_for('started /imu')
        started = time.monotonic()
        time.sleep(3.0)
        first.kill()
        at_kill = (time.monotonic() - started) * hz
        second = _record(tmp_path, store, *args)
        sent = published(sensors)
    time.sleep(1.0)
    assert second.stop() == 0, second.output
    with _client(store) as client:
        names = sorted(n for n in client.list_sequences() if n.startswith('killed_'))
        assert names == ['killed_0', 'killed_1'], names
        before, after = _imu_indices(client, 'killed_0'), _imu_indices(client, 'killed_1')
        assert client.topic_handler('killed_0', '/imu').locked
    # what was spooled before the kill is there, in order, from the first message ...
    assert before == list(range(len(before)))
    # ... up to the flush guarantee (and the messages still queued for the spool)
    assert before[-1] >= at_kill - hz * (flush + 0.5), (before[-1], at_kill)
    # the restarted recorder records every message from its first to the last one published;
    # a reliable writer may hand a late joiner some older samples it still holds, after newer ones
    assert sorted(after) == list(range(min(after), len(sent['/imu'])))


def test_the_node_takes_its_settings_from_a_parameter_file(tmp_path: Path, store: Path) -> None:
    """As ``ros2 run mosaico_ros recorder --ros-args --params-file config/recorder.yaml``."""
    import sys

    from ros_support import Process

    repo = Path(__file__).resolve().parents[1]
    recorder = Process(
        [
            sys.executable,
            '-m',
            'mosaico_ros.nodes.recorder',
            '--ros-args',
            '--params-file',
            str(repo / 'config' / 'recorder.yaml'),
            '-p',
            f'store:={store}',
            '-p',
            f'spool_dir:={tmp_path / "spool"}',
            '-p',
            'output:=from_params',
            '-p',
            'max_latency:=0.5',
        ]
    )
    recorder.wait_for('recording into sequence from_params_0')
    spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 100, 'count': 200}], 'hold_s': 0.5}
    with publisher(spec, tmp_path) as sensors:
        sent = published(sensors)
    time.sleep(1.0)
    assert recorder.stop() == 0, recorder.output
    with _client(store) as client:
        assert _imu_indices(client, 'from_params_0') == list(range(len(sent['/imu'])))


def test_sim_time_and_qos_overrides(tmp_path: Path, store: Path) -> None:
    """--use-sim-time stamps rows with /clock; a QoS override file changes one subscription."""
    overrides = tmp_path / 'qos.yaml'
    overrides.write_text('/imu:\n  reliability: best_effort\n  depth: 7\n')
    recorder = _record(
        tmp_path,
        store,
        '/imu',
        '-o',
        'sim',
        '--use-sim-time',
        '--qos-profile-overrides-path',
        str(overrides),
    )
    spec = {
        'topics': [
            {
                'topic': '/clock',
                'type': 'rosgraph_msgs/msg/Clock',
                'hz': 100,
                'count': 400,
                'wait_for_subscriber': True,
            },
            {'topic': '/imu', 'type': IMU, 'hz': 50, 'count': 100, 'start_s': 1.0},
        ],
        'hold_s': 0.5,
    }
    services = ServiceCaller('mosaico_recorder')
    try:
        with publisher(spec, tmp_path) as sensors:
            sensors.wait_for('started /imu')
            infos = services.node.get_subscriptions_info_by_topic('/imu')
            published(sensors)
    finally:
        services.close()
    time.sleep(1.0)
    assert recorder.stop() == 0, recorder.output
    [info] = [i for i in infos if i.node_name == 'mosaico_recorder']
    assert info.qos_profile.reliability.name == 'BEST_EFFORT'
    with _client(store) as client:
        times = stored_rows(client, 'sim_0', '/imu').column('timestamp_ns').to_pylist()
    # /clock runs from 1000 s to 1004 s: every row time is sim time, none is wall time
    assert times
    assert all(1_000_000_000_000 <= t <= 1_004_000_000_000 for t in times), times[:3]


def test_a_second_ctrl_c_leaves_the_upload_to_the_next_start(tmp_path: Path, store: Path) -> None:
    port = _free_port()  # no server there yet
    args = (
        '/imu',
        '-o',
        'later',
        '--host',
        '127.0.0.1',
        '--port',
        str(port),
        '--spool-dir',
        str(tmp_path / 'spool'),
    )
    first = mosaico_ros('record', *args)
    first.wait_for('recording into sequence')
    spec = {'topics': [{'topic': '/imu', 'type': IMU, 'hz': 100, 'count': 150}], 'hold_s': 0.5}
    with publisher(spec, tmp_path) as sensors:
        sent = published(sensors)
    time.sleep(1.0)
    first.popen.send_signal(signal.SIGINT)
    first.wait_for('Ctrl-C again to leave it')
    first.stop(signal.SIGINT, timeout=30)
    assert 'the next start uploads what is there' in first.output
    assert list((tmp_path / 'spool').glob('later_0.mcap'))
    server = _serve(store, port)
    try:
        second = mosaico_ros('record', *args)
        second.wait_for('recording into sequence later_1')
        time.sleep(2.0)
        assert second.stop() == 0, second.output
    finally:
        server.stop()
    with _client(store) as client:
        assert _imu_indices(client, 'later_0') == list(range(len(sent['/imu'])))
