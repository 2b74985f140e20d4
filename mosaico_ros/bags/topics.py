"""Creation of the Mosaico topic a stream stores into.

Topics are created when their first batch is stored, so a topic with zero
messages (in the window) is not created, as the SDK does. Topic
``user_metadata`` is the user's metadata for the topic, then ``_ros_`` = the
adapter's ``topic_metadata`` plus ``source_file`` (the name of the path
given). An adapter with an ontology model of its own tag creates the topic
through the model; any other through its Arrow struct type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from mosaico_ros.bags.streams import TopicStream

_TIMESTAMP_DESCRIPTION = 'Ingestion timestamp in nanoseconds (record time).'


def topic_schema(struct: pa.StructType) -> pa.Schema:
    """Return the Arrow schema of a topic: ``timestamp_ns`` then the data columns."""
    timestamp = pa.field(
        'timestamp_ns',
        pa.int64(),
        nullable=False,
        metadata={'description': _TIMESTAMP_DESCRIPTION},
    )
    return pa.schema([timestamp, *struct])


def create_topic(
    stream: TopicStream,
    session: Any,
    path: Path,
    user_metadata: Mapping[str, Any],
) -> Any:
    """Create the stream's topic in `session` and keep its writer and schema on the stream.

    Args:
        stream: A stream with an adapter.
        session: The open upload session.
        path: The bag, named in ``_ros_.source_file``.
        user_metadata: The user's metadata for this topic.

    Returns:
        The topic writer; None when the server refused the topic.

    """
    adapter = stream.adapter
    topic = stream.report.topic
    assert stream.topic_metadata is not None
    ros_meta = stream.topic_metadata()
    ros_meta['source_file'] = path.name
    metadata = {**user_metadata, '_ros_': ros_meta}
    model = getattr(type(adapter), 'model', None)
    if isinstance(model, type) and getattr(model, '__ontology_tag__', None) == adapter.tag:
        writer = session.topic_create(topic, metadata, model)
    else:
        writer = session.topic_create(
            topic,
            metadata,
            schema=topic_schema(adapter.struct_type),
            ontology_tag=adapter.tag,
            serialization_format=adapter.serialization_format,
        )
    if writer is not None:
        stream.writer = writer
        stream.schema = writer.schema
    return writer
