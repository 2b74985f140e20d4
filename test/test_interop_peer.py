"""Our client and `mosaicolabs` 0.7.0 read each other's sequences value for value.

Everything runs against one real embedded server per test on 127.0.0.1.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_client_support import (
    SEQUENCE_METADATA,
    T0,
    TOPIC_METADATA,
    TOPICS,
    build,
    message_record,
    topic_values,
)

mosaicolabs = pytest.importorskip('mosaicolabs', reason='the peer SDK mosaicolabs is not installed')

from mosaico_ros import ontology  # noqa: E402
from mosaico_ros.client import (  # noqa: E402
    MosaicoClient,
    SessionLevelErrorPolicy,
    SessionStatus,
)

logging.getLogger('mosaicolabs').setLevel(logging.CRITICAL)

Recording = dict[str, list[tuple[int, Any]]]


class Library:
    """One side of the comparison: its Message class and model classes."""

    def __init__(self, module: Any) -> None:
        self.message = module.Message
        self.module = module

    def model(self, tag: str) -> Any:
        return getattr(self.module, tag)


OURS = Library(ontology)
PEER = Library(mosaicolabs)


@pytest.fixture
def ours(server: Any) -> Iterator[MosaicoClient]:
    with MosaicoClient.connect('127.0.0.1', server.port) as client:
        yield client


@pytest.fixture
def peer(server: Any) -> Iterator[Any]:
    with mosaicolabs.MosaicoClient.connect('127.0.0.1', server.port) as client:
        yield client


def time_ordered(library: Library, topics: list[str]) -> list[tuple[str, Any]]:
    """Every message of `topics`, built with `library`, merged by record time."""
    streams = []
    for order, topic in enumerate(topics):
        model = library.model(TOPICS[topic][0])
        streams.append(
            [
                (stamp, order, topic, build(library.message, model, stamp, values))
                for stamp, values in topic_values(topic)
            ],
        )
    return [(topic, message) for _, _, topic, message in heapq.merge(*streams)]


def write(
    library: Library,
    writer: Any,
    topics: list[str],
    *,
    fail_after: int | None = None,
) -> Recording:
    """Create `topics` in an open writer and push their messages in time order.

    Returns what was pushed, per topic, as plain records. With `fail_after`,
    raises RuntimeError after that many pushes.
    """
    topic_writers = {
        topic: writer.topic_create(topic, TOPIC_METADATA[topic], library.model(TOPICS[topic][0]))
        for topic in topics
    }
    pushed: Recording = {topic: [] for topic in topics}
    for count, (topic, message) in enumerate(time_ordered(library, topics)):
        if fail_after is not None and count == fail_after:
            raise RuntimeError('simulated ingestion failure')
        topic_writers[topic].push(message=message)
        pushed[topic].append(message_record(message))
    return pushed


def in_window(recording: Recording, start: int | None, end: int | None) -> Recording:
    return {
        topic: [
            record
            for record in records
            if (start is None or record[0] >= start) and (end is None or record[0] < end)
        ]
        for topic, records in recording.items()
    }


def read_ours(
    client: MosaicoClient,
    name: str,
    topics: list[str] | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Recording:
    handler = client.sequence_handler(name)
    assert handler is not None
    streamer = handler.get_data_streamer(topics, start, end)
    return collect(iter(streamer), handler.topics if topics is None else topics)


def read_peer(
    client: Any,
    name: str,
    topics: list[str] | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Recording:
    handler = client.sequence_handler(name)
    assert handler is not None
    streamer = handler.get_data_streamer(
        topics=topics or [],
        start_timestamp_ns=start,
        end_timestamp_ns=end,
    )
    recording = collect(
        (('/' + topic.strip('/'), message) for topic, message in streamer),
        handler.topics if topics is None else topics,
    )
    for topic, records in recording.items():
        assert records, f'peer read nothing from {topic}'
    return recording


def collect(stream: Iterator[tuple[str, Any]], topics: list[str]) -> Recording:
    """Group a merged stream per topic, checking it is time ordered."""
    recording: Recording = {topic: [] for topic in topics}
    last = None
    for topic, message in stream:
        assert last is None or message.timestamp_ns >= last
        last = message.timestamp_ns
        recording[topic].append(message_record(message))
    return recording


def assert_same(read: Recording, expected: Recording) -> None:
    assert read.keys() == expected.keys()
    for topic, records in expected.items():
        got = read[topic]
        assert len(got) == len(records), topic
        for index, (got_record, want) in enumerate(zip(got, records, strict=True)):
            assert got_record == want, f'{topic} message {index}'


ALL = list(TOPICS)
WINDOW = (T0 + 1_000 * 1_000_000, T0 + 7_500 * 1_000_000)


def test_peer_written_sequence_reads_identically_with_ours(peer: Any, ours: MosaicoClient) -> None:
    with peer.sequence_create('peer_drive', SEQUENCE_METADATA) as writer:
        pushed = write(PEER, writer, ALL)

    handler = ours.sequence_handler('peer_drive')
    assert handler is not None
    assert handler.name == 'peer_drive'
    assert handler.user_metadata == SEQUENCE_METADATA
    assert sorted(handler.topics) == sorted(ALL)
    assert len(handler.sessions) == 1
    assert handler.sessions[0].locked
    assert handler.timestamp_ns_min == T0
    assert handler.timestamp_ns_max == max(records[-1][0] for records in pushed.values())
    for topic in ALL:
        topic_handler = ours.topic_handler('peer_drive', topic)
        assert topic_handler is not None
        assert topic_handler.user_metadata == TOPIC_METADATA[topic]
        assert topic_handler.ontology_tag == TOPICS[topic][0]
        assert topic_handler.msg_count == TOPICS[topic][2]

    assert_same(read_ours(ours, 'peer_drive', ALL), pushed)
    assert_same(read_ours(ours, 'peer_drive', ALL, *WINDOW), in_window(pushed, *WINDOW))
    subset = ['/cam/jpeg', '/sensors/imu']
    assert_same(
        read_ours(ours, 'peer_drive', subset, WINDOW[0], None),
        in_window({topic: pushed[topic] for topic in subset}, WINDOW[0], None),
    )


def test_our_sequence_reads_identically_with_peer(ours: MosaicoClient, peer: Any) -> None:
    with ours.sequence_create('our_drive', SEQUENCE_METADATA) as writer:
        pushed = write(OURS, writer, ALL)
    assert writer.status is SessionStatus.Finalized

    handler = peer.sequence_handler('our_drive')
    assert handler is not None
    assert handler.user_metadata == SEQUENCE_METADATA
    assert sorted(handler.topics) == sorted(ALL)
    for topic in ALL:
        topic_handler = peer.topic_handler('our_drive', topic)
        assert topic_handler is not None
        assert topic_handler.user_metadata == TOPIC_METADATA[topic]
        assert topic_handler.ontology_tag == TOPICS[topic][0]
        # The SDK only decodes into its own class when our schema is byte-for-byte its own.
        streamer = topic_handler.get_data_streamer()
        first = next(iter(streamer))
        assert type(first.data) is PEER.model(TOPICS[topic][0])

    assert_same(read_peer(peer, 'our_drive', ALL), pushed)
    assert_same(read_peer(peer, 'our_drive', ALL, *WINDOW), in_window(pushed, *WINDOW))


def test_update_sessions_cross_read(ours: MosaicoClient, peer: Any) -> None:
    with ours.sequence_create('layers', SEQUENCE_METADATA) as writer:
        pushed = write(OURS, writer, ['/sensors/imu'])
    with peer.sequence_update('layers') as updater:
        pushed |= write(PEER, updater, ['/sensors/gps'])

    handler = ours.sequence_handler('layers')
    assert handler is not None
    assert [session.topics for session in handler.sessions] == [['/sensors/imu'], ['/sensors/gps']]
    assert len(handler.updated_timestamps) == 2
    assert_same(read_ours(ours, 'layers', ['/sensors/imu', '/sensors/gps']), pushed)

    with handler.update() as updater:
        pushed |= write(OURS, updater, ['/cam/raw'])
    peer_handler = peer.sequence_handler('layers')
    assert peer_handler is not None
    assert len(peer_handler.sessions) == 3
    assert_same(read_peer(peer, 'layers', ['/sensors/imu', '/sensors/gps', '/cam/raw']), pushed)


def test_delete_policy_failure_leaves_nothing(ours: MosaicoClient, peer: Any) -> None:
    writer = ours.sequence_create(
        'doomed_ours',
        {'purpose': 'failure-test'},
        on_error=SessionLevelErrorPolicy.Delete,
    )
    with pytest.raises(RuntimeError, match='simulated ingestion failure'), writer:
        write(OURS, writer, ['/sensors/imu'], fail_after=500)
    assert writer.status is SessionStatus.Error

    peer_writer = peer.sequence_create(
        'doomed_peer',
        {'purpose': 'failure-test'},
        on_error=mosaicolabs.SessionLevelErrorPolicy.Delete,
    )
    with pytest.raises(RuntimeError, match='simulated ingestion failure'), peer_writer:
        write(PEER, peer_writer, ['/sensors/imu'], fail_after=500)

    for name in ('doomed_ours', 'doomed_peer'):
        assert not peer.sequence_exists(name)
        assert not ours.sequence_exists(name)
        assert ours.sequence_handler(name) is None
    assert ours.list_sequences() == []
    assert peer.list_sequences() == []


@pytest.fixture
def small_server(store_dir: Path) -> Iterator[Any]:
    """A server advertising a 64 KiB message limit, so the SDK sends small batches."""
    from mosaico_ros.server import EmbeddedServer

    with EmbeddedServer(store_dir, max_message_size=64 * 1024) as running:
        yield running


def test_report_policy_failure_keeps_partial_data(small_server: Any) -> None:
    port = small_server.port
    with (
        MosaicoClient.connect('127.0.0.1', port) as ours,
        mosaicolabs.MosaicoClient.connect('127.0.0.1', port) as peer,
    ):
        check_report_policy(ours, peer)


def check_report_policy(ours: MosaicoClient, peer: Any) -> None:
    writer = ours.sequence_create(
        'partial_ours',
        {'purpose': 'failure-test'},
        max_batch_size_records=50,
    )
    with pytest.raises(RuntimeError, match='simulated ingestion failure'), writer:
        write(OURS, writer, ['/sensors/imu'], fail_after=120)
    pushed = {'/sensors/imu': write_expected(OURS, '/sensors/imu', 100)}
    # Whole chunks handed to the worker are sent; the 20 still buffered are not.
    assert_same(read_peer(peer, 'partial_ours', ['/sensors/imu']), pushed)
    notes = peer.list_sequence_notifications('partial_ours')
    assert [note.message for note in notes] == [
        f'Exception caught in _BaseSessionWriter block for session {writer.session_locator}, '
        "sequence  'partial_ours'.\nInner err: 'simulated ingestion failure'",
    ]
    topic_notes = peer.list_topic_notifications('partial_ours', '/sensors/imu')
    assert [note.message for note in topic_notes] == ['simulated ingestion failure']
    assert writer.session_locator.startswith('partial_ours:')

    peer_writer = peer.sequence_create('partial_peer', {'purpose': 'failure-test'})
    with pytest.raises(RuntimeError, match='simulated ingestion failure'), peer_writer:
        write(PEER, peer_writer, ['/sensors/imu'], fail_after=120)
    read = read_ours(ours, 'partial_peer', ['/sensors/imu'])
    received = read['/sensors/imu']
    assert 0 < len(received) <= 120
    assert received == write_expected(PEER, '/sensors/imu', len(received))
    ours_notes = ours.list_sequence_notifications('partial_peer')
    assert len(ours_notes) == 1
    assert ours_notes[0].message.startswith(
        'Exception caught in _BaseSessionWriter block for session partial_peer:',
    )
    assert ours_notes[0].message.endswith("Inner err: 'simulated ingestion failure'")
    ours_topic_notes = ours.list_topic_notifications('partial_peer', 'sensors/imu')
    assert [(n.topic_name, n.message) for n in ours_topic_notes] == [
        ('/sensors/imu', 'simulated ingestion failure'),
    ]


def write_expected(library: Library, topic: str, count: int) -> list[tuple[int, Any]]:
    model = library.model(TOPICS[topic][0])
    return [
        message_record(build(library.message, model, stamp, values))
        for stamp, values in topic_values(topic)[:count]
    ]
