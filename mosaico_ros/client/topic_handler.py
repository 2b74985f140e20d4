"""Catalog view of one stored topic, and the way to read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.endpoints import TopicEndpoint, topic_endpoints
from mosaico_ros.client.errors import ClientError
from mosaico_ros.client.topic_reader import BatchStream, TopicDataStreamer
from mosaico_ros.protocol import TIMESTAMP_COLUMN, ResourceCommand, TopicAppMetadata


def find_endpoint(
    connection: Connection,
    locator: str,
    name: str,
    start_ns: int | None,
    end_ns: int | None,
) -> TopicEndpoint:
    """GetFlightInfo on a topic and pick its endpoint.

    Raises:
        ServerError: The server refused the request.
        ClientError: No endpoint of the answer is this topic.

    """
    info = connection.flight_info(ResourceCommand(locator, start_ns, end_ns))
    for endpoint in topic_endpoints(info):
        if endpoint.name == name:
            return endpoint
    raise ClientError(f'GetFlightInfo {locator}: no endpoint for topic {name}')


class TopicHandler(ClosesOnExit):
    """Properties of a stored topic, plus streamers over its data.

    At most one streamer is live: a new one closes the previous.
    """

    def __init__(
        self,
        *,
        connection: Connection,
        endpoint: TopicEndpoint,
        schema: pa.Schema,
    ) -> None:
        self._connection = connection
        self._endpoint = endpoint
        self._schema = schema
        self._model: type[Any] | None = None
        self._streamer: TopicDataStreamer | None = None

    @classmethod
    def fetch(cls, connection: Connection, locator: str, name: str) -> TopicHandler:
        """GetFlightInfo plus GetSchema of a topic, as `topic_handler()` does.

        Raises:
            ServerError: Either call failed.
            ClientError: The answer does not describe this topic.

        """
        endpoint = find_endpoint(connection, locator, name, None, None)
        schema = connection.schema(ResourceCommand(locator))
        return cls(connection=connection, endpoint=endpoint, schema=schema)

    @property
    def _metadata(self) -> TopicAppMetadata:
        return self._endpoint.metadata

    @property
    def name(self) -> str:
        """Topic name (leading `/`)."""
        return self._endpoint.name

    @property
    def locator(self) -> str:
        """Topic locator `<sequence>/<topic>`."""
        return self._metadata.resource_locator

    @property
    def sequence_name(self) -> str:
        """Sequence the topic belongs to."""
        return self.locator.split('/', 1)[0]

    @property
    def ontology_tag(self) -> str:
        """Ontology tag of the records."""
        return self._metadata.ontology_tag

    @property
    def serialization_format(self) -> str:
        """`default`, `ragged` or `image`."""
        return self._metadata.serialization_format

    @property
    def user_metadata(self) -> dict[str, Any]:
        """Topic user metadata as given at creation."""
        return self._metadata.user_metadata

    @property
    def created_timestamp(self) -> int:
        """Creation time, ns since the epoch."""
        return self._metadata.created_at_ns

    @property
    def completed_timestamp(self) -> int | None:
        """Finalization time of the topic's session, if finalized."""
        return self._metadata.completed_at_ns

    @property
    def locked(self) -> bool:
        """Whether the topic is finalized and immutable."""
        return self._metadata.locked

    @property
    def chunks_number(self) -> int:
        """Storage chunks the server holds for the topic."""
        return self._metadata.data_info.total_chunks_count

    @property
    def total_size_bytes(self) -> int:
        """Stored bytes of the topic."""
        return self._metadata.data_info.total_bytes

    @property
    def msg_count(self) -> int:
        """Rows stored in the topic."""
        return self._metadata.data_info.total_row_count

    @property
    def timestamp_ns_min(self) -> int | None:
        """First record time, None for a topic without data."""
        interval = self._metadata.data_info.interval
        return interval.start_ns if interval else None

    @property
    def timestamp_ns_max(self) -> int | None:
        """Last record time (inclusive), None for a topic without data."""
        interval = self._metadata.data_info.interval
        return interval.end_ns if interval else None

    @property
    def schema(self) -> pa.Schema:
        """Full Arrow schema of the topic, `timestamp_ns` first."""
        return self._schema

    @property
    def ontology_schema(self) -> pa.StructType:
        """The data struct: every column except `timestamp_ns`."""
        return pa.struct([field for field in self._schema if field.name != TIMESTAMP_COLUMN])

    @property
    def model(self) -> type[Any]:
        """Ontology class the records decode into."""
        if self._model is None:
            from mosaico_ros.ontology import resolve_model

            self._model = resolve_model(self.ontology_tag, self._schema)
        return self._model

    def _ticket_endpoint(self, start_ns: int | None, end_ns: int | None) -> TopicEndpoint:
        # A fresh FlightInfo per stream, as the SDK does: the ticket carries the window.
        return find_endpoint(self._connection, self.locator, self.name, start_ns, end_ns)

    def get_data_streamer(
        self,
        start_timestamp_ns: int | None = None,
        end_timestamp_ns: int | None = None,
    ) -> TopicDataStreamer:
        """Open a streamer over `[start, end)` (either bound may be open).

        Closes the streamer this handler opened before.

        Raises:
            ValueError: The topic holds no data.
            ServerError: The server refused the request.

        """
        if self._metadata.data_info.interval is None:
            raise ValueError(f'topic {self.locator} holds no data')
        self.close()
        endpoint = self._ticket_endpoint(start_timestamp_ns, end_timestamp_ns)
        self._streamer = TopicDataStreamer(
            connection=self._connection,
            ticket=endpoint.ticket,
            metadata=endpoint.metadata,
            model=self.model,
        )
        return self._streamer

    def iter_batches(
        self,
        start_timestamp_ns: int | None = None,
        end_timestamp_ns: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Yield the topic's rows in `[start, end)` as Arrow record batches.

        The columnar read path: no per-row Python objects, one batch in
        memory at a time. The DoGet is cancelled when the iterator is closed.

        Raises:
            ServerError: The server refused the request or the stream broke.

        """
        if self._metadata.data_info.interval is None:
            return
        endpoint = self._ticket_endpoint(start_timestamp_ns, end_timestamp_ns)
        stream = BatchStream(self._connection, endpoint.ticket, self.locator)
        try:
            yield from stream
        finally:
            stream.close()

    def close(self) -> None:
        """Close the live streamer, if any."""
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            streamer.close()
