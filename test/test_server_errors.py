"""Bad requests: each gets a Flight error naming the problem, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, put
from test_server_helpers import connect

from mosaico_ros.server import EmbeddedServer
from mosaico_ros.server.schemas import builtin_schema


@pytest.fixture
def raw(server: EmbeddedServer) -> Iterator[flight.FlightClient]:
    with flight.connect(server.location) as client:
        yield client


def still_serving(client: flight.FlightClient) -> None:
    assert call(client, 'info', {})['version'] == '0.7.0'


def test_malformed_json_body(raw: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowInvalid, match='sequence_create request body is not valid JSON'):
        call(raw, 'sequence_create', b'{"locator": ')
    with pytest.raises(pa.ArrowInvalid, match='is not a JSON object'):
        call(raw, 'sequence_create', b'[1, 2]')
    still_serving(raw)


def test_unknown_action(raw: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowInvalid, match="unknown action 'sequence_explode'"):
        call(raw, 'sequence_explode', {})
    still_serving(raw)


def test_duplicate_sequence(raw: flight.FlightClient) -> None:
    open_session(raw, 'dup')
    with pytest.raises(flight.FlightServerError, match='sequence `dup` already exists'):
        call(raw, 'sequence_create', {'locator': '/dup/', 'user_metadata': {}})
    call(raw, 'sequence_create', {'locator': 'dup2', 'user_metadata': {}})


def test_topic_create_unknown_or_finalized_session(raw: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowKeyError, match='session uuid `nope` not found'):
        new_topic(raw, 'nope', 'seq/imu')
    session = open_session(raw)
    call(raw, 'session_finalize', {'session_uuid': session})
    with pytest.raises(pa.ArrowInvalid, match='is already finalized'):
        new_topic(raw, session, 'seq/imu')
    with pytest.raises(flight.FlightServerError, match='already finalized'):
        call(raw, 'session_finalize', {'session_uuid': session})
    fresh = call(raw, 'session_create', {'locator': 'seq'})['uuid']
    assert new_topic(raw, fresh, 'seq/imu')


def test_topic_outside_session_sequence_and_duplicate_name(raw: flight.FlightClient) -> None:
    session = open_session(raw, 'mine')
    open_session(raw, 'other')
    with pytest.raises(pa.ArrowInvalid, match='locator is outside sequence `mine`'):
        new_topic(raw, session, 'other/imu')
    new_topic(raw, session, 'mine/imu')
    with pytest.raises(flight.FlightServerError, match='topic `mine/imu` already exists'):
        new_topic(raw, session, 'mine/imu/')
    assert new_topic(raw, session, 'mine/gps')


def test_do_put_unknown_and_reused_uuid(raw: flight.FlightClient) -> None:
    with pytest.raises(pa.ArrowKeyError, match="unknown topic uuid 'ghost'"):
        put(raw, 'seq/x', 'ghost', CUSTOM)
    session = open_session(raw)
    uuid = new_topic(raw, session, 'seq/x')
    put(raw, 'seq/x', uuid, CUSTOM)
    with pytest.raises(flight.FlightServerError, match='was already used by a DoPut stream'):
        put(raw, 'seq/x', uuid, CUSTOM)
    with pytest.raises(pa.ArrowInvalid, match='does not match topic uuid'):
        put(raw, 'seq/y', uuid, CUSTOM)
    call(raw, 'session_finalize', {'session_uuid': session})
    ticket = json.dumps({'locator': 'seq/x', 'start_ns': None, 'end_ns': None}).encode()
    assert raw.do_get(flight.Ticket(ticket)).read_all()['timestamp_ns'].to_pylist() == [0, 1, 2]


@pytest.mark.parametrize(
    ('schema', 'message'),
    [
        (pa.schema([pa.field('value', pa.float64())]), "first column must be 'timestamp_ns'"),
        (
            pa.schema([pa.field('timestamp_ns', pa.int64()), pa.field('v', pa.float64())]),
            'must be a non-null int64',
        ),
        (
            pa.schema([pa.field('timestamp_ns', pa.int32(), nullable=False)]),
            'must be a non-null int64',
        ),
    ],
)
def test_do_put_timestamp_rules(raw: flight.FlightClient, schema: pa.Schema, message: str) -> None:
    session = open_session(raw)
    uuid = new_topic(raw, session, 'seq/bad')
    with pytest.raises(pa.ArrowInvalid, match=message):
        put(raw, 'seq/bad', uuid, schema, count=0)
    good = new_topic(raw, session, 'seq/good')
    put(raw, 'seq/good', good, CUSTOM)


def test_do_put_builtin_schema_mismatch(raw: flight.FlightClient) -> None:
    imu = builtin_schema('IMU')
    assert imu is not None
    session = open_session(raw)
    uuid = new_topic(raw, session, 'seq/imu', tag='IMU')
    with pytest.raises(pa.ArrowInvalid, match="schema does not match ontology model 'IMU'"):
        put(raw, 'seq/imu', uuid, CUSTOM, count=0)
    nullable = pa.schema([imu.field(0)] + [f.with_nullable(True) for f in list(imu)[1:]])
    second = new_topic(raw, session, 'seq/imu2', tag='IMU')
    with pytest.raises(pa.ArrowInvalid, match="column 'acceleration'"):
        put(raw, 'seq/imu2', second, nullable, count=0)
    exact = new_topic(raw, session, 'seq/imu3', tag='IMU')
    command = json.dumps({'resource_locator': 'seq/imu3', 'topic_uuid': exact}).encode()
    writer, _ = raw.do_put(flight.FlightDescriptor.for_command(command), imu)
    writer.close()


def test_unknown_resources(raw: flight.FlightClient, server: EmbeddedServer) -> None:
    descriptor = flight.FlightDescriptor.for_command(b'{"resource_locator": "missing"}')
    with pytest.raises(pa.ArrowKeyError, match='resource `missing` not found'):
        raw.get_flight_info(descriptor)
    with pytest.raises(pa.ArrowKeyError, match='session `missing:ABC` not found'):
        call(raw, 'session_delete', {'locator': 'missing:ABC'})
    with pytest.raises(pa.ArrowInvalid, match='not a session locator'):
        call(raw, 'session_delete', {'locator': 'no-colon'})
    with pytest.raises(pa.ArrowInvalid, match='missing string'):
        call(raw, 'session_create', {})
    client = connect(server.port)
    assert client.sequence_handler('missing') is None
    assert client.sequence_exists('missing') is False
    client.close()


def test_pending_sequence_is_invisible(raw: flight.FlightClient) -> None:
    session = open_session(raw, 'pending')
    uuid = new_topic(raw, session, 'pending/x')
    put(raw, 'pending/x', uuid, CUSTOM)
    assert list(raw.list_flights()) == []
    with pytest.raises(pa.ArrowKeyError, match='not found'):
        raw.get_flight_info(
            flight.FlightDescriptor.for_command(b'{"resource_locator": "pending/x"}')
        )
    ticket = json.dumps({'locator': 'pending/x', 'start_ns': None, 'end_ns': None}).encode()
    with pytest.raises(pa.ArrowKeyError, match='not found'):
        raw.do_get(flight.Ticket(ticket)).read_all()
    assert call(raw, 'query', {})['items'] == []
    call(raw, 'session_finalize', {'session_uuid': session})
    assert [i.descriptor.path for i in raw.list_flights()] == [[b'pending']]
