"""Where converted batches go: one upload session of one sequence.

`SessionSink` is the only part of the pipeline that talks to a server:

- The sequence (or, with `update`, the new session of an existing one) is
  created when the first batch arrives, so a run that stores nothing leaves
  nothing behind. Whether the name is free is checked at `open`, before
  anything is read.
- A topic is created when its first batch arrives, with the user's topic
  metadata and the route's bridge block (``_ros_`` or ``_mcap_``); a model
  route creates it through its ontology model, any other through its Arrow
  struct and tag. Row 0 of every batch is ``timestamp_ns`` (the record time).
- `close` finalizes. `abort` applies the session's error policy: with
  ``'delete'`` everything the session stored is removed (the sequence too
  when the session created it); with ``'report'`` the session is finalized
  with an error notification naming the reason.

Every failure of a topic's upload reaches `close` as an error: a session
never finalizes as clean with rows missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from mosaico_ros.codec.arrays import numeric_array
from mosaico_ros.ontology.message import topic_schema_of
from mosaico_ros.pipeline.errors import SinkError
from mosaico_ros.protocol import sanitize_topic_name

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from mosaico_ros.client import MosaicoClient, SequenceUpdater, SequenceWriter, TopicWriter
    from mosaico_ros.pipeline.routing import Route

OnError = Literal['report', 'delete']


class AbortSessionError(Exception):
    """Raised inside the client's session to make it apply its error policy."""


@dataclass
class SessionSink:
    """One upload session into one sequence, opened on the first batch.

    Use as a context manager, or call `open` and then `close` or `abort`.

    Attributes:
        client: Connected client.
        sequence: Name of the sequence.
        metadata: Sequence user metadata (only when the session creates the sequence).
        update: Add a session to an existing sequence instead of creating it.
        on_error: Error policy of the session.
        topic_metadata: Topic name -> user metadata of that topic.

    """

    client: MosaicoClient
    sequence: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    update: bool = False
    on_error: OnError = 'report'
    topic_metadata: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _session: Any = field(default=None, init=False, repr=False)
    _writers: dict[str, TopicWriter] = field(default_factory=dict, init=False, repr=False)
    _schemas: dict[str, pa.Schema] = field(default_factory=dict, init=False, repr=False)

    def open(self, topics: Sequence[str] = ()) -> None:
        """Check that the sequence can take this session; nothing is created yet.

        Args:
            topics: The topics the session will write, checked against those an
                existing sequence holds (topic names are unique in a sequence).

        Raises:
            SinkError: The sequence exists and `update` is off, or does not
                exist and `update` is on, or already holds some of `topics`.

        """
        exists = self.client.sequence_exists(self.sequence)
        if exists and not self.update:
            raise SinkError(
                f'sequence {self.sequence!r} exists already; pass --update to add a session '
                'to it, or --sequence to choose another name',
            )
        if self.update and not exists:
            raise SinkError(
                f'sequence {self.sequence!r} does not exist, so --update cannot add to it'
            )
        if exists and topics:
            handler = self.client.sequence_handler(self.sequence)
            stored = {sanitize_topic_name(t) for t in (handler.topics if handler else [])}
            taken = sorted(t for t in topics if sanitize_topic_name(t) in stored)
            if taken:
                raise SinkError(
                    f'sequence {self.sequence!r} holds {", ".join(taken)} already: a session '
                    'adds new topics only; leave them out (--exclude-topics) or use --resume'
                )

    def __enter__(self) -> SessionSink:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(f'{type(exc).__name__}: {exc}')

    @property
    def started(self) -> bool:
        """Whether the session exists on the server (a batch was written)."""
        return self._session is not None

    @property
    def topics(self) -> Sequence[str]:
        """Topics created so far, in creation order."""
        return list(self._writers)

    def writer(self, topic: str) -> TopicWriter | None:
        """Return the upload writer of a topic, once its first batch was written."""
        return self._writers.get(topic)

    def _policy(self) -> Any:
        from mosaico_ros.client import SessionLevelErrorPolicy

        if self.on_error == 'delete':
            return SessionLevelErrorPolicy.Delete
        return SessionLevelErrorPolicy.Report

    def _start(self) -> Any:
        if self._session is None:
            session: SequenceUpdater | SequenceWriter
            if self.update:
                session = self.client.sequence_update(self.sequence, on_error=self._policy())
            else:
                session = self.client.sequence_create(
                    self.sequence, dict(self.metadata), on_error=self._policy()
                )
            session.__enter__()
            self._session = session
        return self._session

    def _create_topic(self, topic: str, route: Route) -> TopicWriter:
        session = self._start()
        metadata = {**self.topic_metadata.get(topic, {}), **route.metadata()}
        if route.model is not None:
            writer = session.topic_create(topic, metadata, route.model)
        else:
            writer = session.topic_create(
                topic,
                metadata,
                schema=topic_schema_of(route.struct_type),
                ontology_tag=route.tag,
                serialization_format=route.serialization_format,
            )
        if writer is None:
            raise SinkError(f'the server refused to create topic {topic!r} in {self.sequence!r}')
        self._writers[topic] = writer
        self._schemas[topic] = writer.schema
        return writer

    def write(self, topic: str, route: Route, times: Sequence[int], struct: pa.StructArray) -> int:
        """Write one converted batch of a topic, creating what it needs first.

        Args:
            topic: Topic name.
            route: How the topic is stored.
            times: Record time of each row.
            struct: The rows, typed `route.struct_type`.

        Returns:
            Arrow bytes written.

        Raises:
            SinkError: The server refused the sequence or the topic.
            ClientError: An earlier batch of the topic failed to upload.

        """
        writer = self._writers.get(topic) or self._create_topic(topic, route)
        batch = pa.RecordBatch.from_arrays(
            [numeric_array(np.asarray(times, np.int64)), *struct.flatten()],
            schema=self._schemas[topic],
        )
        writer.push_batch(batch)
        return int(batch.nbytes)

    def write_table(
        self, topic: str, table: pa.Table, tag: str, metadata: Mapping[str, Any]
    ) -> None:
        """Write a small table of the run's own (a report) as a topic of the session.

        Args:
            topic: Topic name.
            table: Rows; the first column is ``timestamp_ns``.
            tag: Ontology tag of the topic.
            metadata: Topic user metadata.

        Raises:
            SinkError: The server refused the topic.

        """
        session = self._start()
        writer = session.topic_create(topic, dict(metadata), schema=table.schema, ontology_tag=tag)
        if writer is None:
            raise SinkError(f'the server refused to create topic {topic!r} in {self.sequence!r}')
        self._writers[topic] = writer
        for batch in table.to_batches():
            writer.push_batch(batch)

    def close(self) -> None:
        """Finalize the session (nothing to do when nothing was written).

        Raises:
            SessionError: A topic's upload failed; the session's error policy
                was applied.

        """
        session, self._session = self._session, None
        if session is not None:
            session.__exit__(None, None, None)

    def abort(self, reason: str) -> None:
        """Apply the session's error policy because of `reason`.

        Never raises for the policy's own failures (they are logged by the client).
        """
        session, self._session = self._session, None
        if session is not None:
            error = AbortSessionError(reason)
            session.__exit__(AbortSessionError, error, None)
