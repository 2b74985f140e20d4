"""Null optional parts: no non-nullable child holds a null at any depth, so Parquet accepts them."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import FIXES, ROS1_ONLY, MessageFactory

from mosaico_ros.adapters import SENTENCE_MSGDEF, default_registry, register_msgdef
from mosaico_ros.adapters.columns import empty_array, empty_value, null_array, struct_array
from mosaico_ros.adapters.rows import RosFactory


def hidden_nulls(array: pa.Array, path: str = 'data', nullable: bool = True) -> list[str]:
    """Paths of non-nullable columns holding a null, at any depth (parent validity ignored)."""
    found = [path] if not nullable and array.null_count else []
    kind = array.type
    if pa.types.is_struct(kind):
        for index, field in enumerate(kind):
            found += hidden_nulls(array.field(index), f'{path}.{field.name}', field.nullable)
    elif pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
        found += hidden_nulls(array.values, f'{path}[]', kind.value_field.nullable)
    return found


def parquet_round_trip(struct: pa.StructArray) -> list[Any]:
    """Write the rows to Parquet as a topic's columns and read them back."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_batches([pa.RecordBatch.from_struct_array(struct)]), sink)
    sink.seek(0)
    return pq.read_table(sink).to_pylist()


def blank_optional_parts(msg: Any) -> Any:
    """Empty every header and mark every covariance unknown, at any depth, in place."""
    for name in msg.__dataclass_fields__:
        value = getattr(msg, name)
        if name == 'header':
            value.stamp.sec = value.stamp.nanosec = 0
            value.frame_id = ''
        elif name.endswith('covariance') and isinstance(value, np.ndarray):
            value[:] = 0.0
            value[0] = -1.0
        elif hasattr(value, '__dataclass_fields__'):
            blank_optional_parts(value)
        elif isinstance(value, list):
            for item in value:
                if hasattr(item, '__dataclass_fields__'):
                    blank_optional_parts(item)
    return msg


@pytest.fixture(scope='module')
def typestore() -> Any:
    store = get_typestore(Stores.ROS2_HUMBLE)
    register_msgdef(store, 'nmea_msgs/msg/Sentence', SENTENCE_MSGDEF)
    for msgtype, msgdef in ROS1_ONLY.items():
        register_msgdef(store, msgtype, msgdef)
    return store


def mixed_batch(msgtype: str, typestore: Any) -> list[Any]:
    """A realistic message, the same with optional parts blank, and an all-default one."""
    factory = MessageFactory(typestore)
    fix = FIXES.get(msgtype, lambda msg, _: msg)
    full = fix(factory.make(msgtype), factory)
    blank = blank_optional_parts(fix(factory.make(msgtype), factory))
    default = RosFactory(typestore).assemble(msgtype, {}, 1)[0]
    return [full, blank, default]


@pytest.mark.parametrize('msgtype', sorted(default_registry.msgtypes))
def test_no_hidden_nulls_in_any_adapter(msgtype: str, typestore: Any) -> None:
    adapter = default_registry.resolve(msgtype, typestore)
    built = adapter.to_arrow(mixed_batch(msgtype, typestore), msgtype)

    assert built.type == adapter.model.arrow_struct()
    assert hidden_nulls(built) == []
    assert parquet_round_trip(built) == built.to_pylist()


def test_named_optional_parts_are_null_with_empty_children(typestore: Any) -> None:
    factory = MessageFactory(typestore)
    cases: dict[str, Any] = {}

    imu = factory.make('sensor_msgs/msg/Imu')
    imu.orientation_covariance = np.array([-1.0] + [0.0] * 8)
    imu.header.stamp.sec = imu.header.stamp.nanosec = 0
    imu.header.frame_id = ''
    cases['sensor_msgs/msg/Imu'] = (imu, ['header', 'orientation'])

    fix = factory.make('sensor_msgs/msg/NavSatFix')
    fix.status.status = -2
    cases['sensor_msgs/msg/NavSatFix'] = (fix, ['status'])

    info = factory.make('sensor_msgs/msg/CameraInfo')
    info.binning_x = info.binning_y = 0
    info.roi.x_offset = info.roi.y_offset = info.roi.height = info.roi.width = 0
    info.roi.do_rectify = False
    cases['sensor_msgs/msg/CameraInfo'] = (info, ['binning', 'roi'])

    for msgtype, (msg, null_fields) in cases.items():
        adapter = default_registry.resolve(msgtype, typestore)
        built = adapter.to_arrow([msg], msgtype)
        row = parquet_round_trip(built)[0]
        assert [name for name in null_fields if row[name] is None] == null_fields, msgtype
        assert hidden_nulls(built) == [], msgtype
        for name in null_fields:
            child = built.field(name)
            # Arrow's empty value below the null parent, as `from_pydict` writes it
            for index, field in enumerate(child.type):
                if not field.nullable:
                    assert child.field(index).null_count == 0, f'{msgtype}.{name}.{field.name}'


def test_struct_array_fills_absent_and_null_non_nullable_fields() -> None:
    inner = pa.struct([pa.field('n', pa.int32(), nullable=False), pa.field('s', pa.string())])
    stype = pa.struct(
        [
            pa.field('a', inner),
            pa.field('b', inner, nullable=False),
            pa.field('fixed', pa.list_(pa.field('item', inner, nullable=False), 2)),
            pa.field('tags', pa.list_(pa.field('item', pa.string(), nullable=False))),
            pa.field('k', pa.int64(), nullable=False),
        ]
    )
    built = struct_array(stype, 3, {'k': [1, None, 3]}, np.array([True, False, True]))

    assert hidden_nulls(built) == []
    assert built.field('a').null_count == 3
    assert built.field('a').field('n').to_pylist() == [0, 0, 0]
    assert built.field('b').to_pylist() == [{'n': 0, 's': ''}] * 3
    assert built.field('fixed').values.field('n').to_pylist() == [0] * 6
    assert built.field('k').to_pylist() == [1, 0, 3]
    rows = parquet_round_trip(struct_array(stype, 3, {}))
    assert rows == [{'a': None, 'b': {'n': 0, 's': ''}, 'fixed': None, 'tags': None, 'k': 0}] * 3
    assert null_array(pa.struct([]), 2).to_pylist() == [None, None]


def test_struct_without_fields_keeps_its_validity() -> None:
    built = struct_array(pa.struct([]), 3, {}, np.array([True, False, True]))

    assert built.to_pylist() == [{}, None, {}]


EMPTY_TYPES = [
    pa.bool_(),
    pa.int8(),
    pa.uint64(),
    pa.float32(),
    pa.string(),
    pa.large_binary(),
    pa.list_(pa.field('item', pa.int32(), nullable=False)),
    pa.large_list(pa.string()),
    pa.list_(pa.field('item', pa.float64(), nullable=False), 3),
    pa.struct(
        [pa.field('a', pa.int64(), nullable=False), pa.field('b', pa.list_(pa.float64(), 2))]
    ),
]


@pytest.mark.parametrize('dtype', EMPTY_TYPES, ids=str)
def test_empty_and_null_arrays_are_what_builders_append(dtype: pa.DataType) -> None:
    for length in (0, 1, 13):
        empty = empty_array(dtype, length)
        nulls = null_array(dtype, length)
        empty.validate(full=True)
        nulls.validate(full=True)

        assert empty.equals(pa.array([empty_value(dtype)] * length, type=dtype))
        assert empty.null_count == 0
        assert nulls.to_pylist() == [None] * length
        assert hidden_nulls(nulls, nullable=True) == []
