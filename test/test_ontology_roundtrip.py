"""Columnar encode/decode of many messages: values, nulls, bytes against the SDK's pivot."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pytest

from mosaico_ros.ontology import (
    IMU,
    ConversionError,
    Header,
    Message,
    Quaternion,
    Time,
    Vector3d,
    batch_to_messages,
    messages_to_batch,
)

COUNT = 10_000


def _imu(index: int) -> Message:
    """An IMU message whose optional parts are null on a rotating pattern."""
    header = None
    if index % 3:
        header = Header(
            timestamp=Time(seconds=index, nanoseconds=index * 7 % 1_000_000_000)
            if index % 5
            else None,
            frame_id='imu_link' if index % 7 else None,
            sample_counter=index if index % 2 else None,
        )
    covariance = [0.01 * index] * 9 if index % 4 else None
    orientation = Quaternion(covariance=covariance, x=0, y=0, z=0, w=1) if index % 6 else None
    return Message(
        timestamp_ns=1_700_000_000_000_000_000 + index,
        data=IMU(
            header=header,
            acceleration=Vector3d(header=header, covariance=covariance, x=index, y=-1.0, z=9.81),
            angular_velocity=Vector3d(covariance_type=index % 3 or None, x=0.1, y=0.2, z=0.3),
            orientation=orientation,
        ),
    )


def _stream_bytes(batch: pa.RecordBatch) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def test_imu_round_trip_with_nulls() -> None:
    messages = [_imu(index) for index in range(COUNT)]

    started = time.perf_counter()
    batch = messages_to_batch(messages, IMU)
    encoded_after = time.perf_counter() - started
    started = time.perf_counter()
    decoded = batch_to_messages(batch, IMU)
    decoded_after = time.perf_counter() - started
    print(f'{COUNT} IMU: encode {encoded_after:.3f}s decode {decoded_after:.3f}s')

    assert batch.num_rows == COUNT
    assert batch.schema.equals(Message.arrow_schema(IMU), check_metadata=True)
    assert batch.column('header').null_count == COUNT - sum(1 for i in range(COUNT) if i % 3)
    assert decoded == messages
    assert decoded[0].data.header is None
    assert decoded[5].data.header is not None
    assert decoded[5].data.header.timestamp is None
    assert decoded[6].data.orientation is None
    assert decoded[4].data.acceleration.covariance is None

    # The SDK's writer pivots model_dump() rows and calls from_pydict: same bytes.
    columns: dict[str, list[object]] = {name: [] for name in batch.schema.names}
    for message in messages:
        columns['timestamp_ns'].append(message.timestamp_ns)
        for name, value in message.data.model_dump().items():
            columns[name].append(value)
    reference = pa.RecordBatch.from_pydict(columns, schema=Message.arrow_schema(IMU))
    assert _stream_bytes(batch) == _stream_bytes(reference)


def test_sliced_batch_decodes_its_own_rows() -> None:
    messages = [_imu(index) for index in range(50)]
    batch = messages_to_batch(messages, IMU)
    assert batch_to_messages(batch.slice(17, 9), IMU) == messages[17:26]


def test_empty_batch() -> None:
    batch = messages_to_batch([], IMU)
    assert batch.num_rows == 0
    assert batch.schema.equals(Message.arrow_schema(IMU))
    assert batch_to_messages(batch, IMU) == []


def test_bad_value_names_field_and_row() -> None:
    messages = [_imu(index) for index in range(3)]
    broken = messages[2].data.acceleration.model_copy(update={'x': 'not a number'})
    messages[2] = Message(
        timestamp_ns=1,
        data=messages[2].data.model_copy(update={'acceleration': broken}),
    )
    with pytest.raises(ConversionError, match=r'IMU\.acceleration\.x \(double\): row 2'):
        messages_to_batch(messages, IMU)


def test_mixed_model_classes_are_refused() -> None:
    messages = [_imu(0), Message(timestamp_ns=1, data=Time(seconds=1, nanoseconds=2))]
    with pytest.raises(ConversionError, match='Time'):
        messages_to_batch(messages, IMU)


def test_batch_of_another_model_is_refused() -> None:
    batch = messages_to_batch([Message(timestamp_ns=1, data=Time(seconds=1, nanoseconds=2))])
    with pytest.raises(ConversionError, match='do not match IMU'):
        batch_to_messages(batch, IMU)
