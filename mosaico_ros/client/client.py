"""`MosaicoClient`: the entry point to a Mosaico server."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from mosaico_ros.client.config import WriterConfig
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.enums import SessionLevelErrorPolicy
from mosaico_ros.client.errors import ClientError, PermissionDeniedError, ServerError
from mosaico_ros.client.notifications import Notification
from mosaico_ros.client.query import QueryResultItem, parse_query_response
from mosaico_ros.client.query_builder import CatalogQuery
from mosaico_ros.client.sequence_handler import SequenceHandler
from mosaico_ros.client.session_writer import SequenceUpdater, SequenceWriter
from mosaico_ros.client.topic_handler import TopicHandler
from mosaico_ros.protocol import (
    Action,
    ProtocolError,
    ResourceCommand,
    ServerInfo,
    pack_topic_locator,
    sanitize_sequence_name,
    sanitize_topic_name,
)

logger = logging.getLogger(__name__)

PROBE_INTERVAL_S = 0.025
"""Pause between `info` probes while connecting."""


class MosaicoClient:
    """A connection to one Mosaico server (`mosaicod` or the embedded one).

    Create with `MosaicoClient.connect(...)` and use as a context manager.
    """

    def __init__(self, connection: Connection, server_info: ServerInfo) -> None:
        self._connection = connection
        self._info = server_info
        self._handlers: list[SequenceHandler | TopicHandler] = []
        self._closed = False

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        api_key: str | None = None,
        enable_tls: bool = False,
        tls_cert_path: str | Path | None = None,
        timeout: float = 5,
    ) -> MosaicoClient:
        """Open a channel and wait until the server answers `info`.

        Args:
            host: Server host name or address.
            port: Server port.
            api_key: API key sent with every call, or None.
            enable_tls: Use TLS with the system root certificates.
            tls_cert_path: PEM root certificate; forces TLS on.
            timeout: Seconds to keep probing before giving up.

        Returns:
            The connected client.

        Raises:
            ConnectionError: The server did not answer `info` in time.

        """
        connection = Connection(
            host,
            port,
            api_key=api_key,
            enable_tls=enable_tls,
            tls_cert_path=tls_cert_path,
        )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                response = connection.action(Action.INFO, {})
                if response is not None:
                    return cls(connection, ServerInfo.from_dict(response))
                last_error = ProtocolError('info answered no response')
            except (ClientError, ProtocolError) as err:
                last_error = err
            if time.monotonic() >= deadline:
                connection.close()
                raise ConnectionError(
                    f'no Mosaico server answered at {connection.uri} within {timeout} s: '
                    f'{last_error}',
                )
            time.sleep(PROBE_INTERVAL_S)

    def __enter__(self) -> MosaicoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every streamer handed out and the channel."""
        if self._closed:
            return
        self._closed = True
        for handler in self._handlers:
            handler.close()
        self._handlers.clear()
        self._connection.close()

    def info(self) -> ServerInfo:
        """Server version and limits, as answered at connect time."""
        return self._info

    def version(self) -> str:
        """Server version string."""
        return self._info.version

    @property
    def connection(self) -> Connection:
        """The underlying channel."""
        return self._connection

    def _action(self, action: Action, body: dict[str, Any]) -> Any:
        return self._connection.action(action, body)

    def list_sequences(self) -> list[str]:
        """Names of every sequence on the server."""
        names: list[str] = []
        for info in self._connection.list_flights():
            path = info.descriptor.path
            if path:
                names.extend(part.decode() if isinstance(part, bytes) else part for part in path)
        return names

    def ping(self) -> None:
        """Ask the server for its info, to see that it answers.

        Raises:
            ServerError: The server did not answer (or answered with an error).

        """
        self._action(Action.INFO, {})

    def sequence_exists(self, sequence_name: str) -> bool:
        """Whether the server knows the sequence (any error counts as no)."""
        try:
            self._connection.flight_info(ResourceCommand(sanitize_sequence_name(sequence_name)))
        except ClientError:
            return False
        return True

    def topic_exists(self, sequence_name: str, topic_name: str) -> bool:
        """Whether the server knows the topic (any error counts as no)."""
        try:
            self._connection.flight_info(
                ResourceCommand(pack_topic_locator(sequence_name, topic_name)),
            )
        except ClientError:
            return False
        return True

    def _writer_config(
        self,
        on_error: SessionLevelErrorPolicy,
        max_batch_size_bytes: int | None,
        max_batch_size_records: int | None,
    ) -> WriterConfig:
        return WriterConfig(
            max_batch_size_bytes=max_batch_size_bytes,
            max_batch_size_records=max_batch_size_records,
            on_error=on_error,
        )

    def sequence_create(
        self,
        sequence_name: str,
        metadata: dict[str, Any],
        on_error: SessionLevelErrorPolicy = SessionLevelErrorPolicy.Report,
        max_batch_size_bytes: int | None = None,
        max_batch_size_records: int | None = None,
    ) -> SequenceWriter:
        """Return a writer that creates the sequence when its `with` block opens.

        Raises:
            ValueError: The name is not a valid sequence name.
            TypeError: `metadata` is not a dict.

        """
        return SequenceWriter(
            connection=self._connection,
            sequence_name=sequence_name,
            decode_limit=self._info.config.grpc_max_decode_message_size,
            config=self._writer_config(on_error, max_batch_size_bytes, max_batch_size_records),
            metadata=metadata,
        )

    def sequence_update(
        self,
        sequence_name: str,
        on_error: SessionLevelErrorPolicy = SessionLevelErrorPolicy.Report,
        max_batch_size_bytes: int | None = None,
        max_batch_size_records: int | None = None,
    ) -> SequenceUpdater:
        """Return a writer that adds a session to an existing sequence.

        Raises:
            ValueError: The name is not a valid sequence name.

        """
        return SequenceUpdater(
            connection=self._connection,
            sequence_name=sequence_name,
            decode_limit=self._info.config.grpc_max_decode_message_size,
            config=self._writer_config(on_error, max_batch_size_bytes, max_batch_size_records),
        )

    def sequence_handler(self, sequence_name: str) -> SequenceHandler | None:
        """Return a handler of a stored sequence, or None if there is none.

        Raises:
            PermissionDeniedError: The API key may not read it.
            ProtocolError: The server's answer is malformed.

        """
        try:
            handler = SequenceHandler(
                connection=self._connection,
                name=sanitize_sequence_name(sequence_name),
                decode_limit=self._info.config.grpc_max_decode_message_size,
            )
        except PermissionDeniedError:
            raise
        except ServerError as err:
            logger.debug('sequence_handler(%r): %s', sequence_name, err)
            return None
        self._handlers.append(handler)
        return handler

    def topic_handler(self, sequence_name: str, topic_name: str) -> TopicHandler | None:
        """Return a handler of a stored topic, or None if there is none.

        Raises:
            PermissionDeniedError: The API key may not read it.

        """
        try:
            handler = TopicHandler.fetch(
                self._connection,
                pack_topic_locator(sequence_name, topic_name),
                sanitize_topic_name(topic_name),
            )
        except PermissionDeniedError:
            raise
        except ClientError as err:
            logger.debug('topic_handler(%r, %r): %s', sequence_name, topic_name, err)
            return None
        self._handlers.append(handler)
        return handler

    def sequence_delete(self, sequence_name: str) -> None:
        """Delete a sequence (only unlocked data, unless the server allows more).

        Raises:
            ServerError: The server refused.

        """
        self._action(Action.SEQUENCE_DELETE, {'locator': sanitize_sequence_name(sequence_name)})

    def session_delete(self, locator: str) -> None:
        """Delete a session by its `<sequence>:<id>` locator.

        Raises:
            ServerError: The server refused.

        """
        self._action(Action.SESSION_DELETE, {'locator': locator})

    def _notifications(self, action: Action, locator: str) -> list[Notification]:
        response = self._action(action, {'locator': locator})
        if response is None:
            return []
        items = response.get('notifications') if isinstance(response, dict) else None
        if not isinstance(items, list):
            raise ProtocolError(f'{action.value} {locator}: no notifications list in {response!r}')
        return [Notification.from_dict(item) for item in items]

    def list_sequence_notifications(self, sequence_name: str) -> list[Notification]:
        """Error notifications filed on a sequence.

        Raises:
            ServerError: The server refused.

        """
        return self._notifications(
            Action.SEQUENCE_NOTIFICATION_LIST,
            sanitize_sequence_name(sequence_name),
        )

    def clear_sequence_notifications(self, sequence_name: str) -> None:
        """Purge the notifications of a sequence.

        Raises:
            ServerError: The server refused.

        """
        self._action(
            Action.SEQUENCE_NOTIFICATION_PURGE,
            {'locator': sanitize_sequence_name(sequence_name)},
        )

    def list_topic_notifications(self, sequence_name: str, topic_name: str) -> list[Notification]:
        """Error notifications filed on a topic.

        Raises:
            ServerError: The server refused.

        """
        return self._notifications(
            Action.TOPIC_NOTIFICATION_LIST,
            pack_topic_locator(sequence_name, topic_name),
        )

    def clear_topic_notifications(self, sequence_name: str, topic_name: str) -> None:
        """Purge the notifications of a topic.

        Raises:
            ServerError: The server refused.

        """
        self._action(
            Action.TOPIC_NOTIFICATION_PURGE,
            {'locator': pack_topic_locator(sequence_name, topic_name)},
        )

    def query(self, body: dict[str, Any] | CatalogQuery) -> list[QueryResultItem]:
        """Run a catalog query (PROTOCOL.md §8).

        Args:
            body: A `CatalogQuery`, or the raw request: an object with
                optional `sequence`, `topic` and `ontology` sections.

        Returns:
            Matching sequences with their matching topics.

        Raises:
            ServerError: The server refused the query.
            ProtocolError: The answer is malformed.

        """
        request = body.to_dict() if isinstance(body, CatalogQuery) else body
        return parse_query_response(self._action(Action.QUERY, request))
