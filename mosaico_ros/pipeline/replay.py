"""The reverse chain: stored topics back into serialized ROS messages, in time order.

For replay (the player) and export (bag writers) alike:

1. Each stored topic is read as Arrow record batches (Flight DoGet, one
   stream per topic, optionally a time window).
2. `TopicEncoder` turns each whole batch back into ROS messages with the
   topic's adapter (`from_arrow`, chosen as the official SDK chooses it:
   the ``_ros_.msgtype`` recorded at ingestion, else the tag's default) and
   serializes them (CDR, or ROS 1 for ROS 1 bags). A batch of
   `COLUMNAR_FROM` rows or more whose adapter is `columnar_reverse` and
   whose type has a codec plan is rebuilt as columns instead
   (`to_ros_columns`) and serialized whole by `mosaico_ros.codec`, making no
   message objects. Encoding before merging keeps the adapters' work
   columnar: merged slices of interleaved topics are a row or two long.
3. `merge_runs` interleaves the topics' encoded batches in global
   timestamp order: numpy finds, in the batch with the earliest head, the
   run of rows that come before every other topic's head, and that run is
   handed on whole. No per-row Python objects are made to merge
   (`merge_by_time` does the same with record batches).
4. `StoredSequences.messages` yields `RawMessage(topic, msgtype, time,
   bytes)`: what a sink (a ROS publisher, a bag writer) consumes.

Ties between topics keep the order the topics were given in. Rows of one
topic keep their stored order, which is time order for everything the
pipeline writes.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mosaico_ros import codec
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.registry import ROS_METADATA_KEY
from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.pipeline.conversion import COLUMNAR_FROM, REJECTIONS
from mosaico_ros.pipeline.envelope import RawMessage
from mosaico_ros.pipeline.qos import Profile, normalize_profile
from mosaico_ros.pipeline.report import ACCOUNTING_TAG, TopicReport
from mosaico_ros.pipeline.selection import TopicSelection
from mosaico_ros.protocol import TIMESTAMP_COLUMN

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore

    from mosaico_ros.adapters.registry import AdapterRegistry
    from mosaico_ros.client import MosaicoClient


Run = TypeVar('Run')

ENCODE_BYTES = 16 << 20
"""Payload bytes rebuilt at a time per topic: what bounds the reverse chain's memory."""
_COLUMN_REJECTIONS: tuple[type[Exception], ...] = (*REJECTIONS, codec.CodecError)
"""What sends a batch from the columnar path back to the per-message one."""
_FIRST_PIECE_ROWS = 16
_MAX_PIECE_ROWS = 4096


def merge_runs(
    streams: Sequence[Iterable[tuple[np.ndarray, Run]]],
) -> Iterator[tuple[int, Run, int, int]]:
    """Interleave several streams of time-ordered runs into one timestamp order.

    Args:
        streams: Per stream, `(times, run)` pairs: a run of rows (a record
            batch, a list of payloads) and the times of its rows, in order.

    Yields:
        `(stream index, run, start, end)`: rows `start:end` of the run; the
        rows of consecutive items, concatenated, are in global time order (ties
        keep the order of `streams`).

    """
    iterators = [iter(runs) for runs in streams]
    heads: list[tuple[Run, np.ndarray, int] | None] = [None] * len(streams)
    heap: list[tuple[int, int]] = []

    def advance(index: int) -> None:
        for times, run in iterators[index]:
            if len(times):
                heads[index] = (run, times, 0)
                heapq.heappush(heap, (int(times[0]), index))
                return
        heads[index] = None

    for index in range(len(streams)):
        advance(index)
    while heap:
        _, index = heapq.heappop(heap)
        head = heads[index]
        assert head is not None
        run, times, pos = head
        if heap:
            limit, other = heap[0]
            after = index < other
            end = pos + int(np.searchsorted(times[pos:], limit, side='right' if after else 'left'))
        else:
            end = len(times)
        yield index, run, pos, end
        if end < len(times):
            heads[index] = (run, times, end)
            heapq.heappush(heap, (int(times[end]), index))
        else:
            advance(index)


def _times(batch: pa.RecordBatch) -> np.ndarray:
    return batch.column(TIMESTAMP_COLUMN).to_numpy(zero_copy_only=False)


