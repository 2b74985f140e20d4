"""``sensor_msgs``: IMU, GPS, images, camera info, scans, clouds and the scalar sensors.

Conventions kept for SDK compatibility (lossy or odd, but a sequence we write
must read like one the SDK writes from the same bag):

- ``Imu``: ``orientation`` is null when ``orientation_covariance[0] == -1``; each
  covariance sits on its own vector and only when an element is > 0. Back to ROS
  a null orientation is quaternion 0,0,0,0 with covariance all -1.
- ``NavSatFix``: latitude/longitude/altitude -> ``position.x/y/z``; the covariance
  and its type are kept only when an element is > 0; ``status`` only when
  ``status.status >= -1``; ``velocity`` is never set. A missing status goes back
  as ``status=-1, service=0``.
- ``Image``: ``data`` is stored ``raw`` (the buffer as it is; the chunk's zstd
  compresses it) by default. The opt-in `PngImageAdapter` (``--image-format png``)
  PNG-packs it as the SDK's injector does (`mosaico_ros.ontology.image_packing`: the
  buffer reshaped to (height, step) as an 8-bit grayscale PNG at zlib level 1, not a
  viewable picture); an empty image stays ``raw`` (PNG cannot hold zero rows).
  ``bench/images.py`` chose the default: raw stores 4 to 20 times faster and reads 5
  times faster; PNG is a quarter to a third smaller on real camera images, the same
  on synthetic ones.
- ``CompressedImage``: the format string is reduced to its codec; the pixel
  encoding is dropped and comes back as the bare codec (``'jpeg'``).
- ``Temperature``: stored in Kelvin (+273.15), so a round trip rounds in float64.
- ``FluidPressure``/``Temperature``: ``variance`` only when > 0.
- ``BatteryState``: NaN temperature/current/charge/capacity/design_capacity -> null,
  empty cell arrays -> null (both come back as NaN / empty).
- ``CameraInfo``: ``binning`` only when both factors > 1 (comes back as 0, 0);
  ``roi`` null when all-zero with ``do_rectify`` false.
- ``MagneticField``: Tesla copied as-is, although the model documents microtesla.
- ``LaserScan``/``MultiEchoLaserScan``: empty ``intensities`` -> null.
- ``Range`` has no adapter in the SDK either; it goes through the generic path.

Opt-in PointCloud2 adapters (Lidar, Radar, RGBDCamera, ToFCamera, StereoCamera)
decode the binary cloud per field name with numpy; fields with ``count > 1`` are
rejected. Back to ROS they pack one ``PointField`` per non-null column, in model
order, native endianness, ``height=1``; unlike the SDK they also restore the header.
"""

from __future__ import annotations

import math
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pyarrow as pa

from mosaico_ros.adapters import columns, ros_columns, rows
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.geometry_msgs import (
    XYZ,
    XYZW,
    covariance_columns,
    covariance_values,
    vector_array,
    vector_columns,
    vector_values,
)
from mosaico_ros.adapters.registry import AdapterRegistry, RosAdapter, register_adapter
from mosaico_ros.ontology import (
    GPS,
    IMU,
    ROI,
    BatteryState,
    CameraInfo,
    CompressedImage,
    Image,
    Joy,
    LaserScan,
    Lidar,
    Magnetometer,
    MultiEchoLaserScan,
    PointCloud2,
    Pressure,
    Radar,
    RGBDCamera,
    RobotJoint,
    StereoCamera,
    Temperature,
    ToFCamera,
)
from mosaico_ros.ontology.errors import ConversionError
from mosaico_ros.ontology.image_packing import pack_png, unpack_png

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray
    from rosbags.typesys.store import Typestore

KELVIN_OFFSET = 273.15

ImageFormat = Literal['raw', 'png']
"""How an ``Image``'s ``data`` is stored (the two formats the SDK's ``Image`` writes)."""


class _HeaderedAdapter(RosAdapter):
    """Adapters of ROS types with a top-level ``header``."""

    def header(self, msgs: columns.Batch) -> pa.StructArray:
        """Ontology header column of `msgs` (empty headers -> null)."""
        return columns.header_array(
            columns.pluck(msgs, 'header'), columns.child_type(self.struct_type, 'header')
        )

    def build(self, msgs: columns.Batch, children: dict[str, Any]) -> pa.StructArray:
        """Struct array of the model with the header added."""
        children['header'] = self.header(msgs)
        return columns.struct_array(self.struct_type, len(msgs), children)

    def assemble(
        self, arr: pa.StructArray, msgtype: str, typestore: Typestore, values: dict[str, list[Any]]
    ) -> list[Any]:
        """ROS messages of `msgtype` from leaf values plus the header column."""
        factory = rows.RosFactory(typestore)
        values['header'] = factory.headers(arr.field('header'), len(arr))
        return factory.assemble(self.target_msgtype(msgtype), values, len(arr))

    def assemble_columns(self, arr: pa.StructArray, values: dict[str, pa.Array]) -> pa.StructArray:
        """ROS-shaped struct from leaf columns plus the header column (`assemble` in columns)."""
        values['header'] = ros_columns.headers(arr.field('header'), len(arr))
        return ros_columns.assemble(values)


def _positive_or_null(values: columns.Batch, dtype: pa.DataType) -> pa.Array:
    numbers = columns.numbers(values, np.float64)
    return columns.masked(numbers, ~(numbers > 0), dtype)


