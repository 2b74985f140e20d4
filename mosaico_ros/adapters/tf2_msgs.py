"""``tf2_msgs``: TFMessage (and ROS 1's ``tf/tfMessage``, the same bytes) -> ``FrameTransform``.

Each ``TransformStamped`` becomes a ``Transform`` with its own header and the child
frame as ``target_frame_id`` (null when empty). TFMessage has no header, so the
model has none at top level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters import columns, ros_columns, rows
from mosaico_ros.adapters.geometry_msgs import (
    TRANSFORM,
    composite_array,
    composite_columns,
    composite_values,
)
from mosaico_ros.adapters.registry import RosAdapter, register_adapter
from mosaico_ros.ontology import FrameTransform

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore


@register_adapter
class FrameTransformAdapter(RosAdapter):
    """``tf2_msgs/msg/TFMessage`` and ROS 1 ``tf/msg/tfMessage`` <-> ``FrameTransform``."""

    ros_types = ('tf2_msgs/msg/TFMessage', 'tf/msg/tfMessage')
    model = FrameTransform
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Flatten all transforms of the batch once, then split per message."""
        return columns.struct_array(
            self.struct_type,
            len(msgs),
            {
                'transforms': columns.nested_list_array(
                    columns.pluck(msgs, 'transforms'),
                    columns.child_type(self.struct_type, 'transforms'),
                    lambda stamped, stype: composite_array(
                        columns.pluck(stamped, 'transform'),
                        stype,
                        TRANSFORM,
                        headers=columns.pluck(stamped, 'header'),
                        child_frames=columns.pluck(stamped, 'child_frame_id'),
                    ),
                ),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild TF messages."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        parts = rows.list_parts(arr.field('transforms'))
        flat = parts.values
        stamped = factory.assemble(
            'geometry_msgs/msg/TransformStamped',
            {
                'header': factory.headers(flat.field('header'), len(flat)),
                'child_frame_id': rows.strings(flat.field('target_frame_id')),
                **composite_values(flat, 'transform.', TRANSFORM),
            },
            len(flat),
        )
        return factory.assemble(
            self.target_msgtype(msgtype),
            {'transforms': parts.split(stamped)},
            len(arr),
        )

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns: every transform of the batch at once, then split."""
        arr = rows.as_struct(data)
        parts = rows.list_parts(arr.field('transforms'))
        flat = parts.values
        stamped = ros_columns.assemble(
            {
                'header': ros_columns.headers(flat.field('header'), len(flat)),
                'child_frame_id': ros_columns.strings(flat.field('target_frame_id')),
                **composite_columns(flat, 'transform.', TRANSFORM),
            }
        )
        return ros_columns.assemble({'transforms': ros_columns.split(parts, stamped)})