def merge_by_time(
    streams: Sequence[tuple[str, Iterable[pa.RecordBatch]]],
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Interleave several topics' batches into one stream in timestamp order.

    Args:
        streams: (topic, batches in time order) per topic; every batch has a
            `timestamp_ns` column.

    Yields:
        (topic, slice): consecutive slices whose rows, concatenated, are in
        global timestamp order (ties keep the order of `streams`).

    """
    runs = [((_times(batch), batch) for batch in batches) for _, batches in streams]
    for index, batch, start, end in merge_runs(runs):
        yield streams[index][0], batch.slice(start, end - start)


@dataclass
class TopicEncoder:
    """Rebuilds one stored topic's rows as serialized ROS messages.

    Attributes:
        topic: Topic name as stored.
        msgtype: ROS type rebuilt.
        adapter: Adapter whose `from_arrow` rebuilds the messages.
        typestore: Typestore whose classes are built and serialized.
        qos: Offered QoS profiles recorded with the topic (None when unknown).
        ros1: Serialize as ROS 1 instead of CDR.
        report: Counts rows read, messages made and rows that could not be rebuilt.
        plans: Codec plans of `typestore` (kept by the owner of the encoders);
            None serializes message by message only.
        columnar_from: Fewest rows of a batch serialized as columns.
        columnar_rows: Rows serialized as columns so far.

    """

    topic: str
    msgtype: str
    adapter: Any
    typestore: Typestore
    qos: tuple[Profile, ...] | None
    ros1: bool = False
    report: TopicReport | None = field(default=None, repr=False)
    plans: codec.CodecCache | None = field(default=None, repr=False)
    columnar_from: int = COLUMNAR_FROM
    columnar_rows: int = 0

    def encode(self, rows: pa.RecordBatch) -> list[bytes | None]:
        """Serialize every row; a row the adapter cannot rebuild gives None (counted).

        A batch the columnar path takes gives the bytes the per-message path
        gives; one it rejects in any way (an adapter rejection, a value the
        codec cannot cast) is serialized message by message, row by row
        where it must be, so a bad row costs only itself.
        """
        report = self.report
        if report is not None:
            report.received += rows.num_rows
        out = self._columns(rows)
        if out is None:
            out = self._objects(rows)
        if report is not None:
            report.stored += sum(payload is not None for payload in out)
        return out

    def _plan(self, count: int) -> codec.Plan | None:
        """Return the plan a batch of `count` rows is serialized with, or None."""
        if self.plans is None or count < self.columnar_from:
            return None
        if not getattr(self.adapter, 'columnar_reverse', False):
            return None
        try:
            return self.plans.plan(self.msgtype, ros1=self.ros1)
        except codec.UnsupportedTypeError:
            return None

    def _columns(self, rows: pa.RecordBatch) -> list[bytes | None] | None:
        """Serialize the batch as columns; None when the columnar path does not take it."""
        plan = self._plan(rows.num_rows)
        if plan is None:
            return None
        try:
            struct = self.adapter.to_ros_columns(rows, self.msgtype, self.typestore)
            blob, ends = codec.encode(plan, struct)
        except _COLUMN_REJECTIONS:
            return None
        self.columnar_rows += rows.num_rows
        bounds = [0, *ends.tolist()]
        return [bytes(blob[start:end]) for start, end in pairwise(bounds)]

    def _objects(self, rows: pa.RecordBatch) -> list[bytes | None]:
        """Serialize the batch message by message, through the adapter's `from_arrow`."""
        serialize = self.typestore.serialize_ros1 if self.ros1 else self.typestore.serialize_cdr
        msgtype = self.msgtype
        try:
            messages = self.adapter.from_arrow(rows, msgtype, self.typestore)
        except REJECTIONS:
            messages = self._one_by_one(rows)
        return [None if msg is None else bytes(serialize(msg, msgtype)) for msg in messages]

    def _one_by_one(self, rows: pa.RecordBatch) -> list[Any]:
        messages: list[Any] = []
        for index in range(rows.num_rows):
            try:
                row = rows.slice(index, 1)
                messages.extend(self.adapter.from_arrow(row, self.msgtype, self.typestore))
            except REJECTIONS as err:
                messages.append(None)
                if self.report is not None:
                    self.report.skip(f'cannot rebuild {self.msgtype}: {err}')
        return messages


def encoder_for(
    topic: str,
    tag: str,
    user_metadata: Mapping[str, Any] | None,
    registry: AdapterRegistry,
    typestore: Typestore,
    *,
    ros1: bool = False,
    plans: codec.CodecCache | None = None,
) -> TopicEncoder:
    """Choose how a stored topic is rebuilt, as the official SDK chooses it.

    `plans` (of `typestore`) lets the encoder serialize large batches as
    columns; without it every message is built and serialized on its own.

    Raises:
        AdapterError: Neither the recorded ROS type nor the tag leads to an adapter.

    """
    adapter, msgtype = registry.resolve_reverse(tag, user_metadata, typestore)
    ros_meta = (user_metadata or {}).get(ROS_METADATA_KEY) or {}
    recorded = ros_meta.get('qos')
    qos = None
    if isinstance(recorded, list) and recorded:
        try:
            qos = tuple(normalize_profile(p) for p in recorded if isinstance(p, Mapping))
        except ValueError as err:
            raise AdapterError(f'topic {topic}: recorded QoS is not readable: {err}') from None
    return TopicEncoder(topic, msgtype, adapter, typestore, qos or None, ros1, plans=plans)


@dataclass(frozen=True)
class StoredTopic:
    """One topic of one stored sequence, selected for replay.

    Attributes:
        sequence: Sequence name.
        topic: Topic name.
        handler: The client's handler of the topic (reads its batches).
        start_ns: First row time, None when the topic is empty.
        end_ns: Last row time, None when the topic is empty.

    """

    sequence: str
    topic: str
    handler: Any
    start_ns: int | None
    end_ns: int | None


class StoredSequences(ClosesOnExit):
    """Stored sequences opened for replay: their topics, encoders and merged messages.

    Use as a context manager. Several sequences play on one timeline; a
    topic name met again in a later sequence must have the same ROS type.

    Args:
        client: Connected client.
        sequences: Sequence names.
        registry: Adapters (their `from_arrow` rebuilds messages).
        typestore: Typestore of the messages built (a ROS 2 store for CDR).
        selection: Which topics to replay.
        ros1: Serialize as ROS 1 instead of CDR.

    Attributes:
        encoders: Topic name -> how its rows become messages.
        refused: Topic name -> why it is not replayed (no adapter, type clash).
        topics: Every selected topic of every sequence.

    Raises:
        LookupError: A sequence does not exist.

    """

    def __init__(
        self,
        client: MosaicoClient,
        sequences: Sequence[str],
        *,
        registry: AdapterRegistry,
        typestore: Typestore,
        selection: TopicSelection | None = None,
        ros1: bool = False,
    ) -> None:
        """Open the sequences' handlers and choose each topic's encoder."""
        self.encoders: dict[str, TopicEncoder] = {}
        self.refused: dict[str, str] = {}
        self.topics: list[StoredTopic] = []
        self._handlers: list[Any] = []
        self._registry = registry
        self._typestore = typestore
        self._plans = codec.CodecCache(typestore)
        self._selection = selection or TopicSelection()
        self._ros1 = ros1
        for name in sequences:
            sequence = client.sequence_handler(name)
            if sequence is None:
                self.close()
                raise LookupError(f'no sequence {name!r}')
            self._handlers.append(sequence)
            for topic in sequence.topics:
                handler = client.topic_handler(name, topic)
                if handler is None:
                    continue
                self._handlers.append(handler)
                self._add(name, topic, handler)

    def _add(self, sequence: str, topic: str, handler: Any) -> None:
        metadata = handler.user_metadata
        msgtype = str(((metadata or {}).get(ROS_METADATA_KEY) or {}).get('msgtype', ''))
        if self._selection.why_not(topic, msgtype or handler.ontology_tag) is not None:
            return
        tag = handler.ontology_tag
        if topic in self.refused or tag == ACCOUNTING_TAG:
            return  # the recorder's account of the sequence is no ROS topic
        try:
            encoder = encoder_for(
                topic,
                tag,
                metadata,
                self._registry,
                self._typestore,
                ros1=self._ros1,
                plans=self._plans,
            )
        except AdapterError as err:
            self.refused[topic] = str(err)
            return
        known = self.encoders.get(topic)
        if known is not None and known.msgtype != encoder.msgtype:
            self.refused[topic] = (
                f'{sequence} stores it as {encoder.msgtype}, an earlier sequence as {known.msgtype}'
            )
            return
        if known is None:
            name = type(encoder.adapter).__name__
            encoder.report = TopicReport(topic, encoder.msgtype, adapter=name)
            self.encoders[topic] = encoder
        start, end = handler.timestamp_ns_min, handler.timestamp_ns_max
        self.topics.append(StoredTopic(sequence, topic, handler, start, end))

    @property
    def start_ns(self) -> int | None:
        """Earliest row time over every replayed topic."""
        starts = [t.start_ns for t in self.topics if t.start_ns is not None]
        return min(starts) if starts else None

    @property
    def end_ns(self) -> int | None:
        """Latest row time over every replayed topic."""
        ends = [t.end_ns for t in self.topics if t.end_ns is not None]
        return max(ends) if ends else None

    def _streamed(self, topics: Collection[str] | None) -> list[StoredTopic]:
        return [
            stored
            for stored in self.topics
            if stored.start_ns is not None and (topics is None or stored.topic in topics)
        ]

    def batches(
        self,
        start_ns: int | None = None,
        end_ns: int | None = None,
        topics: Collection[str] | None = None,
    ) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Return merged slices of the stored rows in `[start_ns, end_ns)`, in timestamp order.

        Args:
            start_ns: First time (inclusive); None from the beginning.
            end_ns: Last time (exclusive); None to the end.
            topics: Only these topics; None for every one.

        """
        streams = [
            (stored.topic, stored.handler.iter_batches(start_ns, end_ns))
            for stored in self._streamed(topics)
        ]
        return merge_by_time(streams)

    def _encoded(
        self, stored: StoredTopic, start_ns: int | None, end_ns: int | None
    ) -> Iterator[tuple[np.ndarray, tuple[list[int], list[bytes]]]]:
        """Yield a topic's stored rows encoded, in pieces: (times, (times, payloads)).

        A piece is as many rows of a stored batch as make about `ENCODE_BYTES`
        of payload (learnt from the piece before): thousands of IMU rows at a
        time, a dozen images. A batch of well-compressed images is small
        stored and hundreds of megabytes rebuilt, so whole batches would not
        bound memory. Rows the adapter cannot rebuild are counted by the
        encoder and left out.
        """
        encoder = self.encoders[stored.topic]
        rows = _FIRST_PIECE_ROWS
        for batch in stored.handler.iter_batches(start_ns, end_ns):
            offset = 0
            while offset < batch.num_rows:
                piece = batch.slice(offset, rows)
                offset += piece.num_rows
                times = _times(piece)
                payloads = encoder.encode(piece)
                kept = [payload for payload in payloads if payload is not None]
                if len(kept) < len(payloads):
                    times = times[[i for i, payload in enumerate(payloads) if payload is not None]]
                size = sum(len(payload) for payload in kept)
                per_row = max(1, size // max(1, len(kept)))
                rows = max(1, min(_MAX_PIECE_ROWS, ENCODE_BYTES // per_row))
                yield times, (times.tolist(), kept)

    def messages(
        self,
        start_ns: int | None = None,
        end_ns: int | None = None,
        topics: Collection[str] | None = None,
    ) -> Iterator[RawMessage]:
        """Yield serialized messages in `[start_ns, end_ns)`, in time order (see `batches`)."""
        picked = self._streamed(topics)
        streams = [self._encoded(stored, start_ns, end_ns) for stored in picked]
        for index, (times, payloads), start, end in merge_runs(streams):
            topic = picked[index].topic
            msgtype = self.encoders[topic].msgtype
            for position in range(start, end):
                yield RawMessage(topic, msgtype, times[position], payloads[position])

    def last_before(self, time_ns: int, topics: Collection[str]) -> list[RawMessage]:
        """Return the last message before `time_ns` of each of `topics`, in time order.

        What a player publishes first when it starts inside a recording, for
        latched topics (a TF tree, a map): their state at that time. Reads
        each topic from its beginning, so it is meant for the sparse topics
        that are latched.
        """
        last: dict[str, tuple[int, pa.RecordBatch]] = {}
        for stored in self._streamed(topics):
            if stored.start_ns is None or stored.start_ns >= time_ns:
                continue
            tail = None
            for batch in stored.handler.iter_batches(None, time_ns):
                tail = batch
            if tail is None:
                continue
            row = tail.slice(tail.num_rows - 1, 1)
            stamp = int(_times(row)[0])
            if stored.topic not in last or last[stored.topic][0] <= stamp:
                last[stored.topic] = (stamp, row)
        found = []
        for topic, (stamp, row) in sorted(last.items(), key=lambda item: item[1][0]):
            encoder = self.encoders[topic]
            payload = encoder.encode(row)[0]
            if payload is not None:
                found.append(RawMessage(topic, encoder.msgtype, stamp, payload))
        return found

    def close(self) -> None:
        """Close every handler (and the DoGet streams they hold)."""
        handlers, self._handlers = self._handlers, []
        for handler in handlers:
            handler.close()
