"""`.Q` proxies produce every server key ontology.json lists, with the right operators."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import shared_path
from test_ontology_custom_model import CustomEncoderTicks

from mosaico_ros.ontology import IMU, Pose, QueryError, RobotPath, Serializable, get_model

OPERATORS = {
    'Numeric': {'eq', 'neq', 'lt', 'leq', 'gt', 'geq', 'in_', 'between', 'outside'},
    'String': {'eq', 'match', 'lt', 'leq', 'gt', 'geq', 'in_', 'between', 'outside'},
    'Bool': {'eq'},
    'Unsupported': set(),
}
ALL_OPERATORS = set().union(*OPERATORS.values())
STEP = re.compile(r'\.(\w+)(\(\))?')


def _entries() -> list[dict[str, Any]]:
    ontology = json.loads(shared_path('spec', 'ontology', 'ontology.json').read_text())
    return [*ontology['models'], ontology['custom_examples'][0]]


def _walk(model: type[Serializable], q_expr: str) -> Any:
    tag, _, rest = q_expr.partition('.Q')
    assert tag == model.ontology_tag()
    node: Any = model.Q
    for name, call in STEP.findall(rest):
        node = getattr(node, name)() if call else getattr(node, name)
    return node


def test_every_recorded_query_path() -> None:
    checked = 0
    entries = _entries()
    for entry in entries:
        tag = entry['ontology_tag']
        model = CustomEncoderTicks if tag == 'CustomEncoderTicks' else get_model(tag)
        if model is None:
            assert entry['is_abstract_unmodeled_base']
            continue
        for path in entry['query_paths']:
            node = _walk(model, path['q_expr'])
            assert node.key == path['server_key'], path
            assert node.queryable == path['queryable'], path
            assert str(node.arrow_type) == path['arrow_type'], path
            supported = {op for op in ALL_OPERATORS if callable(getattr(node, op, None))}
            assert supported == OPERATORS[path['queryable']], path
            checked += 1
    assert checked == sum(len(entry['query_paths']) for entry in entries) == 845


def test_expressions_render_server_dicts() -> None:
    assert IMU.Q.acceleration.x.gt(9.8).to_dict() == {'IMU.acceleration.x': {'$gt': 9.8}}
    assert IMU.Q.timestamp_ns.between(1, 2).to_dict() == {'IMU.timestamp_ns': {'$between': [1, 2]}}
    assert Pose.Q.covariance.any().gt(0.1).to_dict() == {'Pose.covariance[?]': {'$gt': 0.1}}
    assert Pose.Q.covariance.all().leq(1).to_dict() == {'Pose.covariance[!]': {'$leq': 1}}
    assert Pose.Q.covariance[3].eq(0).to_dict() == {'Pose.covariance[3]': {'$eq': 0}}
    assert RobotPath.Q.poses.any().position.x.key == 'RobotPath.poses[?].position.x'
    assert IMU.Q.header.frame_id.match('imu*').to_dict() == {
        'IMU.header.frame_id': {'$match': 'imu*'},
    }
    assert IMU.Q.header.frame_id.in_(['a', 'b']).to_dict() == {
        'IMU.header.frame_id': {'$in': ['a', 'b']},
    }
    assert IMU.Q.acceleration.z.outside(-1, 1).to_dict() == {
        'IMU.acceleration.z': {'$outside': [-1, 1]},
    }
    assert IMU.Q.acceleration.z.neq(0).to_dict() == {'IMU.acceleration.z': {'$neq': 0}}
    expression = IMU.Q.acceleration.x.gt(1)
    assert (expression.tag, expression.op, expression.value) == ('IMU', '$gt', 1)


def test_bad_paths_and_operands_are_refused() -> None:
    with pytest.raises(AttributeError, match='no field'):
        _ = IMU.Q.acceleration.nope
    with pytest.raises(QueryError, match='low <= high'):
        IMU.Q.acceleration.x.between(2, 1)
    with pytest.raises(QueryError, match='at least one'):
        IMU.Q.acceleration.x.in_([])
    with pytest.raises(QueryError, match='int'):
        _ = Pose.Q.covariance['a']
