"""Time windows where an expression holds, on a real server, cross-checked with the SDK."""

from __future__ import annotations

from typing import Any

import pytest
from known_windows import (
    IMU_WINDOWS_1S,
    IMU_WINDOWS_SMALL_GAP,
    SECOND,
    SPEED_WINDOW,
    imu_time,
    write_known_windows,
)

from mosaico_ros.client import (
    CatalogQuery,
    MosaicoClient,
    SequenceQuery,
    TimeWindow,
    find_windows,
    merge_spans,
    parse_where,
    sequence_spans,
)
from mosaico_ros.client.windows import intersect_spans, widen_spans


@pytest.fixture
def client(server: Any) -> Any:
    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        write_known_windows(connected, 'drive_a', {'robot': 'husky'})
        write_known_windows(connected, 'drive_b', {'robot': 'jackal'})
        yield connected


def test_windows_of_one_topic(client: MosaicoClient) -> None:
    where = parse_where('IMU.acceleration.x > 4')
    windows = find_windows(client, where, sequences=['drive_a'], gap_ns=SECOND)
    assert windows == [TimeWindow('drive_a', '/imu', a, b, 'IMU') for a, b in IMU_WINDOWS_1S]
    fine = find_windows(client, where, sequences=['drive_a'], gap_ns=SECOND // 5)
    assert [w.span for w in fine] == IMU_WINDOWS_SMALL_GAP
    both = find_windows(client, where, gap_ns=SECOND)
    assert sorted({w.sequence for w in both}) == ['drive_a', 'drive_b']
    jackal = CatalogQuery(sequence=SequenceQuery().with_metadata('robot', '$eq', 'jackal'))
    assert {w.sequence for w in find_windows(client, where, query=jackal)} == {'drive_b'}
    assert find_windows(client, parse_where('IMU.acceleration.x > 6')) == []
    with pytest.raises(ValueError, match='must be positive'):
        find_windows(client, where, gap_ns=0)


def test_windows_across_tags_intersect(client: MosaicoClient) -> None:
    where = parse_where('IMU.acceleration.x > 4 AND Floating64.data > 1')
    windows = find_windows(client, where, sequences=['drive_a'], gap_ns=SECOND)
    assert {(w.topic, w.span) for w in windows} == {
        ('/imu', IMU_WINDOWS_1S[0]),
        ('/imu', IMU_WINDOWS_1S[1]),
        ('/speed', SPEED_WINDOW),
    }
    assert sequence_spans(windows, where) == {
        'drive_a': [
            (SPEED_WINDOW[0], IMU_WINDOWS_1S[0][1]),
            (IMU_WINDOWS_1S[1][0], SPEED_WINDOW[1]),
        ]
    }
    restricted = parse_where('IMU.acceleration.x > 4 AND Floating64.data > 1', topic='/imu')
    assert sequence_spans(find_windows(client, restricted, gap_ns=SECOND), restricted) == {}


def test_same_windows_as_the_official_sdk(client: MosaicoClient, server: Any) -> None:
    from mosaicolabs import (
        IMU,
        QueryOntologyCatalog,
        QuerySequence,
    )
    from mosaicolabs import (
        MosaicoClient as PeerClient,
    )

    gap = SECOND // 5
    ours = find_windows(
        client, parse_where('IMU.acceleration.x > 4'), sequences=['drive_a'], gap_ns=gap
    )
    with PeerClient.connect('127.0.0.1', server.port) as peer:
        response = peer.query(
            QuerySequence().with_name('drive_a'),
            QueryOntologyCatalog(IMU.Q.acceleration.x.gt(4)),
        )
        (item,) = list(response)
        (topic,) = item.topics
        theirs = [
            (cluster.timerange.start, cluster.timerange.end)
            for cluster in topic.clusterize(clustering_dt_ns=gap)
        ]
    assert [w.span for w in ours] == theirs


def test_span_arithmetic() -> None:
    assert merge_spans([(10, 20), (0, 5), (21, 30), (40, 50)], gap_ns=1) == [
        (0, 5),
        (10, 30),
        (40, 50),
    ]
    assert merge_spans([(0, 10), (2, 3)]) == [(0, 10)]
    assert intersect_spans([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert intersect_spans([(0, 10)], [(11, 12)]) == []
    assert widen_spans(
        [(imu_time(0), imu_time(1)), (imu_time(150), imu_time(151))], SECOND, SECOND
    ) == [(imu_time(0) - SECOND, imu_time(151) + SECOND)]
