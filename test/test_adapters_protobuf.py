"""Protobuf MCAP channels: a schema from the descriptor set, rows from the payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from mcap.writer import Writer

from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.protobuf_channel import ProtobufChannelAdapter
from mosaico_ros.bags import open_bag

F = descriptor_pb2.FieldDescriptorProto


def _descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """`demo.Reading`: scalars, an enum, a nested message, repeated, map and recursion."""
    file = descriptor_pb2.FileDescriptorProto(name='demo.proto', package='demo', syntax='proto3')
    file.enum_type.add(name='Mode').value.extend(
        [
            descriptor_pb2.EnumValueDescriptorProto(name='IDLE', number=0),
            descriptor_pb2.EnumValueDescriptorProto(name='ACTIVE', number=1),
        ],
    )
    vec = file.message_type.add(name='Vec')
    for index, name in enumerate('xyz', 1):
        vec.field.add(name=name, number=index, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    tree = file.message_type.add(name='Tree')
    tree.field.add(name='label', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    tree.field.add(
        name='children',
        number=2,
        type=F.TYPE_MESSAGE,
        type_name='.demo.Tree',
        label=F.LABEL_REPEATED,
    )
    reading = file.message_type.add(name='Reading')
    entry = reading.nested_type.add(name='TagsEntry')
    entry.options.map_entry = True
    entry.field.add(name='key', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name='value', number=2, type=F.TYPE_SINT32, label=F.LABEL_OPTIONAL)
    fields = [
        ('stamp', F.TYPE_UINT64, None, F.LABEL_OPTIONAL),
        ('value', F.TYPE_FLOAT, None, F.LABEL_OPTIONAL),
        ('mode', F.TYPE_ENUM, '.demo.Mode', F.LABEL_OPTIONAL),
        ('accel', F.TYPE_MESSAGE, '.demo.Vec', F.LABEL_OPTIONAL),
        ('history', F.TYPE_DOUBLE, None, F.LABEL_REPEATED),
        ('blob', F.TYPE_BYTES, None, F.LABEL_OPTIONAL),
        ('tags', F.TYPE_MESSAGE, '.demo.Reading.TagsEntry', F.LABEL_REPEATED),
        ('tree', F.TYPE_MESSAGE, '.demo.Tree', F.LABEL_OPTIONAL),
    ]
    for number, (name, kind, type_name, label) in enumerate(fields, 1):
        field = reading.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    return descriptor_pb2.FileDescriptorSet(file=[file])


def _reading_class(descriptor_set: descriptor_pb2.FileDescriptorSet) -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_set.file[0])
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('demo.Reading'))


def _write_mcap(path: Path, schema_data: bytes, payloads: list[bytes]) -> None:
    with path.open('wb') as stream:
        writer = Writer(stream)
        writer.start()
        schema = writer.register_schema('demo.Reading', 'protobuf', schema_data)
        channel = writer.register_channel('/reading', 'protobuf', schema)
        for index, payload in enumerate(payloads):
            writer.add_message(channel, log_time=index, data=payload, publish_time=index)
        writer.finish()


def test_protobuf_channel_rows(tmp_path: Path) -> None:
    descriptor_set = _descriptor_set()
    reading = _reading_class(descriptor_set)
    first = reading(stamp=7, value=1.5, mode=1, history=[1.0, 2.0], blob=b'\x00\x01')
    first.accel.x, first.accel.z = 0.5, 9.81
    first.tags['left'] = -3
    first.tree.label = 'root'
    first.tree.children.add(label='leaf')
    second = reading(stamp=8)
    path = tmp_path / 'proto.mcap'
    _write_mcap(
        path, descriptor_set.SerializeToString(), [m.SerializeToString() for m in (first, second)]
    )

    with open_bag(path) as bag:
        (connection,) = bag.connections
        adapter = ProtobufChannelAdapter(connection.schema_name, connection.schema_data)
        messages = [adapter.decode(raw.data) for raw in bag.messages()]
    array = adapter.to_arrow(messages, connection.msgtype)

    assert adapter.tag == 'protobuf:demo.Reading'
    assert array.type == adapter.struct_type
    assert array.type.field('stamp').type == pa.uint64()
    assert array.type.field('tags').type == pa.list_(
        pa.struct([pa.field('key', pa.string()), pa.field('value', pa.int32())])
    )
    children = array.type.field('tree').type.field('children').type
    assert children == pa.list_(pa.binary())
    rows = array.to_pylist()
    assert rows[0]['stamp'] == 7
    assert rows[0]['value'] == 1.5
    assert rows[0]['mode'] == 'ACTIVE'
    assert rows[0]['accel'] == {'x': 0.5, 'y': 0.0, 'z': 9.81}
    assert rows[0]['history'] == [1.0, 2.0]
    assert rows[0]['blob'] == b'\x00\x01'
    assert rows[0]['tags'] == [{'key': 'left', 'value': -3}]
    assert rows[0]['tree']['label'] == 'root'
    leaf = reading().tree.__class__.FromString(rows[0]['tree']['children'][0])
    assert leaf.label == 'leaf'
    assert rows[1] == {
        'stamp': 8,
        'value': 0.0,
        'mode': 'IDLE',
        'accel': None,
        'history': [],
        'blob': b'',
        'tags': [],
        'tree': None,
    }


def test_unreadable_protobuf_schema_is_named(tmp_path: Path) -> None:
    path = tmp_path / 'text_schema.mcap'
    _write_mcap(path, b'syntax = "proto3"; message Reading { double value = 1; }', [b'\x00' * 8])
    with open_bag(path) as bag:
        (connection,) = bag.connections
        with pytest.raises(AdapterError, match=r"'demo.Reading' is not a FileDescriptorSet"):
            ProtobufChannelAdapter(connection.schema_name, connection.schema_data)


def test_inject_stores_protobuf_channels(tmp_path: Path, server: Any) -> None:
    from mosaico_ros.bags.injector import Injector
    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.client import MosaicoClient

    descriptor_set = _descriptor_set()
    reading = _reading_class(descriptor_set)
    payloads = [reading(stamp=i, mode=i % 2).SerializeToString() for i in range(20)]
    path = tmp_path / 'proto.mcap'
    _write_mcap(path, descriptor_set.SerializeToString(), payloads)

    with MosaicoClient.connect('127.0.0.1', server.port) as client:
        report = Injector(client, InjectOptions(sequence='proto', jobs=0)).inject(path)
        assert report.clean, report.problems()
        handler = client.topic_handler('proto', '/reading')
        assert handler is not None
        assert handler.ontology_tag == 'protobuf:demo.Reading'
        rows = [row for batch in handler.iter_batches() for row in batch.to_pylist()]
    assert [row['stamp'] for row in rows] == list(range(20))
    assert [row['mode'] for row in rows] == ['IDLE', 'ACTIVE'] * 10
