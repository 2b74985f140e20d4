"""Pure helpers of the injector: time bounds, sequence names, topic selection, JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from mosaico_ros.adapters.json_channel import JsonChannelAdapter
from mosaico_ros.bags.options import parse_time, sequence_name_for
from mosaico_ros.pipeline.report import (
    Failure,
    SequenceReport,
    SequenceStatus,
    TopicReport,
    exit_code,
)
from mosaico_ros.pipeline.selection import TopicSelection

INJECT_NAMES = {'regex': '--topics', 'exclude_regex': '--exclude', 'type_regex': '--types'}


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('1700000000123456789', 1_700_000_000_123_456_789),
        ('0', 0),
        ('1700000000.5', 1_700_000_000_500_000_000),
        ('1.25e3', 1_250_000_000_000),
        ('2023-11-14T22:13:20Z', 1_700_000_000_000_000_000),
        ('2023-11-14T22:13:20.25', 1_700_000_000_250_000_000),
        ('2023-11-14 23:13:20+01:00', 1_700_000_000_000_000_000),
    ],
)
def test_parse_time_forms(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_parse_time_rejects_garbage_with_the_text() -> None:
    with pytest.raises(ValueError, match="'yesterday'"):
        parse_time('yesterday')


@pytest.mark.parametrize(
    ('name', 'expected', 'renamed'),
    [
        # dropping a storage suffix is no renaming: no notice (issue 10)
        ('drive_01.mcap', 'drive_01', None),
        ('drive-01', 'drive-01', None),
        ('ros2bag_tools_images.bag', 'ros2bag_tools_images', None),
        ('tiryoh_test_sample.mcap.zstd', 'tiryoh_test_sample', None),
        ('rosbag2js_sample.db3', 'rosbag2js_sample', None),
        ('my run (2).bag', 'my_run_2', 'my run (2)'),
        ('_hidden.mcap', 'hidden', '_hidden'),
        ('été.mcap', 't', 'été'),
    ],
)
def test_sequence_names_are_sanitized(name: str, expected: str, renamed: str | None) -> None:
    assert sequence_name_for(Path('/data') / name) == (expected, renamed)


def test_topic_selection_uses_searched_regexes() -> None:
    selection = TopicSelection(
        regex=['^/camera/', 'imu'], exclude_regex=['compressed$'], names=INJECT_NAMES
    )
    assert selection.why_not('/camera/image_raw', 'sensor_msgs/msg/Image') is None
    assert selection.why_not('/base/imu/data', 'sensor_msgs/msg/Imu') is None
    assert selection.why_not('/tf', 'tf2_msgs/msg/TFMessage') == 'not matched by --topics'
    assert selection.why_not('/camera/image/compressed', 'x/msg/Y') == 'matched by --exclude'
    by_type = TopicSelection(type_regex=[r'^sensor_msgs/msg/(Imu|NavSatFix)$'], names=INJECT_NAMES)
    assert by_type.why_not('/gps', 'sensor_msgs/msg/NavSatFix') is None
    assert by_type.why_not('/gps', 'sensor_msgs/msg/NavSatStatus') == 'type not matched by --types'
    with pytest.raises(ValueError, match=r"--topics '\(' is not a regular expression"):
        TopicSelection(regex=['('], names=INJECT_NAMES)


def test_json_channels_get_a_schema_from_their_jsonschema() -> None:
    schema = {
        'type': 'object',
        'properties': {
            'timestamp': {
                'type': 'object',
                'properties': {'sec': {'type': 'integer'}, 'nsec': {'type': 'integer'}},
            },
            'level': {'type': 'integer'},
            'message': {'type': 'string'},
            'data': {'type': 'string', 'contentEncoding': 'base64'},
            'values': {'type': 'array', 'items': {'type': 'number'}},
            'ok': {'type': 'boolean'},
            'anything': {},
        },
    }
    adapter = JsonChannelAdapter('foxglove.Log', json.dumps(schema))
    assert adapter.tag == 'json:foxglove.Log'
    docs = [
        adapter.decode(
            b'{"timestamp": {"sec": 1, "nsec": 2}, "level": 3, "message": "hi", '
            b'"data": "AAEC", "values": [1, 2.5], "ok": true, "anything": {"a": 1}}'
        ),
        adapter.decode(b'{"level": 4}'),
    ]
    array = adapter.to_arrow(docs, 'foxglove.Log')
    assert array.type.field('data').type == pa.binary()
    rows = array.to_pylist()
    assert rows[0] == {
        'timestamp': {'sec': 1, 'nsec': 2},
        'level': 3,
        'message': 'hi',
        'data': b'\x00\x01\x02',
        'values': [1.0, 2.5],
        'ok': True,
        'anything': '{"a": 1}',
    }
    assert rows[1]['level'] == 4
    assert rows[1]['message'] is None


def test_json_channels_without_schema_keep_the_text() -> None:
    adapter = JsonChannelAdapter('foxglove.Log')
    array = adapter.to_arrow([{'x': [1, 2]}], 'foxglove.Log')
    assert array.to_pylist() == [{'json': '{"x": [1, 2]}'}]


def test_exit_code_follows_losses() -> None:
    clean = SequenceReport(source=Path('a.mcap'), sequence='a')
    clean.topics['/a'] = TopicReport('/a', 'std_msgs/msg/String', received=3, stored=3)
    assert exit_code([clean]) == 0
    lossy = SequenceReport(source=Path('b.mcap'), sequence='b')
    topic = lossy.topics['/b'] = TopicReport('/b', 'std_msgs/msg/String', received=3, stored=2)
    topic.skip('cannot decode', failure=Failure('bad', Path('b.mcap'), '/b', 42))
    lossy.status = SequenceStatus.PARTIAL
    assert exit_code([clean, lossy]) == 1
    assert lossy.problems() == [
        'topic /b: 1 skipped: cannot decode (first at b.mcap, offset 42: bad)'
    ]
    assert exit_code([]) == 1
