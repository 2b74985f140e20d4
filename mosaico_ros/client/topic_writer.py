"""Upload of one topic: a DoPut stream fed by a session's background worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pyarrow as pa
from pyarrow import flight

from mosaico_ros.client.batching import split_to_budget
from mosaico_ros.client.connection import Connection
from mosaico_ros.client.enums import TopicLevelErrorPolicy, TopicWriterStatus
from mosaico_ros.client.errors import ClientError, ServerError
from mosaico_ros.client.upload_worker import UploadWorker
from mosaico_ros.protocol import Action, PutCommand, notification_request

logger = logging.getLogger(__name__)

FIRST_CHUNK_ROWS = 8
"""Rows of the first chunk, before the encoded size of a row is known."""

MAX_CHUNK_ROWS = 65536
"""Most messages handed to the worker at once."""

UNMEASURED_MAX_ROWS = 1024
"""Largest chunk sent before the encoded size of a row is known."""


def notify_topic(connection: Connection, locator: str, message: str) -> None:
    """File an error notification on a topic, logging (not raising) failures."""
    try:
        connection.action(Action.TOPIC_NOTIFICATION_CREATE, notification_request(locator, message))
    except ClientError as err:
        logger.error('could not notify %s of %r: %s', locator, message, err)


def record_dropped_text(topic_name: str) -> str:
    """Notification text of a record over the byte budget, as the 0.7.0 SDK words it."""
    return (
        f"Record dropped for topic '{topic_name}': its size alone exceeds the transport's "
        'message-size limit and it cannot be split further.'
    )


class TopicWriter:
    """Writes one topic of an open session.

    `push` only appends to a buffer; full chunks go to the session's worker,
    which encodes them columnar, cuts them to the byte budget and writes them
    to the topic's DoPut stream. Obtain writers from
    `SequenceWriter.topic_create`.

    Attributes:
        locator: Topic locator `<sequence>/<topic>`.
        schema: Arrow schema of the DoPut stream.
        budget_bytes: Largest batch payload sent in one DoPut message.
        rows_sent: Rows written to the stream so far.
        batches_sent: Record batches written so far.
        bytes_sent: Arrow payload bytes written so far.
        largest_batch_bytes: Payload of the largest batch written.

    """

    def __init__(
        self,
        *,
        name: str,
        locator: str,
        topic_uuid: str,
        connection: Connection,
        worker: UploadWorker,
        schema: pa.Schema,
        ontology_tag: str,
        serialization_format: str,
        model: type[Any] | None,
        budget_bytes: int,
        max_batch_size_records: int | None,
        on_error: TopicLevelErrorPolicy,
    ) -> None:
        self._name = name
        self.locator = locator
        self.topic_uuid = topic_uuid
        self.schema = schema
        self.ontology_tag = ontology_tag
        self.serialization_format = serialization_format
        self.model = model
        self.budget_bytes = budget_bytes
        self.max_batch_size_records = max_batch_size_records
        self.on_error = on_error
        self._connection = connection
        self._worker = worker
        self._lock = threading.Lock()
        self._buffer: list[Any] = []
        self._flush_rows = max_batch_size_records or FIRST_CHUNK_ROWS
        self._row_size_known = max_batch_size_records is not None
        self._stream: flight.FlightStreamWriter | None = None
        self._stream_reader: flight.FlightMetadataReader | None = None
        self._closing = False
        self._finalized = False
        self._failure: ClientError | None = None
        self._status = TopicWriterStatus.Active
        self._last_error: str | None = None
        self._dropped = 0
        self.rows_sent = 0
        self.batches_sent = 0
        self.bytes_sent = 0
        self.largest_batch_bytes = 0

    def open(self) -> None:
        """Open the DoPut stream (done by `topic_create`, before any push).

        Raises:
            ServerError: The server refused the stream.

        """
        self._stream, self._stream_reader = self._connection.do_put(
            PutCommand(self.locator, self.topic_uuid),
            self.schema,
        )

    @property
    def name(self) -> str:
        """Topic name as given to `topic_create`."""
        return self._name

    @property
    def status(self) -> TopicWriterStatus:
        """Lifecycle state of the writer."""
        return self._status

    @property
    def last_error(self) -> str | None:
        """Text of the last error this writer handled, if any."""
        return self._last_error

    @property
    def is_active(self) -> bool:
        """Whether the DoPut stream is open and takes records."""
        return not self._closing

    @property
    def dropped_record_count(self) -> int:
        """Records dropped because each alone exceeded the byte budget."""
        return self._dropped

    def push(
        self,
        message: Any = None,
        *,
        ontology_obj: Any = None,
        message_timestamp_ns: int | None = None,
    ) -> None:
        """Queue one record for upload.

        Either a ready `Message`, or an ontology object plus its record
        timestamp. The call does no serialization: it appends to a buffer
        and hands full chunks to the session's worker (blocking only when
        the worker's bounded queue is full).

        Args:
            message: A `Message` whose data is of this topic's model.
            ontology_obj: Ontology object, when `message` is not given.
            message_timestamp_ns: Record time of `ontology_obj`.

        Raises:
            ClientError: An earlier chunk of this topic failed to encode or
                send (the first such error, naming the topic).
            RuntimeError: The writer is finalized.
            TypeError: The record is not of this topic's model.

        """
        if message is None:
            message = self._wrap(ontology_obj, message_timestamp_ns)
        model = self.model
        if model is None:
            raise TypeError(
                f'topic {self._name!r} was created from an Arrow schema; use push_batch()',
            )
        if not isinstance(message.data, model):
            raise TypeError(
                f'topic {self._name!r} takes {model.__name__} records, '
                f'got {type(message.data).__name__}',
            )
        with self._lock:
            self._check_writable()
            buffer = self._buffer
            buffer.append(message)
            if len(buffer) >= self._flush_rows:
                self._buffer = []
                if not self._row_size_known:
                    # Grow geometrically until the worker has measured a row,
                    # so a fast producer does not queue many tiny chunks.
                    self._flush_rows = min(self._flush_rows * 2, UNMEASURED_MAX_ROWS)
                self._submit(lambda: self._encode_and_write(buffer))

    def push_batch(self, batch: pa.RecordBatch) -> None:
        """Queue an already columnar batch for upload.

        Records pushed before it are sent before it. The batch is cut to the
        byte budget (and `max_batch_size_records`) by the worker.

        Args:
            batch: Rows with exactly the topic's schema (field metadata may
                differ).

        Raises:
            ValueError: The batch's schema is not the topic's.
            ClientError: An earlier chunk of this topic failed.
            RuntimeError: The writer is finalized.

        """
        if not batch.schema.equals(self.schema):
            raise ValueError(
                f'push_batch on topic {self._name!r}: batch schema does not match the topic '
                f'schema.\nbatch: {batch.schema}\ntopic: {self.schema}',
            )
        with self._lock:
            self._check_writable()
            self._handoff_locked()
            self._submit(lambda: self._write(batch), batch.get_total_buffer_size())

    def _wrap(self, ontology_obj: Any, timestamp_ns: int | None) -> Any:
        from mosaico_ros.ontology import Message

        if ontology_obj is None or timestamp_ns is None:
            raise TypeError(
                f'push on topic {self._name!r} needs message=, or ontology_obj= with '
                'message_timestamp_ns=',
            )
        return Message(timestamp_ns=timestamp_ns, data=ontology_obj)

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise RuntimeError(f'topic writer {self._name!r} is finalized')

    def _handoff_locked(self) -> None:
        if self._buffer:
            chunk = self._buffer
            self._buffer = []
            self._submit(lambda: self._encode_and_write(chunk))

    def _submit(self, job: Callable[[], None], nbytes: int = 0) -> None:
        """Queue a job holding `nbytes` on the session's worker; what it raises fails the topic."""

        def guarded() -> None:
            try:
                job()
            except Exception as err:
                self._fail(
                    ClientError(
                        f'upload of topic {self._name!r} failed: {type(err).__name__}: {err}'
                    ),
                    '',
                )

        self._worker.submit(guarded, nbytes)

    # Worker side: everything below runs on the session's upload thread.

    def _fail(self, err: Exception, what: str) -> None:
        if self._failure is None:
            if isinstance(err, ClientError):
                self._failure = err
            else:
                self._failure = ServerError(f'{what} {self.locator}', str(err))
            self._last_error = str(err)

    def _encode_and_write(self, messages: list[Any]) -> None:
        if self._failure is not None or self._stream is None:
            return
        from mosaico_ros.ontology import messages_to_batch

        try:
            batch = messages_to_batch(messages, self.model)
        except Exception as err:
            self._fail(ClientError(f'encoding records of topic {self._name!r} failed: {err}'), '')
            return
        rows = batch.num_rows
        if rows and self.max_batch_size_records is None:
            per_row = max(1, batch.nbytes // rows)
            self._flush_rows = max(1, min(MAX_CHUNK_ROWS, self.budget_bytes // per_row))
            self._row_size_known = True
        self._write(batch)

    def _write(self, batch: pa.RecordBatch) -> None:
        stream = self._stream
        if self._failure is not None or stream is None:
            return
        try:
            for piece in split_to_budget(batch, self.budget_bytes, self.max_batch_size_records):
                if piece.oversized:
                    self._drop_oversized()
                    continue
                stream.write_batch(piece.batch)
                size = piece.batch.nbytes
                self.rows_sent += piece.batch.num_rows
                self.batches_sent += 1
                self.bytes_sent += size
                self.largest_batch_bytes = max(self.largest_batch_bytes, size)
        except pa.ArrowException as err:
            self._fail(err, 'DoPut')

    def _drop_oversized(self) -> None:
        text = record_dropped_text(self._name)
        self._dropped += 1
        self._status = TopicWriterStatus.RecordTooLarge
        self._last_error = text
        logger.warning(text)
        notify_topic(self._connection, self.locator, text)

    def _done_writing(self) -> None:
        stream = self._stream
        if stream is not None:
            try:
                stream.done_writing()
            except pa.ArrowException as err:
                self._fail(err, 'DoPut')

    def _close_stream(self) -> ClientError | None:
        stream = self._stream
        self._stream = None
        if stream is not None:
            try:
                stream.close()
            except pa.ArrowException as err:
                self._fail(err, 'DoPut')
        return self._failure

    # Caller side again.

    def finish_writing(self, *, flush: bool = True) -> None:
        """Half-close the stream after everything queued before it is written, without waiting.

        The server then stores the topic's last rows while other topics are
        still being closed; `finalize` waits for its answer.

        Args:
            flush: Send the records still buffered here first; False drops
                them, as the error policies do.

        """
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if flush:
                self._handoff_locked()
            else:
                self._buffer = []
        self._worker.submit(self._done_writing)

    def finalize(self, *, flush: bool = True) -> ClientError | None:
        """Half-close the stream (as `finish_writing`) and wait for the server's answer.

        Args:
            flush: Send the records still buffered here first; False drops
                them, as the error policies do.

        Returns:
            The first error of this topic's upload, or None.

        """
        with self._lock:
            if self._finalized:
                return self._failure
            self._finalized = True
        self.finish_writing(flush=flush)
        try:
            error = self._worker.call(self._close_stream).result()
        except Exception as err:
            self._fail(ClientError(f'closing topic {self._name!r} failed: {err}'), '')
            error = self._failure
        if self._status in (TopicWriterStatus.Active, TopicWriterStatus.RecordTooLarge):
            self._status = TopicWriterStatus.Finalized
        return error

    def report_error(self, text: str) -> None:
        """File `text` as an error notification of this topic."""
        self._last_error = text
        notify_topic(self._connection, self.locator, text)

    def __enter__(self) -> TopicWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool:
        if exc_val is None or not isinstance(exc_val, Exception):
            return False
        if self.on_error is TopicLevelErrorPolicy.Raise:
            self._status = TopicWriterStatus.RaisedException
            self._last_error = str(exc_val)
            return False
        self.report_error(str(exc_val))
        if self.on_error is TopicLevelErrorPolicy.Finalize:
            self.finalize(flush=False)
            self._status = TopicWriterStatus.FinalizedWithError
        else:
            self._status = TopicWriterStatus.IgnoredLastError
        return True
