"""`topic_filter_clusterize` / `intersect`: clusters cut by the gap between consecutive matches."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session

from mosaico_ros.server import EmbeddedServer

MS = 1_000_000


def upload(raw: flight.FlightClient, locator: str, session: str, values: list[float], step: int):
    uuid = new_topic(raw, session, locator)
    command = json.dumps({'resource_locator': locator, 'topic_uuid': uuid}).encode()
    writer, _ = raw.do_put(flight.FlightDescriptor.for_command(command), CUSTOM)
    stamps = [index * step for index in range(len(values))]
    writer.write_batch(
        pa.record_batch([pa.array(stamps, pa.int64()), pa.array(values)], schema=CUSTOM)
    )
    writer.close()


@pytest.fixture
def raw(server: EmbeddedServer) -> Iterator[flight.FlightClient]:
    with flight.connect(server.location) as client:
        session = open_session(client, 'five')
        # Five rows 1 ms apart; the third does not match `value > 0.5`.
        upload(client, 'five/rows', session, [1.0, 1.0, 0.0, 1.0, 1.0], MS)
        # Matches at 0, 1, 2 ms and 10, 11 ms (rows 3 to 9 do not match).
        upload(client, 'five/bursts', session, [1.0] * 3 + [0.0] * 7 + [1.0] * 2, MS)
        call(client, 'session_finalize', {'session_uuid': session})
        yield client


def clusters(
    raw: flight.FlightClient, locator: str, dt: int, ontology: dict | None = None, **extra: object
) -> list[tuple[int, int]]:
    body = {
        'locator': locator,
        'clustering_dt_ns': dt,
        'ontology': {'Custom.value': {'$gt': 0.5}} if ontology is None else ontology,
        'timestamp_range': None,
        **extra,
    }
    answer = call(raw, 'topic_filter_clusterize', body)
    assert [item['id'] for item in answer] == list(range(len(answer)))
    return [(item['ts']['start_ns'], item['ts']['end_ns']) for item in answer]


def test_zero_gap_gives_one_cluster_from_first_to_last_match(raw: flight.FlightClient) -> None:
    assert clusters(raw, 'five/rows', 0) == [(0, 4 * MS)]


def test_a_gap_wider_than_dt_starts_a_new_cluster(raw: flight.FlightClient) -> None:
    assert clusters(raw, 'five/rows', 1) == [(0, 0), (MS, MS), (3 * MS, 3 * MS), (4 * MS, 4 * MS)]
    assert clusters(raw, 'five/rows', MS) == [(0, MS), (3 * MS, 4 * MS)]
    assert clusters(raw, 'five/rows', 2 * MS) == [(0, 4 * MS)]
    assert clusters(raw, 'five/bursts', MS) == [(0, 2 * MS), (10 * MS, 11 * MS)]
    assert clusters(raw, 'five/bursts', 8 * MS) == [(0, 11 * MS)]


def test_no_match_no_cluster_and_window_limits_rows(raw: flight.FlightClient) -> None:
    assert clusters(raw, 'five/rows', 0, {'Custom.value': {'$gt': 5.0}}) == []
    assert clusters(raw, 'five/rows', 0, {}) == [(0, 4 * MS)]
    window = {'start_ns': MS, 'end_ns': 3 * MS}
    assert clusters(raw, 'five/rows', 0, timestamp_range=window) == [(MS, 3 * MS)]


def test_intersect_uses_the_same_clusters(raw: flight.FlightClient) -> None:
    rows = {
        'locator': 'five/rows',
        'clustering_dt_ns': 1,
        'ontology': {'Custom.value': {'$gt': 0.5}},
    }
    bursts = {
        'locator': 'five/bursts',
        'clustering_dt_ns': MS,
        'ontology': {'Custom.value': {'$gt': 0.5}},
    }
    answer = call(raw, 'topic_filter_intersect', {'topics': [rows, bursts], 'intersect_dt_ns': 0})
    assert [(a['ts']['start_ns'], a['ts']['end_ns']) for a in answer] == [(0, 0), (MS, MS)]


@pytest.mark.parametrize(
    'bad',
    [
        {'clustering_dt_ns': -1},
        {'clustering_dt_ns': 1.5},
        {'clustering_dt_ns': True},
        {'clustering_dt_ns': 'abc'},
        {'timestamp_range': {'start_ns': 'abc', 'end_ns': 5}},
        {'timestamp_range': {'start_ns': 0, 'end_ns': float('nan')}},
        {'timestamp_range': {'start_ns': float('-inf'), 'end_ns': 5}},
        {'timestamp_range': {'start_ns': 0, 'end_ns': 2**64}},
        {'timestamp_range': {'start_ns': 9, 'end_ns': 1}},
        {'timestamp_range': [0, 5]},
    ],
)
def test_malformed_cluster_requests_are_invalid_arguments(
    raw: flight.FlightClient, bad: dict
) -> None:
    body = {
        'locator': 'five/rows',
        'clustering_dt_ns': 0,
        'ontology': {},
        'timestamp_range': None,
        **bad,
    }
    with pytest.raises(pa.ArrowInvalid) as caught:
        call(raw, 'topic_filter_clusterize', json.dumps(body).encode())
    assert 'Traceback' not in str(caught.value)
