"""MCAP channels in protobuf, stored through a schema derived from their descriptor set.

The MCAP convention for `protobuf` channels is a schema of encoding
`protobuf` whose data is a serialized `google.protobuf.FileDescriptorSet`
holding the message type and everything it depends on. From it:

- scalars map to the Arrow type of the same width (`sint32`/`sfixed32` to
  int32, `fixed64` to uint64, ...), `bytes` to binary, `string` to string;
- enums are stored by value name (a string), so rows stay readable without
  the descriptor;
- messages become structs (null when not set), `repeated` fields lists, and
  map fields lists of `{key, value}` structs (Arrow maps are neither queryable
  through the SDK nor decodable when empty);
- a message type that contains itself is stored, at the point of recursion,
  as its serialized bytes.

All fields are nullable, as in the ROS generic fallback. The topic's tag is
``protobuf:<full message name>``: the prefix keeps it apart from ontology
tags, ROS generic tags and JSON channel tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from mosaico_ros.adapters.errors import AdapterError

if TYPE_CHECKING:
    from google.protobuf.message import Message as ProtoMessage

_SCALARS: dict[int, pa.DataType] = {
    FieldDescriptor.TYPE_DOUBLE: pa.float64(),
    FieldDescriptor.TYPE_FLOAT: pa.float32(),
    FieldDescriptor.TYPE_INT64: pa.int64(),
    FieldDescriptor.TYPE_SINT64: pa.int64(),
    FieldDescriptor.TYPE_SFIXED64: pa.int64(),
    FieldDescriptor.TYPE_UINT64: pa.uint64(),
    FieldDescriptor.TYPE_FIXED64: pa.uint64(),
    FieldDescriptor.TYPE_INT32: pa.int32(),
    FieldDescriptor.TYPE_SINT32: pa.int32(),
    FieldDescriptor.TYPE_SFIXED32: pa.int32(),
    FieldDescriptor.TYPE_UINT32: pa.uint32(),
    FieldDescriptor.TYPE_FIXED32: pa.uint32(),
    FieldDescriptor.TYPE_BOOL: pa.bool_(),
    FieldDescriptor.TYPE_STRING: pa.string(),
    FieldDescriptor.TYPE_BYTES: pa.binary(),
    FieldDescriptor.TYPE_ENUM: pa.string(),
}


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf 6 deprecated `label` and 7 removed it in favour of `is_repeated`.
    if hasattr(field, 'is_repeated'):
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return bool(message is not None and message.GetOptions().map_entry)


def _value_type(field: FieldDescriptor, stack: tuple[str, ...]) -> pa.DataType:
    """Arrow type of one value of the field (an element, for repeated fields)."""
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return _SCALARS[field.type]
    message = field.message_type
    if message.full_name in stack:
        return pa.binary()
    return message_struct(message, stack)


def message_struct(message: Descriptor, stack: tuple[str, ...] = ()) -> pa.StructType:
    """Arrow struct of a protobuf message type.

    Args:
        message: The message descriptor.
        stack: Message names being expanded, to stop at recursion.

    Returns:
        One nullable field per protobuf field, in declaration order.

    """
    inner = (*stack, message.full_name)
    fields = []
    for field in message.fields:
        kind = _value_type(field, inner)
        if _is_repeated(field):
            kind = pa.list_(kind)
        fields.append(pa.field(field.name, kind))
    return pa.struct(fields)


def _row(message: ProtoMessage, descriptor: Descriptor, stack: tuple[str, ...]) -> dict[str, Any]:
    inner = (*stack, descriptor.full_name)
    row: dict[str, Any] = {}
    for field in descriptor.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name['value']
            row[field.name] = [
                {'key': key, 'value': _value(item, value_field, inner)}
                for key, item in value.items()
            ]
        elif _is_repeated(field):
            row[field.name] = [_value(item, field, inner) for item in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
            row[field.name] = None
        else:
            row[field.name] = _value(value, field, inner)
    return row


def _value(value: Any, field: FieldDescriptor, stack: tuple[str, ...]) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        named = field.enum_type.values_by_number.get(value)
        return named.name if named is not None else str(value)
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    if field.message_type.full_name in stack:
        return value.SerializeToString()
    return _row(value, field.message_type, stack)


class ProtobufChannelAdapter:
    """Stores protobuf-encoded MCAP channels with a schema derived from their descriptor set."""

    name = 'protobuf'
    serialization_format = 'default'

    def __init__(self, schema_name: str, descriptor_set: bytes) -> None:
        """Load the descriptor set of the channel's schema.

        Args:
            schema_name: Full name of the channel's message type.
            descriptor_set: Serialized ``FileDescriptorSet`` defining it.

        Raises:
            AdapterError: The schema is not a FileDescriptorSet holding the
                channel's message type.

        """
        self.msgtype = schema_name
        self.tag = f'protobuf:{self.msgtype}'
        try:
            files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
            pool = descriptor_pool.DescriptorPool()
            for file in files.file:
                pool.Add(file)
            self._descriptor = pool.FindMessageTypeByName(self.msgtype)
        except (DecodeError, KeyError, TypeError) as err:
            msg = (
                f'protobuf schema {self.msgtype!r} is not a FileDescriptorSet '
                f'defining that message ({type(err).__name__}: {err})'
            )
            raise AdapterError(msg) from err
        self._message_class = message_factory.GetMessageClass(self._descriptor)
        self.struct_type: pa.StructType = message_struct(self._descriptor)

    def decode(self, data: bytes | memoryview) -> ProtoMessage:
        """Parse one payload."""
        return self._message_class.FromString(bytes(data))

    def to_arrow(self, msgs: Sequence[ProtoMessage], msgtype: str) -> pa.StructArray:
        """Convert parsed messages into one struct array."""
        del msgtype
        rows = [_row(message, self._descriptor, ()) for message in msgs]
        return pa.array(rows, type=self.struct_type)
