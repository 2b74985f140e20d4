"""Topic schemas: the timestamp column rule and the built-in ontology schemas."""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from mosaico_ros.protocol import TIMESTAMP_COLUMN
from mosaico_ros.server.errors import BadRequestError

_CUSTOM_TAGS = frozenset({'Unmodeled'})


def _from_ontology_package(tag: str) -> pa.Schema | None:
    # Looked up by name so this module type-checks before and after
    # mosaico_ros.ontology grows these names.
    ontology = importlib.import_module('mosaico_ros.ontology')
    get_model: Any = getattr(ontology, 'get_model', None)
    message: Any = getattr(ontology, 'Message', None)
    if get_model is None or message is None:
        return None
    try:
        model = get_model(tag)
    except (KeyError, LookupError, ValueError):
        return None
    if model is None:
        return None
    schema: pa.Schema = message.arrow_schema(model)
    return schema


def _from_shared_vectors(tag: str) -> pa.Schema | None:
    # Stand-in while mosaico_ros.ontology is being written: the recorded SDK schemas.
    shared = Path(os.environ.get('MOSAICO_SHARED', Path(__file__).resolve().parents[3] / 'shared'))
    path = shared / 'spec' / 'ontology' / 'vectors' / f'{tag}.arrows'
    if not path.is_file():
        return None
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_stream(source).schema


@functools.lru_cache(maxsize=256)
def builtin_schema(tag: str) -> pa.Schema | None:
    """Return the message schema of a built-in ontology tag, or None for a custom tag."""
    if tag in _CUSTOM_TAGS:
        return None
    schema = _from_ontology_package(tag)
    if schema is None:
        schema = _from_shared_vectors(tag)
    return schema


def check_topic_schema(schema: pa.Schema, tag: str, locator: str) -> None:
    """Check a DoPut schema against the rules every topic obeys.

    Args:
        schema: Schema the client opened the stream with.
        tag: Ontology tag the topic was created with.
        locator: Topic locator, for the error message.

    Raises:
        BadRequestError: The first column is not a non-null int64
            `timestamp_ns`, or a built-in tag's schema differs from the model.

    """
    if len(schema) == 0 or schema.field(0).name != TIMESTAMP_COLUMN:
        names = ', '.join(schema.names[:3]) or 'no columns'
        raise BadRequestError(
            f'DoPut {locator}: the first column must be {TIMESTAMP_COLUMN!r} (got {names})',
        )
    first = schema.field(0)
    if first.type != pa.int64() or first.nullable:
        raise BadRequestError(
            f'DoPut {locator}: column {TIMESTAMP_COLUMN!r} must be a non-null int64 '
            f'(got {first.type}{"" if first.nullable is False else ", nullable"})',
        )
    expected = builtin_schema(tag)
    if expected is not None and not schema.equals(expected, check_metadata=False):
        raise BadRequestError(
            f'DoPut {locator}: schema does not match ontology model {tag!r}: '
            f'{_first_difference(schema, expected)}',
        )


def _first_difference(got: pa.Schema, expected: pa.Schema) -> str:
    for index, want in enumerate(expected):
        if index >= len(got):
            return f'missing column {want.name!r}'
        have = got.field(index)
        if have.name != want.name:
            return f'column {index} is {have.name!r}, expected {want.name!r}'
        if not have.equals(want, check_metadata=False):
            return f'column {want.name!r} is {have}, expected {want}'
    extra = got.names[len(expected) :]
    return f'unexpected columns {extra}'


def serialize_schema(schema: pa.Schema) -> bytes:
    """Return the IPC bytes of a schema (field metadata included)."""
    return bytes(schema.serialize())


def deserialize_schema(raw: bytes) -> pa.Schema:
    """Inverse of :func:`serialize_schema`."""
    return pa.ipc.read_schema(pa.py_buffer(raw))
