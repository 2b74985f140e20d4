"""Models the ROS bridge defines for messages with no platform model."""

from enum import IntEnum
from typing import Annotated

import pyarrow as pa

from .field_types import MosaicoType
from .fields import MosaicoField
from .geometry import Transform
from .mixins import HeaderMixin
from .serializable import Serializable


class PointFieldDataType(IntEnum):
    """Scalar type of a PointCloud2 field (sensor_msgs/PointField constants)."""

    INT8 = 1
    UINT8 = 2
    INT16 = 3
    UINT16 = 4
    INT32 = 5
    UINT32 = 6
    FLOAT32 = 7
    FLOAT64 = 8


class BatteryState(Serializable, HeaderMixin):
    """State of a battery (sensor_msgs/BatteryState)."""

    voltage: MosaicoType.float32 = MosaicoField(description='The battery voltage in V.')
    temperature: MosaicoType.float32 | None = MosaicoField(
        None,
        description='The battery temperature in °C',
    )
    current: MosaicoType.float32 | None = MosaicoField(
        None,
        description='Optional battery charge in A.',
    )
    charge: MosaicoType.float32 | None = MosaicoField(
        None,
        description='Optional battery charge in Ah.',
    )
    capacity: MosaicoType.float32 | None = MosaicoField(
        None,
        description='Optional batterty capacity in Ah.',
    )
    design_capacity: MosaicoType.float32 | None = MosaicoField(
        None,
        description='Optional battery design capacity in Ah.',
    )
    percentage: MosaicoType.float32 = MosaicoField(description='Battery percentage in %.')
    power_supply_status: MosaicoType.uint8 = MosaicoField(description='The charging status.')
    power_supply_health: MosaicoType.uint8 = MosaicoField(description='The battery health.')
    power_supply_technology: MosaicoType.uint8 = MosaicoField(description='The battery technology.')
    present: MosaicoType.bool = MosaicoField(description='Battery presence.')
    location: MosaicoType.string = MosaicoField(description='Battery location (like the slot).')
    serial_number: MosaicoType.string = MosaicoField(description='Battery serial number.')
    cell_voltage: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Battery cells voltage.',
    )
    cell_temperature: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Battery cells temperature.',
    )


class FrameTransform(Serializable):
    """A set of transforms between frames (a tf message)."""

    transforms: list[Transform] = MosaicoField(
        description='List of coordinate frames transformations.',
    )


class PointField(Serializable):
    """One field of a PointCloud2 point layout."""

    name: MosaicoType.string = MosaicoField(description='Name of the field.')
    offset: MosaicoType.uint32 = MosaicoField(description='Staring position of the field.')
    datatype: PointFieldDataType = MosaicoField(description='Datatype of the field.')
    count: MosaicoType.uint32 = MosaicoField(description='Number of elements in the point field.')


class PointCloud2(Serializable, HeaderMixin):
    """A packed point cloud as in sensor_msgs/PointCloud2."""

    height: MosaicoType.uint32 = MosaicoField(description='The height of the point cloud.')
    width: MosaicoType.uint32 = MosaicoField(description='The width of the point cloud.')
    fields: list[PointField] = MosaicoField(description='The fields of the point cloud.')
    is_bigendian: MosaicoType.bool = MosaicoField(description='Whether the data is big-endian.')
    point_step: MosaicoType.uint32 = MosaicoField(description='Length of a point in bytes.')
    row_step: MosaicoType.uint32 = MosaicoField(description='Length of a row in bytes.')
    data: MosaicoType.binary = MosaicoField(
        description='The point cloud data. Expected size: row_step * height bytes.',
    )
    is_dense: MosaicoType.bool = MosaicoField(description='True if there are no invalid points.')
