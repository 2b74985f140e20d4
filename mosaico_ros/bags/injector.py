"""Bags into Mosaico sequences: `mosaico-ros inject`.

One bag (a file, or a rosbag2 directory with all its split files) becomes
one sequence. The pipeline is columnar and memory-bounded:

1. `open_bag` streams `RawMessage`s in log-time order.
2. Per topic, raw payloads and log times are buffered, up to
   `InjectOptions.batch_messages` messages or `batch_bytes` bytes (and a
   global `buffer_budget` over all topics).
3. A full buffer is decoded with the typestore in one go and the adapter
   turns the decoded list into one struct array; this runs in forked worker
   processes (`InjectOptions.jobs`, see `mosaico_ros.bags.conversion`)
   while reading goes on, with a bound on the batches in flight.
4. In the order the batches were cut, per topic, one record batch
   (`timestamp_ns` = log time, then the data columns) goes to
   `TopicWriter.push_batch`.

Conventions, chosen to match what the official SDK's `RosbagInjector` writes
from the same bag:

- A Mosaico topic is named exactly like the ROS topic. Several connections
  with one topic name and the same type merge into one topic; a connection
  whose type differs from the topic's first type is skipped and reported.
- Topics are created when their first message is stored, so a topic
  declared in the bag with zero messages (in the window) is not created,
  as the SDK does; the report lists it with 0 messages and the note
  'no messages'. This is not an error.
- Topic ``user_metadata`` = user topic metadata, then ``_ros_`` = the
  adapter's ``topic_metadata`` plus ``source_file`` (the name of the path
  given); sequence metadata = ``--metadata`` plus ``rosbag_injection``.
- Time window `start_ns` .. `end_ns` is half-open: log time >= start and
  < end.
- Topic selection patterns (`topics`, `exclude`, `types`) are Python
  regular expressions searched anywhere in the name, like
  ``ros2 bag record -e``; anchor them (``^/camera/``) to match a prefix.
- Channels in JSON or protobuf are stored through a schema derived from
  their jsonschema or descriptor set (`mosaico_ros.adapters.json_channel`,
  `.protobuf_channel`); a channel whose schema cannot be read, or in another
  encoding, is read, counted and reported as skipped with the reason: it is
  never dropped silently.

Every message that is read and not stored is counted in the `BagReport`
under a reason, with the file and offset of the first one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.json_channel import JsonChannelAdapter
from mosaico_ros.adapters.protobuf_channel import ProtobufChannelAdapter
from mosaico_ros.bags.conversion import (
    BatchConverter,
    ConversionPool,
    ConversionStats,
    ConvertedBatch,
    Payloads,
    default_jobs,
)
from mosaico_ros.bags.options import InjectOptions, TopicSelection, sequence_name_for
from mosaico_ros.bags.report import BagReport, BagStatus, Failure, TopicReport

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

    from mosaico_ros.adapters import AdapterRegistry
    from mosaico_ros.bags.model import Connection, RawMessage
    from mosaico_ros.bags.reader import BagReader
    from mosaico_ros.client import MosaicoClient


class InjectProgress(Protocol):
    """Receives progress while bags are injected."""

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        """Begin a bag with `messages` to read (None when unknown) of `size_bytes` on disk."""

    def advance(self, messages: int, payload_bytes: int) -> None:
        """Count messages and payload bytes read since the previous call."""

    def finish(self) -> None:
        """End the current bag."""


class NullProgress:
    """Progress sink that shows nothing."""

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        """Ignore the start of a bag."""

    def advance(self, messages: int, payload_bytes: int) -> None:
        """Ignore progress."""

    def finish(self) -> None:
        """Ignore the end of a bag."""


_TIMESTAMP_DESCRIPTION = 'Ingestion timestamp in nanoseconds (record time).'
_CHANNEL_ADAPTERS: dict[str, tuple[type[JsonChannelAdapter | ProtobufChannelAdapter], str]] = {
    'json': (JsonChannelAdapter, 'json (from jsonschema)'),
    'protobuf': (ProtobufChannelAdapter, 'protobuf (from descriptor set)'),
}
"""Non-ROS MCAP message encodings stored through a schema their channel carries."""


class InjectError(Exception):
    """An injection could not start or had to stop; the text names the bag."""


class _AbortSessionError(Exception):
    """Raised inside the session to make the client apply `--on-error delete`."""


@dataclass
class _TopicStream:
    """Per-topic state while a bag is read: the buffer, the converter and the writer.

    `generation` counts converter changes (the stock-definition fallback):
    a batch cut under an older one is converted again before it is stored.
    A `local` topic is converted in this process, because the workers were
    forked before its converter existed.
    """

    report: TopicReport
    msgtype: str
    connection: Connection
    adapter: Any = None
    converter: BatchConverter | None = None
    key: int = -1
    generation: int = 0
    local: bool = False
    writer: Any = None
    schema: pa.Schema | None = None
    blob: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    unstorable: str | None = None
    stock_retry: Callable[[], bool] | None = None
    stock: bool = False
    stock_typestore: Any = None

    def take(self) -> _Batch:
        """Return the buffered messages as a batch and start an empty buffer."""
        batch = _Batch(
            self,
            self.generation,
            Payloads(self.blob, self.ends),
            self.times,
            self.offsets,
            self.files,
        )
        self.blob, self.ends, self.times, self.offsets, self.files = bytearray(), [], [], [], []
        return batch


@dataclass(frozen=True)
class _Batch:
    """One batch cut from a topic, kept until its conversion is stored."""

    stream: _TopicStream
    generation: int
    payloads: Payloads
    times: list[int]
    offsets: list[int]
    files: list[Path]


class Injector:
    """Injects bags into a Mosaico server.

    Args:
        client: Connected client; None is enough for `plan`.
        options: What to inject and how.
        registry: Adapter registry; the default one when None.
        progress: Told when a bag starts, every thousand messages, and at the end.

    """

    def __init__(
        self,
        client: MosaicoClient | None,
        options: InjectOptions | None = None,
        registry: AdapterRegistry | None = None,
        progress: InjectProgress | None = None,
    ) -> None:
        """Prepare the registry and the filters."""
        from mosaico_ros.adapters import default_registry

        self.client = client
        self.options = options or InjectOptions()
        self.registry = registry or default_registry
        for module in self.options.adapters:
            self.registry.load_module(module)
        for name in self.options.adapter_overrides.values():
            self.registry.by_name(name)
        self.selection = TopicSelection(
            self.options.topics, self.options.exclude, self.options.types
        )
        self.progress: InjectProgress = progress or NullProgress()
        self.last_conversion: ConversionStats | None = None
        """How the batches of the last injected bag were converted."""

    # -- planning -----------------------------------------------------------------------------

    def _open(self, path: Path) -> BagReader:
        from mosaico_ros.bags import open_bag

        return open_bag(
            path,
            msg_paths=tuple(self.options.msg_paths),
            distro=self.options.distro,
        )

    def _typestore(self, reader: BagReader) -> tuple[Typestore, dict[int, str]]:
        """Return the typestore and, per connection id, why its type stays unknown."""
        from mosaico_ros.bags.typesys import resolve_types

        resolution = resolve_types(
            reader.connections,
            distro=self.options.distro,
            msg_paths=tuple(self.options.msg_paths),
        )
        return resolution.typestore, dict(resolution.unknown)

    def _streams(
        self,
        reader: BagReader,
        typestore: Typestore,
        unknown: Mapping[int, str],
    ) -> tuple[dict[str, _TopicStream], dict[int, _TopicStream]]:
        """Decide per topic: selected or not, which adapter, how to decode."""
        by_topic: dict[str, _TopicStream] = {}
        by_connection: dict[int, _TopicStream] = {}
        for conn in reader.connections:
            stream = by_topic.get(conn.topic)
            if stream is None:
                report = TopicReport(topic=conn.topic, msgtype=conn.msgtype)
                stream = by_topic[conn.topic] = _TopicStream(report, conn.msgtype, conn)
                self._choose_adapter(stream, conn, typestore, unknown.get(conn.id))
            if conn.message_count is not None:
                stream.report.expected = (stream.report.expected or 0) + conn.message_count
            if not stream.report.ingest and stream.unstorable is None:
                continue
            if conn.msgtype != stream.msgtype:
                reason = f'type {conn.msgtype} differs from the topic type {stream.msgtype}'
                by_connection[conn.id] = _TopicStream(
                    stream.report, conn.msgtype, conn, unstorable=reason
                )
                continue
            by_connection[conn.id] = stream
        return by_topic, by_connection

    def _choose_adapter(
        self,
        stream: _TopicStream,
        conn: Connection,
        typestore: Typestore,
        unknown: str | None,
    ) -> None:
        report = stream.report
        excluded = self.selection.why_not(conn.topic, conn.msgtype)
        if excluded is not None:
            report.ingest, report.note = False, excluded
            return
        encoding = conn.encoding
        if encoding in _CHANNEL_ADAPTERS:
            adapter_class, label = _CHANNEL_ADAPTERS[encoding]
            try:
                adapter = adapter_class(conn)
            except AdapterError as err:
                stream.unstorable = str(err)
                report.ingest, report.note = False, stream.unstorable
                return
            stream.adapter = adapter
            report.adapter, report.ontology_tag = label, adapter.tag
            stream.converter = BatchConverter(adapter.decode, adapter, conn.msgtype, report.adapter)
            return
        if encoding not in ('cdr', 'ros1'):
            stream.unstorable = (
                f'message encoding {encoding!r} (schema encoding '
                f'{conn.msgdef_encoding or "none"!r}) has no decoder'
            )
            report.ingest, report.note = False, stream.unstorable
            return
        if unknown is not None or conn.msgtype not in typestore.fielddefs:
            stream.unstorable = unknown or (
                f'no definition of {conn.msgtype} in the bag, --msg-path or typestore'
            )
            report.ingest, report.note = False, stream.unstorable
            return
        try:
            ros_adapter = self.registry.resolve(
                conn.msgtype,
                typestore,
                topic=conn.topic,
                overrides=dict(self.options.adapter_overrides),
            )
        except Exception as err:
            stream.unstorable = f'no adapter: {err}'
            report.ingest, report.note = False, stream.unstorable
            return
        stream.adapter = ros_adapter
        report.adapter = type(ros_adapter).__name__
        report.ontology_tag = ros_adapter.tag
        ros1 = encoding == 'ros1'
        stream.converter = BatchConverter(
            _decoder(typestore, conn.msgtype, ros1), ros_adapter, conn.msgtype, report.adapter
        )
        stream.stock_retry = lambda: self._use_stock_definition(stream, ros1)

    def _use_stock_definition(self, stream: _TopicStream, ros1: bool) -> bool:
        """Switch a topic to the stock definition of its type, when it has one.

        Some bags embed definitions that do not match their payloads (the
        rosbag2 talker fixture stores one-line stubs); when not a single
        message of a first batch decodes with the bag's definition, the stock
        typestore's definition of the same name is tried instead.
        """
        from rosbags.typesys import Stores, get_typestore

        store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
        msgtype = stream.msgtype
        if msgtype not in store.fielddefs:
            return False
        try:
            adapter = self.registry.resolve(
                msgtype,
                store,
                topic=stream.report.topic,
                overrides=dict(self.options.adapter_overrides),
            )
        except Exception:
            return False
        stream.converter = BatchConverter(
            _decoder(store, msgtype, ros1), adapter, msgtype, type(adapter).__name__
        )
        stream.generation += 1
        stream.local = True
        stream.adapter = adapter
        stream.stock = True
        stream.stock_typestore = store
        return True

    def plan(self, path: Path, sequence: str | None = None) -> BagReport:
        """Report what `inject` would do with a bag, writing nothing.

        Message counts come from the container's index when it has one,
        else from a scan of the raw records (no decoding).

        Args:
            path: The bag.
            sequence: Sequence name; derived from the path when None.

        Returns:
            The plan, with status `PLANNED` (or `FAILED` if the bag cannot be read).

        """
        report = self._new_report(path, sequence)
        report.status = BagStatus.PLANNED
        started = time.perf_counter()
        try:
            with self._open(path) as reader:
                report.bytes_total = reader.size_bytes
                typestore, unknown = self._typestore(reader)
                by_topic, by_connection = self._streams(reader, typestore, unknown)
                report.topics = {topic: s.report for topic, s in by_topic.items()}
                windowed = self.options.start_ns is not None or self.options.end_ns is not None
                if windowed or any(s.report.expected is None for s in by_topic.values()):
                    counts: dict[str, int] = dict.fromkeys(by_topic, 0)
                    for raw in reader.messages(
                        start=self.options.start_ns, end=self.options.end_ns
                    ):
                        counts[raw.connection.topic] += 1
                    for topic, count in counts.items():
                        by_topic[topic].report.expected = count
                _add_problems(report, reader.problems)
                del by_connection
        except Exception as err:
            report.status, report.error = BagStatus.FAILED, f'{path}: {err}'
        report.elapsed_s = time.perf_counter() - started
        return report

    # -- injection ----------------------------------------------------------------------------

    def _new_report(self, path: Path, sequence: str | None) -> BagReport:
        name = sequence or self.options.sequence
        if name is None:
            name, renamed = sequence_name_for(path)
        else:
            renamed = None
        return BagReport(source=path, sequence=name, renamed_from=renamed)

    def inject(self, path: Path, sequence: str | None = None) -> BagReport:
        """Inject one bag into one sequence.

        Never raises for a bad bag or a failed upload: the report says what
        happened (`status`, `error`, `failures`, per-topic skips).

        Args:
            path: The bag: `.mcap`, `.bag`, `.db3` or rosbag2 directory.
            sequence: Sequence name; derived from the path when None.

        Returns:
            What was stored and what was not.

        """
        if self.options.dry_run:
            return self.plan(path, sequence)
        if self.client is None:
            raise InjectError('inject needs a connected client (only plan works without one)')
        report = self._new_report(path, sequence)
        started = time.perf_counter()
        try:
            with _scheduled_gc(), self._open(path) as reader:
                report.bytes_total = reader.size_bytes
                typestore, unknown = self._typestore(reader)
                self._inject_open(path, reader, typestore, unknown, report)
        except Exception as err:
            if report.error is None:
                report.error = f'{path}: {err}'
            if report.status is BagStatus.STORED:
                report.status = BagStatus.PARTIAL if report.stored else BagStatus.FAILED
        report.elapsed_s = time.perf_counter() - started
        return report

    def _session(self, report: BagReport, path: Path) -> Any:
        from mosaico_ros.client import SessionLevelErrorPolicy

        assert self.client is not None
        policy = (
            SessionLevelErrorPolicy.Delete
            if self.options.on_error == 'delete'
            else SessionLevelErrorPolicy.Report
        )
        exists = self.client.sequence_exists(report.sequence)
        if exists and not self.options.update:
            raise InjectError(
                f'sequence {report.sequence!r} exists already; pass --update to add a session '
                'to it, or --sequence to choose another name',
            )
        if exists:
            return self.client.sequence_update(report.sequence, on_error=policy)
        metadata = {**self.options.metadata, 'rosbag_injection': path.name}
        return self.client.sequence_create(report.sequence, metadata, on_error=policy)

    def _inject_open(
        self,
        path: Path,
        reader: BagReader,
        typestore: Typestore,
        unknown: Mapping[int, str],
        report: BagReport,
    ) -> None:
        by_topic, by_connection = self._streams(reader, typestore, unknown)
        report.topics = {topic: s.report for topic, s in by_topic.items()}
        wanted = [
            reader_conn for reader_conn in reader.connections if reader_conn.id in by_connection
        ]
        counts = [conn.message_count for conn in wanted]
        known = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
        if self.options.start_ns is not None or self.options.end_ns is not None:
            known = None
        converters: dict[int, BatchConverter] = {}
        for key, stream in enumerate(by_topic.values()):
            if stream.converter is not None:
                stream.key = key
                converters[key] = stream.converter
        _freeze_setup()
        # The pool forks before the session exists, so no child inherits an open upload.
        with self._conversion_pool(converters, known, reader.size_bytes) as pool:
            self.last_conversion = pool.stats
            session = self._session(report, path)
            self.progress.start(path, known, reader.size_bytes)
            self._pump(
                path,
                reader,
                wanted=wanted,
                by_topic=by_topic,
                by_connection=by_connection,
                typestore=typestore,
                session=session,
                pool=pool,
                report=report,
            )

    def _conversion_pool(
        self,
        converters: Mapping[int, BatchConverter],
        known: int | None,
        size_bytes: int,
    ) -> ConversionPool[_Batch]:
        """Return the pool for one bag: workers unless the bag is too small to pay for them."""
        options = self.options
        jobs = default_jobs() if options.jobs is None else max(0, options.jobs)
        if known is not None:
            small = known < 4 * options.batch_messages
        else:
            small = size_bytes < options.batch_bytes
        if small or not converters:
            jobs = 0
        return ConversionPool(
            converters,
            jobs=jobs,
            max_batches=2 * jobs + 1,
            max_bytes=options.buffer_budget // 2,
        )

    def _pump(
        self,
        path: Path,
        reader: BagReader,
        *,
        wanted: list[Connection],
        by_topic: Mapping[str, _TopicStream],
        by_connection: Mapping[int, _TopicStream],
        typestore: Typestore,
        session: Any,
        pool: ConversionPool[_Batch],
        report: BagReport,
    ) -> None:
        """Read every wanted message, cut batches, convert and store them."""
        budget = self.options.buffer_budget
        batch_messages = self.options.batch_messages
        batch_bytes = self.options.batch_bytes
        progress = self.progress

        def store(wait: bool = False) -> None:
            for batch, result in pool.completed(wait):
                self._store(batch, result, session, path, typestore)

        try:
            with session:
                buffered_total = 0
                since_progress = 0
                bytes_since = 0
                for raw in reader.messages(
                    wanted, start=self.options.start_ns, end=self.options.end_ns
                ):
                    stream = by_connection[raw.connection.id]
                    data = raw.data
                    size = len(data)
                    topic_report = stream.report
                    topic_report.read += 1
                    topic_report.bytes_read += size
                    since_progress += 1
                    bytes_since += size
                    if stream.unstorable is not None:
                        topic_report.skip(
                            stream.unstorable,
                            failure=Failure(
                                stream.unstorable, raw.file, raw.connection.topic, raw.offset
                            ),
                        )
                    else:
                        # One copy into the topic's blob; a kept view would pin its whole chunk.
                        stream.blob += data
                        stream.ends.append(len(stream.blob))
                        stream.times.append(raw.log_time_ns)
                        stream.offsets.append(raw.offset)
                        stream.files.append(raw.file)
                        buffered_total += size
                        if len(stream.ends) >= batch_messages or len(stream.blob) >= batch_bytes:
                            buffered_total -= len(stream.blob)
                            self._submit(stream, pool)
                            store()
                        elif buffered_total >= budget:
                            for other in by_topic.values():
                                self._submit(other, pool)
                                store()
                            buffered_total = 0
                    if since_progress >= 1000:
                        progress.advance(since_progress, bytes_since)
                        since_progress = bytes_since = 0
                for stream in by_topic.values():
                    self._submit(stream, pool)
                    store()
                store(wait=True)
                progress.advance(since_progress, bytes_since)
                progress.finish()
                self._check_completeness(reader, report)
                if self.options.on_error == 'delete' and not report.clean:
                    raise _AbortSessionError('; '.join(report.problems()[:5]))
        except _AbortSessionError as err:
            report.status = BagStatus.DELETED
            report.error = f'{path}: nothing kept (--on-error delete) because: {err}'
            return
        except Exception as err:
            if self.options.on_error == 'delete':
                report.status = BagStatus.DELETED
                report.error = f'{path}: nothing kept (--on-error delete) because: {err}'
                return
            raise
        if report.clean:
            report.status = BagStatus.STORED
        else:
            report.status = BagStatus.PARTIAL if report.stored else BagStatus.FAILED

    def _check_completeness(self, reader: BagReader, report: BagReport) -> None:
        _add_problems(report, reader.problems)
        windowed = self.options.start_ns is not None or self.options.end_ns is not None
        declared = reader.message_count
        if not windowed and declared and report.read == 0:
            report.failures.append(
                Failure(
                    f'no message could be read although the bag declares {declared}',
                    file=reader.path,
                    count=declared,
                ),
            )
        for topic in report.topics.values():
            if topic.ingest and topic.read == 0:
                topic.note = 'no messages'

    @staticmethod
    def _submit(stream: _TopicStream, pool: ConversionPool[_Batch]) -> None:
        """Cut the topic's buffer into a batch and hand it to the pool."""
        if not stream.ends:
            return
        batch = stream.take()
        label = (
            f'topic {stream.report.topic} ({len(batch.times)} messages from offset '
            f'{batch.offsets[0]} of {batch.files[0]})'
        )
        local = stream.converter if stream.local else None
        pool.submit(stream.key, batch.payloads, batch, label, local=local)

    def _store(
        self,
        batch: _Batch,
        result: ConvertedBatch,
        session: Any,
        path: Path,
        typestore: Typestore,
    ) -> None:
        """Count what a converted batch lost and push what it kept."""
        stream = batch.stream
        converter = stream.converter
        assert converter is not None
        if batch.generation != stream.generation:
            # Cut before the topic switched definitions: the workers used the old one.
            result = converter(batch.payloads)
        if result.decoded < result.count:
            retry, stream.stock_retry = stream.stock_retry, None
            if stream.writer is None and retry is not None and result.decoded == 0 and retry():
                stream.report.note = 'decoded with the stock definition'
                stock = stream.converter
                assert stock is not None
                self._store(batch, stock(batch.payloads), session, path, typestore)
                return
        report = stream.report
        for failure in result.failures:
            report.skip(
                failure.reason,
                failure=Failure(
                    failure.detail,
                    batch.files[failure.index],
                    report.topic,
                    batch.offsets[failure.index],
                ),
            )
        struct = result.struct
        if struct is None or len(struct) == 0:
            return
        times = batch.times if result.kept is None else [batch.times[i] for i in result.kept]
        writer = stream.writer
        if writer is None:
            writer = self._create_topic(stream, session, path, typestore)
        assert stream.schema is not None
        record_batch = pa.RecordBatch.from_arrays(
            [pa.array(times, type=pa.int64()), *struct.flatten()],
            schema=stream.schema,
        )
        writer.push_batch(record_batch)
        _collect_garbage()
        report.stored += record_batch.num_rows
        report.bytes_stored += record_batch.nbytes

    def _create_topic(
        self,
        stream: _TopicStream,
        session: Any,
        path: Path,
        typestore: Typestore,
    ) -> Any:
        adapter = stream.adapter
        report = stream.report
        conn = stream.connection
        if isinstance(adapter, (JsonChannelAdapter, ProtobufChannelAdapter)):
            ros_meta = adapter.topic_metadata(conn)
        elif stream.stock:
            ros_meta = adapter.topic_metadata(stream.msgtype, stream.stock_typestore, None)
        else:
            ros_meta = adapter.topic_metadata(stream.msgtype, typestore, conn.msgdef or None)
        ros_meta['source_file'] = path.name
        metadata = {**self.options.topic_metadata.get(report.topic, {}), '_ros_': ros_meta}
        model = getattr(type(adapter), 'model', None)
        if isinstance(model, type) and getattr(model, '__ontology_tag__', None) == adapter.tag:
            writer = session.topic_create(report.topic, metadata, model)
        else:
            writer = session.topic_create(
                report.topic,
                metadata,
                schema=topic_schema(adapter.struct_type),
                ontology_tag=adapter.tag,
                serialization_format=adapter.serialization_format,
            )
        if writer is None:
            raise InjectError(f'{path}: the server refused to create topic {report.topic!r}')
        stream.writer = writer
        stream.schema = writer.schema
        return writer


