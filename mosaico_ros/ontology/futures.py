"""Models the platform marks as not yet stable: depth cameras, grids, scans, lidar, radar."""

from typing import Annotated

import pyarrow as pa

from .field_types import MosaicoType
from .fields import MosaicoField
from .geometry import Point3d, Pose
from .mixins import HeaderMixin
from .serializable import Serializable
from .time_header import Time


class RGBDCamera(Serializable, HeaderMixin):
    """Points of an RGB-D camera as parallel per-point columns."""

    x: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Horizontal position derived from depth.',
    )
    y: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Vertical position derived from depth.',
    )
    z: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Depth value directly (distance along optical axis).',
    )
    rgb: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Packed RGB color value.',
    )
    intensity: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Signal amplitude/intensity.',
    )


class ToFCamera(Serializable, HeaderMixin):
    """Points of a time-of-flight camera as parallel per-point columns."""

    x: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Horizontal position derived from depth.',
    )
    y: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Vertical position derived from depth.',
    )
    z: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Depth value directly (distance along optical axis).',
    )
    rgb: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Packed RGB color value.',
    )
    intensity: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Signal amplitude/intensity.',
    )
    noise: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Noise value per pixel.',
    )
    grayscale: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Grayscale amplitude.',
    )


class StereoCamera(Serializable, HeaderMixin):
    """Points of a stereo camera as parallel per-point columns."""

    x: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Horizontal position derived from depth.',
    )
    y: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Vertical position derived from depth.',
    )
    z: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='Depth value directly (distance along optical axis).',
    )
    rgb: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Packed RGB color value.',
    )
    intensity: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Signal amplitude/intensity.',
    )
    luma: Annotated[list[int], pa.list_(pa.uint8())] | None = MosaicoField(
        None,
        description='Luminance of the corresponding pixel in the rectified image.',
    )
    cost: Annotated[list[int], pa.list_(pa.uint8())] | None = MosaicoField(
        None,
        description='Stereo matching cost (disparity confidence measure, 0 = high confidence).',
    )


class GridCells(Serializable, HeaderMixin):
    """Occupied cells of a grid, with the cell size."""

    cell_width: MosaicoType.float32 = MosaicoField(description='Width of each cell.')
    cell_height: MosaicoType.float32 = MosaicoField(description='Height of each cell.')
    cells: list[Point3d] = MosaicoField(
        description="The cell represented by a point at it's center.",
    )


class MapMetadata(Serializable):
    """Geometry of an occupancy grid: resolution, size and origin."""

    map_load_time: Time = MosaicoField(
        description='Time (in nanoseconds) at which the map has been loaded.',
    )
    resolution: MosaicoType.float32 = MosaicoField(description='Resolution of the map [m/cell].')
    width: MosaicoType.uint32 = MosaicoField(
        description='Number of cells representing the width of the map [cells].',
    )
    height: MosaicoType.uint32 = MosaicoField(
        description='Number of cells representing the height of the map [cells].',
    )
    origin: Pose = MosaicoField(description='Where the map starts in the real world.')


class OccupancyGrid(Serializable, HeaderMixin):
    """A 2D occupancy grid, row-major occupancy values."""

    info: MapMetadata = MosaicoField(description="Info about the map like it's width and height.")
    data: Annotated[list[int], pa.list_(pa.int8())] = MosaicoField(
        description=(
            'Occupancy probability: 1 means occupied, 0 means unoccupied and -1 means unkown.'
        ),
    )


class LaserScan(Serializable, HeaderMixin):
    """One sweep of a planar laser range finder."""

    angle_min: MosaicoType.float32 = MosaicoField(description='start angle of the scan in rad.')
    angle_max: MosaicoType.float32 = MosaicoField(description='end angle of the scan in rad.')
    angle_increment: MosaicoType.float32 = MosaicoField(
        description='angular distance between measurements in rad.',
    )
    time_increment: MosaicoType.float32 = MosaicoField(
        description='time between measurements in seconds.',
    )
    scan_time: MosaicoType.float32 = MosaicoField(description='time between scans in seconds.')
    range_min: MosaicoType.float32 = MosaicoField(description='minimum range value in meters.')
    range_max: MosaicoType.float32 = MosaicoField(description='maximum range value in meters.')
    ranges: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description=(
            'range data in meters. Ranges need to be between range min and max otherwise discarded.'
        ),
    )
    intensities: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='intensity data.',
    )


