"""`$match` globs: linear-time matching that never stalls the server, and mosaicod's semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, options, put

from mosaico_ros.server import EmbeddedServer

LONG_NAME = 'drive_' + 'a' * 200


@pytest.fixture
def raw(server: EmbeddedServer) -> Iterator[flight.FlightClient]:
    with flight.connect(server.location) as client:
        yield client


def finalized(raw: flight.FlightClient, sequence: str, topics: tuple[str, ...] = ('imu',)) -> None:
    session = open_session(raw, sequence)
    for topic in topics:
        put(raw, f'{sequence}/{topic}', new_topic(raw, session, f'{sequence}/{topic}'))
    call(raw, 'session_finalize', {'session_uuid': session})


def names(raw: flight.FlightClient, body: dict[str, Any]) -> list[str]:
    return [item['sequence'] for item in call(raw, 'query', body)['items']]


def topic_names(raw: flight.FlightClient, pattern: str) -> list[str]:
    items = call(raw, 'query', {'topic': {'name': {'$match': pattern}}})['items']
    return [topic['locator'] for item in items for topic in item['topics']]


def test_pathological_match_is_answered_while_another_client_is_served(
    server: EmbeddedServer, raw: flight.FlightClient
) -> None:
    """40 stars then `b` against a 206-character name: a backtracking regex never ends."""
    finalized(raw, LONG_NAME, ('camera/left/imu',))
    pattern = '*' * 40 + 'b'
    answer: list[Any] = []

    def pathological() -> None:
        with flight.connect(server.location) as attacker:
            started = time.monotonic()
            body = {
                'sequence': {'name': {'$match': pattern}},
                'topic': {'name': {'$match': pattern}},
            }
            answer.append(call(attacker, 'query', body))
            answer.append(time.monotonic() - started)

    attack = threading.Thread(target=pathological, daemon=True)
    attack.start()
    time.sleep(0.05)
    with flight.connect(server.location) as bystander:
        for _ in range(5):
            started = time.monotonic()
            infos = list(bystander.list_flights(options=options(timeout=1.0)))
            assert [info.descriptor.path for info in infos] == [[LONG_NAME.encode()]]
            assert time.monotonic() - started < 1.0
    attack.join(timeout=10)
    assert not attack.is_alive(), 'the pathological query did not finish in 10 s'
    assert answer[0] == {'items': []}
    assert answer[1] < 2.0
    assert names(raw, {'sequence': {'name': {'$match': '*' * 40 + 'a'}}}) == [LONG_NAME]


def test_topic_match_is_against_the_name_with_its_leading_slash(raw: flight.FlightClient) -> None:
    finalized(raw, 'cams', ('camera/left/imu', 'camera/right/imu', 'lidar'))
    assert topic_names(raw, '?camera/left*') == ['cams/camera/left/imu']
    assert topic_names(raw, '?amera/left*') == []
    assert topic_names(raw, '/camera/*/imu') == ['cams/camera/left/imu', 'cams/camera/right/imu']
    assert topic_names(raw, 'camera/*/imu') == ['cams/camera/left/imu', 'cams/camera/right/imu']
    assert topic_names(raw, '*lidar') == ['cams/lidar']
    assert topic_names(raw, '[/]lidar') == ['cams/lidar']


@pytest.mark.parametrize(
    ('pattern', 'expected'),
    [
        ('drive_#', ['drive_1', 'drive_2']),
        ('drive_[12]', ['drive_1', 'drive_2']),
        ('drive_[!1]', ['drive_2', 'drive_x']),
        ('drive_[a-z]', ['drive_x']),
        ('drive_?', ['drive_1', 'drive_2', 'drive_x']),
        ('*_*', ['drive_1', 'drive_2', 'drive_x', 'drive_x_long']),
        ('drive_x', ['drive_x']),
        ('d*e*g', ['drive_x_long']),
        ('*.*', []),
    ],
)
def test_glob_semantics(raw: flight.FlightClient, pattern: str, expected: list[str]) -> None:
    for name in ('drive_1', 'drive_2', 'drive_x', 'drive_x_long'):
        finalized(raw, name)
    assert names(raw, {'sequence': {'name': {'$match': pattern}}}) == expected


@pytest.mark.parametrize(
    'pattern', ['[]', '[z-a]', 'drive_[', '[!]', pytest.param('x' * 5000, id='too-long')]
)
def test_malformed_patterns_are_invalid_arguments(raw: flight.FlightClient, pattern: str) -> None:
    finalized(raw, 'drive_1')
    with pytest.raises(pa.ArrowInvalid, match=r'\$match') as caught:
        names(raw, {'sequence': {'name': {'$match': pattern}}})
    assert 'Traceback' not in str(caught.value)
    assert len(str(caught.value)) < 600


def test_match_on_string_columns(raw: flight.FlightClient) -> None:
    schema = pa.schema([CUSTOM.field(0), pa.field('label', pa.string())])
    session = open_session(raw, 'labels')
    uuid = new_topic(raw, session, 'labels/events')
    command = flight.FlightDescriptor.for_command(
        b'{"resource_locator": "labels/events", "topic_uuid": "' + uuid.encode() + b'"}'
    )
    writer, _ = raw.do_put(command, schema)
    writer.write_batch(
        pa.record_batch(
            [pa.array([1, 2, 3], pa.int64()), pa.array(['go.left', 'stop', 'go+right'])],
            schema=schema,
        )
    )
    writer.close()
    call(raw, 'session_finalize', {'session_uuid': session})
    body = {'locator': 'labels/events', 'clustering_dt_ns': 1, 'timestamp_range': None}
    spans = call(
        raw, 'topic_filter_clusterize', {**body, 'ontology': {'Custom.label': {'$match': 'go?*'}}}
    )
    assert [(s['ts']['start_ns'], s['ts']['end_ns']) for s in spans] == [(1, 1), (3, 3)]
    literal = call(
        raw,
        'topic_filter_clusterize',
        {**body, 'ontology': {'Custom.label': {'$match': 'go.left'}}},
    )
    assert [(s['ts']['start_ns'], s['ts']['end_ns']) for s in literal] == [(1, 1)]


def test_glob_matcher_agrees_with_its_regex_on_random_cases() -> None:
    """The linear matcher and the RE2 expression given to Arrow say the same (checked with re)."""
    import random
    import re

    from mosaico_ros.server.glob import Glob

    rng = random.Random(7)
    tokens = ['a', 'b', '/', '*', '?', '#', '[ab]', '[!a]', '[0-3]', '.', '\\']
    for _ in range(2000):
        pattern = ''.join(rng.choice(tokens) for _ in range(rng.randint(0, 6)))
        glob = Glob.parse(pattern)
        expression = re.compile(glob.regex[1:-1])
        for _ in range(5):
            text = ''.join(rng.choice('ab/12.\\\n') for _ in range(rng.randint(0, 8)))
            assert glob.matches(text) == bool(expression.fullmatch(text)), (pattern, text)
