"""`Message`: one timestamped ontology record, and the Arrow schema of a topic."""

from __future__ import annotations

from functools import cache

import pyarrow as pa
from pydantic import BaseModel, Field

from .errors import SchemaError
from .serializable import Serializable

TIMESTAMP_COLUMN = 'timestamp_ns'
TIMESTAMP_DESCRIPTION = 'Ingestion timestamp in nanoseconds (record time).'


class Message(BaseModel):
    """An ontology record with the time it was recorded.

    `timestamp_ns` is the record (ingestion, bag log) time; the sensor time belongs in
    `data.header.timestamp`.
    """

    timestamp_ns: int = Field(description=TIMESTAMP_DESCRIPTION)
    data: Serializable

    @staticmethod
    def arrow_schema(model_cls: type[Serializable]) -> pa.Schema:
        """Return the Arrow schema of a topic holding `model_cls` records.

        Column 0 is `timestamp_ns`; each top-level field of the model follows as its own
        column. There is no schema-level metadata.

        Args:
            model_cls: The ontology model class.

        Returns:
            The schema.

        Raises:
            SchemaError: The model has a field named `timestamp_ns`.

        """
        return topic_schema(model_cls)


@cache
def topic_schema(model_cls: type[Serializable]) -> pa.Schema:
    """Return (cached per class) the Arrow schema of a topic holding `model_cls` records.

    Args:
        model_cls: The ontology model class.

    Returns:
        The schema.

    Raises:
        SchemaError: The model has a field named `timestamp_ns`.

    """
    struct = model_cls.arrow_struct()
    if struct.get_field_index(TIMESTAMP_COLUMN) >= 0:
        raise SchemaError(
            f'{model_cls.__qualname__} declares a field {TIMESTAMP_COLUMN!r}, which is the '
            'envelope column',
        )
    timestamp = pa.field(
        TIMESTAMP_COLUMN,
        pa.int64(),
        nullable=False,
        metadata={'description': TIMESTAMP_DESCRIPTION},
    )
    return pa.schema([timestamp, *struct])
