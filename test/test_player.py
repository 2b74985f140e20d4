"""The player node with real rclpy subscribers in other processes, on loopback.

Each test runs in a ROS domain of its own (`ros_support.ros_domain`); the
player runs as ``mosaico-ros play`` in its own process (its read-ahead as that
process's child) and the subscribers as `ros_subscriber.py` processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from replay_support import assert_equal_messages, bag_messages
from ros_support import (
    mosaico_ros,
    received,
    ros_domain,  # noqa: F401 (fixture)
    subscriber,
)
from test_adapters_support import plain

from mosaico_ros.connect import Target, open_client
from mosaico_ros.nodes.interfaces import MissingInterfaceError, message_class

pytestmark = pytest.mark.usefixtures('ros_domain')

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / 'store'


def installed(msgtype: str) -> bool:
    try:
        message_class(msgtype)
    except MissingInterfaceError:
        return False
    return True


def play(store: Path, *args: str) -> Any:
    """Start ``mosaico-ros play`` on a store."""
    return mosaico_ros('play', '--store', str(store), *args)


def inject(store: Path, path: Path, sequence: str) -> None:
    from mosaico_ros.bags.injector import InjectOptions, Injector

    with open_client(Target(store=store)) as client:
        report = Injector(client, InjectOptions(sequence=sequence)).inject(path)
    assert report.stored, report.problems()


def decode(msgtype: str, payloads: list[bytes]) -> list[Any]:
    """Received CDR payloads as plain data (rosbags' latest stock types)."""
    from mosaico_ros.pipeline.envelope import TopicInfo
    from mosaico_ros.pipeline.types import TypeResolver

    resolver = TypeResolver('latest')
    resolver.add([TopicInfo('', msgtype, 'cdr')])
    store = resolver.typestore
    return [plain(store.deserialize_cdr(payload, msgtype)) for payload in payloads]


def subscribe_all(types: dict[str, str], expect: dict[str, int]) -> dict[str, Any]:
    return {
        'topics': [{'topic': t, 'type': m} for t, m in types.items()],
        'expect': expect,
        'idle_s': 5.0,
        'max_s': 50.0,
    }


def test_a_real_bag_plays_every_installed_topic_equal_and_in_order(
    tmp_path: Path, store: Path, bags_dir: Path
) -> None:
    path = bags_dir / 'ros2_mcap' / 'rosbags_rs_test_bag_mcap'
    inject(store, path, 'rs')
    original = bag_messages(path)
    types = {topic: messages[0][1] for topic, messages in original.items()}
    live = {topic: msgtype for topic, msgtype in types.items() if installed(msgtype)}
    missing = sorted(set(types) - set(live))
    assert missing, 'the bag has topics of types not installed here (tf2_msgs)'
    # the bag's Image claims 640x480 but carries 30 bytes: inject refused it
    expect = {t: len(original[t]) for t in live if t != '/test/sensor_msgs/image'}
    with subscriber(subscribe_all(live, expect), tmp_path) as sub:
        sub.wait_for('subscribed')
        player = play(store, 'rs', '--rate', '4', '--delay', '2')
        got = received(sub)
        assert player.finish() == 1, player.output
    for topic in missing:
        assert player.output.count(f'{topic}: 2 message(s) not played') == 1, player.output
        assert 'pip install ros-tf2-msgs' in player.output
    stamps = []
    for topic, count in expect.items():
        messages = got[topic]
        assert len(messages) == count, f'{topic}: {len(messages)} of {count}'
        want = [msg for _, _, msg in original[topic]]
        have = decode(live[topic], [payload for _, _, payload in messages])
        assert_equal_messages(live[topic], have, want, topic)
        stamps.extend(
            (published, recorded)
            for (_, published, _), (recorded, _, _) in zip(messages, original[topic], strict=True)
        )
    # one timeline: publish order is recorded order, over every topic
    stamps.sort()
    assert [recorded for _, recorded in stamps] == sorted(recorded for _, recorded in stamps)


def test_every_mapped_type_plays_back_equal(tmp_path: Path, store: Path) -> None:
    from replay_support import store_every_mapped_type

    with open_client(Target(store=store)) as client:
        made = store_every_mapped_type(client, 'every', T0, 2 * MS)
    live = {topic: msgtype for topic, (msgtype, _, _) in made.items() if installed(msgtype)}
    missing = sorted(set(made) - set(live))
    assert [made[topic][0] for topic in missing] == [
        'nmea_msgs/msg/Sentence',
        'tf2_msgs/msg/TFMessage',
    ]
    expect = {topic: len(made[topic][2]) for topic in live}
    with subscriber(subscribe_all(live, expect), tmp_path) as sub:
        sub.wait_for('subscribed')
        player = play(store, 'every', '--delay', '2')
        got = received(sub)
        assert player.finish() == 1, player.output
    assert 'pip install ros-nmea-msgs' in player.output
    order = []
    for topic, msgtype in live.items():
        messages = got[topic]
        have = decode(msgtype, [payload for _, _, payload in messages])
        assert_equal_messages(msgtype, have, made[topic][2], topic)
        order.extend(zip([published for _, published, _ in messages], made[topic][1], strict=True))
    order.sort()
    assert [recorded for _, recorded in order] == sorted(recorded for _, recorded in order)
