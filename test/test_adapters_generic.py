"""The generic adapter: SDK-compatible schemas from any definition, both directions."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from test_adapters_support import plain

from mosaico_ros.adapters import (
    GenericAdapter,
    UnsupportedDefinitionError,
    arrow_struct,
    default_registry,
    generic_tag,
)
from mosaico_ros.ontology import get_model
from mosaico_ros.protocol import TIMESTAMP_COLUMN

ITEM_MSGDEF = 'string name\nint32[] values\nfloat32 weight\n'
SAMPLE_MSGDEF = """\
int64 BIG=5
string MODE=fast
std_msgs/Header header
uint8[] blob
byte[4] magic
string[] labels
string<=8 short
float64[3] vec
custom_pkgs/Item[] items
custom_pkgs/Item[2] pair
builtin_interfaces/Duration span
bool flag
bool[] flags
"""
SAMPLE = 'custom_pkgs/msg/Sample'


@pytest.fixture(scope='module')
def typestore() -> Any:
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = get_types_from_msg(ITEM_MSGDEF, 'custom_pkgs/msg/Item')
    types.update(get_types_from_msg(SAMPLE_MSGDEF, SAMPLE))
    store.register(types)
    return store


def make_samples(store: Any, count: int) -> list[Any]:
    types = store.types
    header = types['std_msgs/msg/Header']
    stamp = types['builtin_interfaces/msg/Time']
    item = types['custom_pkgs/msg/Item']
    out = []
    for i in range(count):
        out.append(
            types[SAMPLE](
                header=header(stamp=stamp(sec=100 + i, nanosec=i), frame_id=f'f{i}'),
                blob=np.arange(i % 4, dtype=np.uint8),
                magic=np.array([1, 2, 3, i % 250], np.uint8),
                labels=[f'l{j}' for j in range(i % 3)],
                short=f's{i}',
                vec=np.array([i, 0.5, -1.25]),
                items=[
                    item(name=f'n{j}', values=np.arange(j, dtype=np.int32), weight=0.5 * j)
                    for j in range(i % 3)
                ],
                pair=[
                    item(name='a', values=np.array([i], np.int32), weight=1.5),
                    item(name='b', values=np.zeros(0, np.int32), weight=2.0),
                ],
                span=types['builtin_interfaces/msg/Duration'](sec=i, nanosec=7),
                flag=bool(i % 2),
                flags=np.array([True, False][: i % 3], np.bool_),
            )
        )
    return out


def test_custom_definition_schema(typestore: Any) -> None:
    item = pa.struct(
        [('name', pa.string()), ('values', pa.list_(pa.int32())), ('weight', pa.float32())]
    )
    expected = pa.struct(
        [
            (
                'header',
                pa.struct(
                    [
                        ('stamp', pa.struct([('sec', pa.int32()), ('nanosec', pa.uint32())])),
                        ('frame_id', pa.string()),
                    ]
                ),
            ),
            ('blob', pa.list_(pa.uint8())),
            ('magic', pa.list_(pa.uint8(), 4)),
            ('labels', pa.list_(pa.string())),
            ('short', pa.string()),
            ('vec', pa.list_(pa.float64(), 3)),
            ('items', pa.list_(pa.field('items', item))),
            ('pair', pa.list_(pa.field('pair', item), 2)),
            ('span', pa.struct([('sec', pa.int32()), ('nanosec', pa.uint32())])),
            ('flag', pa.bool_()),
            ('flags', pa.list_(pa.bool_())),
        ]
    )
    assert arrow_struct(SAMPLE, typestore) == expected
    assert all(field.nullable for field in expected)


def test_custom_definition_round_trip(typestore: Any) -> None:
    adapter = default_registry.resolve(SAMPLE, typestore)
    assert isinstance(adapter, GenericAdapter)
    assert adapter.tag == 'ros:custom_pkgs/msg/Sample'
    msgs = make_samples(typestore, 7)
    built = adapter.to_arrow(msgs, SAMPLE)
    assert built.type == adapter.struct_type == adapter.model.arrow_struct()
    rows = built.to_pylist()
    assert rows[3]['blob'] == [0, 1, 2]
    assert rows[3]['magic'] == [1, 2, 3, 3]
    assert rows[2]['items'] == [
        {'name': 'n0', 'values': [], 'weight': 0.0},
        {'name': 'n1', 'values': [0], 'weight': 0.5},
    ]
    assert rows[5]['span'] == {'sec': 5, 'nanosec': 7}
    back = adapter.from_arrow(built, SAMPLE, typestore)
    assert plain(back) == plain(msgs)
    for msg in back:
        assert typestore.serialize_cdr(msg, SAMPLE)

    meta = adapter.topic_metadata(SAMPLE, typestore)
    assert meta['msgtype'] == SAMPLE
    assert meta['enums'] == {'BIG': 5, 'MODE': 'fast'}
    assert meta['msgdef'].startswith('int64 BIG=5\n')


def test_nulls_read_back_as_ros_defaults(typestore: Any) -> None:
    adapter = GenericAdapter(SAMPLE, typestore)
    empty = pa.nulls(2, adapter.struct_type)
    back = adapter.from_arrow(empty, SAMPLE, typestore)
    assert back[0].header.frame_id == ''
    assert back[0].magic.tolist() == [0, 0, 0, 0]
    assert back[0].items == []
    assert len(back[0].pair) == 2
    assert back[1].flag is False
    assert typestore.serialize_cdr(back[1], SAMPLE)


@pytest.mark.parametrize(
    'msgtype',
    ['diagnostic_msgs/msg/DiagnosticArray', 'sensor_msgs/msg/Range', 'sensor_msgs/msg/PointField'],
)
def test_stock_types(msgtype: str) -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    adapter = default_registry.resolve(msgtype, store)
    assert isinstance(adapter, GenericAdapter)
    assert adapter.tag == generic_tag(msgtype)
    # the tag cannot collide with a model tag, unlike the SDK's bare `Range`
    assert get_model(adapter.tag) is None
    types = store.types
    if msgtype == 'sensor_msgs/msg/Range':
        msgs = [
            types[msgtype](
                header=types['std_msgs/msg/Header'](
                    stamp=types['builtin_interfaces/msg/Time'](sec=5, nanosec=6), frame_id='sonar'
                ),
                radiation_type=1,
                field_of_view=0.5,
                min_range=0.25,
                max_range=4.0,
                range=1.5,
            )
        ]
        assert adapter.struct_type.names == [
            'header',
            'radiation_type',
            'field_of_view',
            'min_range',
            'max_range',
            'range',
        ]
    elif msgtype == 'sensor_msgs/msg/PointField':
        msgs = [types[msgtype](name='x', offset=4, datatype=7, count=1)]
    else:
        status = types['diagnostic_msgs/msg/DiagnosticStatus']
        value = types['diagnostic_msgs/msg/KeyValue']
        msgs = [
            types[msgtype](
                header=types['std_msgs/msg/Header'](
                    stamp=types['builtin_interfaces/msg/Time'](sec=1, nanosec=2), frame_id=''
                ),
                status=[
                    status(
                        level=2,
                        name='m',
                        message='hot',
                        hardware_id='h',
                        values=[value(key='t', value='90')],
                    ),
                    status(level=0, name='n', message='', hardware_id='', values=[]),
                ],
            )
        ]
        assert str(adapter.struct_type.field('status').type).startswith('list<status: struct<')
    built = adapter.to_arrow(msgs, msgtype)
    assert plain(adapter.from_arrow(built, msgtype, store)) == plain(msgs)


def test_wstring_is_rejected() -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg('wstring text\n', 'custom_pkgs/msg/Wide'))
    with pytest.raises(UnsupportedDefinitionError, match=r'custom_pkgs/msg/Wide\.text'):
        GenericAdapter('custom_pkgs/msg/Wide', store)


def test_sdk_resolves_our_generic_tag(typestore: Any) -> None:
    mosaicolabs = pytest.importorskip('mosaicolabs', reason='the peer SDK is not installed')
    from mosaicolabs.models.core.helpers import resolve_ontology_class

    adapter = GenericAdapter(SAMPLE, typestore)
    cls = resolve_ontology_class(ontology_tag=adapter.tag, schema=adapter.struct_type)
    assert cls.__ontology_tag__ == adapter.tag
    row = adapter.to_arrow(make_samples(typestore, 2), SAMPLE).to_pylist()[1]
    record = cls._decode(**row)
    assert record.raw_data['labels'] == ['l0']
    assert mosaicolabs.Message(timestamp_ns=1, data=record).data.raw_data['span']['sec'] == 1


def test_sdk_reads_a_generic_topic_from_the_server(server: Any, typestore: Any) -> None:
    mosaicolabs = pytest.importorskip('mosaicolabs', reason='the peer SDK is not installed')
    from mosaico_ros.client import MosaicoClient

    logging.getLogger('mosaicolabs').setLevel(logging.CRITICAL)
    adapter = default_registry.resolve(SAMPLE, typestore)
    msgs = make_samples(typestore, 5)
    data = adapter.to_arrow(msgs, SAMPLE)
    times = pa.array([1_700_000_000_000_000_000 + i for i in range(5)], pa.int64())
    schema = pa.schema(
        [pa.field(TIMESTAMP_COLUMN, pa.int64(), nullable=False), *adapter.struct_type]
    )
    batch = pa.RecordBatch.from_arrays([times, *data.flatten()], schema=schema)
    metadata = {'_ros_': adapter.topic_metadata(SAMPLE, typestore)}
    with (
        MosaicoClient.connect('127.0.0.1', server.port) as client,
        client.sequence_create('generic_seq', {}) as writer,
    ):
        topic = writer.topic_create(
            'custom/sample', metadata, schema=schema, ontology_tag=adapter.tag
        )
        assert topic is not None
        topic.push_batch(batch)
    with mosaicolabs.MosaicoClient.connect('127.0.0.1', server.port) as peer:
        handler = peer.topic_handler('generic_seq', 'custom/sample')
        assert handler is not None
        assert handler.ontology_tag == adapter.tag
        assert handler.user_metadata == metadata
        read = list(handler.get_data_streamer())
    assert [message.timestamp_ns for message in read] == times.to_pylist()
    assert [message.data.raw_data for message in read] == data.to_pylist()


def test_byte_scalars_and_arrays_keep_their_octets() -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg('byte one\nbyte[] many\n', 'custom_pkgs/msg/Octets'))
    cls = store.types['custom_pkgs/msg/Octets']
    msgs = [
        cls(one=-1, many=np.array([-128, -1, 0, 127], np.int8)),
        cls(one=255, many=np.array([128, 255], np.uint8)),
    ]
    adapter = GenericAdapter('custom_pkgs/msg/Octets', store)

    built = adapter.to_arrow(msgs, 'custom_pkgs/msg/Octets')
    back = adapter.from_arrow(built, 'custom_pkgs/msg/Octets', store)

    assert built.to_pylist() == [
        {'one': 255, 'many': [128, 255, 0, 127]},
        {'one': 255, 'many': [128, 255]},
    ]
    assert plain(back) == [
        {'one': -1, 'many': [-128, -1, 0, 127]},
        {'one': -1, 'many': [-128, -1]},
    ]
    # rosbags serializes only int8 byte values, as it decodes them
    as_decoded = [msgs[0], cls(one=-1, many=np.array([-128, -1], np.int8))]
    assert [store.serialize_cdr(msg, 'custom_pkgs/msg/Octets') for msg in back] == [
        store.serialize_cdr(msg, 'custom_pkgs/msg/Octets') for msg in as_decoded
    ]
    with pytest.raises(ValueError, match=r'byte value 256 is outside -128\.\.255'):
        adapter.to_arrow([cls(one=256, many=np.zeros(0, np.int8))], 'custom_pkgs/msg/Octets')
