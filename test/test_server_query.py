"""Queries through the SDK builders and raw bodies: catalog, ontology, clusters."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from test_server_helpers import IMU_STEP, T0, connect, sdk, write_drive

from mosaico_ros.server import EmbeddedServer


@pytest.fixture(scope='module')
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two drives written by the SDK; IMU acceleration.z > 9 at rows 50-79 and 200-209."""
    store = tmp_path_factory.mktemp('query') / 'store'
    with EmbeddedServer(store, max_message_size=64 * 1024, chunk_max_bytes=8 * 1024) as server:
        client = connect(server.port)
        write_drive(client, 'drive_a', imu=300, gps=100, images=2)
        mc = sdk()
        with client.sequence_create('other', {'environment': {'visibility': 90}}) as writer:
            writer.topic_create('imu', {'calibrated': 'true'}, mc.IMU)
        yield server, client
        client.close()


def query(server: EmbeddedServer, body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    with flight.connect(server.location) as raw:
        results = raw.do_action(flight.Action('query', json.dumps(body).encode()))
        items = json.loads(b''.join(r.body.to_pybytes() for r in results))['response']['items']
    return [(item['sequence'], [t['locator'] for t in item['topics']]) for item in items]


def paged(server: EmbeddedServer, name: str, body: dict[str, Any]) -> list[tuple[int, int]]:
    with flight.connect(server.location) as raw:
        results = list(raw.do_action(flight.Action(name, json.dumps(body).encode())))
    spans = []
    for index, result in enumerate(results):
        envelope = json.loads(result.body.to_pybytes())
        assert envelope['action'] == name
        assert envelope['response']['id'] == index
        spans.append((envelope['response']['ts']['start_ns'], envelope['response']['ts']['end_ns']))
    return spans


def test_sdk_trace_query(catalog: Any) -> None:
    """The combined query of trace 09, through the SDK builders."""
    _, client = catalog
    mc = sdk()
    response = client.query(
        mc.QuerySequence()
        .with_name_match('drive_*')
        .with_user_metadata('environment.visibility', lt=50),
        mc.QueryTopic().with_ontology_tag(mc.IMU.ontology_tag()),
        mc.QueryOntologyCatalog(mc.IMU.Q.acceleration.z.gt(9.0)),
    )
    assert [(item.sequence.name, [t.name for t in item.topics]) for item in response] == [
        ('drive_a', ['/sensors/imu']),
    ]
    clusters = response[0].topics[0].clusterize()
    assert [(c.timerange.start, c.timerange.end) for c in clusters] == [
        (T0 + 50 * IMU_STEP, T0 + 209 * IMU_STEP),
    ]
    clusters = response[0].topics[0].clusterize(clustering_dt_ns=IMU_STEP)
    assert [(c.timerange.start, c.timerange.end) for c in clusters] == [
        (T0 + 50 * IMU_STEP, T0 + 79 * IMU_STEP),
        (T0 + 200 * IMU_STEP, T0 + 209 * IMU_STEP),
    ]


def test_catalog_sections(catalog: Any) -> None:
    server, _ = catalog
    assert query(server, {'sequence': {'name': {'$eq': 'other'}}}) == [('other', ['other/imu'])]
    assert [s for s, _ in query(server, {})] == ['drive_a', 'other']
    assert query(
        server,
        {
            'sequence': {'name': {'$in': ['drive_a', 'x']}},
            'topic': {'name': {'$eq': '/sensors/gps'}},
        },
    ) == [
        ('drive_a', ['drive_a/sensors/gps']),
    ]
    assert query(server, {'topic': {'name': {'$match': '/camera/*'}}}) == [
        ('drive_a', ['drive_a/camera/jpeg', 'drive_a/camera/raw']),
    ]
    metadata = {
        'driver.role': {'$in': ['validation', 'test']},
        'tags': {'$ex': None},
        'missing.key': {'$nex': None},
        'project': {'$neq': 'X'},
    }
    assert [s for s, _ in query(server, {'sequence': {'user_metadata': metadata}})] == ['drive_a']
    assert (
        query(server, {'sequence': {'user_metadata': {'tags': {'$eq': 'night'}}}})[0][0]
        == 'drive_a'
    )
    assert query(server, {'sequence': {'created_at_ns': {'$leq': 1}}}) == []
    topic_metadata = {
        'interface.baudrate': {'$between': [9600, 115200]},
        'interface.type': {'$match': 'UA*'},
    }
    assert query(server, {'topic': {'user_metadata': topic_metadata}}) == [
        ('drive_a', ['drive_a/sensors/gps']),
    ]
    assert query(
        server,
        {
            'topic': {
                'ontology_tag': {'$eq': 'IMU'},
                'user_metadata': {'calibrated': {'$eq': 'true'}},
            }
        },
    ) == [
        ('other', ['other/imu']),
    ]


def test_ontology_operators(catalog: Any) -> None:
    server, _ = catalog
    imu = [('drive_a', ['drive_a/sensors/imu'])]
    assert query(server, {'ontology': {'IMU.acceleration.z': {'$gt': 9.0}}}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.z': {'$gt': 10.0}}}) == []
    assert query(server, {'ontology': {'IMU.acceleration.x': {'$between': [299, 299]}}}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.x': {'$outside': [-1, 400]}}}) == []
    assert query(server, {'ontology': {'IMU.header.frame_id': {'$match': 'imu_*'}}}) == imu
    assert query(server, {'ontology': {'IMU.header.sample_counter': {'$in': [7, 1000]}}}) == imu
    both = {'IMU.acceleration.z': {'$gt': 9.0}, 'IMU.acceleration.x': {'$lt': 50}}
    assert query(server, {'ontology': both}) == []
    stamp = {
        'IMU.timestamp_ns': {'$between': [T0 + 60 * IMU_STEP, T0 + 61 * IMU_STEP]},
        'IMU.acceleration.z': {'$geq': 9.5},
    }
    assert query(server, {'ontology': stamp}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.covariance[?]': {'$gt': 2.9}}}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.covariance[!]': {'$gt': 0.4}}}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.covariance[!]': {'$gt': 0.6}}}) == []
    assert query(server, {'ontology': {'IMU.acceleration.covariance[2]': {'$eq': 2.0}}}) == imu
    assert query(server, {'ontology': {'IMU.acceleration.covariance[1]': {'$eq': 2.0}}}) == []
    gps_and_imu = {'GPS.status.satellites': {'$geq': 11}, 'IMU.acceleration.z': {'$gt': 9.0}}
    assert query(server, {'ontology': gps_and_imu}) == [
        ('drive_a', ['drive_a/sensors/gps', 'drive_a/sensors/imu']),
    ]
    with pytest.raises(pa.ArrowInvalid, match="no field 'nope'"):
        query(server, {'ontology': {'IMU.acceleration.nope': {'$gt': 1}}})
    with pytest.raises(pa.ArrowInvalid, match="unknown operator '\\$like'"):
        query(server, {'sequence': {'name': {'$like': 'x'}}})


def test_clusterize_and_intersect(catalog: Any) -> None:
    server, _ = catalog
    high = {'IMU.acceleration.z': {'$gt': 9.0}}
    body = {
        'locator': 'drive_a/sensors/imu',
        'clustering_dt_ns': IMU_STEP,
        'ontology': high,
        'timestamp_range': None,
    }
    runs = [(T0 + 50 * IMU_STEP, T0 + 79 * IMU_STEP), (T0 + 200 * IMU_STEP, T0 + 209 * IMU_STEP)]
    assert paged(server, 'topic_filter_clusterize', body) == runs
    whole = {**body, 'clustering_dt_ns': 0}
    assert paged(server, 'topic_filter_clusterize', whole) == [(runs[0][0], runs[1][1])]
    merged = {**body, 'clustering_dt_ns': 200 * IMU_STEP}
    assert paged(server, 'topic_filter_clusterize', merged) == [(runs[0][0], runs[1][1])]
    ranged = {
        **body,
        'timestamp_range': {'start_ns': T0 + 60 * IMU_STEP, 'end_ns': T0 + 205 * IMU_STEP},
    }
    assert paged(server, 'topic_filter_clusterize', ranged) == [
        (T0 + 60 * IMU_STEP, T0 + 79 * IMU_STEP),
        (T0 + 200 * IMU_STEP, T0 + 205 * IMU_STEP),
    ]
    everything = {**body, 'ontology': {}}
    assert paged(server, 'topic_filter_clusterize', everything) == [(T0, T0 + 299 * IMU_STEP)]
    gps = {
        'locator': 'drive_a/sensors/gps',
        'clustering_dt_ns': 0,
        'ontology': {'GPS.position.x': {'$geq': 45.0 + 60 * 1e-5}},
    }
    imu = {'locator': 'drive_a/sensors/imu', 'clustering_dt_ns': IMU_STEP, 'ontology': high}
    spans = paged(server, 'topic_filter_intersect', {'topics': [imu, gps], 'intersect_dt_ns': 0})
    assert spans == [(T0 + 200 * IMU_STEP, T0 + 209 * IMU_STEP)]
    assert (
        paged(
            server,
            'topic_filter_clusterize',
            {**body, 'ontology': {'IMU.acceleration.z': {'$gt': 99.0}}},
        )
        == []
    )
    with pytest.raises(pa.ArrowKeyError, match='not found'):
        paged(server, 'topic_filter_clusterize', {**body, 'locator': 'drive_a/nope'})
