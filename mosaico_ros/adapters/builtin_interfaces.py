"""``builtin_interfaces``: Time and Duration.

``sec``/``nanosec`` map to ``seconds``/``nanoseconds`` one to one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters import columns, rows
from mosaico_ros.adapters.registry import RosAdapter, register_adapter
from mosaico_ros.ontology import Duration, Time

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore


class _StampAdapter(RosAdapter):
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        return columns.struct_array(
            self.struct_type,
            len(msgs),
            {
                'seconds': columns.pluck(msgs, 'sec'),
                'nanoseconds': columns.pluck(msgs, 'nanosec'),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        return factory.times(
            rows.numbers(arr.field('seconds')),
            rows.numbers(arr.field('nanoseconds')),
            self.target_msgtype(msgtype),
        )


@register_adapter
class TimeAdapter(_StampAdapter):
    """``builtin_interfaces/msg/Time`` <-> ``Time``."""

    ros_types = ('builtin_interfaces/msg/Time',)
    model = Time


@register_adapter
class DurationAdapter(_StampAdapter):
    """``builtin_interfaces/msg/Duration`` <-> ``Duration``."""

    ros_types = ('builtin_interfaces/msg/Duration',)
    model = Duration
