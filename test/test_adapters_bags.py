"""The generic adapter on real bags: every value survives ROS -> Arrow -> ROS, byte for byte."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from test_adapters_nulls import hidden_nulls, parquet_round_trip
from test_adapters_support import plain

from mosaico_ros.adapters import GenericAdapter
from mosaico_ros.bags import open_bag

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize('storage', ['ros2_db3', 'ros2_mcap'])
def test_rosbag2_cdr_test_round_trips(bags_dir: Path, storage: str) -> None:
    with open_bag(bags_dir / storage / 'rosbag2_cdr_test') as reader:
        typestore = reader.typestore()
        topics = reader.topics()
        assert sorted(topics) == ['/array_topic', '/test_topic']
        for topic, connections in topics.items():
            msgtype = connections[0].msgtype
            raw = [bytes(message.data) for message in reader.messages(connections)]
            msgs = [typestore.deserialize_cdr(data, msgtype) for data in raw]
            adapter = GenericAdapter(msgtype, typestore)

            built = adapter.to_arrow(msgs, msgtype)
            back = adapter.from_arrow(built, msgtype, typestore)

            assert len(built) == len(msgs) > 0, topic
            assert hidden_nulls(built) == [], topic
            assert parquet_round_trip(built) == built.to_pylist(), topic
            assert plain(back) == plain(msgs), topic
            assert [typestore.serialize_cdr(msg, msgtype) for msg in back] == raw, topic


def test_byte_is_stored_as_its_octet(bags_dir: Path) -> None:
    with open_bag(bags_dir / 'ros2_db3' / 'rosbag2_cdr_test') as reader:
        typestore = reader.typestore()
        (connection,) = reader.topics()['/array_topic']
        msgs: list[Any] = [
            typestore.deserialize_cdr(bytes(message.data), connection.msgtype)
            for message in reader.messages([connection])
        ]
    adapter = GenericAdapter(connection.msgtype, typestore)

    built = adapter.to_arrow(msgs, connection.msgtype)
    back = adapter.from_arrow(built, connection.msgtype, typestore)

    # rosbags decodes the octet 0xFF of a ROS 2 byte as int8 -1; the SDK's column is uint8
    assert msgs[0].byte_values_default.tolist() == [0, 1, -1]
    assert built.field('byte_values_default').to_pylist() == [[0, 1, 255]] * len(msgs)
    assert back[0].byte_values_default.dtype == msgs[0].byte_values_default.dtype
    assert back[0].byte_values_default.tolist() == [0, 1, -1]
    assert built.field('char_values_default').to_pylist() == [[0, 1, 127]] * len(msgs)
