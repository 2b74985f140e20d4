"""Our client sends what `mosaicolabs` 0.7.0 sends, request for request.

A recording Flight proxy sits between each client and its own embedded
server; the same scenario runs through both, and the recorded requests are
compared after replacing server-issued ids by placeholders.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from pyarrow import flight

mosaicolabs = pytest.importorskip('mosaicolabs', reason='the peer SDK mosaicolabs is not installed')

from mosaico_ros import ontology  # noqa: E402
from mosaico_ros.client import (  # noqa: E402
    MosaicoClient,
    SessionLevelErrorPolicy,
    TopicLevelErrorPolicy,
)
from mosaico_ros.server import EmbeddedServer  # noqa: E402

logging.getLogger('mosaicolabs').setLevel(logging.CRITICAL)

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


class RecordingProxy(flight.FlightServerBase):
    """Forwards every call to an upstream server and records the requests."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__('grpc://127.0.0.1:0')
        self._upstream = flight.FlightClient(f'grpc://127.0.0.1:{upstream_port}')
        self._lock = threading.Lock()
        self.actions: list[tuple[str, Any]] = []
        self.reads: list[tuple[str, Any]] = []
        self.puts: list[dict[str, Any]] = []

    def _record(self, log: list[Any], entry: Any) -> None:
        with self._lock:
            log.append(entry)

    def do_action(self, context: Any, action: flight.Action) -> Iterator[bytes]:
        body = action.body.to_pybytes()
        self._record(self.actions, (action.type, json.loads(body)))
        results = list(self._upstream.do_action(flight.Action(action.type, body)))
        return iter([result.body.to_pybytes() for result in results])

    def get_flight_info(self, context: Any, descriptor: flight.FlightDescriptor) -> Any:
        self._record(self.reads, ('GetFlightInfo', json.loads(descriptor.command)))
        return self._upstream.get_flight_info(descriptor)

    def get_schema(self, context: Any, descriptor: flight.FlightDescriptor) -> Any:
        self._record(self.reads, ('GetSchema', json.loads(descriptor.command)))
        return flight.SchemaResult(self._upstream.get_schema(descriptor).schema)

    def list_flights(self, context: Any, criteria: bytes) -> Iterator[flight.FlightInfo]:
        self._record(self.reads, ('ListFlights', bytes(criteria or b'').decode()))
        yield from self._upstream.list_flights(criteria)

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.FlightDataStream:
        self._record(self.reads, ('DoGet', None))
        reader = self._upstream.do_get(ticket)
        return flight.GeneratorStream(reader.schema, (chunk.data for chunk in reader))

    def do_put(
        self,
        context: Any,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        upstream, _ = self._upstream.do_put(descriptor, reader.schema)
        rows = 0
        for chunk in reader:
            upstream.write_batch(chunk.data)
            rows += chunk.data.num_rows
        upstream.close()
        self._record(
            self.puts,
            {
                'descriptor': json.loads(descriptor.command),
                'schema': reader.schema,
                'rows': rows,
            },
        )


class Placeholders:
    """Replaces server-issued uuids and session ids by stable names."""

    UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
    SESSION = re.compile(r'(?<=:)[0-9A-Z]{26}')

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def _name(self, match: re.Match[str]) -> str:
        return self._names.setdefault(match.group(0), f'<id{len(self._names)}>')

    def __call__(self, value: Any) -> Any:
        text = json.dumps(value)
        text = self.UUID.sub(self._name, text)
        return json.loads(self.SESSION.sub(self._name, text))


def imu(i: int) -> dict[str, Any]:
    return {
        'acceleration': {'x': 0.01 * i, 'y': 0.0, 'z': 9.81},
        'angular_velocity': {'x': 0.0, 'y': 0.0, 'z': 0.0},
    }


def gps(i: int) -> dict[str, Any]:
    return {'position': {'x': 45.0, 'y': 7.0 + 1e-6 * i, 'z': 200.0}}


def push_all(library: Any, topic: Any, tag: str, count: int, period: int) -> None:
    model = getattr(library, tag)
    values = imu if tag == 'IMU' else gps
    for i in range(count):
        message = library.Message(
            timestamp_ns=T0 + i * period,
            data=model.model_validate(values(i)),
        )
        topic.push(message=message)


def fail_inside(library: Any, writer: Any) -> None:
    with writer:
        push_all(library, writer.topic_create('sensors/imu', {}, library.IMU), 'IMU', 5, MS)
        raise RuntimeError('simulated ingestion failure')


def scenario(library: Any, client: Any) -> None:
    """Create, update, fail both ways, apply topic policies, then read."""
    metadata = {'project': 'Apollo', 'driver': {'role': 'validation'}, 'tags': ['night']}
    with client.sequence_create('drive_2024_01', metadata) as writer:
        imu_topic = writer.topic_create('/sensors/imu', {'rate_hz': 100}, library.IMU)
        gps_topic = writer.topic_create('sensors/gps', {'role': 'primary'}, library.GPS)
        push_all(library, imu_topic, 'IMU', 300, 10 * MS)
        push_all(library, gps_topic, 'GPS', 100, 30 * MS)
    with client.sequence_update('drive_2024_01') as updater:
        push_all(library, updater.topic_create('sensors/extra', {}, library.GPS), 'GPS', 5, MS)

    policies = library.SessionLevelErrorPolicy
    for name, policy in (('fail_delete', policies.Delete), ('fail_report', policies.Report)):
        failing = client.sequence_create(name, {'purpose': 'failure-test'}, on_error=policy)
        with pytest.raises(RuntimeError, match='simulated'):
            fail_inside(library, failing)

    topic_policy = library.TopicLevelErrorPolicy
    with client.sequence_create('topic_policies', {}) as writer:
        for policy in (topic_policy.Finalize, topic_policy.Ignore):
            topic = writer.topic_create(f't/{policy.value}', {}, library.IMU, on_error=policy)
            with topic:
                raise ValueError(f'{policy.value}-policy error')

    handler = client.sequence_handler('drive_2024_01')
    streamer = handler.get_data_streamer(
        topics=['/sensors/imu', '/sensors/gps'],
        start_timestamp_ns=T0 + 1_000 * MS,
        end_timestamp_ns=T0 + 1_500 * MS,
    )
    assert sum(1 for _ in streamer) == 50 + 16
    assert sum(1 for _ in handler.get_data_streamer(topics=['/sensors/extra'])) == 5
    whole = client.topic_handler('drive_2024_01', 'sensors/gps').get_data_streamer()
    assert sum(1 for _ in whole) == 100
    topic_handler = client.topic_handler('drive_2024_01', 'sensors/imu')
    assert topic_handler.ontology_tag == 'IMU'
    assert client.sequence_exists('drive_2024_01')
    assert client.list_sequences() == ['drive_2024_01', 'fail_report', 'topic_policies']
    client.list_sequence_notifications('fail_report')
    client.list_topic_notifications('fail_report', 'sensors/imu')
    client.clear_topic_notifications('fail_report', 'sensors/imu')
    client.clear_sequence_notifications('fail_report')


def record(
    tmp_path: Path,
    name: str,
    connect: Callable[[int], Any],
    library: Any,
) -> RecordingProxy:
    with EmbeddedServer(tmp_path / name) as server:
        proxy = RecordingProxy(server.port)
        try:
            with connect(proxy.port) as client:
                scenario(library, client)
        finally:
            proxy.shutdown()
    return proxy


@pytest.fixture(scope='module')
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecordingProxy, RecordingProxy]:
    tmp_path = tmp_path_factory.mktemp('wire')
    peer = record(
        tmp_path,
        'peer',
        lambda port: mosaicolabs.MosaicoClient.connect('127.0.0.1', port),
        mosaicolabs,
    )
    library = SimpleNamespace(
        Message=ontology.Message,
        IMU=ontology.IMU,
        GPS=ontology.GPS,
        SessionLevelErrorPolicy=SessionLevelErrorPolicy,
        TopicLevelErrorPolicy=TopicLevelErrorPolicy,
    )
    ours = record(tmp_path, 'ours', lambda port: MosaicoClient.connect('127.0.0.1', port), library)
    return peer, ours


