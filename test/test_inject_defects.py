"""Defects found while moving inject onto the shared pipeline; each test failed on the old injector.

- an adapter's rejection reason reaches the report (not just 'AdapterError');
- a bug in an adapter is reported once per batch under its own name, not retried per message;
- installed packages' ``mosaico_ros.adapters`` entry points are loaded by ``inject``;
- ``--dry-run`` converts a first batch per topic, so its verdict is the real run's;
- the offered QoS and the ROS version are stored in ``_ros_``; JSON channels are stored
  under the SDK's ``_mcap_`` key, so the official SDK's bag rebuilder does not crash on them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_client_support import rebuild_with_sdk

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.demo.recording import IMU_TOPIC, RecordingSpec, write_recording


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def _imu_bag(tmp_path: Path) -> Path:
    spec = RecordingSpec(duration_s=1.0, camera_hz=0.0, joints_hz=0.0, tf_hz=0.0, gps_hz=0.0)
    return write_recording(tmp_path / 'imu_only', 'mcap', spec).path


def test_rejection_reason_names_what_is_wrong_with_the_message(bags_dir: Path, client: Any) -> None:
    bag = bags_dir / 'ros2_db3' / 'rosbags_rs_test_bag_sqlite3'
    report = Injector(client, InjectOptions(sequence='short_image', jobs=0)).inject(bag)
    image = report.topics['/test/sensor_msgs/image']
    assert image.stored == 0
    [reason] = image.skipped
    # The reason itself (what the summary table shows) says why, not only the exception type.
    assert 'data has 30 bytes' in reason, reason
    assert 'height*step' in reason, reason


BUGGY_ADAPTER = """
from mosaico_ros.adapters import RosAdapter
from mosaico_ros.ontology import IMU

CALLS = []


class BuggyImuAdapter(RosAdapter):
    ros_types = ('sensor_msgs/msg/Imu',)
    model = IMU

    def to_arrow(self, msgs, msgtype):
        CALLS.append(len(msgs))
        return msgs[0].no_such_field
"""


def test_a_bug_in_an_adapter_is_reported_not_retried_per_message(
    tmp_path: Path, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / 'buggy_adapters.py').write_text(BUGGY_ADAPTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'buggy_adapters', raising=False)
    bag = _imu_bag(tmp_path)
    options = InjectOptions(sequence='buggy', adapters=['buggy_adapters'], jobs=0)
    report = Injector(client, options).inject(bag)
    imu = report.topics[IMU_TOPIC]
    assert imu.stored == 0
    assert imu.skipped_total == imu.received == 400
    [reason] = imu.skipped
    assert 'BuggyImuAdapter failed on sensor_msgs/msg/Imu (AttributeError' in reason
    import buggy_adapters

    # one call per batch of 400: the bug is not retried message by message
    assert buggy_adapters.CALLS == [400]


ENTRY_POINT_ADAPTER = """
import pyarrow as pa
from mosaico_ros.adapters import RosAdapter
from mosaico_ros.adapters.columns import null_array
from mosaico_ros.ontology import Temperature


class PluginImuTemperature(RosAdapter):
    ros_types = ('sensor_msgs/msg/Imu',)
    model = Temperature

    def to_arrow(self, msgs, msgtype):
        struct = self.struct_type
        values = {'value': pa.array([m.linear_acceleration.z for m in msgs], pa.float64())}
        return pa.StructArray.from_arrays(
            [values.get(f.name, null_array(f.type, len(msgs))) for f in struct],
            fields=list(struct),
        )
