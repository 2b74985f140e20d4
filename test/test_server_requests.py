"""Malformed, oversized and hostile requests: a short invalid-argument error each, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, put, resource, ticket

from mosaico_ros.server import EmbeddedServer
from mosaico_ros.server.schemas import builtin_schema

DEEP = 100_000


@pytest.fixture
def raw(server: EmbeddedServer) -> Iterator[flight.FlightClient]:
    with flight.connect(server.location) as client:
        yield client


@pytest.fixture
def stored(raw: flight.FlightClient) -> flight.FlightClient:
    """`seq` with a custom topic `seq/x` (3 rows) and an empty IMU topic `seq/imu`."""
    session = open_session(raw, 'seq')
    put(raw, 'seq/x', new_topic(raw, session, 'seq/x'))
    imu = builtin_schema('IMU')
    assert imu is not None
    put(raw, 'seq/imu', new_topic(raw, session, 'seq/imu', tag='IMU'), imu, count=0)
    call(raw, 'session_finalize', {'session_uuid': session})
    return raw


def clean(err: BaseException, store: str) -> str:
    text = str(err)
    assert 'Traceback' not in text
    assert '.py' not in text
    assert store not in text
    assert 'Error:' not in text.split('. Detail:', maxsplit=1)[0], text
    assert len(text) < 1000, text[:200]
    return text


def invalid(raw: flight.FlightClient, name: str, body: Any, server: EmbeddedServer) -> str:
    with pytest.raises(pa.ArrowInvalid) as caught:
        call(raw, name, body if isinstance(body, bytes) else json.dumps(body).encode())
    return clean(caught.value, str(server.store))


CREATE, CLUSTER = 'sequence_create', 'topic_filter_clusterize'
CLUSTERIZE = {'locator': 'seq/x', 'clustering_dt_ns': 0, 'ontology': {}}
NOTE = {'locator': 'seq', 'notification_type': 'error'}


def raw_json(document: dict[str, Any], **raw_values: str) -> bytes:
    """JSON of `document` with the given keys set to raw JSON text (NaN, escapes...)."""
    text = json.dumps({**document, **dict.fromkeys(raw_values, '@')})
    for key, value in raw_values.items():
        text = text.replace(f'"{key}": "@"', f'"{key}": {value}')
    return text.encode()


HOSTILE_ACTIONS = [
    ('deep array', CREATE, b'{"locator": ' + b'[' * DEEP + b']' * DEEP + b'}'),
    ('deep object', 'query', b'{"sequence": ' + b'{"a": ' * DEEP + b'1' + b'}' * DEEP + b'}'),
    ('nested metadata', CREATE, raw_json({'locator': 'n'}, user_metadata='[' * 40 + ']' * 40)),
    ('lone surrogate', CREATE, raw_json({}, locator='"\\ud800"')),
    ('lone surrogate key', CREATE, raw_json({'locator': 'ok'}, user_metadata='{"\\udfff": 1}')),
    ('surrogate note', 'sequence_notification_create', raw_json(NOTE, msg='"\\ud83d"')),
    ('long name', CREATE, {'locator': 'a' * 1_000_000, 'user_metadata': {}}),
    ('long topic', 'topic_create', {'session_uuid': 'x', 'locator': 'seq/' + 'a' * 100_000}),
    ('huge body', CREATE, {'locator': 'big', 'user_metadata': {'blob': 'x' * 20_000_000}}),
    ('regex syntax', 'query', {'sequence': {'name': {'$match': '[]'}}}),
    ('reversed range', 'query', {'topic': {'name': {'$match': '[z-a]'}}}),
    ('overflow', 'query', {'ontology': {'IMU.timestamp_ns': {'$between': [-(2**63), 2**64]}}}),
    ('overflow int field', 'query', {'ontology': {'IMU.header.sample_counter': {'$gt': 2**70}}}),
    ('nan bound', 'query', raw_json({}, ontology='{"IMU.acceleration.x": {"$lt": NaN}}')),
    ('eq null', 'query', {'sequence': {'user_metadata': {'a': {'$eq': None}}}}),
    ('between reversed', 'query', {'sequence': {'created_at_ns': {'$between': [5, 1]}}}),
    ('outside reversed', 'query', {'ontology': {'IMU.acceleration.x': {'$outside': [5.0, 1.0]}}}),
    ('string on time', 'query', {'sequence': {'created_at_ns': {'$geq': 'x'}}}),
    ('string on timestamp', 'query', {'ontology': {'IMU.timestamp_ns': {'$geq': 'x'}}}),
    ('string on float', 'query', {'ontology': {'IMU.acceleration.x': {'$gt': 'str'}}}),
    ('bool on float', 'query', {'ontology': {'IMU.acceleration.x': {'$eq': True}}}),
    ('number on string', 'query', {'topic': {'name': {'$lt': 5}}}),
    ('mixed in', 'query', {'sequence': {'user_metadata': {'a': {'$in': [1, 'x']}}}}),
    ('match on float', 'query', {'ontology': {'IMU.acceleration.x': {'$match': 'x*'}}}),
    ('unknown field', 'query', {'ontology': {'IMU.nope': {'$gt': 1}}}),
    ('clusterize nan', CLUSTER, raw_json(CLUSTERIZE, timestamp_range='{"start_ns": NaN}')),
    ('clusterize text', CLUSTER, {**CLUSTERIZE, 'timestamp_range': {'end_ns': 'soon'}}),
    ('clusterize infinity', CLUSTER, raw_json(CLUSTERIZE, clustering_dt_ns='Infinity')),
    ('intersect dt', 'topic_filter_intersect', {'topics': [CLUSTERIZE], 'intersect_dt_ns': 'x'}),
]  # fmt: skip


@pytest.mark.parametrize(
    ('name', 'body'),
    [case[1:] for case in HOSTILE_ACTIONS],
    ids=[case[0] for case in HOSTILE_ACTIONS],
)
def test_hostile_actions_are_short_invalid_arguments(
    stored: flight.FlightClient, server: EmbeddedServer, name: str, body: Any
) -> None:
    invalid(stored, name, body, server)
    assert call(stored, 'info', {})['version']


def test_errors_echo_only_a_cut_of_long_values(
    stored: flight.FlightClient, server: EmbeddedServer
) -> None:
    text = invalid(stored, 'query', {'sequence': {'name': {'$like': 'x' * 100_000}}}, server)
    assert "'$like'" in text
    too_long = invalid(stored, 'sequence_delete', {'locator': 'y' * 10_000}, server)
    assert 'y' * 100 not in too_long
    not_json = invalid(stored, 'sequence_create', b'{"locator": "' + b'z' * 100_000, server)
    assert 'z' * 100 not in not_json
    unknown = invalid(
        stored, 'query', {'sequence': {'name': {'$eq': 'q' * 100}, 'x' * 500: 1}}, server
    )
    assert 'x' * 100 not in unknown


@pytest.mark.parametrize(
    'key',
    ['invalid--key', 'a b', '[', '$', '*', '%', '^', '{}', '+=', '<>', '/|\\', '@', '~', '', 'a.b'],
)
def test_user_metadata_keys_are_validated_like_mosaicod(
    raw: flight.FlightClient, server: EmbeddedServer, key: str
) -> None:
    text = invalid(raw, 'sequence_create', {'locator': 'meta', 'user_metadata': {key: 1}}, server)
    assert 'invalid json key' in text
    nested = {'locator': 'meta', 'user_metadata': {'ok': {'inner': [{key: 1}]}}}
    assert 'invalid json key' in invalid(raw, 'sequence_create', nested, server)
    session = open_session(raw, 'meta')
    body = {
        'session_uuid': session,
        'locator': 'meta/t',
        'ontology_tag': 'IMU',
        'user_metadata': {'fine': {key: 1}},
    }
    assert 'invalid json key' in invalid(raw, 'topic_create', body, server)
    assert call(raw, 'sequence_notification_list', {'locator': 'meta'}) == {'notifications': []}


def test_valid_metadata_keys_are_kept(raw: flight.FlightClient) -> None:
    metadata = {'driver_id': 'x', 'update-rate': 100, 'A1': {'b_2': [{'c-3': None}]}, '9': 'nine'}
    session = open_session(raw, 'keys')
    call(raw, 'session_finalize', {'session_uuid': session})
    call(raw, 'sequence_create', {'locator': 'keys2', 'user_metadata': metadata})
    second = call(raw, 'session_create', {'locator': 'keys2'})['uuid']
    call(raw, 'session_finalize', {'session_uuid': second})
    info = raw.get_flight_info(resource('keys2'))
    assert json.loads(info.app_metadata)['user_metadata'] == metadata


def test_descriptors_and_tickets_are_validated(
    stored: flight.FlightClient, server: EmbeddedServer
) -> None:
    store = str(server.store)
    hostile = [
        flight.FlightDescriptor.for_command(b'{"resource_locator": "\\ud800"}'),
        flight.FlightDescriptor.for_command(b'[' * DEEP + b']' * DEEP),
        flight.FlightDescriptor.for_command(json.dumps({'resource_locator': 'a' * 10**6}).encode()),
        flight.FlightDescriptor.for_command(
            b'{"resource_locator": "seq", "timestamp_ns_start": "x"}'
        ),
        flight.FlightDescriptor.for_command(b'\xff\xfe'),
    ]
    for descriptor in hostile:
        for method in (stored.get_flight_info, stored.get_schema):
            with pytest.raises(pa.ArrowInvalid) as caught:
                method(descriptor)
            clean(caught.value, store)
    for raw_ticket in (b'\xff', b'{"locator": "seq/x", "start_ns": 1e400}', b'{' * DEEP):
        with pytest.raises(pa.ArrowInvalid) as caught:
            stored.do_get(flight.Ticket(raw_ticket)).read_all()
        clean(caught.value, store)


def test_not_found_and_conflicts_are_clean(
    stored: flight.FlightClient, server: EmbeddedServer
) -> None:
    store = str(server.store)
    with pytest.raises(pa.ArrowKeyError, match='not found') as missing:
        stored.get_flight_info(resource('seq/nope'))
    clean(missing.value, store)
    with pytest.raises(pa.ArrowKeyError, match='not found') as gone:
        stored.do_get(ticket('seq/nope')).read_all()
    clean(gone.value, store)
    with pytest.raises(flight.FlightServerError, match='already exists') as exists:
        call(stored, 'sequence_create', {'locator': 'seq', 'user_metadata': {}})
    clean(exists.value, store)


def upload(raw: flight.FlightClient, locator: str, uuid: str, batch: pa.RecordBatch) -> None:
    command = json.dumps({'resource_locator': locator, 'topic_uuid': uuid}).encode()
    writer, _ = raw.do_put(flight.FlightDescriptor.for_command(command), batch.schema)
    writer.write_batch(batch)
    writer.close()


def test_columns_the_store_cannot_give_back_are_refused_at_do_put(
    raw: flight.FlightClient, server: EmbeddedServer
) -> None:
    stamps = pa.array([1, 2, 3], pa.int64())
    labels = pa.array(['a', 'b', 'a'])
    unstorable = {
        'flat': (labels.dictionary_encode(), 'dictionary'),
        'nested': (pa.StructArray.from_arrays([labels.dictionary_encode()], ['d']), 'dictionary'),
        'union': (pa.UnionArray.from_sparse(pa.array([0, 0, 0], pa.int8()), [stamps]), 'keep'),
    }
    session = open_session(raw, 'dict')
    for name, (column, message) in unstorable.items():
        batch = pa.record_batch(
            [stamps, column], schema=pa.schema([CUSTOM.field(0), ('v', column.type)])
        )
        uuid = new_topic(raw, session, f'dict/{name}')
        with pytest.raises(pa.ArrowInvalid, match=message) as caught:
            upload(raw, f'dict/{name}', uuid, batch)
        clean(caught.value, str(server.store))
    good = new_topic(raw, session, 'dict/plain')
    plain = pa.schema([CUSTOM.field(0), ('v', pa.string())])
    upload(raw, 'dict/plain', good, pa.record_batch([stamps, labels], schema=plain))
    call(raw, 'session_finalize', {'session_uuid': session})
    assert raw.do_get(ticket('dict/plain')).read_all().column('v').to_pylist() == ['a', 'b', 'a']
    assert raw.do_get(ticket('dict/flat')).read_all().num_rows == 0