class MultiEchoLaserScan(Serializable, HeaderMixin):
    """One laser sweep with several echoes per beam."""

    angle_min: MosaicoType.float32 = MosaicoField(description='start angle of the scan in rad.')
    angle_max: MosaicoType.float32 = MosaicoField(description='end angle of the scan in rad.')
    angle_increment: MosaicoType.float32 = MosaicoField(
        description='angular distance between measurements in rad.',
    )
    time_increment: MosaicoType.float32 = MosaicoField(
        description='time between measurements in seconds.',
    )
    scan_time: MosaicoType.float32 = MosaicoField(description='time between scans in seconds.')
    range_min: MosaicoType.float32 = MosaicoField(description='minimum range value in meters.')
    range_max: MosaicoType.float32 = MosaicoField(description='maximum range value in meters.')
    ranges: Annotated[list[list[float]], pa.list_(pa.list_(pa.float32()))] = MosaicoField(
        description=(
            'range data in meters. Ranges need to be between range min and max otherwise discarded.'
        ),
    )
    intensities: Annotated[list[list[float]], pa.list_(pa.list_(pa.float32()))] | None = (
        MosaicoField(
            None,
            description='intensity data.',
        )
    )


class Lidar(Serializable, HeaderMixin):
    """A lidar point cloud as parallel per-point columns."""

    x: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='x coordinates in meters',
    )
    y: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='y coordinates in meters',
    )
    z: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='z coordinates in meters',
    )
    intensity: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Surface reflectivity per point.',
    )
    reflectivity: Annotated[list[int], pa.list_(pa.uint16())] | None = MosaicoField(
        None,
        description='Surface reflectivity per point.',
    )
    beam_id: Annotated[list[int], pa.list_(pa.uint16())] | None = MosaicoField(
        None,
        description='Laser beam index (ring / channel / line) that fired each point.',
    )
    range: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Distance from the sensor origin to each point, in meters.',
    )
    near_ir: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Near-infrared ambient light reading per point.',
    )
    azimuth: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Horizontal (azimuth) angle of each point in radians.',
    )
    elevation: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='Vertical (elevation) angle of each point in radians.',
    )
    confidence: Annotated[list[int], pa.list_(pa.uint8())] | None = MosaicoField(
        None,
        description='Per-point validity or confidence flags.',
    )
    return_type: Annotated[list[int], pa.list_(pa.uint8())] | None = MosaicoField(
        None,
        description='Single/dual return classification per point.',
    )
    point_timestamp: Annotated[list[float], pa.list_(pa.float64())] | None = MosaicoField(
        None,
        description='Per-point acquisition time offset from the scan start, in seconds.',
    )


class Radar(Serializable, HeaderMixin):
    """A radar detection list as parallel per-detection columns."""

    x: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='x coordinates in meters.',
    )
    y: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='y coordinates in meters.',
    )
    z: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='z coordinates in meters.',
    )
    range: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='radial distance in meters.',
    )
    azimuth: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='azimuth angle in radians.',
    )
    elevation: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='elevation angle in radians.',
    )
    rcs: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='radar cross section in dBm.',
    )
    snr: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='signal to noise ratio in dB.',
    )
    doppler_velocity: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='doppler velocity in m/s.',
    )
    vx: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='x velocity in m/s.',
    )
    vy: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='y velocity in m/s.',
    )
    vx_comp: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='x compensated velocity in m/s.',
    )
    vy_comp: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='y compensated velocity in m/s.',
    )
    ax: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='x acceleration in m/s^2.',
    )
    ay: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='y acceleration in m/s^2.',
    )
    radial_speed: Annotated[list[float], pa.list_(pa.float32())] | None = MosaicoField(
        None,
        description='radial speed in m/s.',
    )