def topic_schema(struct: pa.StructType) -> pa.Schema:
    """Return the Arrow schema of a topic: ``timestamp_ns`` then the data columns."""
    timestamp = pa.field(
        'timestamp_ns',
        pa.int64(),
        nullable=False,
        metadata={'description': _TIMESTAMP_DESCRIPTION},
    )
    return pa.schema([timestamp, *struct])


_FULL_GC_PERIOD_S = 1.0
_last_full_gc = [0.0]


def _collect_garbage() -> None:
    """Collect everything, at most about once a second."""
    now = time.monotonic()
    if now - _last_full_gc[0] >= _FULL_GC_PERIOD_S:
        _last_full_gc[0] = now
        gc.collect()


def _freeze_setup() -> None:
    """Move every object alive now out of the collector's reach, for this bag.

    The typestore, adapters and readers live as long as the bag: collections
    need not walk them, and forked workers then share their pages instead of
    copying them when the collector touches them. Left alone when the
    application froze objects itself.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
        _frozen_by_us[0] = True


_frozen_by_us = [False]


@contextmanager
def _scheduled_gc() -> Iterator[None]:
    """Run the garbage collector on our schedule while a bag is injected.

    Decoding allocates millions of small objects; with automatic collection,
    full collections walk every buffered message again and again and cost
    about 40 % of decode time. `_store` instead collects everything about
    once a second (`_collect_garbage`), which bounds cyclic garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _frozen_by_us[0]:
            _frozen_by_us[0] = False
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _decoder(typestore: Typestore, msgtype: str, ros1: bool) -> Callable[[Any], Any]:
    """Return a function decoding one payload of `msgtype`.

    For little-endian CDR (all but exotic recordings) it calls the generated
    deserializer directly: `Typestore.deserialize_cdr` looks the definition up
    and slices the payload for every message, which costs a tenth of the decode.
    Anything else takes the checked path.
    """
    if ros1:
        return lambda data: typestore.deserialize_ros1(data, msgtype)
    checked = typestore.deserialize_cdr
    msgdef = typestore.get_msgdef(msgtype)
    little = msgdef.deserialize_cdr_le
    cls = msgdef.cls

    def decode(data: Any) -> Any:
        if data[:2] != b'\x00\x01':
            return checked(data, msgtype)
        message, pos = little(memoryview(data)[4:], 0, cls, typestore)
        if pos + 7 < len(data):
            raise ValueError(f'CDR message size mismatch for {msgtype!r}')
        return message

    return decode


