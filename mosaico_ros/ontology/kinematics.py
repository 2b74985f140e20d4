"""Velocities, accelerations and full motion states."""

from __future__ import annotations

from pydantic import model_validator

from .field_types import MosaicoType
from .fields import MosaicoField
from .geometry import Pose, Vector3d
from .mixins import CovarianceMixin, HeaderMixin
from .serializable import Serializable


class Velocity(Serializable, CovarianceMixin, HeaderMixin):
    """Linear and/or angular velocity (a twist)."""

    linear: Vector3d | None = MosaicoField(None, description='3D linear velocity vector.')
    angular: Vector3d | None = MosaicoField(None, description='3D angular velocity vector.')

    @model_validator(mode='after')
    def _check_some_component(self) -> Velocity:
        if self.linear is None and self.angular is None:
            raise ValueError('Velocity needs at least one of linear and angular')
        return self


class Acceleration(Serializable, CovarianceMixin, HeaderMixin):
    """Linear and/or angular acceleration."""

    linear: Vector3d | None = MosaicoField(None, description='3D linear acceleration vector.')
    angular: Vector3d | None = MosaicoField(None, description='3D angular acceleration vector.')

    @model_validator(mode='after')
    def _check_some_component(self) -> Acceleration:
        if self.linear is None and self.angular is None:
            raise ValueError('Acceleration needs at least one of linear and angular')
        return self


class MotionState(Serializable, CovarianceMixin, HeaderMixin):
    """Pose, velocity and optional acceleration of a body (odometry)."""

    pose: Pose = MosaicoField(description='6D pose with optional time and covariance info.')
    velocity: Velocity = MosaicoField(
        description='6D velocity with optional time and covariance info.',
    )
    target_frame_id: MosaicoType.string = MosaicoField(description='Target frame identifier.')
    acceleration: Acceleration | None = MosaicoField(
        None,
        description='6D acceleration with optional time and covariance info.',
    )