def _nan_filled(arr: pa.Array) -> list[float]:
    return rows.numbers(arr, math.nan)


@register_adapter
class IMUAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/Imu`` <-> ``IMU``."""

    ros_types = ('sensor_msgs/msg/Imu',)
    model = IMU
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Convert IMU messages; covariances on their own vectors."""
        stype = self.struct_type
        orientation_cov = columns.stack_rows(columns.pluck(msgs, 'orientation_covariance'))
        has_orientation = orientation_cov[:, 0] != -1 if len(msgs) else None
        return self.build(
            msgs,
            {
                'acceleration': vector_array(
                    columns.pluck(msgs, 'linear_acceleration'),
                    columns.child_type(stype, 'acceleration'),
                    covariances=columns.pluck(msgs, 'linear_acceleration_covariance'),
                ),
                'angular_velocity': vector_array(
                    columns.pluck(msgs, 'angular_velocity'),
                    columns.child_type(stype, 'angular_velocity'),
                    covariances=columns.pluck(msgs, 'angular_velocity_covariance'),
                ),
                'orientation': vector_array(
                    columns.pluck(msgs, 'orientation'),
                    columns.child_type(stype, 'orientation'),
                    XYZW,
                    covariances=orientation_cov,
                    valid=has_orientation,
                ),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild IMU messages; no orientation => 0,0,0,0 with covariance all -1."""
        arr = rows.as_struct(data)
        accel = arr.field('acceleration')
        gyro = arr.field('angular_velocity')
        orientation = arr.field('orientation')
        has_orientation = rows.valid(orientation)
        orientation_cov = covariance_values(orientation.field('covariance'), 9)
        for i in np.flatnonzero(~has_orientation):
            orientation_cov[i] = np.full(9, -1.0)
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                **vector_values(accel, 'linear_acceleration.'),
                'linear_acceleration_covariance': covariance_values(accel.field('covariance'), 9),
                **vector_values(gyro, 'angular_velocity.'),
                'angular_velocity_covariance': covariance_values(gyro.field('covariance'), 9),
                **vector_values(orientation, 'orientation.', XYZW),
                'orientation_covariance': orientation_cov,
            },
        )

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        arr = rows.as_struct(data)
        accel = arr.field('acceleration')
        gyro = arr.field('angular_velocity')
        orientation = arr.field('orientation')
        has_orientation = rows.valid(orientation)
        orientation_cov = ros_columns.arrays(
            ros_columns.arrays(orientation.field('covariance'), np.float64, 9),
            np.float64,
            9,
            -1.0,
            has_orientation,
        )
        return self.assemble_columns(
            arr,
            {
                **vector_columns(accel, 'linear_acceleration.'),
                'linear_acceleration_covariance': covariance_columns(accel.field('covariance'), 9),
                **vector_columns(gyro, 'angular_velocity.'),
                'angular_velocity_covariance': covariance_columns(gyro.field('covariance'), 9),
                **vector_columns(orientation, 'orientation.', XYZW),
                'orientation_covariance': orientation_cov,
            },
        )


@register_adapter
class GPSAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/NavSatFix`` <-> ``GPS``."""

    ros_types = ('sensor_msgs/msg/NavSatFix',)
    model = GPS
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Convert fixes; latitude/longitude/altitude become position x/y/z."""
        stype = self.struct_type
        count = len(msgs)
        cov = columns.covariance_array(
            columns.pluck(msgs, 'position_covariance'),
            columns.child_type(stype, 'position', 'covariance'),
        )
        cov_types = columns.masked(
            columns.numbers(columns.pluck(msgs, 'position_covariance_type')),
            ~rows.valid(cov),
            columns.child_type(stype, 'position', 'covariance_type'),
        )
        position = columns.struct_array(
            columns.child_type(stype, 'position'),
            count,
            {
                'x': columns.pluck(msgs, 'latitude'),
                'y': columns.pluck(msgs, 'longitude'),
                'z': columns.pluck(msgs, 'altitude'),
                'covariance': cov,
                'covariance_type': cov_types,
            },
        )
        status_values = columns.pluck(msgs, 'status.status')
        status = columns.struct_array(
            columns.child_type(stype, 'status'),
            count,
            {'status': status_values, 'service': columns.pluck(msgs, 'status.service')},
            columns.numbers(status_values, np.int64) >= -1 if count else None,
        )
        return self.build(msgs, {'position': position, 'status': status})

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild fixes; a missing status is ``-1``/``0``."""
        arr = rows.as_struct(data)
        position = arr.field('position')
        status = arr.field('status')
        has_status = rows.valid(status)
        has_cov = rows.valid(position.field('covariance'))
        xyz = vector_values(position, '')
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                'latitude': xyz['x'],
                'longitude': xyz['y'],
                'altitude': xyz['z'],
                'position_covariance': covariance_values(position.field('covariance'), 9),
                'position_covariance_type': rows.numbers(
                    position.field('covariance_type'), 0, has_cov
                ),
                'status.status': rows.numbers(status.field('status'), -1, has_status),
                'status.service': rows.numbers(status.field('service'), 0, has_status),
            },
        )

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        arr = rows.as_struct(data)
        position = arr.field('position')
        status = arr.field('status')
        has_status = rows.valid(status)
        has_cov = rows.valid(position.field('covariance'))
        xyz = vector_columns(position, '')
        return self.assemble_columns(
            arr,
            {
                'latitude': xyz['x'],
                'longitude': xyz['y'],
                'altitude': xyz['z'],
                'position_covariance': covariance_columns(position.field('covariance'), 9),
                'position_covariance_type': ros_columns.numbers(
                    position.field('covariance_type'), 0, has_cov
                ),
                'status.status': ros_columns.numbers(status.field('status'), -1, has_status),
                'status.service': ros_columns.numbers(status.field('service'), 0, has_status),
            },
        )


