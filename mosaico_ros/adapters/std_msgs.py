"""``std_msgs``: Header and the primitive wrappers.

``Header``: ``stamp`` -> ``timestamp``, ROS 1 ``seq`` -> ``sample_counter``. Unlike a
header *inside* a message, a topic of bare headers keeps empty headers as rows:
a null row would crash the SDK's reader (it cannot decode an all-null payload).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters import columns, ros_columns, rows
from mosaico_ros.adapters.registry import RosAdapter, register_adapter
from mosaico_ros.ontology import (
    Boolean,
    Floating32,
    Floating64,
    Header,
    Integer8,
    Integer16,
    Integer32,
    Integer64,
    String,
    Unsigned8,
    Unsigned16,
    Unsigned32,
    Unsigned64,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore


@register_adapter
class HeaderAdapter(RosAdapter):
    """``std_msgs/msg/Header`` <-> ``Header``."""

    ros_types = ('std_msgs/msg/Header',)
    model = Header
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Convert headers, empty ones included."""
        header = columns.header_array(msgs, self.struct_type, keep_empty=True)
        return columns.struct_array(
            self.struct_type,
            len(msgs),
            {name: header.field(name) for name in self.struct_type.names},
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild headers; ``seq`` is 0 on ROS 1."""
        arr = rows.as_struct(data)
        return rows.RosFactory(typestore).headers(arr, len(arr))

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        arr = rows.as_struct(data)
        return ros_columns.headers(arr, len(arr))


class _DataAdapter(RosAdapter):
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        return columns.struct_array(
            self.struct_type,
            len(msgs),
            {
                'data': columns.pluck(msgs, 'data'),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        arr = rows.as_struct(data)
        column = arr.field('data')
        values = (
            rows.strings(column)
            if self.model is String
            else rows.numbers(column, False if self.model is Boolean else 0)
        )
        return rows.RosFactory(typestore).build(
            self.target_msgtype(msgtype), {'data': values}, len(arr)
        )

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        column = rows.as_struct(data).field('data')
        if self.model is String:
            return ros_columns.assemble({'data': ros_columns.strings(column)})
        fill = False if self.model is Boolean else 0
        return ros_columns.assemble({'data': ros_columns.numbers(column, fill)})


def _data_adapter(name: str, msgtype: str, model: Any) -> type[RosAdapter]:
    cls = type(
        name,
        (_DataAdapter,),
        {
            '__doc__': f'``{msgtype}`` <-> ``{model.__name__}`` (``data`` only).',
            '__module__': __name__,
            'ros_types': (msgtype,),
            'model': model,
        },
    )
    return register_adapter(cls)


BooleanStdAdapter = _data_adapter('BooleanStdAdapter', 'std_msgs/msg/Bool', Boolean)
Floating32StdAdapter = _data_adapter('Floating32StdAdapter', 'std_msgs/msg/Float32', Floating32)
Floating64StdAdapter = _data_adapter('Floating64StdAdapter', 'std_msgs/msg/Float64', Floating64)
Integer8StdAdapter = _data_adapter('Integer8StdAdapter', 'std_msgs/msg/Int8', Integer8)
Integer16StdAdapter = _data_adapter('Integer16StdAdapter', 'std_msgs/msg/Int16', Integer16)
Integer32StdAdapter = _data_adapter('Integer32StdAdapter', 'std_msgs/msg/Int32', Integer32)
Integer64StdAdapter = _data_adapter('Integer64StdAdapter', 'std_msgs/msg/Int64', Integer64)
Unsigned8StdAdapter = _data_adapter('Unsigned8StdAdapter', 'std_msgs/msg/UInt8', Unsigned8)
Unsigned16StdAdapter = _data_adapter('Unsigned16StdAdapter', 'std_msgs/msg/UInt16', Unsigned16)
Unsigned32StdAdapter = _data_adapter('Unsigned32StdAdapter', 'std_msgs/msg/UInt32', Unsigned32)
Unsigned64StdAdapter = _data_adapter('Unsigned64StdAdapter', 'std_msgs/msg/UInt64', Unsigned64)
StringStdAdapter = _data_adapter('StringStdAdapter', 'std_msgs/msg/String', String)
