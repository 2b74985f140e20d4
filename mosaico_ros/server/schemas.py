"""Topic schemas: the timestamp column rule, what the store can keep, the built-in schemas."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from mosaico_ros.ontology import Message, get_model
from mosaico_ros.protocol import TIMESTAMP_COLUMN
from mosaico_ros.server.errors import BadRequestError, quote

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
            `timestamp_ns`, a built-in tag's schema differs from the model, or
            a column has a type the store cannot keep and give back.

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
    check_storable(schema, locator)


def _dictionary_column(kind: pa.DataType, name: str) -> str | None:
    """Return the dotted name of the first dictionary-encoded field within `kind`, if any."""
    if pa.types.is_dictionary(kind):
        return name
    children = [kind.field(index) for index in range(kind.num_fields)]
    for child in children:
        found = _dictionary_column(child.type, f'{name}.{child.name}')
        if found is not None:
            return found
    return None


def check_storable(schema: pa.Schema, locator: str) -> None:
    """Check that rows of `schema` can be stored as Parquet chunks and read back exactly.

    Dictionary-encoded columns are refused (the Flight stream that reads them
    back needs dictionary batches the store does not keep); every other type
    is tried on an empty table written to Parquet in memory and cast back.

    Raises:
        BadRequestError: A column has a type the store cannot keep.

    """
    for field in schema:
        dictionary = _dictionary_column(field.type, field.name)
        if dictionary is not None:
            raise BadRequestError(
                f'DoPut {locator}: column {quote(dictionary)} is dictionary-encoded; '
                'send it decoded (Array.dictionary_decode())',
            )
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(schema.empty_table(), sink)
        pq.read_table(pa.BufferReader(sink.getvalue())).cast(schema)
    except (pa.ArrowException, ValueError) as err:
        message = str(err).split('\n')[0]
        raise BadRequestError(
            f'DoPut {locator}: the store cannot keep this schema: {quote(message, 200)}'
        ) from None


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