@register_adapter
class ImageAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/Image`` <-> ``Image`` (``data`` raw; reads PNG-packed rows too)."""

    ros_types = ('sensor_msgs/msg/Image',)
    model = Image
    columnar = True
    image_format: ClassVar[ImageFormat] = 'raw'
    """How ``data`` is stored: 'raw' keeps it as it is for the chunk's own compression,
    'png' packs each buffer (one zlib pass per image, as the SDK's injector does)."""

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Keep or PNG-pack each image buffer, as `image_format` says."""
        heights = columns.pluck(msgs, 'height')
        steps = columns.pluck(msgs, 'step')
        data = columns.pluck(msgs, 'data')
        sizes = columns.lengths(data)
        lines, strides = columns.numbers(heights, np.int64), columns.numbers(steps, np.int64)
        expected = lines * strides
        wrong = np.flatnonzero(sizes != expected)
        if len(wrong):
            first = wrong[0]
            raise AdapterError(
                f'sensor_msgs/msg/Image: data has {sizes[first]} bytes, '
                f'height*step is {expected[first]}'
            )
        if self.image_format == 'raw':
            stored, formats = columns.binary_array(data), ['raw'] * len(sizes)
        else:
            stored, formats = _png_packed(data, lines, strides)
        return self.build(
            msgs,
            {
                'data': stored,
                'format': formats,
                'width': columns.pluck(msgs, 'width'),
                'height': heights,
                'stride': steps,
                'encoding': columns.pluck(msgs, 'encoding'),
                'is_bigendian': columns.truthy(columns.pluck(msgs, 'is_bigendian')),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Un-pack PNG or raw buffers back to the exact ROS bytes."""
        arr = rows.as_struct(data)
        formats = rows.strings(arr.field('format'))
        heights = rows.numbers(arr.field('height'))
        strides = rows.numbers(arr.field('stride'))
        buffers = []
        for index, (fmt, payload) in enumerate(
            zip(formats, rows.binaries(arr.field('data')), strict=True)
        ):
            if fmt == 'png':
                try:
                    raw = unpack_png(payload.tobytes(), strides[index], heights[index])
                except ConversionError as err:
                    raise AdapterError(f'Image row {index}: {err}') from err
                buffers.append(np.frombuffer(raw, np.uint8))
            elif fmt == 'raw':
                buffers.append(payload)
            else:
                raise AdapterError(f'Image row {index}: format {fmt!r} cannot become a ROS Image')
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                'height': heights,
                'width': rows.numbers(arr.field('width')),
                'step': strides,
                'encoding': rows.strings(arr.field('encoding')),
                'is_bigendian': [int(v) for v in rows.numbers(arr.field('is_bigendian'), False)],
                'data': buffers,
            },
        )


def _png_packed(
    data: columns.Batch, heights: NDArray[np.int64], strides: NDArray[np.int64]
) -> tuple[pa.Array, list[str]]:
    """Image buffers PNG-packed (empty ones kept raw), and their formats."""
    payloads: list[bytes] = []
    formats: list[str] = []
    for raw, height, step in zip(
        columns.byte_rows(data), heights.tolist(), strides.tolist(), strict=True
    ):
        if not len(raw):
            payloads.append(b'')
            formats.append('raw')
        else:
            payloads.append(pack_png(raw.tobytes(), step, height))
            formats.append('png')
    return columns.binary_array(payloads), formats


@register_adapter
class PngImageAdapter(ImageAdapter):
    """Opt-in ``sensor_msgs/msg/Image`` <-> ``Image`` with ``data`` PNG-packed, as the SDK does."""

    default = False
    image_format = 'png'


IMAGE_FORMAT_ADAPTERS: dict[ImageFormat, type[ImageAdapter]] = {
    'raw': ImageAdapter,
    'png': PngImageAdapter,
}
"""The adapter storing Images in each format."""


def use_image_format(registry: AdapterRegistry, image_format: ImageFormat) -> None:
    """Make `registry` store ``sensor_msgs/msg/Image`` in `image_format`.

    Nothing changes for the default format, so an Image adapter a user
    registered stays the default.
    """
    if image_format != ImageAdapter.image_format:
        registry.make_default(IMAGE_FORMAT_ADAPTERS[image_format].__name__)


IMAGE_CODECS = ('raw', 'png', 'jpeg', 'jpg', 'tiff', 'h264', 'hevc')
"""Values of the ontology ``ImageFormat``."""