def test_actions_are_identical(recordings: tuple[RecordingProxy, RecordingProxy]) -> None:
    peer, ours = recordings
    peer_actions, our_actions = Placeholders()(peer.actions), Placeholders()(ours.actions)
    assert len(our_actions) == len(peer_actions)
    for index, (got, want) in enumerate(zip(our_actions, peer_actions, strict=True)):
        assert got == want, f'action {index}'


def test_put_streams_are_identical(recordings: tuple[RecordingProxy, RecordingProxy]) -> None:
    peer, ours = recordings

    def streams(proxy: RecordingProxy) -> list[tuple[str, Any, int]]:
        found = [
            (put['descriptor']['resource_locator'], put['schema'], put['rows'])
            for put in proxy.puts
        ]
        return sorted(found, key=lambda item: item[0])

    peer_streams, our_streams = streams(peer), streams(ours)
    assert [(locator, rows) for locator, _, rows in our_streams] == [
        (locator, rows) for locator, _, rows in peer_streams
    ]
    for (locator, got, _), (_, want, _) in zip(our_streams, peer_streams, strict=True):
        assert got.equals(want, check_metadata=True), locator
        assert got.metadata is None
    tokens = [put['descriptor']['topic_uuid'] for put in ours.puts]
    assert len(set(tokens)) == len(tokens)


def test_reads_are_identical(recordings: tuple[RecordingProxy, RecordingProxy]) -> None:
    peer, ours = recordings
    assert Placeholders()(ours.reads) == Placeholders()(peer.reads)


def test_wire_schemas_are_bytes_equal(recordings: tuple[RecordingProxy, RecordingProxy]) -> None:
    peer, ours = recordings
    by_locator = {put['descriptor']['resource_locator']: put['schema'] for put in peer.puts}
    for put in ours.puts:
        want = by_locator[put['descriptor']['resource_locator']]
        assert put['schema'].serialize().to_pybytes() == want.serialize().to_pybytes()
        assert isinstance(want, pa.Schema)