def _add_problems(report: BagReport, problems: Iterable[Any]) -> None:
    """File reader problems: losses as failures, harmless disagreements as notes."""
    for problem in problems:
        if problem.kind == 'mismatch' and not problem.lost:
            report.notes.append(str(problem))
        else:
            report.failures.append(_failure(problem))


def _failure(problem: Any) -> Failure:
    lost = getattr(problem, 'lost', None)
    return Failure(
        reason=f'{problem.kind}: {problem.reason}',
        file=problem.file,
        topic=problem.topic,
        offset=problem.offset,
        count=lost,
    )


def inject_paths(
    client: MosaicoClient | None,
    paths: Iterable[Path],
    options: InjectOptions | None = None,
    progress: InjectProgress | None = None,
) -> list[BagReport]:
    """Inject (or plan, with `dry_run`) several bags, one sequence each.

    Args:
        client: Connected client (None for a dry run).
        paths: Bags.
        options: What and how; `sequence` only with a single path.
        progress: Progress sink.

    Returns:
        One report per path.

    Raises:
        InjectError: `--sequence` was given for several bags.

    """
    paths = list(paths)
    options = options or InjectOptions()
    if options.sequence is not None and len(paths) > 1:
        raise InjectError('--sequence names one sequence; give a single bag with it')
    injector = Injector(client, options, progress=progress)
    return [injector.inject(path) for path in paths]


def decode_batch(
    stream_decode: Callable[[bytes | memoryview], Any],
    messages: Iterable[RawMessage],
) -> list[Any]:
    """Decode raw messages with one decoder (helper for tests and benchmarks)."""
    return [stream_decode(raw.data) for raw in messages]
