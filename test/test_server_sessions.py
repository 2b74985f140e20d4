"""Sessions through the real SDK: updates, error policies, notifications, deletes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_server_helpers import T0, connect, gps_message, imu_message, sdk, write_drive

from mosaico_ros.server import EmbeddedServer


class Boom(RuntimeError):
    pass


def fail_upload(session: Any, topic: str, rows: int, message: str) -> None:
    """Push IMU rows into a new topic of `session`, then fail inside its `with` block."""
    with session as writer:
        imu = writer.topic_create(topic, {}, sdk().IMU)
        for index in range(rows):
            imu.push(imu_message(index))
        raise Boom(message)


@pytest.fixture
def server(store_dir: Path) -> Any:
    """A server advertising 64 KiB messages, so the SDK flushes small batches as it goes."""
    with EmbeddedServer(store_dir, max_message_size=64 * 1024) as running:
        yield running


@pytest.fixture
def client(server: EmbeddedServer) -> Any:
    connection = connect(server.port)
    yield connection
    connection.close()


def test_update_adds_a_session(client: Any) -> None:
    mc = sdk()
    write_drive(client, 'drive', imu=200, gps=60, images=2)
    with client.sequence_update('drive') as updater:
        rear = updater.topic_create('sensors/imu_rear', {'mount': 'rear'}, mc.IMU)
        for index in range(50):
            rear.push(imu_message(index))
    handler = client.sequence_handler('drive')
    with handler.update() as updater:
        extra = updater.topic_create('sensors/extra', {}, mc.GPS)
        extra.push(gps_message(0))
    handler.reload()
    sessions = handler.sessions
    assert len(sessions) == 3
    assert '/sensors/imu_rear' in handler.topics
    assert '/sensors/extra' in handler.topics
    assert len(handler.updated_timestamps) == 3
    rear_handler = client.topic_handler('drive', 'sensors/imu_rear')
    assert rear_handler.user_metadata == {'mount': 'rear'}
    assert [m.timestamp_ns for m in rear_handler.get_data_streamer()] == [
        T0 + i * 10_000_000 for i in range(50)
    ]


def test_delete_policy_leaves_nothing(client: Any) -> None:
    mc = sdk()
    session = client.sequence_create(
        'fail_delete', {'p': 1}, on_error=mc.SessionLevelErrorPolicy.Delete
    )
    with pytest.raises(Boom):
        fail_upload(session, 'sensors/imu', 200, 'simulated ingestion failure')
    assert client.list_sequences() == []
    assert client.sequence_handler('fail_delete') is None
    assert not client.sequence_exists('fail_delete')
    with client.sequence_create('fail_delete', {'p': 2}) as writer:
        writer.topic_create('sensors/imu', {}, mc.IMU).push(imu_message(0))
    assert client.sequence_handler('fail_delete').user_metadata == {'p': 2}


def test_update_with_delete_policy_keeps_older_sessions(client: Any) -> None:
    mc = sdk()
    write_drive(client, 'drive', imu=100, gps=30, images=1)
    session = client.sequence_update('drive', on_error=mc.SessionLevelErrorPolicy.Delete)
    with pytest.raises(Boom):
        fail_upload(session, 'sensors/doomed', 40, 'update failed')
    handler = client.sequence_handler('drive')
    assert len(handler.sessions) == 1
    assert '/sensors/doomed' not in handler.topics
    assert not client.topic_exists('drive', 'sensors/doomed')


def test_report_policy_keeps_partial_data_and_notifies(server: EmbeddedServer, client: Any) -> None:
    with pytest.raises(Boom):
        fail_upload(
            client.sequence_create('fail_report', {}),
            'sensors/imu',
            300,
            'simulated ingestion failure',
        )
    assert client.list_sequences() == ['fail_report']
    topic = client.topic_handler('fail_report', 'sensors/imu')
    assert topic.locked is False
    stored = [m.timestamp_ns for m in topic.get_data_streamer()]
    assert 0 < len(stored) < 300
    assert stored == [T0 + i * 10_000_000 for i in range(len(stored))]
    sequence_notes = client.list_sequence_notifications('fail_report')
    assert len(sequence_notes) == 1
    assert "Inner err: 'simulated ingestion failure'" in sequence_notes[0].message
    topic_notes = client.list_topic_notifications('fail_report', 'sensors/imu')
    assert [note.message for note in topic_notes] == ['simulated ingestion failure']
    assert topic_notes[0].topic_name == '/sensors/imu'
    client.clear_topic_notifications('fail_report', 'sensors/imu')
    assert client.list_topic_notifications('fail_report', 'sensors/imu') == []
    assert len(client.list_sequence_notifications('fail_report')) == 1
    client.clear_sequence_notifications('fail_report')
    assert client.list_sequence_notifications('fail_report') == []


def test_topic_level_policies(client: Any) -> None:
    mc = sdk()
    policy = mc.TopicLevelErrorPolicy
    with client.sequence_create('topic_policies', {}) as writer:
        finalize = writer.topic_create('finalize', {}, mc.IMU, on_error=policy.Finalize)
        ignore = writer.topic_create('ignore', {}, mc.IMU, on_error=policy.Ignore)
        with finalize:
            for index in range(10):
                finalize.push(imu_message(index))
            raise Boom('finalize me')
        with ignore:
            ignore.push(imu_message(0))
            raise Boom('ignore me')
        ignore.push(imu_message(1))
    finalized = client.topic_handler('topic_policies', 'finalize')
    assert finalized.timestamp_ns_min is None
    ignored = client.topic_handler('topic_policies', 'ignore')
    assert [m.timestamp_ns for m in ignored.get_data_streamer()] == [T0, T0 + 10_000_000]
    notes = client.list_topic_notifications('topic_policies', 'ignore')
    assert [note.message for note in notes] == ['ignore me']


def test_client_deletes(client: Any) -> None:
    write_drive(client, 'one', imu=50, gps=10, images=1)
    write_drive(client, 'two', imu=50, gps=10, images=1)
    mc = sdk()
    with client.sequence_update('one') as updater:
        updater.topic_create('late', {}, mc.IMU).push(imu_message(0))
    late_session = client.sequence_handler('one').sessions[-1]
    client.session_delete(late_session.locator)
    client.clear_sequence_handlers_cache()
    handler = client.sequence_handler('one')
    assert len(handler.sessions) == 1
    assert '/late' not in handler.topics
    client.sequence_delete('two')
    assert client.list_sequences() == ['one']
