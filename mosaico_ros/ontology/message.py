"""`Message`: one timestamped ontology record, and the Arrow schema of a topic."""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
from pydantic import BaseModel, Field

from mosaico_ros.protocol import TIMESTAMP_COLUMN

from .errors import SchemaError
from .serializable import Serializable

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


@lru_cache(maxsize=512)
def topic_schema(model_cls: type[Serializable]) -> pa.Schema:
    """Return (cached per class, bounded) the Arrow schema of a topic holding `model_cls` records.

    Args:
        model_cls: The ontology model class.

    Returns:
        The schema.

    Raises:
        SchemaError: The model has a field named `timestamp_ns`.

    """
    return topic_schema_of(model_cls.arrow_struct(), model_cls.__qualname__)


def topic_schema_of(struct: pa.StructType, what: str = 'the topic struct') -> pa.Schema:
    """Return the Arrow schema of a topic whose rows are `struct`: `timestamp_ns`, then its fields.

    The one builder of topic schemas, for ontology models and for structs
    derived elsewhere (generic ROS types, JSON and protobuf channels).

    Args:
        struct: The data columns.
        what: Names the struct in the error.

    Raises:
        SchemaError: The struct has a field named `timestamp_ns`.

    """
    if struct.get_field_index(TIMESTAMP_COLUMN) >= 0:
        raise SchemaError(
            f'{what} declares a field {TIMESTAMP_COLUMN!r}, which is the envelope column',
        )
    timestamp = pa.field(
        TIMESTAMP_COLUMN,
        pa.int64(),
        nullable=False,
        metadata={'description': TIMESTAMP_DESCRIPTION},
    )
    return pa.schema([timestamp, *struct])
