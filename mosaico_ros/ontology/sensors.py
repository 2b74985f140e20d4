"""Sensor readings: camera calibration, GNSS, IMU, joystick and scalar sensors."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from annotated_types import Len
from pydantic import model_validator

from .field_types import MosaicoType
from .fields import MosaicoField
from .geometry import ROI, Point3d, Quaternion, Vector2d, Vector3d
from .mixins import HeaderMixin, VarianceMixin
from .serializable import Serializable

# Row-major flattened calibration matrices, stored as fixed-size lists.
Matrix3x3 = Annotated[list[float], pa.list_(pa.float64(), 9), Len(9, 9)]
Matrix3x4 = Annotated[list[float], pa.list_(pa.float64(), 12), Len(12, 12)]


class CameraInfo(Serializable, HeaderMixin):
    """Calibration of a camera: intrinsics, distortion, rectification, projection."""

    height: MosaicoType.uint32 = MosaicoField(
        description='Height in pixels of the image with which the camera was calibrated.',
    )
    width: MosaicoType.uint32 = MosaicoField(
        description='Width in pixels of the image with which the camera was calibrated.',
    )
    distortion_model: MosaicoType.string = MosaicoField(
        description="The distortion model used (e.g., 'plumb_bob', 'rational_polynomial').",
    )
    distortion_parameters: Annotated[list[float], pa.list_(pa.float64())] = MosaicoField(
        description=(
            'The distortion coefficients (k1, k2, t1, t2, k3...). Size depends on the model.'
        ),
    )
    intrinsic_parameters: Matrix3x3 = MosaicoField(
        description=(
            'The 3x3 Intrinsic Matrix (K) flattened row-major. Projects 3D points in the camera '
            'coordinate frame to 2D pixel coordinates.'
        ),
    )
    rectification_parameters: Matrix3x3 = MosaicoField(
        description=(
            'The 3x3 Rectification Matrix (R) flattened row-major. Used for stereo cameras to '
            'align the two image planes.'
        ),
    )
    projection_parameters: Matrix3x4 = MosaicoField(
        description=(
            'The 3x4 Projection Matrix (P) flattened row-major. Projects 3D world points directly '
            'into the rectified image pixel coordinates.'
        ),
    )
    binning: Vector2d | None = MosaicoField(
        None,
        description='Hardware binning factor (x, y). If null, assumes (0, 0) (no binning).',
    )
    roi: ROI | None = MosaicoField(
        None,
        description='Region of Interest. Used if the image is a sub-crop of the full resolution.',
    )


class GPSStatus(Serializable):
    """Fix status and satellite services of a GNSS receiver."""

    status: MosaicoType.int8 = MosaicoField(description='Fix status.')
    service: MosaicoType.uint16 = MosaicoField(description='Service used (GPS, GLONASS, etc).')
    satellites: MosaicoType.int8 | None = MosaicoField(None, description='Satellites visible/used.')
    hdop: MosaicoType.float64 | None = MosaicoField(
        None,
        description='Horizontal Dilution of Precision.',
    )
    vdop: MosaicoType.float64 | None = MosaicoField(
        None,
        description='Vertical Dilution of Precision.',
    )


class GPS(Serializable, HeaderMixin):
    """A GNSS fix: position, optional velocity and status."""

    position: Point3d = MosaicoField(description='Lat/Lon/Alt (WGS 84).')
    velocity: Vector3d | None = MosaicoField(
        None,
        description='Velocity vector [North, East, Alt] m/s.',
    )
    status: GPSStatus | None = MosaicoField(None, description='Receiver status info.')


class NMEASentence(Serializable, HeaderMixin):
    """A raw NMEA 0183 sentence."""

    sentence: MosaicoType.string = MosaicoField(description='Raw ASCII sentence.')


class IMU(Serializable, HeaderMixin):
    """Inertial measurement: acceleration, angular velocity and optional orientation."""

    acceleration: Vector3d = MosaicoField(
        description='Linear acceleration vector [ax, ay, az] in m/s^2.',
    )
    angular_velocity: Vector3d = MosaicoField(
        description='Angular velocity vector [wx, wy, wz] in rad/s.',
    )
    orientation: Quaternion | None = MosaicoField(
        None,
        description='Estimated orientation [qx, qy, qz, qw].',
    )


class Joy(Serializable, HeaderMixin):
    """Axes and buttons of a joystick."""

    axes: Annotated[list[float], pa.list_(pa.float32())] = MosaicoField(
        description='The axes measurements from a joystick.',
    )
    buttons: Annotated[list[int], pa.list_(pa.int32())] = MosaicoField(
        description='The buttons measurements from a joystick.',
    )


class Magnetometer(Serializable, HeaderMixin):
    """A magnetic field vector."""

    magnetic_field: Vector3d = MosaicoField(
        description='Magnetic field vector [mx, my, mz] in microTesla.',
    )


class Pressure(Serializable, HeaderMixin, VarianceMixin):
    """A fluid pressure reading."""

    value: MosaicoType.float64 = MosaicoField(
        description='The absolute pressure reading from the sensor in Pascals.',
    )


class Range(Serializable, HeaderMixin, VarianceMixin):
    """One range reading of a ranger."""

    radiation_type: MosaicoType.uint8 = MosaicoField(
        description='Which type of radiation the sensor used.',
    )
    field_of_view: MosaicoType.float32 = MosaicoField(
        description='The arc angle, in radians, over which the distance reading is valid.',
    )
    min_range: MosaicoType.float32 = MosaicoField(
        description=(
            'Minimum range value in meters. Fixed distance means that the minimum rangemust be '
            'equal to the maximum range.'
        ),
    )
    max_range: MosaicoType.float32 = MosaicoField(
        description=(
            'Maximum range value in meters. Fixed distance means that the minimum rangemust be '
            'equal to the maximum range.'
        ),
    )
    range: MosaicoType.float32 = MosaicoField(description='Range value in meters.')

    @model_validator(mode='after')
    def _check_within_limits(self) -> Range:
        if not self.min_range <= self.range <= self.max_range:
            raise ValueError(
                f'range {self.range} is outside [min_range {self.min_range}, '
                f'max_range {self.max_range}]',
            )
        return self


class Temperature(Serializable, HeaderMixin, VarianceMixin):
    """A temperature reading."""

    value: MosaicoType.float64 = MosaicoField(description='Temperature value in Kelvin.')