"""


def _installed_plugin(root: Path) -> Path:
    """A distribution installed in `root` (a site directory) with one entry point."""
    root.mkdir()
    (root / 'imu_plugin.py').write_text(ENTRY_POINT_ADAPTER)
    dist = root / 'imu_plugin-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: imu-plugin\nVersion: 1.0\n')
    (dist / 'entry_points.txt').write_text(
        '[mosaico_ros.adapters]\nimu = imu_plugin:PluginImuTemperature\n'
    )
    (dist / 'RECORD').write_text('')
    return root


def test_installed_entry_point_adapters_are_used_by_inject(
    tmp_path: Path, client: Any, server: Any
) -> None:
    site = _installed_plugin(tmp_path / 'site')
    bag = _imu_bag(tmp_path)
    env = {
        **os.environ,
        'PYTHONPATH': os.pathsep.join([str(site), os.environ.get('PYTHONPATH', '')]),
    }
    done = subprocess.run(
        [
            sys.executable,
            '-m',
            'mosaico_ros',
            'inject',
            str(bag),
            '--sequence',
            'plugged',
            '--host',
            '127.0.0.1',
            '--port',
            str(server.port),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    handler = client.topic_handler('plugged', IMU_TOPIC)
    assert handler is not None
    assert handler.ontology_tag == 'Temperature'
    values = pa.Table.from_batches(list(handler.iter_batches())).column('value').to_pylist()
    assert len(values) == 400
    assert all(v == pytest.approx(9.81, abs=0.5) for v in values)


def test_dry_run_verdict_is_the_real_runs(bags_dir: Path) -> None:
    bag = bags_dir / 'odd' / 'plotjuggler_test_embedded_timestamp.mcap'
    plan = Injector(None, InjectOptions(dry_run=True)).plan(bag)
    topic = plan.topics['/stamped/value']
    assert topic.expected == 50
    assert topic.ingest is False
    assert 'cannot decode' in topic.note
    image_bag = bags_dir / 'ros2_mcap' / 'rosbags_rs_test_bag_mcap'
    plan = Injector(None, InjectOptions(dry_run=True)).plan(image_bag)
    image = plan.topics['/test/sensor_msgs/image']
    assert image.ingest is False
    assert 'height*step' in image.note
    assert plan.topics['/test/sensor_msgs/imu'].ingest is True


def test_qos_and_ros_version_are_stored_and_json_channels_use_the_mcap_key(
    bags_dir: Path, client: Any, server: Any, tmp_path: Path
) -> None:
    report = Injector(client, InjectOptions(sequence='qos')).inject(
        bags_dir / 'ros2_mcap' / 'rosbag2_cdr_test'
    )
    assert report.stored
    ros = client.topic_handler('qos', '/test_topic').user_metadata['_ros_']
    assert ros['ros_version'] == 2
    [profile] = ros['qos']
    # rosbag2 before Jazzy wrote rmw's enum values: reliability 1, durability 1, liveliness 1
    assert (profile['reliability'], profile['durability']) == ('reliable', 'transient_local')
    assert profile['depth'] == 3
    assert profile['liveliness'] == 'automatic'

    ros1 = Injector(client, InjectOptions(sequence='ros1')).inject(
        bags_dir / 'ros1' / 'imu_tools_sparkfun_razor.bag'
    )
    assert ros1.stored
    topic = next(iter(client.sequence_handler('ros1').topics))
    assert client.topic_handler('ros1', topic).user_metadata['_ros_']['ros_version'] == 1

    # One sequence with ROS topics and, in a second session, JSON channels.
    Injector(client, InjectOptions(sequence='mixed')).inject(_imu_bag(tmp_path))
    logs = Injector(client, InjectOptions(sequence='mixed', update=True)).inject(
        bags_dir / 'mcap_other' / 'lichtblick_example_logs.mcap'
    )
    assert logs.stored
    json_topics = [t for t in client.sequence_handler('mixed').topics if t != IMU_TOPIC]
    assert json_topics
    for name in json_topics:
        metadata = client.topic_handler('mixed', name).user_metadata
        assert '_ros_' not in metadata
        assert metadata['_mcap_']['channel_encoding'] == 'json'
        assert metadata['_mcap_']['schema_def']

    from rosbags.highlevel import AnyReader

    rebuilt = rebuild_with_sdk(server.port, 'mixed', tmp_path / 'rebuilt')
    with AnyReader([rebuilt]) as reader:
        assert {c.topic for c in reader.connections} == {IMU_TOPIC}
        assert sum(1 for _ in reader.messages()) == 400
