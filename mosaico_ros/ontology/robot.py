"""Robot joint states."""

from typing import Annotated

import pyarrow as pa

from .fields import MosaicoField
from .mixins import HeaderMixin
from .serializable import Serializable


class RobotJoint(Serializable, HeaderMixin):
    """Per-joint names, positions, velocities and efforts."""

    names: Annotated[list[str], pa.list_(pa.string())] = MosaicoField(
        description='Names of the different robot joints',
    )
    positions: Annotated[list[float], pa.list_(pa.float64())] = MosaicoField(
        description='Positions ([rad] or [m]) of the different robot joints',
    )
    velocities: Annotated[list[float], pa.list_(pa.float64())] = MosaicoField(
        description='Velocities ([rad/s] or [m/s]) of the different robot joints',
    )
    efforts: Annotated[list[float], pa.list_(pa.float64())] = MosaicoField(
        description='Efforts ([N] or [N*m]) applied to the different robot joints',
    )
