"""Writing with our client: batching, the batch path, error policies, server errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_client_support import T0, build, imu_values, message_record, topic_values

from mosaico_ros import ontology
from mosaico_ros.client import (
    MosaicoClient,
    PermissionDeniedError,
    ServerError,
    SessionError,
    SessionLevelErrorPolicy,
    SessionStatus,
    TopicLevelErrorPolicy,
    TopicWriterStatus,
)

MS = 1_000_000


@pytest.fixture
def client(server: Any) -> Iterator[MosaicoClient]:
    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def imu_messages(count: int, first: int = 0) -> list[Any]:
    return [
        build(ontology.Message, ontology.IMU, T0 + i * MS, imu_values(i, T0 + i * MS))
        for i in range(first, first + count)
    ]


def read_records(client: MosaicoClient, sequence: str, topic: str) -> list[tuple[int, Any]]:
    handler = client.topic_handler(sequence, topic)
    assert handler is not None
    if handler.timestamp_ns_min is None:
        return []
    return [message_record(message) for message in handler.get_data_streamer()]


def test_flush_by_records(client: MosaicoClient) -> None:
    messages = imu_messages(100)
    with client.sequence_create('by_records', {}, max_batch_size_records=22) as writer:
        topic = writer.topic_create('imu', {}, ontology.IMU)
        assert topic is not None
        for message in messages:
            topic.push(message)
    assert (topic.rows_sent, topic.batches_sent) == (100, 5)
    assert topic.status is TopicWriterStatus.Finalized
    assert not topic.is_active
    assert read_records(client, 'by_records', 'imu') == [message_record(m) for m in messages]


def test_flush_by_bytes(client: MosaicoClient) -> None:
    messages = imu_messages(500)
    with client.sequence_create('by_bytes', {}, max_batch_size_bytes=4096) as writer:
        assert writer.budget_bytes == 4096
        topic = writer.topic_create('imu', {}, ontology.IMU)
        assert topic is not None
        for message in messages:
            topic.push(message)
    assert topic.rows_sent == 500
    assert 0 < topic.largest_batch_bytes <= 4096
    assert topic.batches_sent >= topic.bytes_sent / 4096
    assert read_records(client, 'by_bytes', 'imu') == [message_record(m) for m in messages]


@pytest.fixture
def small_server(store_dir: Path) -> Iterator[Any]:
    from mosaico_ros.server import EmbeddedServer

    with EmbeddedServer(store_dir, max_message_size=64 * 1024) as running:
        yield running


def test_budget_follows_server_limit_and_drops_oversized_record(small_server: Any) -> None:
    big = {
        'data': bytes(100_000),
        'format': 'raw',
        'width': 1000,
        'height': 100,
        'stride': 1000,
        'encoding': 'mono8',
    }
    images = [
        build(ontology.Message, ontology.Image, T0 + i, values)
        for i, (_, values) in enumerate(topic_values('/cam/raw')[:40])
    ]
    with MosaicoClient.connect('127.0.0.1', small_server.port) as client:
        with client.sequence_create('big_images', {}) as writer:
            assert writer.budget_bytes == int(0.9 * 64 * 1024)
            topic = writer.topic_create('cam/front', {}, ontology.Image)
            assert topic is not None
            topic.push(build(ontology.Message, ontology.Image, T0 - 1, big))
            for message in images:
                topic.push(message)
        text = (
            "Record dropped for topic 'cam/front': its size alone exceeds the transport's "
            'message-size limit and it cannot be split further.'
        )
        assert topic.dropped_record_count == 1
        assert topic.last_error == text
        assert [n.message for n in client.list_topic_notifications('big_images', 'cam/front')] == [
            text,
        ]
        assert read_records(client, 'big_images', '/cam/front') == [
            message_record(m) for m in images
        ]
        handler = client.topic_handler('big_images', 'cam/front')
        assert handler is not None
        assert handler.serialization_format == 'image'


CUSTOM_SCHEMA = pa.schema(
    [
        pa.field('timestamp_ns', pa.int64(), nullable=False),
        pa.field('ticks', pa.list_(pa.int32())),
        pa.field('label', pa.string()),
    ],
)


def custom_batch(first: int, count: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            'timestamp_ns': [T0 + i for i in range(first, first + count)],
            'ticks': [list(range(i % 50)) for i in range(first, first + count)],
            'label': [f'row {i}' for i in range(first, first + count)],
        },
        schema=CUSTOM_SCHEMA,
    )


def test_push_batch_on_schema_topic_splits_to_budget(client: MosaicoClient) -> None:
    batches = [custom_batch(0, 3000), custom_batch(3000, 10)]
    with client.sequence_create('generic', {}, max_batch_size_bytes=20_000) as writer:
        topic = writer.topic_create(
            '/ros/custom',
            {'ros_type': 'my_pkg/msg/Ticks'},
            schema=CUSTOM_SCHEMA,
            ontology_tag='my_pkg/msg/Ticks',
            serialization_format='ragged',
        )
        assert topic is not None
        for batch in batches:
            topic.push_batch(batch)
        with pytest.raises(ValueError, match='/ros/custom'):
            topic.push_batch(imu_batch := custom_batch(0, 1).drop_columns(['label']))
        assert imu_batch.num_rows == 1
    assert topic.rows_sent == 3010
    assert topic.batches_sent > 3
    assert topic.largest_batch_bytes <= 20_000

    handler = client.topic_handler('generic', 'ros/custom')
    assert handler is not None
    assert handler.ontology_tag == 'my_pkg/msg/Ticks'
    assert handler.serialization_format == 'ragged'
    assert handler.user_metadata == {'ros_type': 'my_pkg/msg/Ticks'}
    read = pa.Table.from_batches(list(handler.iter_batches()))
    assert read.to_pylist() == pa.Table.from_batches(batches).to_pylist()
    window = pa.Table.from_batches(list(handler.iter_batches(T0 + 100, T0 + 200)))
    assert window.column('timestamp_ns').to_pylist() == [T0 + i for i in range(100, 200)]


def test_push_and_push_batch_keep_order(client: MosaicoClient) -> None:
    first, middle, last = imu_messages(10), imu_messages(10, 10), imu_messages(10, 20)
    with client.sequence_create('mixed', {}) as writer:
        topic = writer.topic_create('imu', {}, ontology.IMU)
        assert topic is not None
        for message in first:
            topic.push(message)
        topic.push_batch(ontology.messages_to_batch(middle, ontology.IMU))
        for message in last:
            topic.push(ontology_obj=message.data, message_timestamp_ns=message.timestamp_ns)
        with pytest.raises(TypeError, match="'imu' takes IMU"):
            topic.push(ontology.Message(timestamp_ns=0, data=ontology.String(data='x')))
    expected = [message_record(m) for m in first + middle + last]
    assert read_records(client, 'mixed', 'imu') == expected


def test_topic_policies_finalize_and_ignore(client: MosaicoClient) -> None:
    # Chunks of 4: of 10 pushes, 8 are handed to the worker and sent, 2 stay buffered.
    with client.sequence_create('policies', {}, max_batch_size_records=4) as writer:
        finalize = writer.topic_create(
            't/finalize', {}, ontology.IMU, TopicLevelErrorPolicy.Finalize
        )
        ignore = writer.topic_create('t/ignore', {}, ontology.IMU, TopicLevelErrorPolicy.Ignore)
        assert finalize is not None
        assert ignore is not None
        with finalize:
            for message in imu_messages(10):
                finalize.push(message)
            raise ValueError('finalize-policy error')
        assert finalize.status is TopicWriterStatus.FinalizedWithError
        assert not finalize.is_active
        with pytest.raises(RuntimeError, match='finalized'):
            finalize.push(imu_messages(1)[0])
        with ignore:
            for message in imu_messages(10):
                ignore.push(message)
            raise ValueError('ignore-policy error')
        assert ignore.status is TopicWriterStatus.IgnoredLastError
        assert ignore.is_active
        for message in imu_messages(10, 10):
            ignore.push(message)
    assert writer.status is SessionStatus.Finalized
    assert read_records(client, 'policies', 't/finalize') == [
        message_record(m) for m in imu_messages(8)
    ]
    assert read_records(client, 'policies', 't/ignore') == [
        message_record(m) for m in imu_messages(20)
    ]
    assert [n.message for n in client.list_topic_notifications('policies', 't/finalize')] == [
        'finalize-policy error',
    ]
    assert [n.message for n in client.list_topic_notifications('policies', 't/ignore')] == [
        'ignore-policy error',
    ]
    assert client.list_sequence_notifications('policies') == []


def test_topic_policy_raise_reaches_session_report(client: MosaicoClient) -> None:
    writer = client.sequence_create('raise_policy', {})
    holder: list[Any] = []

    def fail_in_topic() -> None:
        with writer:
            topic = writer.topic_create('t/raise', {}, ontology.IMU)
            assert topic is not None
            holder.append(topic)
            with topic:
                raise ValueError('raise-policy error')

    with pytest.raises(ValueError, match='raise-policy error'):
        fail_in_topic()
    topic = holder[0]
    assert topic.status is TopicWriterStatus.RaisedException
    assert writer.status is SessionStatus.Error
    topic_notes = client.list_topic_notifications('raise_policy', 't/raise')
    assert [(n.sequence_name, n.topic_name, n.message) for n in topic_notes] == [
        ('raise_policy', '/t/raise', 'raise-policy error'),
    ]
    notes = client.list_sequence_notifications('raise_policy')
    assert [n.message for n in notes] == [
        f'Exception caught in _BaseSessionWriter block for session {writer.session_locator}, '
        "sequence  'raise_policy'.\nInner err: 'raise-policy error'",
    ]
    client.clear_sequence_notifications('raise_policy')
    client.clear_topic_notifications('raise_policy', 't/raise')
    assert client.list_sequence_notifications('raise_policy') == []
    assert client.list_topic_notifications('raise_policy', 't/raise') == []


def test_updater_delete_policy_removes_only_its_session(client: MosaicoClient) -> None:
    messages = imu_messages(30)
    with client.sequence_create('kept', {'v': 1}) as writer:
        topic = writer.topic_create('imu', {}, ontology.IMU)
        assert topic is not None
        for message in messages:
            topic.push(message)
    updater = client.sequence_update('kept', on_error=SessionLevelErrorPolicy.Delete)

    def fail_update() -> None:
        with updater:
            doomed = updater.topic_create('doomed', {}, ontology.IMU)
            assert doomed is not None
            for message in imu_messages(50):
                doomed.push(message)
            raise RuntimeError('update failed')

    with pytest.raises(RuntimeError, match='update failed'):
        fail_update()
    assert updater.status is SessionStatus.Error
    handler = client.sequence_handler('kept')
    assert handler is not None
    assert handler.topics == ['/imu']
    assert len(handler.sessions) == 1
    assert not client.topic_exists('kept', 'doomed')
    assert read_records(client, 'kept', 'imu') == [message_record(m) for m in messages]


def test_server_errors_surface_with_the_server_message(client: MosaicoClient) -> None:
    with client.sequence_create('dup', {}) as writer:
        assert writer.topic_create('imu', {}, ontology.IMU) is not None
        with pytest.raises(ValueError, match='already exists'):
            writer.topic_create('/imu/', {}, ontology.IMU)
    second = client.sequence_create('dup', {})
    with pytest.raises(ServerError) as caught, second:
        pass
    assert caught.value.call == 'DoAction sequence_create'
    assert 'dup' in caught.value.server_message
    assert str(caught.value).startswith('DoAction sequence_create failed: ')
    assert client.list_sequences() == ['dup']

    with pytest.raises(ValueError, match='invalid sequence name'):
        client.sequence_create('bad name!', {})
    assert client.list_sequences() == ['dup']
    with pytest.raises(RuntimeError, match='with block'):
        client.sequence_create('later', {}).topic_create('imu', {}, ontology.IMU)
    with pytest.raises(ServerError, match='session_delete'):
        client.session_delete('dup:NOSUCHSESSION')


def test_connect_gives_up_after_timeout(server: Any) -> None:
    port = server.port
    server.stop()
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f'127.0.0.1:{port}'):
        MosaicoClient.connect('127.0.0.1', port, timeout=0.3)
    assert time.monotonic() - start < 5


def test_api_key_permissions(store_dir: Path) -> None:
    from mosaico_ros.server import EmbeddedServer

    reader_key = 'msco_' + 'r' * 32 + '_0badc0de'
    writer_key = 'msco_' + 'w' * 32 + '_0badc0de'
    keys = {reader_key: 'read', writer_key: 'write'}
    with EmbeddedServer(store_dir, api_keys=keys) as running:
        with (
            MosaicoClient.connect('127.0.0.1', running.port, api_key=writer_key) as writer_client,
            writer_client.sequence_create('keyed', {'k': 1}) as writer,
        ):
            topic = writer.topic_create('imu', {}, ontology.IMU)
            assert topic is not None
            topic.push(imu_messages(1)[0])
        with MosaicoClient.connect('127.0.0.1', running.port, api_key=reader_key) as reader_client:
            handler = reader_client.sequence_handler('keyed')
            assert handler is not None
            assert handler.user_metadata == {'k': 1}
            with pytest.raises(PermissionDeniedError), reader_client.sequence_create('nope', {}):
                pass


def test_stream_rejected_by_server_fails_the_session_with_its_message(
    client: MosaicoClient,
) -> None:
    messages = imu_messages(20)
    writer = client.sequence_create('srv_err', {})
    holder: list[Any] = []

    def write_with_a_bad_stream() -> None:
        with writer:
            good = writer.topic_create('good', {}, ontology.IMU)
            bad = writer.topic_create('bad', {}, schema=CUSTOM_SCHEMA, ontology_tag='IMU')
            assert good is not None
            assert bad is not None
            holder.append(good)
            for message in messages:
                good.push(message)
            bad.push_batch(custom_batch(0, 5))

    with pytest.raises(SessionError) as caught:
        write_with_a_bad_stream()
    text = str(caught.value)
    assert text.startswith(
        f'Errors occurred closing topics for session {writer.session_locator}, '
        "sequence 'srv_err': 1 topic(s) failed to finalize.\n"
        "Inner err: Error finalizing TopicWriter 'bad'.\nInner err: ",
    )
    assert "schema does not match ontology model 'IMU'" in text
    assert writer.status is SessionStatus.Error
    [note] = client.list_sequence_notifications('srv_err')
    assert note.message == (
        f'Exception caught in _BaseSessionWriter block for session {writer.session_locator}, '
        f"sequence  'srv_err'.\nInner err: '{text}'"
    )
    assert client.list_topic_notifications('srv_err', 'good') == []
    assert read_records(client, 'srv_err', 'good') == [message_record(m) for m in messages]


def test_upload_queue_is_bounded() -> None:
    from mosaico_ros.client.upload_worker import UploadWorker

    worker = UploadWorker(depth=1, name='bounded')
    release = threading.Event()
    done: list[int] = []
    worker.submit(release.wait)
    worker.submit(lambda: done.append(1))
    third = threading.Thread(target=worker.submit, args=(lambda: done.append(2),))
    third.start()
    third.join(timeout=0.2)
    # The queue holds one job while the first runs: the third producer must wait.
    assert third.is_alive()
    release.set()
    third.join(timeout=5)
    assert not third.is_alive()
    assert worker.call(lambda: 3).result(timeout=5) == 3
    worker.stop()
    assert done == [1, 2]


def test_upload_queue_is_bounded_in_bytes() -> None:
    from mosaico_ros.client.upload_worker import UploadWorker

    worker = UploadWorker(depth=16, name='bytes', max_bytes=100)
    release = threading.Event()
    worker.submit(release.wait, 60)
    worker.submit(lambda: None, 40)  # 100 bytes queued: at the bound, still let in
    third = threading.Thread(target=worker.submit, args=(lambda: None, 1))
    third.start()
    third.join(timeout=0.2)
    assert third.is_alive()  # one byte more must wait, though the queue has room for jobs
    release.set()
    third.join(timeout=5)
    assert not third.is_alive()
    # A job larger than the bound waits for the queue to empty, then goes alone.
    worker.submit(lambda: None, 500)
    assert worker.call(lambda: 3).result(timeout=5) == 3
    worker.stop()


def test_any_upload_failure_fails_the_session_instead_of_vanishing(
    client: MosaicoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-Arrow error while a batch is written (here: out of memory while slicing it)."""
    from mosaico_ros.client import topic_writer

    real_split = topic_writer.split_to_budget
    calls = [0]

    def split_once_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            raise MemoryError('no room to slice the batch')
        return real_split(*args, **kwargs)

    monkeypatch.setattr(topic_writer, 'split_to_budget', split_once_then_fail)
    schema = pa.schema([pa.field('timestamp_ns', pa.int64(), nullable=False), ('v', pa.int32())])

    def rows(first: int) -> pa.RecordBatch:
        times = pa.array([T0 + (first + i) * MS for i in range(5)], pa.int64())
        return pa.RecordBatch.from_arrays([times, pa.array(range(5), pa.int32())], schema=schema)

    writer = client.sequence_create('lossy_upload', {})

    def upload() -> None:
        with writer:
            topic = writer.topic_create('/values', {}, schema=schema, ontology_tag='ros:x/msg/V')
            assert topic is not None
            topic.push_batch(rows(0))
            topic.push_batch(rows(5))

    with pytest.raises(SessionError, match='MemoryError: no room to slice the batch'):
        upload()
    assert writer.status is SessionStatus.Error
    [note] = client.list_sequence_notifications('lossy_upload')
    assert 'MemoryError' in note.message
