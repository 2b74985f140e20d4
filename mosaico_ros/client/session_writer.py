"""Upload sessions: a new sequence (`SequenceWriter`) or a new layer (`SequenceUpdater`)."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import pyarrow as pa

from mosaico_ros.client.config import WriterConfig
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.enums import SessionLevelErrorPolicy, SessionStatus, TopicLevelErrorPolicy
from mosaico_ros.client.errors import ClientError, NoResponseError, ServerError, SessionError
from mosaico_ros.client.topic_writer import TopicWriter
from mosaico_ros.client.upload_worker import UploadWorker
from mosaico_ros.protocol import (
    SERIALIZATION_FORMATS,
    TIMESTAMP_COLUMN,
    Action,
    notification_request,
    pack_topic_locator,
    validate_sequence_name,
    validate_topic_name,
)

logger = logging.getLogger(__name__)


def _enum_value(value: Any) -> str:
    return str(getattr(value, 'value', value))


class _SessionWriter:
    """One upload session: `session_create`, topics with DoPut streams, then finalize.

    Used as a context manager; leaving the block finalizes, or applies the
    session-level error policy exactly as the 0.7.0 SDK does on the wire.
    """

    _creates_sequence = False

    def __init__(
        self,
        *,
        connection: Connection,
        sequence_name: str,
        decode_limit: int,
        config: WriterConfig,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.sequence_name = validate_sequence_name(sequence_name)
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f'metadata of sequence {sequence_name!r} must be a dict')
        self.config = config
        self._metadata = metadata
        self._connection = connection
        self._budget = config.byte_budget(decode_limit)
        self._writers: dict[str, TopicWriter] = {}
        self._worker: UploadWorker | None = None
        self._status = SessionStatus.Null
        self._session_uuid: str | None = None
        self._session_locator: str | None = None

    @property
    def status(self) -> SessionStatus:
        """Lifecycle state of the session."""
        return self._status

    session_status = status

    @property
    def session_locator(self) -> str:
        """`<sequence>:<session id>`; only known inside the `with` block."""
        if self._session_locator is None:
            raise RuntimeError('the session is not open: use the writer in a with block')
        return self._session_locator

    @property
    def budget_bytes(self) -> int:
        """Largest DoPut batch payload this session sends."""
        return self._budget

    def __enter__(self) -> _SessionWriter:
        if self._status is not SessionStatus.Null:
            raise RuntimeError(f'session on {self.sequence_name!r} was already opened')
        if self._creates_sequence:
            self._connection.action(
                Action.SEQUENCE_CREATE,
                {'locator': self.sequence_name, 'user_metadata': self._metadata or {}},
            )
        response = self._connection.action(Action.SESSION_CREATE, {'locator': self.sequence_name})
        if not isinstance(response, dict) or 'uuid' not in response or 'locator' not in response:
            raise NoResponseError(
                f'session_create on {self.sequence_name!r} returned no session: {response!r}',
            )
        self._session_uuid = str(response['uuid'])
        self._session_locator = str(response['locator'])
        self._worker = UploadWorker(
            self.config.queue_depth,
            f'mosaico-upload-{self.sequence_name}',
            self.config.queue_bytes,
        )
        self._status = SessionStatus.Pending
        return self

    def topic_create(
        self,
        topic_name: str,
        metadata: dict[str, Any],
        ontology_type: type[Any] | None = None,
        on_error: TopicLevelErrorPolicy = TopicLevelErrorPolicy.Raise,
        *,
        schema: pa.Schema | None = None,
        ontology_tag: str | None = None,
        serialization_format: str | None = None,
    ) -> TopicWriter | None:
        """Create a topic in this session and open its DoPut stream.

        Pass an ontology model class, or (for types without a Python model)
        an Arrow `schema` whose first column is `timestamp_ns` plus the
        `ontology_tag` (and optionally `serialization_format`, default
        `default`); such topics take `push_batch` only.

        Args:
            topic_name: Topic name, with or without a leading `/`.
            metadata: Topic user metadata (JSON-serializable dict).
            ontology_type: Ontology model class of the records.
            on_error: Policy used when the writer is a context manager.
            schema: Arrow schema of a topic without model class.
            ontology_tag: Tag of a topic without model class.
            serialization_format: `default`, `ragged` or `image`.

        Returns:
            The writer, or None when the server rejected the topic (logged,
            as the SDK does; the session goes on).

        Raises:
            RuntimeError: Called outside the `with` block.
            ValueError: Bad topic name, duplicate topic, or inconsistent
                model/schema arguments.
            TypeError: `metadata` is not a dict.

        """
        worker = self._worker
        if self._status is not SessionStatus.Pending or worker is None:
            raise RuntimeError('topic_create must be called inside the writer with block')
        validate_topic_name(topic_name)
        if not isinstance(metadata, dict):
            raise TypeError(f'metadata of topic {topic_name!r} must be a dict')
        key = topic_name.strip('/')
        if key in self._writers:
            raise ValueError(
                f'topic {topic_name!r} already exists in session {self._session_locator}'
            )
        model, schema, tag, fmt = self._topic_typing(
            topic_name,
            ontology_type,
            schema,
            ontology_tag,
            serialization_format,
        )
        locator = pack_topic_locator(self.sequence_name, topic_name)
        try:
            response = self._connection.action(
                Action.TOPIC_CREATE,
                {
                    'session_uuid': self._session_uuid,
                    'locator': locator,
                    'serialization_format': fmt,
                    'ontology_tag': tag,
                    'user_metadata': metadata,
                },
            )
        except ServerError as err:
            logger.error('topic_create %s rejected: %s', locator, err.server_message)
            return None
        if not isinstance(response, dict) or 'uuid' not in response:
            logger.error('topic_create %s returned no topic uuid: %r', locator, response)
            return None
        writer = TopicWriter(
            name=topic_name,
            locator=locator,
            topic_uuid=str(response['uuid']),
            connection=self._connection,
            worker=worker,
            schema=schema,
            ontology_tag=tag,
            serialization_format=fmt,
            model=model,
            budget_bytes=self._budget,
            max_batch_size_records=self.config.max_batch_size_records,
            on_error=on_error,
        )
        try:
            writer.open()
        except ServerError as err:
            logger.error('DoPut %s could not be opened: %s', locator, err.server_message)
            try:
                self._connection.action(Action.TOPIC_DELETE, {'locator': locator})
            except ClientError as delete_err:
                logger.error('topic_delete %s failed: %s', locator, delete_err)
            return None
        self._writers[key] = writer
        return writer

    @staticmethod
    def _topic_typing(
        topic_name: str,
        model: type[Any] | None,
        schema: pa.Schema | None,
        tag: str | None,
        fmt: str | None,
    ) -> tuple[type[Any] | None, pa.Schema, str, str]:
        if model is not None:
            from mosaico_ros.ontology import Message

            model_schema = Message.arrow_schema(model)
            if schema is not None and not schema.equals(model_schema):
                raise ValueError(f'topic {topic_name!r}: schema= disagrees with {model.__name__}')
            return (
                model,
                model_schema,
                tag or str(model.__ontology_tag__),
                _enum_value(fmt or model.__serialization_format__),
            )
        if schema is None or tag is None:
            raise ValueError(
                f'topic {topic_name!r}: give ontology_type, or schema= and ontology_tag=',
            )
        if len(schema) == 0 or schema.field(0).name != TIMESTAMP_COLUMN:
            raise ValueError(f'topic {topic_name!r}: schema must start with {TIMESTAMP_COLUMN}')
        fmt = _enum_value(fmt or 'default')
        if fmt not in SERIALIZATION_FORMATS:
            raise ValueError(
                f'topic {topic_name!r}: serialization_format {fmt!r} is not one of '
                f'{SERIALIZATION_FORMATS}',
            )
        return None, schema, tag, fmt

    def get_topic_writer(self, topic_name: str) -> TopicWriter | None:
        """Return the writer of a topic of this session, or None."""
        return self._writers.get(topic_name.strip('/'))

    def topic_exists(self, topic_name: str) -> bool:
        """Whether this session has a writer for the topic."""
        return topic_name.strip('/') in self._writers

    topic_writer_exists = topic_exists

    def list_topic_writers(self) -> list[str]:
        """Topic names of this session, in creation order."""
        return [writer.name for writer in self._writers.values()]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._status is not SessionStatus.Pending:
            return
        try:
            if exc_val is None:
                failure = self._finalize_topics()
                if failure is None:
                    self._connection.action(
                        Action.SESSION_FINALIZE,
                        {'session_uuid': self._session_uuid},
                    )
                    self._status = SessionStatus.Finalized
                    return
                self._apply_policy(failure)
                raise failure
            self._abort_topics(str(exc_val))
            self._apply_policy(exc_val)
        finally:
            if self._worker is not None:
                self._worker.stop()
            if self._status is SessionStatus.Pending:
                self._status = SessionStatus.Error

    def _finalize_topics(self) -> SessionError | None:
        # Half-close every stream before waiting for any, so the server stores
        # the topics' last rows side by side instead of one after another.
        for writer in self._writers.values():
            writer.finish_writing(flush=True)
        failures = []
        for writer in self._writers.values():
            error = writer.finalize(flush=True)
            if error is not None:
                failures.append((writer, error))
        if not failures:
            return None
        details = ''.join(
            f"\nInner err: Error finalizing TopicWriter '{writer.name}'.\nInner err: "
            f'{error.server_message if isinstance(error, ServerError) else error}'
            for writer, error in failures
        )
        return SessionError(
            f'Errors occurred closing topics for session {self._session_locator}, sequence '
            f"'{self.sequence_name}': {len(failures)} topic(s) failed to finalize.{details}",
        )

    def _abort_topics(self, text: str) -> None:
        for writer in self._writers.values():
            if writer.is_active:
                writer.report_error(text)
                writer.finalize(flush=False)

    def _apply_policy(self, err: BaseException) -> None:
        self._status = SessionStatus.Error
        try:
            if self.config.on_error is SessionLevelErrorPolicy.Delete:
                self._connection.action(Action.SESSION_DELETE, {'locator': self._session_locator})
                if self._creates_sequence:
                    self._connection.action(Action.SEQUENCE_DELETE, {'locator': self.sequence_name})
                return
            text = (
                'Exception caught in _BaseSessionWriter block for session '
                f"{self._session_locator}, sequence  '{self.sequence_name}'.\nInner err: '{err}'"
            )
            self._connection.action(
                Action.SEQUENCE_NOTIFICATION_CREATE,
                notification_request(self.sequence_name, text),
            )
            self._connection.action(Action.SESSION_FINALIZE, {'session_uuid': self._session_uuid})
        except ClientError as policy_err:
            logger.error(
                'error policy %s on session %s failed: %s',
                self.config.on_error.value,
                self._session_locator,
                policy_err,
            )


class SequenceWriter(_SessionWriter):
    """Creates a sequence and uploads its first session."""

    _creates_sequence = True

    def __enter__(self) -> SequenceWriter:
        super().__enter__()
        return self


class SequenceUpdater(_SessionWriter):
    """Adds a session (a new layer of topics) to an existing sequence."""

    def __enter__(self) -> SequenceUpdater:
        super().__enter__()
        return self
