"""Round trips through the official SDK (mosaicolabs 0.7.0), both directions.

- Our inject -> the SDK's handlers read the sequence, and the SDK's
  ROSSequenceExtractor rebuilds a bag whose messages equal the source's
  (raw Images too, our default format).
- The SDK's RosbagInjector -> our client reads rows equal to what our inject
  stores from the same bag with the SDK's Image format (``image_format='png'``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_client_support import rebuild_with_sdk

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.demo.recording import (
    GPS_TOPIC,
    IMAGE_TOPIC,
    IMU_TOPIC,
    Recording,
    RecordingSpec,
    expected_imu,
    write_recording,
)
from mosaico_ros.pipeline.report import SequenceStatus

mosaicolabs = pytest.importorskip('mosaicolabs', reason='the peer SDK mosaicolabs is not installed')


@pytest.fixture(autouse=True)
def _quiet_sdk() -> None:
    logging.getLogger('mosaicolabs').setLevel(logging.CRITICAL)


@pytest.fixture(scope='module')
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    root = tmp_path_factory.mktemp('sdk_rec')
    return write_recording(root / 'walk', 'mcap', RecordingSpec(duration_s=1.0))


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return 'NaN'
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _table(client: Any, sequence: str, topic: str) -> pa.Table:
    handler = client.topic_handler(sequence, topic)
    assert handler is not None
    return pa.Table.from_batches(list(handler.iter_batches()), schema=handler.schema)


def test_sdk_reads_our_sequence_and_rebuilds_the_bag(
    server: Any, client: Any, recording: Recording, tmp_path: Path
) -> None:
    from rosbags.highlevel import AnyReader

    report = Injector(client, InjectOptions(sequence='ours')).inject(recording.path)
    assert report.status is SequenceStatus.STORED

    with mosaicolabs.MosaicoClient.connect(host='127.0.0.1', port=server.port) as sdk:
        handler = sdk.sequence_handler('ours')
        assert sorted(handler.topics) == sorted(recording.counts)
        imu = list(sdk.topic_handler('ours', IMU_TOPIC).get_data_streamer())
        assert len(imu) == recording.counts[IMU_TOPIC]
        for index in (0, 399):
            accel_x, gyro_z, _ = expected_imu(index)
            assert imu[index].data.acceleration.x == pytest.approx(accel_x, abs=1e-12)
            assert imu[index].data.angular_velocity.z == pytest.approx(gyro_z, abs=1e-12)

    rebuilt = rebuild_with_sdk(server.port, 'ours', tmp_path / 'rebuilt')

    def first_values(path: Path) -> dict[str, Any]:
        values: dict[str, Any] = {}
        counts: dict[str, int] = {}
        with AnyReader([path]) as reader:
            for conn, stamp, raw in reader.messages():
                counts[conn.topic] = counts.get(conn.topic, 0) + 1
                if conn.topic in (IMU_TOPIC, GPS_TOPIC, IMAGE_TOPIC) and conn.topic not in values:
                    values[conn.topic] = (stamp, reader.deserialize(raw, conn.msgtype))
        values['counts'] = counts
        return values

    source, copy = first_values(recording.path), first_values(rebuilt)
    assert copy['counts'] == source['counts']
    (src_stamp, src_imu), (dst_stamp, dst_imu) = source[IMU_TOPIC], copy[IMU_TOPIC]
    assert dst_stamp == src_stamp
    assert dst_imu.header.frame_id == src_imu.header.frame_id
    assert dst_imu.linear_acceleration.x == src_imu.linear_acceleration.x
    assert dst_imu.orientation.w == src_imu.orientation.w
    assert list(dst_imu.orientation_covariance) == list(src_imu.orientation_covariance)
    src_gps, dst_gps = source[GPS_TOPIC][1], copy[GPS_TOPIC][1]
    assert (dst_gps.latitude, dst_gps.longitude) == (src_gps.latitude, src_gps.longitude)
    src_image, dst_image = source[IMAGE_TOPIC][1], copy[IMAGE_TOPIC][1]
    assert (dst_image.height, dst_image.step) == (src_image.height, src_image.step)
    assert bytes(dst_image.data) == bytes(src_image.data)


def test_our_client_reads_what_the_sdk_injector_wrote(
    server: Any, client: Any, recording: Recording
) -> None:
    from mosaicolabs.bridges.ros import RosbagInjector, ROSInjectionConfig

    # The SDK's injector opens storage files only, not rosbag2 directories.
    mcap_file = next(recording.path.glob('*.mcap'))
    RosbagInjector(
        ROSInjectionConfig(
            file_path=mcap_file,
            sequence_name='theirs',
            metadata={},
            host='127.0.0.1',
            port=server.port,
            log_level='ERROR',
        )
    ).run()
    options = InjectOptions(sequence='ours', image_format='png')
    report = Injector(client, options).inject(mcap_file)
    assert report.status is SequenceStatus.STORED

    theirs = client.sequence_handler('theirs')
    assert sorted(theirs.topics) == sorted(recording.counts)
    for topic in recording.counts:
        sdk_handler = client.topic_handler('theirs', topic)
        our_handler = client.topic_handler('ours', topic)
        assert our_handler.ontology_tag == sdk_handler.ontology_tag
        ours = dict(our_handler.user_metadata['_ros_'])
        # Ours adds what the SDK drops: the source ROS version and the recorded QoS.
        assert ours.pop('ros_version') == 2
        ours.pop('qos', None)
        assert ours == sdk_handler.user_metadata['_ros_']
        sdk_rows = _table(client, 'theirs', topic)
        our_rows = _table(client, 'ours', topic)
        assert our_rows.schema.equals(sdk_rows.schema), topic
        assert _canonical(our_rows.to_pylist()) == _canonical(sdk_rows.to_pylist()), topic
