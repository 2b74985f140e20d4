"""Field groups shared by many models: a header, a covariance, a variance.

The mixins are plain pydantic models, not `Serializable`, so they never register. Their
fields land before or after a model's own fields according to pydantic's rule (bases in
reverse MRO order first), which is why each model lists its mixins in a fixed order.
"""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from pydantic import BaseModel

from .field_types import MosaicoType
from .fields import MosaicoField
from .time_header import Header


class HeaderMixin(BaseModel):
    """Adds an optional `header` (sensor time, frame, sample counter)."""

    header: Header | None = MosaicoField(
        None,
        description=(
            'Contains measure metadata like timestamp, reference frame and samples counter.'
        ),
    )


class CovarianceMixin(BaseModel):
    """Adds an optional flattened row-major covariance matrix and its parameterisation code."""

    covariance: Annotated[list[float], pa.list_(pa.float64())] | None = MosaicoField(
        None,
        description='The covariance matrix (flattened) of the data.',
    )
    covariance_type: MosaicoType.int16 | None = MosaicoField(
        None,
        description='Enum integer representing the covariance parameterization.',
    )


class VarianceMixin(BaseModel):
    """Adds an optional scalar variance and its parameterisation code."""

    # The description's spelling is what the platform's schema carries.
    variance: MosaicoType.float64 | None = MosaicoField(
        None,
        description='The variacne of the data.',
    )
    variance_type: MosaicoType.int16 | None = MosaicoField(
        None,
        description='Enum integer representing the variance parameterization.',
    )
