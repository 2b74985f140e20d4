"""Forces and mass properties."""

from typing import Annotated

import pyarrow as pa
from annotated_types import Len

from .field_types import MosaicoType
from .fields import MosaicoField
from .geometry import Vector3d
from .mixins import CovarianceMixin, HeaderMixin
from .serializable import Serializable


class ForceTorque(Serializable, CovarianceMixin, HeaderMixin):
    """A force and a torque (a wrench)."""

    force: Vector3d = MosaicoField(description='3D linear force.')
    torque: Vector3d = MosaicoField(description='3D torque vector.')


class Inertia(Serializable, HeaderMixin):
    """Mass, centre of mass and the upper triangle of the inertia tensor."""

    mass: MosaicoType.float64 = MosaicoField(description='Mass of the object.')
    center_of_mass: Vector3d = MosaicoField(description='Center of mass of the object.')
    inertia: Annotated[list[float], pa.list_(pa.float64(), 6), Len(6, 6)] = MosaicoField(
        description='Inertia tensor components [ixx, ixy, ixz, iyy, iyz, izz].',
    )
