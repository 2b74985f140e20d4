"""Every entry of ../shared/data/bags through the injector, checked against the inventory.

Per topic: rows read back == the inventory's raw count, or the report counts
every missing message under a reason. Values are spot-checked against the
first message of the topic as decoded by an independent reader (rosbags'
AnyReader) and converted by the same adapter.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.pipeline.report import SequenceReport, SequenceStatus, exit_code

REPO = Path(__file__).resolve().parents[1]
INVENTORY = (
    Path(os.environ.get('MOSAICO_SHARED', REPO.parent / 'shared')) / 'data/bags/inventory.json'
)


def _entries() -> list[Any]:
    if not INVENTORY.exists():
        return [pytest.param(None, id='no-shared')]
    bags = json.loads(INVENTORY.read_text())['bags']
    return [pytest.param(bag, id=bag['path']) for bag in bags]


# Topics that cannot be stored, with the reason the report must give.
KNOWN_LOSSES: dict[str, dict[str, str]] = {
    'mcap_other/plotjuggler_test_unsupported_encoding.mcap': {
        '/proto/data': "protobuf schema 'test.SensorReading' is not a FileDescriptorSet",
    },
    'odd/rosbag2_wrong_rmw_test': {
        '/test_topic': "message encoding 'wrong_format'",
        '/array_topic': "message encoding 'wrong_format'",
    },
    'odd/tiryoh_test_sample_no_rosout.mcap': {'/sensor/lidar/points': 'PointCloud2'},
    'odd/plotjuggler_test_bad_schema.mcap': {'/bad/data': 'Garbage'},
    # The fixture's Image claims 640x480 rgb8 but carries 30 bytes of data.
    'ros2_db3/rosbags_rs_test_bag_sqlite3': {'/test/sensor_msgs/image': 'height*step'},
    'ros2_mcap/rosbags_rs_test_bag_mcap': {'/test/sensor_msgs/image': 'height*step'},
}

# Losses that are defects of a component, not of the data: the report must still name them.
# Each entry says whose; remove it when fixed (the test then demands every message).
KNOWN_DEFECTS: dict[str, dict[str, str]] = {
    # GenericAdapter maps test_msgs char[] to int8 and rejects -1 (adapters).
    'ros2_db3/rosbag2_cdr_test': {'/array_topic': 'GenericAdapter rejected'},
    'ros2_mcap/rosbag2_cdr_test': {'/array_topic': 'GenericAdapter rejected'},
    # The schema defines its own std_msgs/Header; the typestore keeps the stock one (bags.typesys).
    'odd/plotjuggler_test_embedded_timestamp.mcap': {'/stamped/value': 'cannot decode'},
}

# Entries whose container is damaged: the report must say so (and the exit status is 1).
DAMAGED = {
    'odd/tiryoh_test_truncated.bag',
    'odd/tiryoh_test_sample_truncated.mcap',
    # metadata.yaml lists 13 storage files, 12 are absent: the sequence is incomplete.
    'odd/amber_soccer_goal_partial',
}


@pytest.fixture(scope='module')
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    store = tmp_path_factory.mktemp('inventory_store')
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as connected,
    ):
        yield connected


def _rows(client: Any, sequence: str, topic: str) -> pa.Table:
    handler = client.topic_handler(sequence, topic)
    assert handler is not None, f'topic {topic!r} of {sequence} is not readable'
    return pa.Table.from_batches(list(handler.iter_batches()), schema=handler.schema)


def _names_reason(topic: Any, text: str) -> bool:
    """Whether a skip reason (or the first failure's detail) mentions `text`."""
    details = [f.reason for f in topic.first_skip.values()]
    return any(text in reason for reason in [*topic.skipped, *details])


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return 'NaN'
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _spot_check(
    client: Any, entry: dict[str, Any], path: Path, sequence: str, report: SequenceReport
):
    """Compare the first stored row of a few topics with rosbags' decode of the source."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    from mosaico_ros.adapters import default_registry

    candidates = [
        t['topic']
        for t in entry['topics']
        if t['count'] and t.get('rosbags_ok') == t['count'] and report.topics[t['topic']].stored
    ][:3]
    if not candidates:
        return 0
    store = Stores.ROS1_NOETIC if entry['format'] == 'ros1-bag' else Stores.ROS2_HUMBLE
    checked = 0
    with AnyReader([path], default_typestore=get_typestore(store)) as reader:
        for topic in candidates:
            conns = [c for c in reader.connections if c.topic == topic]
            stored = _rows(client, sequence, topic)
            first_ts = stored.column('timestamp_ns')[0].as_py()
            row = _canonical(
                {k: v for k, v in stored.slice(0, 1).to_pylist()[0].items() if k != 'timestamp_ns'}
            )
            expected = []
            for conn, stamp, raw in reader.messages(connections=conns):
                if stamp != first_ts:
                    break
                msg = reader.deserialize(raw, conn.msgtype)
                msgtype = re.sub(r'^([^/]+)/([^/]+)$', r'\1/msg/\2', conn.msgtype)
                adapter = default_registry.resolve(msgtype, reader.typestore, topic=topic)
                expected.append(_canonical(adapter.to_arrow([msg], msgtype).to_pylist()[0]))
            assert row in expected, f'{topic}: stored {row} not among {expected}'
            checked += 1
    return checked


@pytest.mark.parametrize('entry', _entries())
def test_inventory_entry(entry: dict[str, Any] | None, bags_dir: Path, client: Any) -> None:
    assert entry is not None
    path = bags_dir / entry['path']
    sequence = re.sub(r'[^A-Za-z0-9_-]', '_', entry['path'])
    report = Injector(client, InjectOptions(sequence=sequence)).inject(path)
    losses = KNOWN_LOSSES.get(entry['path'], {})
    defects = KNOWN_DEFECTS.get(entry['path'], {})
    problems = '\n'.join(report.problems())

    assert report.status is not SequenceStatus.DELETED
    for topic in entry['topics']:
        name, count = topic['topic'], topic['count']
        got = report.topics.get(name)
        assert got is not None, f'{name} missing from the report'
        assert got.received == count, f'{name}: read {got.received} of {count}\n{problems}'
        assert got.stored + got.skipped_total == count, f'{name}: messages unaccounted for'
        if name in losses:
            assert got.stored == 0
            assert _names_reason(got, losses[name]), (dict(got.skipped), got.first_skip)
            continue
        if name in defects and got.skipped:
            assert _names_reason(got, defects[name]), (dict(got.skipped), got.first_skip)
            continue
        assert got.stored == count, f'{name}: stored {got.stored} of {count}\n{problems}'
        if count:
            rows = _rows(client, sequence, name)
            assert rows.num_rows == count
            stamps = rows.column('timestamp_ns')
            assert pa.compute.min(stamps).as_py() >= entry['start_ns']
            assert pa.compute.max(stamps).as_py() <= entry['end_ns']

    if entry['message_count']:
        stamps = []
        for name, topic_report in report.topics.items():
            if topic_report.stored:
                handler = client.topic_handler(sequence, name)
                stamps += [handler.timestamp_ns_min, handler.timestamp_ns_max]
        if not losses and not defects:
            assert min(stamps) == entry['start_ns']
            assert max(stamps) == entry['end_ns']

    if entry['path'] in DAMAGED:
        assert report.failures, 'damage must be reported'
        assert str(path.name) in problems
        assert exit_code([report]) == 1
    elif losses or (defects and report.skipped):
        assert exit_code([report]) == 1
    else:
        assert report.clean, problems
        assert exit_code([report]) == 0

    if report.stored and entry.get('rosbags', {}).get('opened') and entry['kind'] == 'file':
        _spot_check(client, entry, path, sequence, report)


def test_spot_values_of_real_recordings(bags_dir: Path, client: Any) -> None:
    """Known values of real data, read back from the store."""
    cases = {
        'ros1/robot_localization_test1.bag': 'rl1',
        'ros2_db3/rosbag2js_sample.db3': 'sample_db3',
        'odd/amber_soccer_goal_partial': 'amber',
        'ros1/robot_state_publisher_joint_states_indexed.bag': 'pr2',
    }
    for rel, name in cases.items():
        report = Injector(client, InjectOptions(sequence=name)).inject(bags_dir / rel)
        assert report.stored, report.problems()

    fix = _rows(client, 'rl1', '/fix').to_pylist()
    assert fix[0]['position']['x'] == pytest.approx(42.376, abs=1e-3)
    assert fix[0]['position']['y'] == pytest.approx(-71.147, abs=1e-3)
    assert fix[0]['status']['status'] == 1

    sample_fix = _rows(client, 'sample_db3', '/fix').to_pylist()[0]
    assert math.isnan(sample_fix['position']['x'])
    image = _rows(client, 'sample_db3', '/image').to_pylist()[0]
    assert (image['width'], image['height']) == (640, 480)

    amber = _rows(client, 'amber', '/camera/image_raw').to_pylist()
    assert len(amber) == 2
    assert (amber[0]['width'], amber[0]['height']) == (640, 480)
    assert amber[0]['header']['frame_id'] == 'camera'

    joints = _rows(client, 'pr2', 'joint_states')
    assert joints.num_rows == 1598
    first = joints.slice(0, 1).to_pylist()[0]
    assert len(first['names']) == len(first['positions']) > 10
