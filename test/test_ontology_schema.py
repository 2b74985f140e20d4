"""Every model's topic schema equals the one mosaicolabs 0.7.0 recorded in ontology.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_path
from test_ontology_custom_model import CustomEncoderTicks

from mosaico_ros.ontology import (
    TIMESTAMP_DESCRIPTION,
    Message,
    Serializable,
    fingerprint,
    get_model,
    registered_tags,
)

FAMILY_MODULES = {
    'base_types': 'base_types',
    'time_header': 'time_header',
    'geometry': 'geometry',
    'dynamics': 'dynamics',
    'kinematics': 'kinematics',
    'futures': 'futures',
    'sensors': 'sensors',
    'images': 'images',
    'robot': 'robot',
    'ros_bridge_ontology': 'ros_bridge_ontology',
}


def _ontology() -> dict[str, Any]:
    path: Path = shared_path('spec', 'ontology', 'ontology.json')
    return json.loads(path.read_text())


@pytest.fixture(scope='module')
def ontology() -> dict[str, Any]:
    return _ontology()


def _concrete(ontology: dict[str, Any]) -> list[dict[str, Any]]:
    return [model for model in ontology['models'] if not model['is_abstract_unmodeled_base']]


def _model_class(entry: dict[str, Any]) -> type[Serializable]:
    if entry['ontology_tag'] == 'CustomEncoderTicks':
        return CustomEncoderTicks
    model = get_model(entry['ontology_tag'])
    assert model is not None, f'{entry["ontology_tag"]} is not registered'
    return model


def test_all_59_concrete_models_are_registered(ontology: dict[str, Any]) -> None:
    tags = {model['ontology_tag'] for model in _concrete(ontology)}
    assert len(tags) == 59
    assert tags <= set(registered_tags())


def test_models_live_in_their_family_module(ontology: dict[str, Any]) -> None:
    for entry in _concrete(ontology):
        model = _model_class(entry)
        expected = f'mosaico_ros.ontology.{FAMILY_MODULES[entry["family"]]}'
        assert model.__module__ == expected, entry['ontology_tag']
        assert model.__name__ == entry['class_name']
        assert model.__serialization_format__ == entry['serialization_format']


def test_topic_schema_matches_recorded_schema(ontology: dict[str, Any]) -> None:
    entries = [*_concrete(ontology), ontology['custom_examples'][0]]
    assert len(entries) == 60
    for entry in entries:
        tag = entry['ontology_tag']
        model = _model_class(entry)
        schema = Message.arrow_schema(model)
        recorded = entry['message_schema']
        assert schema.names == recorded['column_names'], tag
        assert [str(field).replace('pyarrow.Field<', '')[:-1] for field in schema] == recorded[
            'compact'
        ], tag
        plain = schema.to_string(show_field_metadata=False, element_size_limit=10_000)
        assert plain == recorded['string'], tag
        with_metadata = schema.to_string(
            show_field_metadata=True,
            truncate_metadata=False,
            element_size_limit=10_000,
        )
        assert with_metadata == recorded['string_with_field_metadata'], tag
        ipc_digest = hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()
        assert ipc_digest == recorded['ipc_schema_sha256'], tag
        assert schema.metadata is None, tag
        assert model.schema_fingerprint() == entry['schema_fingerprint'], tag
        assert fingerprint(schema) == entry['schema_fingerprint'], tag
        assert str(model.arrow_struct()) == entry['data_struct_string'], tag


def test_python_fields_match_recorded_fields(ontology: dict[str, Any]) -> None:
    for entry in _concrete(ontology):
        model = _model_class(entry)
        fields = model.model_fields
        assert list(fields) == [field['name'] for field in entry['python_fields']]
        for recorded in entry['python_fields']:
            info = fields[recorded['name']]
            where = f'{entry["ontology_tag"]}.{recorded["name"]}'
            assert info.is_required() == recorded['required'], where
            assert info.description == recorded['description'], where


def test_timestamp_column_is_the_recorded_envelope(ontology: dict[str, Any]) -> None:
    (column,) = ontology['envelope']['columns_prepended']
    assert column['metadata']['description'] == TIMESTAMP_DESCRIPTION
    field = Message.arrow_schema(get_model('IMU')).field(0)  # type: ignore[arg-type]
    assert field.name == column['name']
    assert str(field.type) == column['type']
    assert field.nullable is column['nullable']
    assert field.metadata == {b'description': TIMESTAMP_DESCRIPTION.encode()}


def test_fingerprint_normalises_large_and_view_types() -> None:
    import pyarrow as pa

    plain = pa.struct([pa.field('a', pa.string()), pa.field('b', pa.binary())])
    wide = pa.struct([pa.field('a', pa.large_string()), pa.field('b', pa.binary_view())])
    assert fingerprint(plain) == fingerprint(wide)
    renamed = pa.struct([pa.field('a', pa.list_(pa.field('element', pa.float64())))])
    assert fingerprint(renamed) != fingerprint(pa.struct([pa.field('a', pa.list_(pa.float64()))]))