def parse_compressed_format(fmt: str) -> str:
    """Codec of a ROS ``CompressedImage.format`` string, as an ontology image format.

    Empty -> ``png``; one token -> that codec; ``"<enc>; <codec> compressed <enc>"``
    -> 2nd token; ``"<enc>; compressedDepth <codec>"`` -> 3rd token; unknown -> ``raw``.

    Raises:
        AdapterError: The string is ambiguous or not an image_transport format.

    """
    if not fmt:
        return 'png'
    parts = fmt.split()
    if len(parts) == 1:
        codec = parts[0]
    else:
        depth = 'compressedDepth' in parts
        color = 'compressed' in parts
        if depth == color:
            raise AdapterError(f'CompressedImage format {fmt!r} is not an image_transport format')
        index = 1 if color else 2
        codec = parts[index] if len(parts) > index else 'png'
    codec = codec.lower()
    return codec if codec in IMAGE_CODECS else 'raw'


@register_adapter
class CompressedImageAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/CompressedImage`` <-> ``CompressedImage``."""

    ros_types = ('sensor_msgs/msg/CompressedImage',)
    model = CompressedImage
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Copy the payloads; reduce the format string to the codec."""
        cache: dict[str, str] = {}
        formats = []
        for fmt in columns.pylist(columns.pluck(msgs, 'format')):
            if fmt not in cache:
                cache[fmt] = parse_compressed_format(fmt)
            formats.append(cache[fmt])
        return self.build(
            msgs,
            {
                'data': columns.binary_array(columns.pluck(msgs, 'data')),
                'format': formats,
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild with the bare codec as format."""
        arr = rows.as_struct(data)
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                'format': rows.strings(arr.field('format')),
                'data': rows.binaries(arr.field('data')),
            },
        )


class _ListsAdapter(_HeaderedAdapter):
    """Header plus list columns that map one to one."""

    lists: ClassVar[dict[str, tuple[str, Any]]]
    """Model column -> (ROS field, numpy dtype or None for strings)."""
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        return self.build(
            msgs,
            {
                column: columns.list_array(
                    columns.pluck(msgs, field), columns.child_type(self.struct_type, column)
                )
                for column, (field, _) in self.lists.items()
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        arr = rows.as_struct(data)
        values: dict[str, list[Any]] = {}
        for column, (field, dtype) in self.lists.items():
            if dtype is None:
                values[field] = [
                    [item or '' for item in row] if row else []
                    for row in arr.field(column).to_pylist()
                ]
            else:
                values[field] = rows.arrays(arr.field(column), dtype)
        return self.assemble(arr, msgtype, typestore, values)

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns: null lists are empty, null items ``''`` or 0."""
        arr = rows.as_struct(data)
        values: dict[str, pa.Array] = {}
        for column, (field, dtype) in self.lists.items():
            lists = arr.field(column)
            if dtype is None:
                parts = rows.list_parts(lists)
                values[field] = ros_columns.split(parts, ros_columns.strings(parts.values))
            else:
                values[field] = ros_columns.arrays(lists, dtype)
        return self.assemble_columns(arr, values)


@register_adapter
class RobotJointAdapter(_ListsAdapter):
    """``sensor_msgs/msg/JointState`` <-> ``RobotJoint`` (empty arrays stay [])."""

    ros_types = ('sensor_msgs/msg/JointState',)
    model = RobotJoint
    lists = {
        'names': ('name', None),
        'positions': ('position', np.float64),
        'velocities': ('velocity', np.float64),
        'efforts': ('effort', np.float64),
    }


@register_adapter
class JoyAdapter(_ListsAdapter):
    """``sensor_msgs/msg/Joy`` <-> ``Joy``."""

    ros_types = ('sensor_msgs/msg/Joy',)
    model = Joy
    lists = {'axes': ('axes', np.float32), 'buttons': ('buttons', np.int32)}


LASER_SCALARS = (
    'angle_min',
    'angle_max',
    'angle_increment',
    'time_increment',
    'scan_time',
    'range_min',
    'range_max',
)


class _ScanAdapter(_HeaderedAdapter):
    """Scans: the laser scalars plus ``ranges`` and ``intensities`` (empty intensities -> null)."""

    columnar = True

    def readings(
        self, per_row: columns.Batch, list_type: pa.ListType, valid: NDArray[np.bool_] | None
    ) -> pa.ListArray:
        """Build the ``ranges`` or ``intensities`` column from their per-row ROS values."""
        raise NotImplementedError

    def reading_values(self, arr: pa.Array, factory: rows.RosFactory) -> list[Any]:
        """Per-row ROS ``ranges`` or ``intensities`` from their column (null => empty)."""
        raise NotImplementedError

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Convert scans; all readings of the batch are concatenated once."""
        stype = self.struct_type
        intensities = columns.pluck(msgs, 'intensities')
        return self.build(
            msgs,
            {
                **{name: columns.pluck(msgs, name) for name in LASER_SCALARS},
                'ranges': self.readings(
                    columns.pluck(msgs, 'ranges'), columns.child_type(stype, 'ranges'), None
                ),
                'intensities': self.readings(
                    intensities,
                    columns.child_type(stype, 'intensities'),
                    columns.lengths(intensities) > 0,
                ),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild scans; null intensities => empty."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        values: dict[str, list[Any]] = {
            name: rows.numbers(arr.field(name)) for name in LASER_SCALARS
        }
        for name in ('ranges', 'intensities'):
            values[name] = self.reading_values(arr.field(name), factory)
        return self.assemble(arr, msgtype, typestore, values)


@register_adapter
class LaserScanAdapter(_ScanAdapter):
    """``sensor_msgs/msg/LaserScan`` <-> ``LaserScan``."""

    ros_types = ('sensor_msgs/msg/LaserScan',)
    model = LaserScan

    def readings(
        self, per_row: columns.Batch, list_type: pa.ListType, valid: NDArray[np.bool_] | None
    ) -> pa.ListArray:
        """Return one ``float32[]`` list per scan."""
        return columns.list_array(per_row, list_type, valid)

    def reading_values(self, arr: pa.Array, factory: rows.RosFactory) -> list[Any]:
        """Return ``float32`` arrays."""
        return rows.arrays(arr, np.float32)


@register_adapter
class MultiEchoLaserScanAdapter(_ScanAdapter):
    """``sensor_msgs/msg/MultiEchoLaserScan`` <-> ``MultiEchoLaserScan``."""

    ros_types = ('sensor_msgs/msg/MultiEchoLaserScan',)
    model = MultiEchoLaserScan

    def readings(
        self, per_row: columns.Batch, list_type: pa.ListType, valid: NDArray[np.bool_] | None
    ) -> pa.ListArray:
        """Make each ``LaserEcho`` an inner list."""
        return columns.nested_list_array(
            per_row,
            list_type,
            lambda echoes, inner: columns.list_array(columns.pluck(echoes, 'echoes'), inner),
            valid,
        )

    def reading_values(self, arr: pa.Array, factory: rows.RosFactory) -> list[Any]:
        """Return lists of ``LaserEcho``."""
        parts = rows.list_parts(arr)
        flat = parts.values
        echoes = {'echoes': rows.arrays(flat, np.float32)}
        return parts.split(factory.assemble('sensor_msgs/msg/LaserEcho', echoes, len(flat)))


@register_adapter
class MagneticFieldAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/MagneticField`` <-> ``Magnetometer`` (Tesla as-is)."""

    ros_types = ('sensor_msgs/msg/MagneticField',)
    model = Magnetometer
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Field vector with its covariance."""
        return self.build(
            msgs,
            {
                'magnetic_field': vector_array(
                    columns.pluck(msgs, 'magnetic_field'),
                    columns.child_type(self.struct_type, 'magnetic_field'),
                    covariances=columns.pluck(msgs, 'magnetic_field_covariance'),
                )
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild; a dropped covariance is zeros."""
        arr = rows.as_struct(data)
        field = arr.field('magnetic_field')
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                **vector_values(field, 'magnetic_field.'),
                'magnetic_field_covariance': covariance_values(field.field('covariance'), 9),
            },
        )


