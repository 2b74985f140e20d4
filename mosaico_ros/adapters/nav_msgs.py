"""``nav_msgs``: Odometry, Path, maps and grid cells.

``Odometry`` becomes ``MotionState``: ``child_frame_id`` -> ``target_frame_id``, the
pose covariance on ``pose.covariance`` and the twist covariance on
``velocity.covariance`` (each only when an element is > 0), ``acceleration`` null.
``Path`` poses keep their own headers; ``MapMetaData`` has no header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mosaico_ros.adapters import columns, ros_columns, rows
from mosaico_ros.adapters.geometry_msgs import (
    POSE,
    TWIST,
    composite_array,
    composite_columns,
    composite_values,
    covariance_columns,
    covariance_values,
    point_lists,
    vector_array,
)
from mosaico_ros.adapters.registry import RosAdapter, register_adapter
from mosaico_ros.adapters.sensor_msgs import _HeaderedAdapter
from mosaico_ros.ontology import GridCells, MapMetadata, MotionState, OccupancyGrid, RobotPath

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore


@register_adapter
class OdometryAdapter(_HeaderedAdapter):
    """``nav_msgs/msg/Odometry`` <-> ``MotionState``."""

    ros_types = ('nav_msgs/msg/Odometry',)
    model = MotionState
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Pose and twist with their covariances on the inner objects."""
        stype = self.struct_type
        return self.build(
            msgs,
            {
                'pose': composite_array(
                    columns.pluck(msgs, 'pose.pose'),
                    columns.child_type(stype, 'pose'),
                    POSE,
                    covariances=columns.pluck(msgs, 'pose.covariance'),
                ),
                'velocity': composite_array(
                    columns.pluck(msgs, 'twist.twist'),
                    columns.child_type(stype, 'velocity'),
                    TWIST,
                    covariances=columns.pluck(msgs, 'twist.covariance'),
                ),
                'target_frame_id': columns.pluck(msgs, 'child_frame_id'),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild odometry; dropped covariances are zeros."""
        arr = rows.as_struct(data)
        pose = arr.field('pose')
        velocity = arr.field('velocity')
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                'child_frame_id': rows.strings(arr.field('target_frame_id')),
                **composite_values(pose, 'pose.pose.', POSE),
                'pose.covariance': covariance_values(pose.field('covariance'), 36),
                **composite_values(velocity, 'twist.twist.', TWIST),
                'twist.covariance': covariance_values(velocity.field('covariance'), 36),
            },
        )

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        arr = rows.as_struct(data)
        pose = arr.field('pose')
        velocity = arr.field('velocity')
        return self.assemble_columns(
            arr,
            {
                'child_frame_id': ros_columns.strings(arr.field('target_frame_id')),
                **composite_columns(pose, 'pose.pose.', POSE),
                'pose.covariance': covariance_columns(pose.field('covariance'), 36),
                **composite_columns(velocity, 'twist.twist.', TWIST),
                'twist.covariance': covariance_columns(velocity.field('covariance'), 36),
            },
        )


@register_adapter
class RobotPathAdapter(_HeaderedAdapter):
    """``nav_msgs/msg/Path`` <-> ``RobotPath`` (each pose keeps its header)."""

    ros_types = ('nav_msgs/msg/Path',)
    model = RobotPath
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Flatten every PoseStamped once, then split by path."""
        return self.build(
            msgs,
            {
                'poses': columns.nested_list_array(
                    columns.pluck(msgs, 'poses'),
                    columns.child_type(self.struct_type, 'poses'),
                    lambda stamped, stype: composite_array(
                        columns.pluck(stamped, 'pose'),
                        stype,
                        POSE,
                        headers=columns.pluck(stamped, 'header'),
                    ),
                )
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild paths of PoseStamped."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        parts = rows.list_parts(arr.field('poses'))
        flat = parts.values
        stamped = factory.assemble(
            'geometry_msgs/msg/PoseStamped',
            {
                'header': factory.headers(flat.field('header'), len(flat)),
                **composite_values(flat, 'pose.', POSE),
            },
            len(flat),
        )
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {'poses': parts.split(stamped)},
        )


def map_metadata_array(infos: columns.Batch, stype: pa.StructType) -> pa.StructArray:
    """MapMetadata structs from ROS ``MapMetaData`` objects, or their column."""
    time_type = columns.child_type(stype, 'map_load_time')
    return columns.struct_array(
        stype,
        len(infos),
        {
            'map_load_time': columns.struct_array(
                time_type,
                len(infos),
                {
                    'seconds': columns.pluck(infos, 'map_load_time.sec'),
                    'nanoseconds': columns.pluck(infos, 'map_load_time.nanosec'),
                },
            ),
            'resolution': columns.pluck(infos, 'resolution'),
            'width': columns.pluck(infos, 'width'),
            'height': columns.pluck(infos, 'height'),
            'origin': composite_array(
                columns.pluck(infos, 'origin'), columns.child_type(stype, 'origin'), POSE
            ),
        },
    )


def map_metadata_values(arr: pa.Array, prefix: str) -> dict[str, list[Any]]:
    """ROS ``MapMetaData`` leaves of a MapMetadata column."""
    load_time = arr.field('map_load_time')
    return {
        f'{prefix}map_load_time.sec': rows.numbers(load_time.field('seconds')),
        f'{prefix}map_load_time.nanosec': rows.numbers(load_time.field('nanoseconds')),
        f'{prefix}resolution': rows.numbers(arr.field('resolution')),
        f'{prefix}width': rows.numbers(arr.field('width')),
        f'{prefix}height': rows.numbers(arr.field('height')),
        **composite_values(arr.field('origin'), f'{prefix}origin.', POSE),
    }


@register_adapter
class MapMetadataAdapter(RosAdapter):
    """``nav_msgs/msg/MapMetaData`` <-> ``MapMetadata``."""

    ros_types = ('nav_msgs/msg/MapMetaData',)
    model = MapMetadata
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Load time, resolution, size and origin pose."""
        return map_metadata_array(msgs, self.struct_type)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild map metadata."""
        arr = rows.as_struct(data)
        return rows.RosFactory(typestore).assemble(
            self.target_msgtype(msgtype), map_metadata_values(arr, ''), len(arr)
        )


@register_adapter
class OccupancyGridAdapter(_HeaderedAdapter):
    """``nav_msgs/msg/OccupancyGrid`` <-> ``OccupancyGrid`` (``data`` as ``list<int8>``)."""

    ros_types = ('nav_msgs/msg/OccupancyGrid',)
    model = OccupancyGrid
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Metadata plus the cells concatenated once."""
        stype = self.struct_type
        return self.build(
            msgs,
            {
                'info': map_metadata_array(
                    columns.pluck(msgs, 'info'), columns.child_type(stype, 'info')
                ),
                'data': columns.list_array(
                    columns.pluck(msgs, 'data'), columns.child_type(stype, 'data')
                ),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild grids."""
        arr = rows.as_struct(data)
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                **map_metadata_values(arr.field('info'), 'info.'),
                'data': rows.arrays(arr.field('data'), np.int8),
            },
        )


@register_adapter
class GridCellsAdapter(_HeaderedAdapter):
    """``nav_msgs/msg/GridCells`` <-> ``GridCells``."""

    ros_types = ('nav_msgs/msg/GridCells',)
    model = GridCells
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Cell size and the cell centres as Point3d."""
        return self.build(
            msgs,
            {
                'cell_width': columns.pluck(msgs, 'cell_width'),
                'cell_height': columns.pluck(msgs, 'cell_height'),
                'cells': columns.nested_list_array(
                    columns.pluck(msgs, 'cells'),
                    columns.child_type(self.struct_type, 'cells'),
                    vector_array,
                ),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild grid cells."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                'cell_width': rows.numbers(arr.field('cell_width')),
                'cell_height': rows.numbers(arr.field('cell_height')),
                'cells': point_lists(arr.field('cells'), factory, 'geometry_msgs/msg/Point'),
            },
        )
