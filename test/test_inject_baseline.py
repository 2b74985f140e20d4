"""What `inject` stores is what it stored before the shared pipeline, except on purpose.

`data/inject_baseline.json` holds fingerprints (schema, metadata, a digest of
every value) of every bag in ``../shared/data/bags`` and of three generated
recordings, taken on main before the pipeline refactor (see
`inject_baseline.py`). Each difference made on purpose is listed here, with
the issue that made it; everything else must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inject_baseline import (
    BASELINE,
    GENERATED,
    SHARED,
    bag_paths,
    capture,
    sequence_name,
    write_generated,
)

ADDED_TOPIC_ROS_KEYS: dict[str, str] = {
    'ros_version': 'issue 6: the source ROS version (1 or 2) is kept for replay and export',
    'qos': 'issue 6: the offered QoS rosbag2 records is kept, so the player can offer it',
}
"""Keys of a topic's ``_ros_`` metadata added on purpose, and why."""

_TF_MESSAGE = (
    'issue 6: ROS 1 tf/tfMessage is stored as FrameTransform, like tf2_msgs/TFMessage',
    'FrameTransform',
)
_RAW_IMAGE = (
    "issue 11: Image data is stored raw under the chunk's zstd, not PNG-packed "
    '(bench/images.py: 4-20x faster to store, 5x to read; --image-format png packs)',
    'Image',
)
CHANGED_TOPICS: dict[tuple[str, str], tuple[str, str]] = {
    ('ros1/rosbagjs_example.bag', '/tf'): _TF_MESSAGE,
    ('ros1/rosbagjs_example-lz4.bag', '/tf'): _TF_MESSAGE,
    ('ros1/rosbagjs_example-bz2.bag', '/tf'): _TF_MESSAGE,
    ('generated/bag', '/camera/image_raw'): _RAW_IMAGE,
    ('generated/db3', '/camera/image_raw'): _RAW_IMAGE,
    ('generated/mcap', '/camera/image_raw'): _RAW_IMAGE,
    ('odd/amber_soccer_goal_partial', '/camera/image_raw'): _RAW_IMAGE,
    ('ros2_db3/ros2bag_tools_images.bag', '/image'): _RAW_IMAGE,
    ('ros2_db3/rosbag2js_sample.db3', '/image'): _RAW_IMAGE,
}
"""(bag, topic) whose stored rows change on purpose: why, and the topic's ontology tag now."""

CHANNEL_ENCODINGS = ('json', 'protobuf')
"""Issue 6: JSON and protobuf MCAP channels were stored under ``_ros_`` (which makes the
official SDK's bag rebuilder treat them as ROS types and crash); they move to the SDK's
``_mcap_`` block (channel, schema name, encoding and definition)."""


def _keys() -> list[Any]:
    if not (SHARED / 'data' / 'bags').exists():
        return [pytest.param(None, id='no-shared')]
    keys = sorted([*bag_paths(), *(f'generated/{s}' for s in GENERATED)])
    return [pytest.param(key, id=key) for key in keys]


@pytest.fixture(scope='module')
def baseline() -> dict[str, Any]:
    return json.loads(BASELINE.read_text())


@pytest.fixture(scope='module')
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    store = tmp_path_factory.mktemp('baseline_store')
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as connected,
    ):
        yield connected


def _without_added(metadata: dict[str, Any]) -> dict[str, Any]:
    ros = metadata.get('_ros_')
    if not isinstance(ros, dict):
        return metadata
    return {**metadata, '_ros_': {k: v for k, v in ros.items() if k not in ADDED_TOPIC_ROS_KEYS}}


@pytest.mark.parametrize('key', _keys())
def test_inject_matches_baseline(
    key: str | None, baseline: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    if key is None:
        pytest.skip(f'{SHARED} is absent: the shared bags live beside the repo in CI only')
    if key.startswith('generated/'):
        path = write_generated(tmp_path, key.split('/')[1])
    else:
        path = bag_paths()[key]
    now = capture(client, sequence_name(key), path)
    before = baseline[key]
    if not before.get('topics'):
        # Issue 6 (the sink creates the sequence with the first batch; issue 10 asks for it):
        # a bag that stores nothing leaves no empty sequence behind.
        assert now == {}, 'a run that stores nothing must create no sequence'
        return
    assert now.get('user_metadata') == before.get('user_metadata')
    assert sorted(now.get('topics', {})) == sorted(before.get('topics', {}))
    packed: dict[str, Any] = {}
    for topic, was in before.get('topics', {}).items():
        got = now['topics'][topic]
        if (key, topic) in CHANGED_TOPICS:
            _, tag = CHANGED_TOPICS[key, topic]
            assert got['digest'] != was['digest'], f'{topic}: expected a change'
            assert got['ontology_tag'] == tag, topic
            assert got['rows'] == was['rows'], topic
            if CHANGED_TOPICS[key, topic] == _RAW_IMAGE:
                # the option that keeps the SDK's packing stores exactly what was stored
                packed = packed or capture(
                    client, sequence_name(key) + '_png', path, image_format='png'
                )
                again = packed['topics'][topic]
                for field in ('ontology_tag', 'schema', 'rows', 'digest'):
                    assert again[field] == was[field], f'{key} {topic}: {field} differs'
                assert got['schema'] == was['schema'], topic
            continue
        for field in ('ontology_tag', 'schema', 'rows', 'digest'):
            assert got[field] == was[field], f'{key} {topic}: {field} differs'
        old = was['user_metadata'].get('_ros_', {})
        if old.get('encoding') in CHANNEL_ENCODINGS:
            moved = got['user_metadata']
            assert '_ros_' not in moved, topic
            assert moved['_mcap_']['channel_encoding'] == old['encoding'], topic
            assert moved['_mcap_']['channel_name'].lstrip('/') == topic.lstrip('/')
            continue
        assert _without_added(got['user_metadata']) == was['user_metadata'], topic
