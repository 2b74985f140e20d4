"""The `--where` grammar and the query builders, checked against the official SDK's bodies."""

from __future__ import annotations

import pytest

from mosaico_ros.client import (
    CatalogQuery,
    QueryBuildError,
    SequenceQuery,
    TopicQuery,
    WhereError,
    parse_condition,
    parse_duration,
    parse_where,
)


def test_conditions_are_joined_by_and_and_checked_against_the_model() -> None:
    where = parse_where(
        ['IMU.acceleration.x > 4 AND IMU.acceleration.z <= 9.5', 'GPS.status.status == 1'],
        topic='/imu*',
    )
    assert where.to_ontology() == {
        'IMU.acceleration.x': {'$gt': 4},
        'IMU.acceleration.z': {'$leq': 9.5},
        'GPS.status.status': {'$eq': 1},
    }
    assert where.tags == ('IMU', 'GPS')
    assert where.to_ontology('GPS') == {'GPS.status.status': {'$eq': 1}}
    assert where.topic == '/imu*'
    assert str(where) == (
        'IMU.acceleration.x > 4 AND IMU.acceleration.z <= 9.5 AND GPS.status.status == 1'
    )
    assert not where.unchecked


@pytest.mark.parametrize(
    ('text', 'ontology'),
    [
        ('IMU.acceleration.x>=-1.5', {'IMU.acceleration.x': {'$geq': -1.5}}),
        ('IMU.acceleration.x != 0', {'IMU.acceleration.x': {'$neq': 0}}),
        (
            'IMU.timestamp_ns < 1700000000000000000',
            {'IMU.timestamp_ns': {'$lt': 1700000000000000000}},
        ),
        ("IMU.header.frame_id == 'base link'", {'IMU.header.frame_id': {'$eq': 'base link'}}),
        ('IMU.header.frame_id == imu', {'IMU.header.frame_id': {'$eq': 'imu'}}),
        ('IMU.acceleration.covariance[?] > 0.1', {'IMU.acceleration.covariance[?]': {'$gt': 0.1}}),
        ('IMU.acceleration.covariance[!] < 1', {'IMU.acceleration.covariance[!]': {'$lt': 1}}),
        ('IMU.acceleration.covariance[4] == 2', {'IMU.acceleration.covariance[4]': {'$eq': 2}}),
        ('Boolean.data == true', {'Boolean.data': {'$eq': True}}),
        (
            'IMU.acceleration.x >= 1 and IMU.acceleration.x <= 3',
            {'IMU.acceleration.x': {'$between': [1, 3]}},
        ),
        ('ros:my_msgs/msg/Thing.level > 3', {'ros:my_msgs/msg/Thing.level': {'$gt': 3}}),
    ],
)
def test_one_condition(text: str, ontology: dict[str, dict[str, object]]) -> None:
    assert parse_where(text).to_ontology() == ontology


def test_unknown_tags_are_sent_unchecked_and_said() -> None:
    where = parse_where('ros:my_msgs/msg/Thing.level > 3 AND IMU.acceleration.x > 1')
    assert where.unchecked == frozenset({'ros:my_msgs/msg/Thing'})


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        ('IMU.accel.x > 1', "IMU has no field 'accel'; fields: timestamp_ns, header, acceleration"),
        ('IMU.acceleration > 1', 'IMU.acceleration is not a single value'),
        ('IMU.acceleration.covariance > 1', 'is a list; choose elements with [?] (any)'),
        ('IMU.acceleration.x[?] > 1', 'x is not a list'),
        ('IMU.acceleration.x ~ 1', 'is not PATH OP VALUE'),
        ('IMU.acceleration.x = 1', 'is not PATH OP VALUE'),
        ('IMU.acceleration.x >', 'is not PATH OP VALUE'),
        ('IMU > 1', 'the path needs a model and a field'),
        ('IMU.header.frame_id != imu', 'is a String field; it cannot take that operator'),
        ('Boolean.data > true', 'is a Bool field'),
        ('IMU.acceleration.x > 1 AND IMU.acceleration.x < 3', 'has 2 conditions'),
        ('IMU.acceleration.x >= 3 AND IMU.acceleration.x <= 1', 'can never hold'),
        ('   ', 'an empty expression'),
    ],
)
def test_mistakes_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(WhereError) as raised:
        parse_where(text)
    assert message in str(raised.value)


def test_durations_and_metadata_conditions() -> None:
    assert parse_duration('2s') == 2_000_000_000
    assert parse_duration('500ms') == 500_000_000
    assert parse_duration('1.5') == 1_500_000_000
    assert parse_duration('250us') == 250_000
    assert parse_duration('2min') == 120_000_000_000
    for bad in ('-1s', 'soon', '2 parsecs', ''):
        with pytest.raises(WhereError, match='is not a duration'):
            parse_duration(bad)
    condition = parse_condition('driver.role=validation', allow_single_equals=True)
    assert (condition.path, condition.op, condition.value) == ('driver.role', '$eq', 'validation')
    condition = parse_condition('environment.visibility < 50', allow_single_equals=True)
    assert (condition.op, condition.value) == ('$lt', 50)


def test_builders_send_what_the_official_sdk_sends() -> None:
    from mosaicolabs import IMU, Query, QueryOntologyCatalog, QuerySequence, QueryTopic

    theirs = Query(
        QuerySequence()
        .with_name_match('drive_*')
        .with_user_metadata('driver.role', eq='validation')
        .with_created_timestamp(1_700_000_000_000_000_000, 1_800_000_000_000_000_000),
        QueryTopic().with_ontology_tag('IMU').with_name('/imu'),
        QueryOntologyCatalog(IMU.Q.acceleration.x.gt(4.0), IMU.Q.acceleration.z.between([1, 9])),
    ).to_dict()
    ours = CatalogQuery(
        sequence=SequenceQuery()
        .with_name_like('drive_*')
        .with_metadata_condition(
            parse_condition('driver.role=validation', allow_single_equals=True)
        )
        .with_created(1_700_000_000_000_000_000, 1_800_000_000_000_000_000),
        topic=TopicQuery().with_ontology_tag('IMU').with_name_like('/imu'),
        ontology=parse_where(
            'IMU.acceleration.x > 4.0 AND IMU.acceleration.z >= 1 AND IMU.acceleration.z <= 9'
        ),
    ).to_dict()
    assert ours == theirs
    assert SequenceQuery().with_created(start_ns=5).to_dict() == {'created_at_ns': {'$geq': 5}}
    assert TopicQuery().with_names(['/a', '/b']).to_dict() == {'name': {'$in': ['/a', '/b']}}
    with pytest.raises(QueryBuildError, match='sequence name is filtered twice'):
        SequenceQuery().with_name('a').with_name_match('b*')
    with pytest.raises(QueryBuildError, match='start 9 is after end 1'):
        SequenceQuery().with_created(9, 1)