class _ScalarSensorAdapter(_HeaderedAdapter):
    value_field: ClassVar[str]
    value_offset: ClassVar[float] = 0.0
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        values = (
            columns.numbers(columns.pluck(msgs, self.value_field), np.float64) + self.value_offset
        )
        variance = columns.child_type(self.struct_type, 'variance')
        return self.build(
            msgs,
            {
                'value': values,
                'variance': _positive_or_null(columns.pluck(msgs, 'variance'), variance),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        arr = rows.as_struct(data)
        values = np.asarray(rows.numbers(arr.field('value')), np.float64) - self.value_offset
        return self.assemble(
            arr,
            msgtype,
            typestore,
            {
                self.value_field: values.tolist(),
                'variance': rows.numbers(arr.field('variance')),
            },
        )


@register_adapter
class PressureAdapter(_ScalarSensorAdapter):
    """``sensor_msgs/msg/FluidPressure`` <-> ``Pressure`` (Pa)."""

    ros_types = ('sensor_msgs/msg/FluidPressure',)
    model = Pressure
    value_field = 'fluid_pressure'


@register_adapter
class TemperatureAdapter(_ScalarSensorAdapter):
    """``sensor_msgs/msg/Temperature`` <-> ``Temperature`` (stored in Kelvin)."""

    ros_types = ('sensor_msgs/msg/Temperature',)
    model = Temperature
    value_field = 'temperature'
    value_offset = KELVIN_OFFSET


BATTERY_NULLABLE = ('temperature', 'current', 'charge', 'capacity', 'design_capacity')
BATTERY_PLAIN = (
    'voltage',
    'percentage',
    'power_supply_status',
    'power_supply_health',
    'power_supply_technology',
    'present',
    'location',
    'serial_number',
)


@register_adapter
class BatteryStateAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/BatteryState`` <-> ``BatteryState``."""

    ros_types = ('sensor_msgs/msg/BatteryState',)
    model = BatteryState
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Copy the fields; NaN and empty arrays (or fields ROS 1 lacks) become null."""
        stype = self.struct_type
        fields = columns.field_names(msgs)
        children: dict[str, Any] = {name: columns.pluck(msgs, name) for name in BATTERY_PLAIN}
        for name in BATTERY_NULLABLE:
            if name in fields:
                values = columns.numbers(columns.pluck(msgs, name), np.float64)
                children[name] = columns.masked(
                    values, np.isnan(values), columns.child_type(stype, name)
                )
        for name in ('cell_voltage', 'cell_temperature'):
            if name in fields:
                cells = columns.pluck(msgs, name)
                children[name] = columns.list_array(
                    cells, columns.child_type(stype, name), columns.lengths(cells) > 0
                )
        return self.build(msgs, children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild; nulls come back as NaN / empty arrays."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        target = self.target_msgtype(msgtype)
        fields = set(factory.field_names(target))
        values: dict[str, list[Any]] = {}
        for name in BATTERY_PLAIN:
            column = arr.field(name)
            values[name] = (
                rows.strings(column) if pa.types.is_string(column.type) else (rows.numbers(column))
            )
        for name in BATTERY_NULLABLE:
            if name in fields:
                values[name] = _nan_filled(arr.field(name))
        for name in ('cell_voltage', 'cell_temperature'):
            if name in fields:
                values[name] = rows.arrays(arr.field(name), np.float32)
        return self.assemble(arr, msgtype, typestore, values)


ROI_FIELDS = ('x_offset', 'y_offset', 'height', 'width', 'do_rectify')


def roi_array(rois: columns.Batch, stype: pa.StructType, *, drop_empty: bool) -> pa.StructArray:
    """ROI structs; with `drop_empty`, all-zero ROIs without rectification are null."""
    count = len(rois)
    x = columns.pluck(rois, 'x_offset')
    y = columns.pluck(rois, 'y_offset')
    height = columns.pluck(rois, 'height')
    width = columns.pluck(rois, 'width')
    rectify = columns.truthy(columns.pluck(rois, 'do_rectify'))
    valid = None
    if drop_empty and count:
        valid = ~(
            (columns.numbers(x) == 0)
            & (columns.numbers(y) == 0)
            & (columns.numbers(height) == 0)
            & (columns.numbers(width) == 0)
            & ~rectify
        )
    offset = columns.struct_array(columns.child_type(stype, 'offset'), count, {'x': x, 'y': y})
    return columns.struct_array(
        stype,
        count,
        {
            'offset': offset,
            'height': height,
            'width': width,
            'do_rectify': rectify,
        },
        valid,
    )


def roi_values(arr: pa.Array, prefix: str) -> dict[str, list[Any]]:
    """ROS ``RegionOfInterest`` leaves of a ROI column (null => zeros)."""
    ok = rows.valid(arr)
    offset = arr.field('offset')
    offset_ok = ok & rows.valid(offset)
    return {
        f'{prefix}x_offset': [int(v) for v in rows.numbers(offset.field('x'), 0, offset_ok)],
        f'{prefix}y_offset': [int(v) for v in rows.numbers(offset.field('y'), 0, offset_ok)],
        f'{prefix}height': rows.numbers(arr.field('height'), 0, ok),
        f'{prefix}width': rows.numbers(arr.field('width'), 0, ok),
        f'{prefix}do_rectify': rows.numbers(arr.field('do_rectify'), False, ok),
    }


@register_adapter
class ROIAdapter(RosAdapter):
    """``sensor_msgs/msg/RegionOfInterest`` <-> ``ROI``."""

    ros_types = ('sensor_msgs/msg/RegionOfInterest',)
    model = ROI
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Offsets become a Vector2d."""
        return roi_array(msgs, self.struct_type, drop_empty=False)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild regions of interest."""
        arr = rows.as_struct(data)
        return rows.RosFactory(typestore).assemble(
            self.target_msgtype(msgtype), roi_values(arr, ''), len(arr)
        )


@register_adapter
class CameraInfoAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/CameraInfo`` <-> ``CameraInfo`` (ROS 1 ``D/K/R/P`` too)."""

    ros_types = ('sensor_msgs/msg/CameraInfo',)
    model = CameraInfo
    matrices = (
        ('d', 'distortion_parameters'),
        ('k', 'intrinsic_parameters'),
        ('r', 'rectification_parameters'),
        ('p', 'projection_parameters'),
    )

    @staticmethod
    def _name(fields: Sequence[str], name: str) -> str:
        return name if name in fields else name.upper()

    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Convert camera infos; binning only when both factors > 1."""
        stype = self.struct_type
        count = len(msgs)
        fields = columns.field_names(msgs)
        children: dict[str, Any] = {
            name: columns.pluck(msgs, name) for name in ('height', 'width', 'distortion_model')
        }
        for ros_name, column in self.matrices:
            values = columns.pluck(msgs, self._name(fields, ros_name))
            dtype = columns.child_type(stype, column)
            children[column] = (
                columns.list_array(values, dtype)
                if ros_name == 'd'
                else columns.fixed_list_array(values, dtype)
            )
        bin_x = columns.pluck(msgs, 'binning_x')
        bin_y = columns.pluck(msgs, 'binning_y')
        binned = (columns.numbers(bin_x) > 1) & (columns.numbers(bin_y) > 1) if count else None
        children['binning'] = columns.struct_array(
            columns.child_type(stype, 'binning'), count, {'x': bin_x, 'y': bin_y}, binned
        )
        children['roi'] = roi_array(
            columns.pluck(msgs, 'roi'), columns.child_type(stype, 'roi'), drop_empty=True
        )
        return self.build(msgs, children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild; missing binning is 0, 0 and a missing ROI all zeros."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        target = self.target_msgtype(msgtype)
        fields = factory.field_names(target)
        values: dict[str, list[Any]] = {
            'height': rows.numbers(arr.field('height')),
            'width': rows.numbers(arr.field('width')),
            'distortion_model': rows.strings(arr.field('distortion_model')),
        }
        sizes = {'d': 0, 'k': 9, 'r': 9, 'p': 12}
        for ros_name, column in self.matrices:
            values[self._name(fields, ros_name)] = rows.arrays(
                arr.field(column), np.float64, sizes[ros_name]
            )
        binning = arr.field('binning')
        binned = rows.valid(binning)
        values['binning_x'] = [int(v) for v in rows.numbers(binning.field('x'), 0, binned)]
        values['binning_y'] = [int(v) for v in rows.numbers(binning.field('y'), 0, binned)]
        values.update(roi_values(arr.field('roi'), 'roi.'))
        return self.assemble(arr, msgtype, typestore, values)


POINT_FIELD_KEYS = ('name', 'offset', 'datatype', 'count')


@register_adapter
class PointCloudAdapter(_HeaderedAdapter):
    """``sensor_msgs/msg/PointCloud2`` <-> ``PointCloud2`` (verbatim, data as binary)."""

    ros_types = ('sensor_msgs/msg/PointCloud2',)
    model = PointCloud2
    scalars = ('height', 'width', 'is_bigendian', 'point_step', 'row_step', 'is_dense')
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Copy the cloud; the point fields become a list of structs."""
        stype = self.struct_type
        fields_type = columns.child_type(stype, 'fields')
        return self.build(
            msgs,
            {
                **{name: columns.pluck(msgs, name) for name in self.scalars},
                'fields': columns.nested_list_array(
                    columns.pluck(msgs, 'fields'),
                    fields_type,
                    lambda elems, etype: columns.struct_array(
                        etype,
                        len(elems),
                        {key: columns.pluck(elems, key) for key in POINT_FIELD_KEYS},
                    ),
                ),
                'data': columns.binary_array(columns.pluck(msgs, 'data')),
            },
        )

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild clouds with their point fields."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        parts = rows.list_parts(arr.field('fields'))
        flat = parts.values
        point_fields = factory.assemble(
            'sensor_msgs/msg/PointField',
            {
                'name': rows.strings(flat.field('name')),
                **{key: rows.numbers(flat.field(key)) for key in ('offset', 'datatype', 'count')},
            },
            len(flat),
        )
        values: dict[str, list[Any]] = {
            name: rows.numbers(arr.field(name)) for name in self.scalars
        }
        values['fields'] = parts.split(point_fields)
        values['data'] = rows.binaries(arr.field('data'))
        return self.assemble(arr, msgtype, typestore, values)


POINT_DATATYPES: dict[int, Any] = {
    1: np.int8,
    2: np.uint8,
    3: np.int16,
    4: np.uint16,
    5: np.int32,
    6: np.uint32,
    7: np.float32,
    8: np.float64,
}
"""``sensor_msgs/PointField`` datatype codes -> numpy dtypes."""

NUMPY_TO_POINT_DATATYPE = {np.dtype(dtype): code for code, dtype in POINT_DATATYPES.items()}


CLOUD_LAYOUT = ('height', 'width', 'is_bigendian', 'point_step', 'row_step')


def cloud_messages(msgs: columns.Batch) -> Sequence[Any]:
    """Return the clouds of a batch as objects with PointCloud2's attributes, for `decode_cloud`.

    Message objects are returned as they are; the rows of a column become
    namespaces holding its layout, its point fields and a view of its bytes.
    """
    if not isinstance(msgs, pa.Array):
        return msgs
    layout = zip(*(columns.pylist(columns.pluck(msgs, name)) for name in CLOUD_LAYOUT), strict=True)
    fields = columns.pylist(columns.pluck(msgs, 'fields'))
    data = columns.byte_rows(columns.pluck(msgs, 'data'))
    return [
        SimpleNamespace(
            **dict(zip(CLOUD_LAYOUT, values, strict=True)),
            fields=[SimpleNamespace(**field) for field in row_fields],
            data=row_data,
        )
        for values, row_fields, row_data in zip(layout, fields, data, strict=True)
    ]


def decode_cloud(msg: Any, where: str) -> dict[str, NDArray[Any]]:
    """Per-field numpy arrays of one PointCloud2 (row padding respected).

    Raises:
        AdapterError: Unsupported datatype, ``count > 1``, a field outside the
            point, or a short buffer.

    """
    points = msg.height * msg.width
    order = '>' if msg.is_bigendian else '<'
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if field.datatype not in POINT_DATATYPES:
            raise AdapterError(
                f'{where}: point field {field.name!r} has datatype '
                f'{field.datatype}, not one of {sorted(POINT_DATATYPES)}'
            )
        if field.count != 1:
            raise AdapterError(
                f'{where}: point field {field.name!r} has count {field.count}; '
                'only count 1 maps to a column'
            )
        names.append(field.name)
        formats.append(np.dtype(POINT_DATATYPES[field.datatype]).newbyteorder(order))
        offsets.append(field.offset)
    if not points:
        return {name: np.empty(0, fmt) for name, fmt in zip(names, formats, strict=True)}
    raw = np.asarray(msg.data, np.uint8)
    if len(raw) < msg.row_step * msg.height or msg.row_step < msg.point_step * msg.width:
        raise AdapterError(
            f'{where}: data has {len(raw)} bytes, expected height*row_step = '
            f'{msg.height}*{msg.row_step} with row_step >= width*point_step'
        )
    ends = [offset + fmt.itemsize for offset, fmt in zip(offsets, formats, strict=True)]
    if not msg.point_step or max(ends, default=0) > msg.point_step:
        raise AdapterError(
            f'{where}: point step {msg.point_step} does not hold the point fields '
            f'(they end at byte {max(ends, default=0)})'
        )
    dtype = np.dtype(
        {'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': msg.point_step}
    )
    grid = raw[: msg.row_step * msg.height].reshape(msg.height, msg.row_step)
    packed = np.ascontiguousarray(grid[:, : msg.point_step * msg.width]).reshape(-1)
    cloud = packed.view(dtype)
    return {name: cloud[name].astype(cloud[name].dtype.newbyteorder('=')) for name in names}


class PointCloudColumnsAdapter(_HeaderedAdapter):
    """Base of the opt-in adapters decoding a PointCloud2 into per-field list columns."""

    ros_types = ('sensor_msgs/msg/PointCloud2',)
    default = False
    required: ClassVar[tuple[str, ...]] = XYZ

    @property
    def point_columns(self) -> list[str]:
        """Model list columns, in model order."""
        return [name for name in self.struct_type.names if name != 'header']

    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Decode every cloud, then build each column with one concatenation."""
        decoded = [
            decode_cloud(msg, f'{msgtype} message {i}')
            for i, msg in enumerate(cloud_messages(msgs))
        ]
        for i, cloud in enumerate(decoded):
            missing = [name for name in self.required if name not in cloud]
            if missing:
                raise AdapterError(
                    f'{msgtype} message {i}: {type(self).__name__} needs point '
                    f'fields {missing}; the cloud has {sorted(cloud)}'
                )
        children: dict[str, Any] = {}
        for name in self.point_columns:
            dtype = columns.child_type(self.struct_type, name)
            present = np.fromiter((name in cloud for cloud in decoded), np.bool_, len(decoded))
            if not present.any():
                continue
            empty = np.empty(0, dtype.value_type.to_pandas_dtype())
            children[name] = columns.list_array(
                [cloud.get(name, empty).astype(empty.dtype, copy=False) for cloud in decoded],
                dtype,
                present,
            )
        return self.build(msgs, children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Pack each row into a PointCloud2: one field per non-null column, ``height=1``."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        point_field = factory.cls('sensor_msgs/msg/PointField')
        count = len(arr)
        per_column = {}
        for name in self.point_columns:
            column = arr.field(name)
            dtype = column.type.value_type.to_pandas_dtype()
            per_column[name] = (rows.valid(column), rows.arrays(column, dtype))
        widths: list[int] = []
        fields: list[list[Any]] = []
        steps: list[int] = []
        payloads: list[NDArray[np.uint8]] = []
        for i in range(count):
            present = {name: values[i] for name, (ok, values) in per_column.items() if ok[i]}
            cloud_fields, packed = pack_cloud(present, point_field, f'row {i}')
            widths.append(len(packed))
            fields.append(cloud_fields)
            steps.append(packed.dtype.itemsize)
            payloads.append(packed.view(np.uint8).reshape(-1).copy())
        values: dict[str, list[Any]] = {
            'height': [1] * count,
            'width': widths,
            'fields': fields,
            'is_bigendian': [sys.byteorder == 'big'] * count,
            'point_step': steps,
            'row_step': [step * width for step, width in zip(steps, widths, strict=True)],
            'data': payloads,
            'is_dense': [True] * count,
        }
        return self.assemble(arr, msgtype, typestore, values)


def pack_cloud(
    columns_: dict[str, NDArray[Any]], point_field: Any, where: str
) -> tuple[list[Any], NDArray[Any]]:
    """Interleave equal-length point columns into one structured array, native endianness.

    Args:
        columns_: Column name -> one value per point, in field order.
        point_field: The typestore's ``sensor_msgs/msg/PointField`` class.
        where: Row description for errors.

    Returns:
        The ROS point fields and the packed points (``itemsize`` is the point step).

    Raises:
        AdapterError: The columns differ in length.

    """
    width = len(next(iter(columns_.values()))) if columns_ else 0
    names, formats, offsets, fields = [], [], [], []
    offset = 0
    for name, values in columns_.items():
        if len(values) != width:
            first = next(iter(columns_))
            raise AdapterError(
                f'{where}: column {name!r} has {len(values)} points, {first!r} has {width}'
            )
        names.append(name)
        formats.append(values.dtype)
        offsets.append(offset)
        fields.append(
            point_field(
                name=name, offset=offset, datatype=NUMPY_TO_POINT_DATATYPE[values.dtype], count=1
            )
        )
        offset += values.dtype.itemsize
    packed = np.zeros(
        width,
        np.dtype({'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': offset}),
    )
    for name, values in columns_.items():
        packed[name] = values
    return fields, packed


@register_adapter
class LidarAdapter(PointCloudColumnsAdapter):
    """Opt-in ``PointCloud2`` -> ``Lidar`` (needs x, y, z)."""

    model = Lidar


@register_adapter
class RadarAdapter(PointCloudColumnsAdapter):
    """Opt-in ``PointCloud2`` -> ``Radar`` (needs x, y, z)."""

    model = Radar


@register_adapter
class RGBDCameraAdapter(PointCloudColumnsAdapter):
    """Opt-in ``PointCloud2`` -> ``RGBDCamera`` (``rgb`` is the packed float)."""

    model = RGBDCamera


@register_adapter
class ToFCameraAdapter(PointCloudColumnsAdapter):
    """Opt-in ``PointCloud2`` -> ``ToFCamera``."""

    model = ToFCamera


@register_adapter
class StereoCameraAdapter(PointCloudColumnsAdapter):
    """Opt-in ``PointCloud2`` -> ``StereoCamera``."""

    model = StereoCamera
