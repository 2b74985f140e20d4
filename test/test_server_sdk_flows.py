"""The official SDK's query, failure and handler flows on metadata keys, `$match` and clusters."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from test_server_helpers import IMU_STEP, T0, connect, imu_message, sdk

from mosaico_ros.server import EmbeddedServer

logging.getLogger('mosaicolabs').setLevel(logging.CRITICAL)


@pytest.fixture
def client(server: EmbeddedServer) -> Any:
    connection = connect(server.port)
    yield connection
    connection.close()


def write_cameras(client: Any) -> None:
    """`cams`: two IMU topics; acceleration.z > 9 at rows 50-79 and 200-209 (10 ms apart)."""
    mc = sdk()
    with client.sequence_create(
        'cams', {'rig': {'model-id': 'r2', 'mount_side': 'left'}}
    ) as writer:
        for topic in ('camera/left/imu', 'camera/right/imu'):
            imu = writer.topic_create(topic, {'calibrated': 'yes'}, mc.IMU)
            for index in range(300):
                imu.push(imu_message(index))


def test_sequence_with_an_invalid_metadata_key_is_refused_and_leaves_nothing(client: Any) -> None:
    mc = sdk()
    with (
        pytest.raises(Exception, match='invalid json key'),
        client.sequence_create('bad_keys', {'a b': 1}) as writer,
    ):
        writer.topic_create('imu', {}, mc.IMU)
    assert client.list_sequences() == []
    assert client.sequence_handler('bad_keys') is None


def test_topic_with_an_invalid_metadata_key_fails_the_session_by_its_policy(client: Any) -> None:
    mc = sdk()
    with client.sequence_create('topic_keys', {'ok': 1}) as writer:
        assert writer.topic_create('bad', {'$': 1}, mc.IMU) is None
        good = writer.topic_create('good', {'fine-key': 1}, mc.IMU)
        for index in range(5):
            good.push(imu_message(index))
    handler = client.sequence_handler('topic_keys')
    assert handler.topics == ['/good']
    assert client.topic_handler('topic_keys', 'good').user_metadata == {'fine-key': 1}


def test_name_match_uses_the_topic_name_as_the_sdk_shows_it(client: Any) -> None:
    mc = sdk()
    write_cameras(client)

    def matching(pattern: str) -> list[str]:
        response = client.query(mc.QueryTopic().with_name_match(pattern))
        return [topic.name for item in response for topic in item.topics]

    assert matching('?camera/left*') == ['/camera/left/imu']
    assert matching('?amera/left*') == []
    assert matching('camera/*/imu') == ['/camera/left/imu', '/camera/right/imu']
    assert matching('*right*') == ['/camera/right/imu']
    response = client.query(mc.QuerySequence().with_user_metadata('rig.model-id', eq='r2'))
    assert [item.sequence.name for item in response] == ['cams']


def test_clusterize_and_intersect_through_the_sdk(client: Any) -> None:
    mc = sdk()
    write_cameras(client)
    response = client.query(
        mc.QueryTopic().with_name_match('/camera/left/imu'),
        mc.QueryOntologyCatalog(mc.IMU.Q.acceleration.z.gt(9.0)),
    )
    (left,) = response[0].topics
    spans = [(c.timerange.start, c.timerange.end) for c in left.clusterize()]
    assert spans == [(T0 + 50 * IMU_STEP, T0 + 209 * IMU_STEP)]
    runs = [(T0 + 50 * IMU_STEP, T0 + 79 * IMU_STEP), (T0 + 200 * IMU_STEP, T0 + 209 * IMU_STEP)]
    assert [(c.timerange.start, c.timerange.end) for c in left.clusterize(IMU_STEP)] == runs
    each = left.clusterize(clustering_dt_ns=1)
    assert len(each) == 40
    both = client.query(
        mc.QueryTopic().with_name_match('/camera/*/imu'),
        mc.QueryOntologyCatalog(mc.IMU.Q.acceleration.z.gt(9.0)),
    )
    first, second = both[0].topics
    common = first.intersect(second, override_clustering_dt_ns=IMU_STEP)
    assert [(c.timerange.start, c.timerange.end) for c in common] == runs


def test_a_malformed_query_raises_in_the_sdk(client: Any) -> None:
    mc = sdk()
    write_cameras(client)
    with pytest.raises(Exception, match=r'\$match'):
        client.query(mc.QueryTopic().with_name_match('camera/[z-a]'))
    with pytest.raises(Exception, match=r'\$match'):
        client.query(mc.QuerySequence().with_name_match('cams['))
    assert [item.sequence.name for item in client.query(mc.QuerySequence())] == ['cams']
