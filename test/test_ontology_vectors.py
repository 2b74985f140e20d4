"""Decode every SDK-written vector, compare values, re-encode and compare the bytes."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import SHARED, shared_path
from test_ontology_custom_model import CustomEncoderTicks

from mosaico_ros.ontology import (
    Image,
    ImageFormat,
    Message,
    Serializable,
    batch_to_messages,
    get_model,
    messages_to_batch,
    resolve_model,
)


def _vectors_dir() -> Path:
    return shared_path('spec', 'ontology', 'vectors')


def _index() -> list[dict[str, Any]]:
    return json.loads((_vectors_dir() / 'index.json').read_text())


def _model(tag: str) -> type[Serializable]:
    return CustomEncoderTicks if tag == 'CustomEncoderTicks' else get_model(tag)  # type: ignore[return-value]


def to_json_value(value: Any) -> Any:
    """Apply the vector JSON conventions (bytes base64, enums by value, non-finite floats)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return {'$bytes_base64': base64.b64encode(value).decode()}
    if isinstance(value, float) and not math.isfinite(value):
        return {'$float': 'nan' if math.isnan(value) else ('inf' if value > 0 else '-inf')}
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return value


def _read(name: str) -> tuple[bytes, list[pa.RecordBatch], dict[str, Any]]:
    vectors = _vectors_dir()
    raw = (vectors / f'{name}.arrows').read_bytes()
    batches = list(pa.ipc.open_stream(raw))
    return raw, batches, json.loads((vectors / f'{name}.json').read_text())


def _write_stream(schema: pa.Schema, batches: list[pa.RecordBatch]) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.getvalue()


def test_there_are_60_vectors() -> None:
    index = _index()
    assert len(index) == 60
    assert len({entry['ontology_tag'] for entry in index}) == 60


def _entries() -> list[Any]:
    """Every vector; without ../shared one entry that skips (collection must never fail)."""
    if not (SHARED / 'spec' / 'ontology' / 'vectors').exists():
        return [pytest.param(None, id='no-shared')]
    return _index()


@pytest.mark.parametrize('entry', _entries(), ids=str)
def test_vector_decodes_and_reencodes_byte_identical(entry: dict[str, Any] | None) -> None:
    if entry is None:
        _vectors_dir()  # skips, saying why
        return
    tag = entry['ontology_tag']
    raw, batches, vector = _read(entry['vector_name'])
    assert hashlib.sha256(raw).hexdigest() == entry['arrow_file_sha256']
    model = _model(tag)
    stream_schema = pa.ipc.open_stream(raw).schema
    assert resolve_model(tag, stream_schema) is model
    assert stream_schema.equals(Message.arrow_schema(model), check_metadata=True)

    messages = [message for batch in batches for message in batch_to_messages(batch, model)]
    assert len(messages) == entry['num_rows']
    for decoded, expected in zip(messages, vector['messages'], strict=True):
        assert type(decoded.data) is model
        assert decoded.timestamp_ns == expected['timestamp_ns']
        assert to_json_value(decoded.data.model_dump()) == expected['data']
        # The decoded model equals one validated from the expected values.
        rebuilt = model.model_validate(decoded.data.model_dump())
        assert rebuilt == decoded.data

    reencoded, start = [], 0
    for batch in batches:
        chunk = messages[start : start + batch.num_rows]
        start += batch.num_rows
        reencoded.append(messages_to_batch(chunk, model))
    written = _write_stream(Message.arrow_schema(model), reencoded)
    assert hashlib.sha256(written).hexdigest() == entry['arrow_file_sha256']
    assert written == raw


def test_encoded_columns_match_sdk_pivot() -> None:
    _, batches, vector = _read('IMU')
    model = _model('IMU')
    batch = messages_to_batch(batch_to_messages(batches[0], model), model)
    assert to_json_value(batch.to_pydict()) == {
        name: vector['encoded_columns'][name] for name in batch.schema.names
    }


def test_unknown_tag_decodes_vector_rows_as_raw_data() -> None:
    raw, batches, vector = _read('GPS')
    model = resolve_model('test.gps_without_class', batches[0].schema)
    messages = batch_to_messages(batches[0], model)
    rows = [
        {name: value for name, value in row.items() if name != 'timestamp_ns'}
        for row in vector['decoded_rows']
    ]
    assert [to_json_value(message.data.raw_data) for message in messages] == rows
    written = _write_stream(batches[0].schema, [messages_to_batch(messages, model)])
    assert written == raw


def test_png_packing_reproduces_sdk_payload() -> None:
    _, batches, _ = _read('Image')
    images = [message.data for message in batch_to_messages(batches[0], Image)]
    packed = next(image for image in images if image.format is ImageFormat.PNG)
    pixels = packed.to_linear_pixels()
    assert len(pixels) == packed.stride * packed.height
    again = Image.from_linear_pixels(
        pixels,
        width=packed.width,
        height=packed.height,
        stride=packed.stride,
        encoding=packed.encoding,
        is_bigendian=packed.is_bigendian,
    )
    assert again.data == packed.data
    raw = next(image for image in images if image.format is ImageFormat.RAW)
    assert raw.to_linear_pixels() == raw.data
