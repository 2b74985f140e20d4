"""Reading with our client: handlers, merged streamers, windows, batches, queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_client_support import T0, TOPIC_METADATA, build, gps_values, imu_values, message_record

from mosaico_ros import ontology
from mosaico_ros.client import MosaicoClient, SequenceHandler, StreamerClosedError

MS = 1_000_000
IMU_COUNT = 60  # every 10 ms: T0 .. T0 + 590 ms
GPS_COUNT = 25  # every 20 ms: T0 .. T0 + 480 ms, so every GPS time is also an IMU time


def imu_messages() -> list[Any]:
    return [
        build(ontology.Message, ontology.IMU, T0 + i * 10 * MS, imu_values(i, T0 + i * 10 * MS))
        for i in range(IMU_COUNT)
    ]


def gps_messages() -> list[Any]:
    return [
        build(ontology.Message, ontology.GPS, T0 + i * 20 * MS, gps_values(i, T0 + i * 20 * MS))
        for i in range(GPS_COUNT)
    ]


@pytest.fixture
def client(server: Any) -> Iterator[MosaicoClient]:
    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        write_drive(connected)
        yield connected


def write_drive(client: MosaicoClient) -> None:
    with client.sequence_create('drive_2024_01', {'project': 'Apollo'}) as writer:
        for name, model, messages in (
            ('/sensors/imu', ontology.IMU, imu_messages()),
            ('/sensors/gps', ontology.GPS, gps_messages()),
        ):
            topic = writer.topic_create(name, TOPIC_METADATA[name], model)
            assert topic is not None
            for message in messages:
                topic.push(message)
        assert writer.topic_create('/sensors/idle', {}, ontology.Pressure) is not None


def handler_of(client: MosaicoClient) -> SequenceHandler:
    handler = client.sequence_handler('drive_2024_01')
    assert handler is not None
    return handler


def test_merge_order_ties_and_peek(client: MosaicoClient) -> None:
    handler = handler_of(client)
    for order in (['/sensors/imu', '/sensors/gps'], ['/sensors/gps', '/sensors/imu']):
        streamer = handler.get_data_streamer(topics=order)
        assert streamer.topics == order
        assert streamer.msg_count == IMU_COUNT + GPS_COUNT
        merged = []
        while (peeked := streamer.next_timestamp()) is not None:
            topic, message = next(streamer)
            assert message.timestamp_ns == peeked
            merged.append((message.timestamp_ns, topic))
        assert streamer.next_timestamp() is None
        with pytest.raises(StopIteration):
            next(streamer)
        rank = {topic: index for index, topic in enumerate(order)}
        assert merged == sorted(merged, key=lambda item: (item[0], rank[item[1]]))
        assert len(merged) == IMU_COUNT + GPS_COUNT
        assert merged[0] == (T0, order[0])


def test_streamer_values_match_pushed(client: MosaicoClient) -> None:
    streamer = handler_of(client).get_data_streamer()
    received: dict[str, list[Any]] = {'/sensors/imu': [], '/sensors/gps': []}
    for topic, message in streamer:
        received[topic].append(message_record(message))
    assert received['/sensors/imu'] == [message_record(m) for m in imu_messages()]
    assert received['/sensors/gps'] == [message_record(m) for m in gps_messages()]


def test_new_streamer_closes_the_previous(client: MosaicoClient) -> None:
    handler = handler_of(client)
    first = handler.get_data_streamer()
    next(first)
    second = handler.get_data_streamer(topics=['/sensors/gps'])
    with pytest.raises(ValueError, match='closed'):
        next(first)
    with pytest.raises(StreamerClosedError):
        first.next_timestamp()
    assert sum(1 for _ in second) == GPS_COUNT

    topic = handler.get_topic_handler('/sensors/imu')
    old = topic.get_data_streamer()
    next(old)
    new = topic.get_data_streamer(start_timestamp_ns=T0 + 300 * MS)
    with pytest.raises(ValueError, match='closed'):
        next(old)
    assert [m.timestamp_ns for m in new] == [T0 + i * 10 * MS for i in range(30, IMU_COUNT)]


def test_windows_are_start_inclusive_end_exclusive(client: MosaicoClient) -> None:
    handler = handler_of(client)
    start, end = T0 + 100 * MS, T0 + 200 * MS
    streamer = handler.get_data_streamer(start_timestamp_ns=start, end_timestamp_ns=end)
    got = [(topic, message.timestamp_ns) for topic, message in streamer]
    assert [t for topic, t in got if topic == '/sensors/imu'] == [
        T0 + i * 10 * MS for i in range(10, 20)
    ]
    assert [t for topic, t in got if topic == '/sensors/gps'] == [
        T0 + i * 20 * MS for i in range(5, 10)
    ]
    assert streamer.timestamp_ns_min == start
    assert streamer.timestamp_ns_max == T0 + 190 * MS

    # Only IMU has data after the last GPS fix: GPS is left out, not opened empty.
    late = handler.get_data_streamer(start_timestamp_ns=T0 + 500 * MS)
    assert late.topics == ['/sensors/imu']
    assert sum(1 for _ in late) == 10
    early = handler.get_data_streamer(end_timestamp_ns=T0 + 20 * MS)
    assert [(topic, m.timestamp_ns) for topic, m in early] == [
        ('/sensors/imu', T0),
        ('/sensors/gps', T0),
        ('/sensors/imu', T0 + 10 * MS),
    ]
    with pytest.raises(RuntimeError, match='no data'):
        handler.get_data_streamer(start_timestamp_ns=T0 + 10_000 * MS)
    with pytest.raises(ValueError, match='no topics'):
        handler.get_data_streamer(topics=['/sensors/lidar'])

    topic = handler.get_topic_handler('sensors/gps')
    windowed = topic.get_data_streamer(start, end)
    assert windowed.msg_count == 5
    assert [message_record(m) for m in windowed] == [
        message_record(m) for m in gps_messages()[5:10]
    ]
    batches = list(topic.iter_batches(start, end))
    assert sum(batch.num_rows for batch in batches) == 5
    assert all(batch.schema.equals(topic.schema) for batch in batches)
    assert list(topic.iter_batches(T0 + 10_000 * MS)) == []


def test_sequence_handler_properties(client: MosaicoClient) -> None:
    handler = handler_of(client)
    assert handler.name == 'drive_2024_01'
    assert handler.user_metadata == {'project': 'Apollo'}
    assert handler.topics == ['/sensors/imu', '/sensors/gps', '/sensors/idle']
    [session] = handler.sessions
    assert session.locator.startswith('drive_2024_01:')
    assert session.locked
    assert session.topics == handler.topics
    assert session.completed_timestamp is not None
    assert session.completed_timestamp >= session.created_timestamp >= handler.created_timestamp
    assert handler.updated_timestamps == [session.created_timestamp]
    assert handler.timestamp_ns_min == T0
    assert handler.timestamp_ns_max == T0 + (IMU_COUNT - 1) * 10 * MS
    sizes = [handler.get_topic_handler(name).total_size_bytes for name in handler.topics]
    assert handler.total_size_bytes == sum(sizes)
    assert sizes[0] > 0
    assert handler.reload()


def test_topic_handler_properties(client: MosaicoClient) -> None:
    topic = client.topic_handler('drive_2024_01', 'sensors/imu')
    assert topic is not None
    assert topic.name == '/sensors/imu'
    assert topic.locator == 'drive_2024_01/sensors/imu'
    assert topic.sequence_name == 'drive_2024_01'
    assert topic.ontology_tag == 'IMU'
    assert topic.serialization_format == 'default'
    assert topic.user_metadata == TOPIC_METADATA['/sensors/imu']
    assert topic.locked
    assert topic.created_timestamp > 0
    assert topic.total_size_bytes > 0
    assert topic.chunks_number >= 1
    assert topic.msg_count == IMU_COUNT
    assert topic.timestamp_ns_min == T0
    assert topic.timestamp_ns_max == T0 + (IMU_COUNT - 1) * 10 * MS
    schema = ontology.Message.arrow_schema(ontology.IMU)
    assert topic.schema.equals(schema)
    assert topic.ontology_schema.equals(ontology.IMU.arrow_struct())
    assert topic.model is ontology.IMU

    idle = client.topic_handler('drive_2024_01', '/sensors/idle')
    assert idle is not None
    assert idle.msg_count == 0
    assert idle.timestamp_ns_min is None
    with pytest.raises(ValueError, match='no data'):
        idle.get_data_streamer()
    assert list(idle.iter_batches()) == []


def test_catalog_calls(client: MosaicoClient) -> None:
    assert client.list_sequences() == ['drive_2024_01']
    assert client.sequence_exists('/drive_2024_01/')
    assert not client.sequence_exists('nope')
    assert client.topic_exists('drive_2024_01', '/sensors/gps')
    assert not client.topic_exists('drive_2024_01', '/sensors/lidar')
    assert client.sequence_handler('nope') is None
    assert client.topic_handler('drive_2024_01', 'sensors/lidar') is None
    assert client.version() == client.info().version
    assert client.info().config.grpc_max_decode_message_size > 0


def test_raw_query(client: MosaicoClient) -> None:
    by_tag = client.query({'topic': {'ontology_tag': {'$eq': 'GPS'}}})
    assert [(item.sequence, [t.name for t in item.topics]) for item in by_tag] == [
        ('drive_2024_01', ['/sensors/gps']),
    ]
    assert by_tag[0].topics[0].locator == 'drive_2024_01/sensors/gps'
    assert by_tag[0].topics[0].ontology_tag == 'GPS'
    assert client.query({'sequence': {'name': {'$match': 'other_*'}}}) == []
    by_value = client.query({'ontology': {'IMU.acceleration.x': {'$gt': 0.05}}})
    assert [item.sequence for item in by_value] == ['drive_2024_01']
    assert [t.name for t in by_value[0].topics] == ['/sensors/imu']


def test_read_side_handles_close_when_their_block_ends(client: MosaicoClient) -> None:
    with handler_of(client) as handler:
        with handler.get_data_streamer() as streamer:
            next(streamer)
        with pytest.raises(ValueError, match='closed'):
            next(streamer)
        with client.topic_handler('drive_2024_01', '/sensors/imu') as topic:
            assert topic is not None
            with topic.get_data_streamer() as topic_streamer:
                next(topic_streamer)
            with pytest.raises(ValueError, match='closed'):
                next(topic_streamer)
            open_streamer = topic.get_data_streamer()
            next(open_streamer)
        # leaving the topic handler closes the streamer it opened
        with pytest.raises(ValueError, match='closed'):
            next(open_streamer)
        last = handler.get_data_streamer()
        next(last)
    with pytest.raises(ValueError, match='closed'):
        next(last)
