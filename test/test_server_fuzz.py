"""A bounded fuzz run over every RPC: each request answered cleanly, and the server still works.

About 3,000 requests, seeded so a failure replays: DoAction bodies are valid
templates of every action with one or more parts replaced by hostile values
(huge, negative, NaN, lone surrogates, deep nesting, pathological globs,
wrong types) or by bytes that are not JSON at all; DoPut, DoGet,
GetFlightInfo, GetSchema and ListFlights get mutated descriptors, tickets,
criteria and schemas. Every answer must be a correct result or a Flight
error of an expected kind whose message has no traceback and no server path.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, put, resource, rows
from test_server_helpers import connect, imu_message, imu_tuple, sdk

from mosaico_ros.protocol import Action
from mosaico_ros.server import EmbeddedServer
from mosaico_ros.server.schemas import builtin_schema

REQUESTS = 3000
SEED = 20240917

CLEAN_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowKeyError,
    flight.FlightServerError,
    flight.FlightUnauthorizedError,
    flight.FlightUnauthenticatedError,
)

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**64),
    10**400,
    1.5,
    float('nan'),
    float('inf'),
    '',
    'seq',
    'seq/imu',
    '/seq/',
    'seq:ABC',
    '\ud800',
    'a\udfffb',
    'x' * 5000,
    '*' * 40 + 'b',
    '[z-a]',
    '[]',
    '[!',
    '../../etc/passwd',
    '%s%n',
    '$match',
    '\x00',
    [],
    [1, 'a'],
    [5, 1],
    {},
    {'$eq': None},
    {'$between': [5, 1]},
    {'$match': '*' * 30},
    {'$in': []},
    {'$gt': 'str'},
    {'$ex': None},
]


def templates(pending: str) -> dict[str, dict[str, Any]]:
    """A valid body of every action; `pending` is the uuid of an open session."""
    imu_query = {'IMU.acceleration.x': {'$gt': 0.5}, 'IMU.acceleration.covariance[?]': {'$lt': 1}}
    cluster = {'locator': 'seq/imu', 'clustering_dt_ns': 5, 'ontology': imu_query}
    return {
        'info': {},
        'sequence_create': {'locator': 'fz', 'user_metadata': {'a': {'b': [1, 'c']}}},
        'sequence_delete': {'locator': 'fz'},
        'session_create': {'locator': 'seq'},
        'session_finalize': {'session_uuid': pending},
        'session_delete': {'locator': 'seq:ABC'},
        'topic_create': {
            'session_uuid': pending,
            'locator': 'pending/t',
            'serialization_format': 'default',
            'ontology_tag': 'IMU',
            'user_metadata': {'k': 'v'},
        },
        'topic_delete': {'locator': 'pending/t'},
        'sequence_notification_create': {
            'locator': 'seq',
            'notification_type': 'error',
            'msg': 'm',
        },
        'sequence_notification_list': {'locator': 'seq'},
        'sequence_notification_purge': {'locator': 'seq'},
        'topic_notification_create': {
            'locator': 'seq/imu',
            'notification_type': 'error',
            'msg': 'm',
        },
        'topic_notification_list': {'locator': 'seq/imu'},
        'topic_notification_purge': {'locator': 'seq/imu'},
        'query': {
            'sequence': {'name': {'$match': 's*'}, 'user_metadata': {'a.b': {'$in': [1, 2]}}},
            'topic': {'ontology_tag': {'$eq': 'IMU'}, 'created_at_ns': {'$geq': 0}},
            'ontology': imu_query,
        },
        'topic_filter_clusterize': {**cluster, 'timestamp_range': {'start_ns': 0, 'end_ns': 9}},
        'topic_filter_intersect': {'topics': [cluster, {**cluster, 'locator': 'seq/x'}]},
        'api_key_create': {'permission': 'read', 'description': 'd', 'expires_at_ns': None},
        'api_key_status': {'api_key_fingerprint': 'abcd1234'},
        'api_key_revoke': {'api_key_fingerprint': 'abcd1234'},
        'api_key_list': {},
        'api_key_purge': {'all': False},
    }


def hostile(rng: random.Random, depth: int = 0) -> Any:
    """A value to put where a well-formed one was."""
    roll = rng.random()
    if roll < 0.1 and depth < 3:
        return {rng.choice(['a', '$eq', 'x y', '']): hostile(rng, depth + 1)}
    if roll < 0.15 and depth < 3:
        return [hostile(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.18:
        nested: Any = 1
        for _ in range(rng.choice([40, 2000])):
            nested = [nested]
        return nested
    return rng.choice(HOSTILE_VALUES)


def mutate(rng: random.Random, document: Any) -> Any:
    """Replace, drop or add one part somewhere in a JSON document."""
    if not isinstance(document, (dict, list)) or not document or rng.random() < 0.2:
        return hostile(rng)
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    keys = list(copy) if isinstance(copy, dict) else list(range(len(copy)))
    key = rng.choice(keys)
    roll = rng.random()
    if roll < 0.15 and isinstance(copy, dict):
        del copy[key]
    elif roll < 0.25 and isinstance(copy, dict):
        copy[rng.choice(['extra', '$or', 'user_metadata', 'locator'])] = hostile(rng)
    else:
        copy[key] = mutate(rng, copy[key])
    return copy


def encode(rng: random.Random, document: Any) -> bytes:
    """JSON text of a document, sometimes cut short or replaced by other bytes."""
    try:
        text = json.dumps(document).encode()
    except (ValueError, RecursionError):
        text = b'[' * 5000
    roll = rng.random()
    if roll < 0.05:
        return text[: rng.randint(0, len(text))]
    if roll < 0.08:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
    return text


def check_error(err: BaseException, store: str, what: str) -> str:
    """Check one error answer; return its kind."""
    text = str(err)
    assert 'Traceback' not in text, (what, text[:500])
    assert '.py' not in text, (what, text[:500])
    assert store not in text, (what, text[:500])
    assert len(text) < 2600, (what, len(text))
    if isinstance(err, OSError) and not isinstance(err, pa.ArrowException):
        # pyarrow's get_schema raises OSError for every status; the kind ends the message.
        assert text.rpartition('Detail: ')[2] in ('Failed', 'Unauthenticated'), (what, text)
        return 'OSError'
    assert isinstance(err, CLEAN_ERRORS), (what, type(err), text[:300])
    return type(err).__name__


class Fuzzer:
    """Builds and sends one random request at a time to a server with stored data."""

    def __init__(self, server: EmbeddedServer, raw: flight.FlightClient, pending: str) -> None:
        self.rng = random.Random(SEED)
        self.raw = raw
        self.server = server
        self.pending = pending
        self.templates = templates(pending)
        self.options = flight.FlightCallOptions(timeout=10)
        imu = builtin_schema('IMU')
        assert imu is not None
        self.schemas = [
            CUSTOM,
            imu,
            pa.schema([pa.field('value', pa.float64())]),
            pa.schema([CUSTOM.field(0), pa.field('d', pa.dictionary(pa.int8(), pa.string()))]),
            pa.schema([CUSTOM.field(0), pa.field('u', pa.dense_union([pa.field('a', pa.int8())]))]),
            pa.schema([CUSTOM.field(0), pa.field('s', pa.struct([]))]),
        ]

    def rpcs(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *((name, lambda name=name: self.action(name)) for name in self.templates),
            ('DoPut', self.do_put),
            ('DoGet', self.do_get),
            ('GetFlightInfo', lambda: self.describe(self.raw.get_flight_info)),
            ('GetSchema', lambda: self.describe(self.raw.get_schema)),
            ('ListFlights', self.list_flights),
        ]

    def action(self, name: str) -> None:
        body = self.templates[name]
        for _ in range(self.rng.choice([0, 1, 1, 2, 3])):
            body = mutate(self.rng, body)
        results = list(
            self.raw.do_action(flight.Action(name, encode(self.rng, body)), self.options)
        )
        for result in results:
            envelope = json.loads(result.body.to_pybytes())
            assert envelope['action'] in (name, 'empty'), envelope

    def descriptor(self) -> flight.FlightDescriptor:
        command = {'resource_locator': 'seq/imu', 'timestamp_ns_start': 0, 'timestamp_ns_end': 10}
        if self.rng.random() < 0.1:
            # Only UTF-8 paths: protobuf refuses others before any server code runs.
            return flight.FlightDescriptor.for_path(*self.rng.choice([['seq'], ['seq', 'imu']]))
        return flight.FlightDescriptor.for_command(encode(self.rng, mutate(self.rng, command)))

    def describe(self, method: Callable[..., Any]) -> None:
        answer = method(self.descriptor(), self.options)
        schema = answer.schema
        assert schema is not None

    def do_get(self) -> None:
        document = {'locator': 'seq/imu', 'start_ns': None, 'end_ns': None}
        raw_ticket = encode(self.rng, mutate(self.rng, document))
        table = self.raw.do_get(flight.Ticket(raw_ticket), self.options).read_all()
        stamps = table.column('timestamp_ns').to_pylist()
        assert stamps == sorted(stamps)

    def list_flights(self) -> None:
        criteria = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 16)))
        assert all(info.descriptor.path for info in self.raw.list_flights(criteria, self.options))

    def do_put(self) -> None:
        schema = self.rng.choice(self.schemas)
        if self.rng.random() < 0.5:
            uuid = new_topic(self.raw, self.pending, f'pending/p{self.rng.getrandbits(40)}')
            command: Any = {'resource_locator': 'pending/p', 'topic_uuid': uuid}
        else:
            command = {'resource_locator': 'seq/x', 'topic_uuid': 'nope'}
        command = mutate(self.rng, command) if self.rng.random() < 0.7 else command
        descriptor = flight.FlightDescriptor.for_command(encode(self.rng, command))
        writer, _ = self.raw.do_put(descriptor, schema, self.options)
        if schema == CUSTOM:
            writer.write_batch(rows(CUSTOM, self.rng.randint(1, 5)))
        writer.close()


@pytest.fixture
def prepared(server: EmbeddedServer) -> Iterator[tuple[flight.FlightClient, str]]:
    """`seq` with IMU and custom topics stored, and an open session on `pending`."""
    imu = builtin_schema('IMU')
    assert imu is not None
    with flight.connect(server.location) as raw:
        session = open_session(raw, 'seq')
        put(raw, 'seq/x', new_topic(raw, session, 'seq/x'))
        put(raw, 'seq/imu', new_topic(raw, session, 'seq/imu', tag='IMU'), imu, count=0)
        call(raw, 'session_finalize', {'session_uuid': session})
        yield raw, open_session(raw, 'pending')


def test_fuzz_every_rpc(server: EmbeddedServer, prepared: tuple[flight.FlightClient, str]) -> None:
    raw, pending = prepared
    fuzzer = Fuzzer(server, raw, pending)
    rpcs = fuzzer.rpcs()
    assert {name for name, _ in rpcs} >= {action.value for action in Action}
    kinds: Counter[str] = Counter()
    started = time.monotonic()
    for index in range(REQUESTS):
        name, rpc = rpcs[index % len(rpcs)]
        try:
            rpc()
            kinds['ok'] += 1
        except Exception as err:
            kinds[check_error(err, str(server.store), f'request {index} ({name})')] += 1
    elapsed = time.monotonic() - started
    assert sum(kinds.values()) == REQUESTS
    assert kinds['ok'] > REQUESTS // 20, kinds
    assert kinds['ArrowInvalid'] > REQUESTS // 4, kinds
    assert elapsed < 60, elapsed
    print(f'fuzz: {REQUESTS} requests in {elapsed:.1f} s: {dict(kinds)}')

    client = connect(server.port)
    mc = sdk()
    with client.sequence_create('after_fuzz', {'ok': True}) as writer:
        imu = writer.topic_create('imu', {}, mc.IMU)
        for index in range(50):
            imu.push(imu_message(index))
    handler = client.topic_handler('after_fuzz', 'imu')
    assert [imu_tuple(m) for m in handler.get_data_streamer()] == [
        imu_tuple(imu_message(index)) for index in range(50)
    ]
    client.close()
    assert [b'after_fuzz'] in [info.descriptor.path for info in raw.list_flights()]
    assert call(raw, 'info', {})['version']
    assert raw.get_schema(resource('after_fuzz/imu')).schema.names[0] == 'timestamp_ns'
