"""The recorder's parts without a ROS graph: settings, selection, QoS, the spool format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mosaico_ros.nodes.interfaces import MissingInterfaceError, message_class, profile_of, qos_of
from mosaico_ros.nodes.recorder import _hidden, _load_overrides
from mosaico_ros.nodes.recorder_config import RecorderConfig
from mosaico_ros.nodes.spool import (
    ACCOUNTING_RECORD,
    SpooledMessage,
    SpooledMetadata,
    SpooledTopic,
    SpoolReader,
    SpoolWriter,
)
from mosaico_ros.pipeline.qos import adapted_profile, dump_offered_qos, parse_offered_qos


def test_settings_say_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r'TOPIC\.\.\., --all or --regex'):
        RecorderConfig().check()
    with pytest.raises(ValueError, match='max_bag_size'):
        RecorderConfig(all_topics=True, max_bag_size=-1).check()
    with pytest.raises(ValueError, match='--regex'):
        RecorderConfig(regex='(').check()
    RecorderConfig(topics=('/imu',)).check()


def test_selection_has_rosbag2s_meaning() -> None:
    config = RecorderConfig(
        all_topics=True,
        exclude_topics=('/rosout',),
        exclude_regex='^/debug/',
        exclude_topic_types=('sensor_msgs/Image',),
    )
    selection = config.selection()
    assert selection.why_not('/imu', 'sensor_msgs/msg/Imu') is None
    assert selection.why_not('/rosout', 'rcl_interfaces/msg/Log') == 'matched by --exclude-topics'
    assert selection.why_not('/debug/x', 'std_msgs/msg/String') == 'matched by --exclude-regex'
    assert 'exclude-topic-types' in str(selection.why_not('/cam', 'sensor_msgs/msg/Image'))
    only = RecorderConfig(topics=('/imu',), topic_types=('sensor_msgs/msg/Imu',)).selection()
    assert only.why_not('/imu', 'sensor_msgs/msg/Imu') is None
    assert only.why_not('/gps', 'sensor_msgs/msg/NavSatFix') == 'not matched by --topics'
    assert only.why_not('/imu', 'std_msgs/msg/String') == 'type not matched by --topic-types'
    by_regex = RecorderConfig(regex='^/sensors/').selection()
    assert by_regex.why_not('/sensors/imu', 'x/msg/Y') is None
    assert by_regex.why_not('/imu', 'x/msg/Y') == 'not matched by --regex'
    assert _hidden('/robot/_internal/state')
    assert not _hidden('/robot/state')


def test_a_type_without_its_package_names_what_to_install() -> None:
    with pytest.raises(MissingInterfaceError, match='pip install ros-tf2-msgs'):
        message_class('tf2_msgs/msg/TFMessage')
    assert message_class('sensor_msgs/msg/Imu').__name__ == 'Imu'


def test_qos_between_rclpy_and_the_stored_form(tmp_path: Path) -> None:
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    sensor = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
    plain = [profile_of(latched), profile_of(sensor)]
    assert parse_offered_qos(dump_offered_qos(plain)) == tuple(plain)
    assert qos_of(plain[0]).durability is DurabilityPolicy.TRANSIENT_LOCAL
    # rosbag2's rule: reliable / transient-local only when every publisher is
    mixed = adapted_profile(plain)
    assert (mixed['reliability'], mixed['durability']) == ('best_effort', 'volatile')
    assert adapted_profile(plain[:1])['durability'] == 'transient_local'
    path = tmp_path / 'overrides.yaml'
    path.write_text(
        '/imu:\n  reliability: best_effort\n/tf_static:\n  durability: transient_local\n'
    )
    assert _load_overrides(str(path)) == {
        '/imu': {'reliability': 'best_effort'},
        '/tf_static': {'durability': 'transient_local'},
    }


def test_the_spool_is_read_while_it_grows_and_ends_with_the_accounting(tmp_path: Path) -> None:
    path = tmp_path / 'drive_0.mcap'
    writer = SpoolWriter(path, 'drive_0', {'robot': 'r1'}, flush_period=60.0)
    reader = SpoolReader(path)
    [first] = list(reader.records())
    assert first == SpooledMetadata(
        'mosaico_sequence', {'sequence': 'drive_0', 'metadata': json.dumps({'robot': 'r1'})}
    )
    channel = writer.add_topic('/imu', 'sensor_msgs/msg/Imu', 'float64 x\n', '')
    writer.write(channel, 10, b'abc', 1)
    writer.flush(sync=False)
    got = list(reader.records())
    assert got == [
        SpooledTopic('/imu', 'sensor_msgs/msg/Imu', 'float64 x\n', ''),
        SpooledMessage('/imu', 'sensor_msgs/msg/Imu', 10, b'abc'),
    ]
    # a record cut in the middle is not read until it is whole
    with path.open('ab') as handle:
        handle.write(b'\x05\x40\x00')
    assert list(reader.records()) == []
    assert not reader.complete
    path.write_bytes(path.read_bytes()[:-3])
    writer.write(channel, 11, b'de', 2)
    writer.close({'/imu': {'received': 2, 'paused': 0, 'lost': {}}})
    rest = list(reader.records())
    assert rest[0] == SpooledMessage('/imu', 'sensor_msgs/msg/Imu', 11, b'de')
    accounting = [r for r in rest if isinstance(r, SpooledMetadata) and r.name == ACCOUNTING_RECORD]
    assert json.loads(accounting[0].values['topics'])['/imu']['received'] == 2
    assert reader.complete
    reader.close()
    from rosbags.highlevel import AnyReader

    with AnyReader([path]) as bag:  # an ordinary MCAP for ordinary tools
        assert [c.topic for c in bag.connections] == ['/imu']
