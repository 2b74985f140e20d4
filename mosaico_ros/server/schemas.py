"""Topic schemas: the timestamp column rule and the built-in ontology schemas."""

from __future__ import annotations

import pyarrow as pa

from mosaico_ros.ontology import Message, get_model
from mosaico_ros.protocol import TIMESTAMP_COLUMN
from mosaico_ros.server.errors import BadRequestError

_CUSTOM_TAGS = frozenset({'Unmodeled'})


def builtin_schema(tag: str) -> pa.Schema | None:
    """Return the message schema of a built-in ontology tag, or None for a custom tag."""
    if tag in _CUSTOM_TAGS:
        return None
    model = get_model(tag)
    if model is None:
        return None
    return Message.arrow_schema(model)


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
