"""Catalog view of one stored sequence, and the way to read or extend it."""

from __future__ import annotations

from typing import Any

from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.client.config import WriterConfig
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.endpoints import TopicEndpoint, topic_endpoints
from mosaico_ros.client.enums import SessionLevelErrorPolicy
from mosaico_ros.client.errors import ServerError
from mosaico_ros.client.sequence_streamer import SequenceDataStreamer
from mosaico_ros.client.session import Session
from mosaico_ros.client.session_writer import SequenceUpdater
from mosaico_ros.client.topic_handler import TopicHandler
from mosaico_ros.client.topic_reader import TopicDataStreamer
from mosaico_ros.protocol import (
    ProtocolError,
    ResourceCommand,
    SequenceAppMetadata,
    pack_topic_locator,
    sanitize_topic_name,
)


class SequenceHandler(ClosesOnExit):
    """Properties of a stored sequence, its topics, and a merged streamer.

    At most one sequence streamer is live: a new one closes the previous,
    which then raises `ValueError` when used.
    """

    def __init__(self, *, connection: Connection, name: str, decode_limit: int) -> None:
        """Load the sequence's FlightInfo.

        Raises:
            ServerError: The sequence does not exist or cannot be read.
            ProtocolError: The FlightInfo has no valid app metadata.

        """
        self._connection = connection
        self._name = name
        self._decode_limit = decode_limit
        self._streamer: SequenceDataStreamer | None = None
        self._topic_handlers: dict[str, TopicHandler] = {}
        self._metadata, self._endpoints = self._load(None, None)

    def _load(
        self,
        start_ns: int | None,
        end_ns: int | None,
    ) -> tuple[SequenceAppMetadata, list[TopicEndpoint]]:
        info = self._connection.flight_info(ResourceCommand(self._name, start_ns, end_ns))
        raw = info.app_metadata
        if not raw:
            raise ProtocolError(f'GetFlightInfo {self._name}: sequence has no app_metadata')
        return SequenceAppMetadata.decode(raw), topic_endpoints(info)

    def reload(self) -> bool:
        """Fetch the sequence's state again; False if it is gone or unreadable."""
        try:
            self._metadata, self._endpoints = self._load(None, None)
        except (ServerError, ProtocolError):
            return False
        return True

    @property
    def name(self) -> str:
        """Sequence name."""
        return self._metadata.resource_locator

    @property
    def sessions(self) -> list[Session]:
        """Upload sessions, oldest first."""
        return [Session.from_info(info) for info in self._metadata.sessions]

    @property
    def topics(self) -> list[str]:
        """Topic names (leading `/`) over all sessions, in session order."""
        return [topic for session in self.sessions for topic in session.topics]

    @property
    def user_metadata(self) -> dict[str, Any]:
        """Sequence user metadata as given at creation."""
        return self._metadata.user_metadata

    @property
    def created_timestamp(self) -> int:
        """Creation time, ns since the epoch."""
        return self._metadata.created_at_ns

    @property
    def updated_timestamps(self) -> list[int]:
        """Creation time of each session."""
        return [info.created_at_ns for info in self._metadata.sessions]

    @property
    def total_size_bytes(self) -> int:
        """Stored bytes over all topics."""
        return sum(endpoint.metadata.data_info.total_bytes for endpoint in self._endpoints)

    @property
    def timestamp_ns_min(self) -> int | None:
        """Earliest record time over all topics."""
        starts = [e.metadata.interval.start_ns for e in self._endpoints if e.metadata.interval]
        return min(starts) if starts else None

    @property
    def timestamp_ns_max(self) -> int | None:
        """Latest record time (inclusive) over all topics."""
        ends = [e.metadata.interval.end_ns for e in self._endpoints if e.metadata.interval]
        return max(ends) if ends else None

    def get_topic_handler(self, topic_name: str, force_new_instance: bool = False) -> TopicHandler:
        """Return the handler of one topic of this sequence.

        Raises:
            ValueError: The sequence has no such topic.
            ServerError: The server refused the request.

        """
        name = sanitize_topic_name(topic_name)
        if name not in self.topics:
            raise ValueError(f'sequence {self.name!r} has no topic {topic_name!r}')
        handler = self._topic_handlers.get(name)
        if handler is None or force_new_instance:
            handler = TopicHandler.fetch(
                self._connection,
                pack_topic_locator(self.name, name),
                name,
            )
            self._topic_handlers[name] = handler
        return handler

    def get_data_streamer(
        self,
        topics: list[str] | None = None,
        start_timestamp_ns: int | None = None,
        end_timestamp_ns: int | None = None,
    ) -> SequenceDataStreamer:
        """Open a time-ordered merge over topics, in `[start, end)`.

        Closes the streamer this handler opened before. Topics with no row
        in the window are left out.

        Args:
            topics: Topic names to merge (ties between equal timestamps are
                broken in this order); None or empty means all topics.
            start_timestamp_ns: Inclusive lower bound, or None.
            end_timestamp_ns: Exclusive upper bound, or None.

        Raises:
            ValueError: A requested topic does not exist.
            RuntimeError: No selected topic has data in the window.
            ServerError: The server refused a request.

        """
        wanted = [sanitize_topic_name(topic) for topic in topics] if topics else self.topics
        missing = [topic for topic in wanted if topic not in self.topics]
        if missing:
            raise ValueError(f'sequence {self.name!r} has no topics {missing}')
        self._close_streamer()
        endpoints = self._load(start_timestamp_ns, end_timestamp_ns)[1]
        by_name = {endpoint.name: endpoint for endpoint in endpoints}
        streamers: dict[str, TopicDataStreamer] = {}
        try:
            for topic in dict.fromkeys(wanted):
                endpoint = by_name.get(topic)
                if endpoint is None or endpoint.metadata.interval is None:
                    continue
                streamers[topic] = TopicDataStreamer(
                    connection=self._connection,
                    ticket=endpoint.ticket,
                    metadata=endpoint.metadata,
                )
        except BaseException:
            for streamer in streamers.values():
                streamer.close()
            raise
        if not streamers:
            raise RuntimeError(
                f'sequence {self.name!r}: no data in topics {wanted} within '
                f'[{start_timestamp_ns}, {end_timestamp_ns})',
            )
        self._streamer = SequenceDataStreamer(self.name, streamers)
        return self._streamer

    def update(
        self,
        on_error: SessionLevelErrorPolicy = SessionLevelErrorPolicy.Report,
    ) -> SequenceUpdater:
        """Return a writer adding a new session to this sequence."""
        return SequenceUpdater(
            connection=self._connection,
            sequence_name=self.name,
            decode_limit=self._decode_limit,
            config=WriterConfig(on_error=on_error),
        )

    def _close_streamer(self) -> None:
        streamer, self._streamer = self._streamer, None
        if streamer is not None:
            streamer.close()

    def close(self) -> None:
        """Close the live streamer and the topic handlers' streamers."""
        self._close_streamer()
        for handler in self._topic_handlers.values():
            handler.close()
