"""Geometric primitives: vectors, points, quaternions, transforms, poses, paths."""

from .field_types import MosaicoType
from .fields import MosaicoField
from .mixins import CovarianceMixin, HeaderMixin
from .serializable import Serializable


class Vector2d(Serializable, CovarianceMixin, HeaderMixin):
    """A 2D vector."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)


class Vector3d(Serializable, CovarianceMixin, HeaderMixin):
    """A 3D vector."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)
    z: MosaicoType.float64 = MosaicoField(description='Vector z component.', nullable=True)


class Vector4d(Serializable, CovarianceMixin, HeaderMixin):
    """A 4D vector."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)
    z: MosaicoType.float64 = MosaicoField(description='Vector z component.', nullable=True)
    w: MosaicoType.float64 = MosaicoField(description='Vector w component.', nullable=True)


class Point2d(Serializable, CovarianceMixin, HeaderMixin):
    """A 2D point."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)


class Point3d(Serializable, CovarianceMixin, HeaderMixin):
    """A 3D point."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)
    z: MosaicoType.float64 = MosaicoField(description='Vector z component.', nullable=True)


class Quaternion(Serializable, CovarianceMixin, HeaderMixin):
    """An orientation as a quaternion (x, y, z, w)."""

    x: MosaicoType.float64 = MosaicoField(description='Vector x component.', nullable=True)
    y: MosaicoType.float64 = MosaicoField(description='Vector y component.', nullable=True)
    z: MosaicoType.float64 = MosaicoField(description='Vector z component.', nullable=True)
    w: MosaicoType.float64 = MosaicoField(description='Vector w component.', nullable=True)


class Transform(Serializable, CovarianceMixin, HeaderMixin):
    """A rigid transform from the header frame to `target_frame_id`."""

    translation: Vector3d = MosaicoField(description='3D translation vector.')
    rotation: Quaternion = MosaicoField(description='Quaternion representing rotation.')
    target_frame_id: MosaicoType.string | None = MosaicoField(
        None,
        description='Target frame identifier.',
    )


class Pose(Serializable, CovarianceMixin, HeaderMixin):
    """A position and an orientation."""

    position: Point3d = MosaicoField(description='3D position vector.')
    orientation: Quaternion = MosaicoField(description='Quaternion representing rotation.')


class RobotPath(Serializable, HeaderMixin):
    """A sequence of poses."""

    poses: list[Pose] = MosaicoField(description='Series of waypoints the robot needs to follow.')


class Polygon(Serializable, HeaderMixin):
    """A closed polygon of 3D points."""

    points: list[Point3d] = MosaicoField(description='List of polygon vertices as 3D points.')


class ROI(Serializable):
    """A rectangular region of interest in an image."""

    offset: Vector2d = MosaicoField(description='(Leftmost, Topmost) pixels of the ROI.')
    height: MosaicoType.uint32 = MosaicoField(description='Height pixel of the ROI.')
    width: MosaicoType.uint32 = MosaicoField(description='Width pixel of the ROI.')
    do_rectify: MosaicoType.bool | None = MosaicoField(
        None,
        description=(
            'False if the full image is captured (ROI not used) and True if a subwindow is '
            'captured (ROI used) (optional). False if Null'
        ),
    )
