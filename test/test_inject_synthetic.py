"""Inject generated recordings (no ../shared needed) and read every value back."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.cli import main
from mosaico_ros.demo.recording import (
    COMPRESSED_TOPIC,
    GPS_TOPIC,
    IMU_TOPIC,
    JOINT_NAMES,
    JOINTS_TOPIC,
    TF_TOPIC,
    Recording,
    RecordingSpec,
    expected_imu,
    write_recording,
)
from mosaico_ros.pipeline.report import SequenceStatus
from mosaico_ros.pipeline.selection import TopicSelection

SPEC = RecordingSpec(duration_s=2.0)


@pytest.fixture(scope='module')
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    root = tmp_path_factory.mktemp('recordings')
    return {
        'mcap': write_recording(root / 'drive_mcap', 'mcap', SPEC),
        'db3': write_recording(root / 'drive_db3', 'db3', SPEC),
        'bag': write_recording(root / 'drive.bag', 'bag', SPEC),
    }


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def read_topic(client: Any, sequence: str, topic: str) -> pa.Table:
    handler = client.topic_handler(sequence, topic)
    assert handler is not None, f'{sequence}{topic} missing'
    return pa.Table.from_batches(list(handler.iter_batches()), schema=handler.schema)


@pytest.mark.parametrize('fmt', ['mcap', 'db3', 'bag'])
def test_every_message_is_stored_with_its_values(
    client: Any, recordings: dict[str, Recording], fmt: str
) -> None:
    recording = recordings[fmt]
    report = Injector(client, InjectOptions(metadata={'site': 'lab'})).inject(recording.path)
    assert report.status is SequenceStatus.STORED, report.problems()
    assert report.clean
    name = 'drive' if fmt == 'bag' else f'drive_{fmt}'
    assert report.sequence == name
    assert {t: r.stored for t, r in report.topics.items()} == recording.counts

    sequence = client.sequence_handler(name)
    assert sequence.user_metadata == {'site': 'lab', 'rosbag_injection': recording.path.name}
    assert sorted(sequence.topics) == sorted(recording.counts)

    imu = read_topic(client, name, IMU_TOPIC)
    assert imu.num_rows == recording.counts[IMU_TOPIC]
    stamps = imu.column('timestamp_ns').to_pylist()
    assert stamps[0] == SPEC.start_ns
    assert stamps[1] - stamps[0] == 2_500_000
    accel = imu.column('acceleration').to_pylist()
    gyro = imu.column('angular_velocity').to_pylist()
    orientation = imu.column('orientation').to_pylist()
    for index in (0, 1, 417, imu.num_rows - 1):
        accel_x, gyro_z, quat_w = expected_imu(index)
        assert accel[index]['x'] == pytest.approx(accel_x, abs=1e-12)
        assert accel[index]['z'] == 9.81
        assert gyro[index]['z'] == pytest.approx(gyro_z, abs=1e-12)
        assert orientation[index]['w'] == pytest.approx(quat_w, abs=1e-12)
        assert accel[index]['covariance'][0] == 0.01

    joints = read_topic(client, name, JOINTS_TOPIC).to_pylist()
    assert joints[3]['names'] == list(JOINT_NAMES)
    assert joints[3]['positions'] == pytest.approx([math.sin(i + 0.03) for i in range(6)])

    gps = read_topic(client, name, GPS_TOPIC).to_pylist()
    assert gps[7]['position']['x'] == pytest.approx(45.0 + 7e-6)

    tf = read_topic(client, name, TF_TOPIC)
    assert tf.num_rows == recording.counts[TF_TOPIC]

    compressed = read_topic(client, name, COMPRESSED_TOPIC).to_pylist()
    assert compressed[0]['data'][:8] == b'\x89PNG\r\n\x1a\n'

    meta = client.topic_handler(name, IMU_TOPIC).user_metadata['_ros_']
    assert meta['msgtype'] == 'sensor_msgs/msg/Imu'
    assert meta['source_file'] == recording.path.name
    assert 'geometry_msgs/Quaternion' in meta['msgdef']


def test_existing_sequence_needs_update_and_update_adds_a_session(
    client: Any, recordings: dict[str, Recording]
) -> None:
    recording = recordings['mcap']
    first = Injector(client, InjectOptions(selection=TopicSelection(regex=['^/imu']))).inject(
        recording.path
    )
    assert first.status is SequenceStatus.STORED
    assert [t for t, r in first.topics.items() if r.stored] == [IMU_TOPIC]
    assert first.topics[GPS_TOPIC].note == 'not matched by --regex'

    again = Injector(client, InjectOptions(selection=TopicSelection(regex=['^/gps']))).inject(
        recording.path
    )
    assert again.status is SequenceStatus.FAILED
    assert "sequence 'drive_mcap' exists already; pass --update" in (again.error or '')

    update = Injector(
        client, InjectOptions(selection=TopicSelection(regex=['^/gps']), update=True)
    ).inject(recording.path)
    assert update.status is SequenceStatus.STORED
    sequence = client.sequence_handler('drive_mcap')
    assert len(sequence.sessions) == 2
    assert sorted(sequence.topics) == sorted([IMU_TOPIC, GPS_TOPIC])


def test_time_window_is_half_open(client: Any, recordings: dict[str, Recording]) -> None:
    start = SPEC.start_ns + 500_000_000
    end = SPEC.start_ns + 1_000_000_000
    options = InjectOptions(
        sequence='window', start_ns=start, end_ns=end, selection=TopicSelection(type_regex=['Imu$'])
    )
    report = Injector(client, options).inject(recordings['db3'].path)
    assert report.topics[IMU_TOPIC].stored == 200
    stamps = read_topic(client, 'window', IMU_TOPIC).column('timestamp_ns').to_pylist()
    assert stamps[0] == start
    assert stamps[-1] == end - 2_500_000


@pytest.mark.usefixtures('wide_console')
def test_cli_inject_dry_run_and_summary(recordings: dict[str, Recording], tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / 'store'
    bag = str(recordings['bag'].path)
    dry = runner.invoke(main, ['inject', bag, '--store', str(store), '--dry-run'])
    assert dry.exit_code == 0, dry.output
    assert 'dry run' in dry.output
    assert 'sensor_msgs/msg/Imu' in dry.output
    assert '800' in dry.output
    assert not store.exists()

    meta = tmp_path / 'meta.json'
    meta.write_text(json.dumps({'operator': 'ada'}))
    result = runner.invoke(
        main,
        [
            'inject',
            bag,
            '--store',
            str(store),
            '--metadata',
            f'@{meta}',
            '--topic-metadata',
            '/imu/data={"mount": "base"}',
            '--exclude',
            'compressed',
        ],
    )
    assert result.exit_code == 0, result.output
    assert '/imu/data' in result.output
    assert 'stored' in result.output

    listed = runner.invoke(main, ['list', '--store', str(store)])
    assert listed.exit_code == 0, listed.output
    assert 'drive' in listed.output

    from mosaico_ros.connect import Target, open_client

    with open_client(Target(store=store)) as client:
        sequence = client.sequence_handler('drive')
        assert sequence.user_metadata == {'operator': 'ada', 'rosbag_injection': 'drive.bag'}
        assert COMPRESSED_TOPIC not in sequence.topics
        imu = client.topic_handler('drive', IMU_TOPIC)
        assert imu.user_metadata['mount'] == 'base'
        assert imu.user_metadata['_ros_']['msgtype'] == 'sensor_msgs/msg/Imu'

    again = runner.invoke(main, ['inject', bag, '--store', str(store)])
    assert again.exit_code == 1
    assert 'exists already' in again.output


@pytest.mark.usefixtures('wide_console')
def test_cli_demo(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ['demo', '--store', str(tmp_path / 's'), '--duration', '1'])
    assert result.exit_code == 0, result.output
    assert 'Generated 580 messages' in result.output
    assert 'demo_' in result.output
