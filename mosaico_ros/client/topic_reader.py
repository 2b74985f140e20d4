"""Reading one topic: a DoGet stream as record batches, or as decoded messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pyarrow import flight

from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.errors import ServerError, StreamerClosedError
from mosaico_ros.protocol import TIMESTAMP_COLUMN, TopicAppMetadata, unpack_topic_locator


class BatchStream(ClosesOnExit):
    """The record batches of one DoGet, read one at a time.

    Memory holds one batch at a time; zero-row batches are skipped.
    """

    def __init__(self, connection: Connection, ticket: flight.Ticket, locator: str) -> None:
        """Open the DoGet.

        Raises:
            ServerError: The server refused the ticket.
            ValueError: The stream has no `timestamp_ns` column.

        """
        self.locator = locator
        self._reader: flight.FlightStreamReader | None = connection.do_get(ticket, locator)
        self.schema: pa.Schema = self._reader.schema
        if self.schema.get_field_index(TIMESTAMP_COLUMN) < 0:
            self.close()
            raise ValueError(f'DoGet {locator}: stream schema has no {TIMESTAMP_COLUMN} column')

    def next_batch(self) -> pa.RecordBatch | None:
        """Return the next non-empty batch, or None at the end.

        Raises:
            ServerError: The stream broke.

        """
        while self._reader is not None:
            try:
                chunk = self._reader.read_chunk()
            except StopIteration:
                self.close()
                return None
            except pa.ArrowException as err:
                self.close()
                raise ServerError(f'DoGet {self.locator}', str(err)) from err
            if chunk.data is not None and chunk.data.num_rows:
                return chunk.data
        return None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while (batch := self.next_batch()) is not None:
            yield batch

    def close(self) -> None:
        """Cancel the stream if it is still open."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()


class TopicDataStreamer(ClosesOnExit):
    """Iterates the messages of one topic (or one window of it) in time order."""

    def __init__(
        self,
        *,
        connection: Connection,
        ticket: flight.Ticket,
        metadata: TopicAppMetadata,
        model: type[Any] | None = None,
    ) -> None:
        """Open the DoGet of `ticket`.

        Args:
            connection: Channel to the server.
            ticket: Endpoint ticket of the topic (window included).
            metadata: Endpoint app metadata of the same request.
            model: Ontology class to decode into; resolved from the tag and
                the stream schema when None.

        Raises:
            ServerError: The server refused the ticket.

        """
        self._metadata = metadata
        self._stream = BatchStream(connection, ticket, metadata.resource_locator)
        if model is None:
            from mosaico_ros.ontology import resolve_model

            model = resolve_model(metadata.ontology_tag, self._stream.schema)
        self.model = model
        self._messages: list[Any] = []
        self._timestamps: list[int] = []
        self._index = 0
        self._closed = False

    @property
    def name(self) -> str:
        """Topic name (leading `/`)."""
        return unpack_topic_locator(self._metadata.resource_locator)[1]

    @property
    def ontology_tag(self) -> str:
        """Ontology tag of the topic."""
        return self._metadata.ontology_tag

    @property
    def serialization_format(self) -> str:
        """Serialization format of the topic."""
        return self._metadata.serialization_format

    @property
    def msg_count(self) -> int:
        """Rows the request covers (window if any)."""
        return self._metadata.row_count

    @property
    def timestamp_ns_min(self) -> int | None:
        """First record time the request covers."""
        interval = self._metadata.interval
        return interval.start_ns if interval else None

    @property
    def timestamp_ns_max(self) -> int | None:
        """Last record time the request covers."""
        interval = self._metadata.interval
        return interval.end_ns if interval else None

    def _fill(self) -> bool:
        if self._closed:
            raise StreamerClosedError(f'streamer of {self.name} is closed')
        if self._index < len(self._timestamps):
            return True
        from mosaico_ros.ontology import batch_to_messages

        batch = self._stream.next_batch()
        if batch is None:
            return False
        self._timestamps = batch.column(TIMESTAMP_COLUMN).to_pylist()
        self._messages = batch_to_messages(batch, self.model)
        self._index = 0
        return True

    def next_timestamp(self) -> int | None:
        """Peek at the record time of the next message, None at the end.

        Raises:
            StreamerClosedError: The streamer was closed.

        """
        if not self._fill():
            return None
        return self._timestamps[self._index]

    def __iter__(self) -> TopicDataStreamer:
        return self

    def __next__(self) -> Any:
        if not self._fill():
            raise StopIteration
        message = self._messages[self._index]
        self._index += 1
        return message

    def close(self) -> None:
        """Cancel the stream; further use raises `StreamerClosedError`."""
        self._closed = True
        self._messages = []
        self._timestamps = []
        self._stream.close()
