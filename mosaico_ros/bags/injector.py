"""Bags into Mosaico sequences: `mosaico-ros inject`.

One bag (a file, or a rosbag2 directory with all its split files) becomes
one sequence. The pipeline is columnar and memory-bounded:

1. `open_bag` streams `RawMessage`s in log-time order.
2. Per topic (`mosaico_ros.bags.streams`), raw payloads and log times are
   buffered, up to `InjectOptions.batch_messages` messages or `batch_bytes`
   bytes (and a global `buffer_budget` over all topics).
3. A full buffer is decoded with the typestore in one go and the adapter
   turns the decoded list into one struct array; this runs in forked worker
   processes (`InjectOptions.jobs`, see `mosaico_ros.bags.conversion`)
   while reading goes on, with a bound on the batches in flight.
4. In the order the batches were cut, per topic, one record batch
   (`timestamp_ns` = log time, then the data columns) goes to
   `TopicWriter.push_batch`, on a topic created with its first batch
   (`mosaico_ros.bags.topics`).

Conventions, chosen to match what the official SDK's `RosbagInjector` writes
from the same bag:

- Topics, their adapters and what is skipped: see `mosaico_ros.bags.streams`;
  topic creation and metadata: see `mosaico_ros.bags.topics`. A topic
  declared in the bag with zero messages (in the window) is not created,
  as the SDK does; the report lists it with 0 messages and the note
  'no messages'. This is not an error.
- Sequence metadata = ``--metadata`` plus ``rosbag_injection`` (the name of
  the path given).
- Time window `start_ns` .. `end_ns` is half-open: log time >= start and
  < end.
- Topic selection patterns (`topics`, `exclude`, `types`) are Python
  regular expressions searched anywhere in the name, like
  ``ros2 bag record -e``; anchor them (``^/camera/``) to match a prefix.

Every message that is read and not stored is counted in the `BagReport`
under a reason, with the file and offset of the first one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mosaico_ros.bags.conversion import (
    BatchConverter,
    ConversionPool,
    ConversionStats,
    ConvertedBatch,
    default_jobs,
)
from mosaico_ros.bags.gcpolicy import collect_garbage, freeze_setup, scheduled_gc
from mosaico_ros.bags.options import InjectOptions, TopicSelection, sequence_name_for
from mosaico_ros.bags.progress import InjectProgress, NullProgress
from mosaico_ros.bags.report import BagReport, BagStatus, Failure
from mosaico_ros.bags.streams import Batch, StreamBuilder, TopicStream
from mosaico_ros.bags.topics import create_topic

if TYPE_CHECKING:
    from mosaico_ros.adapters import AdapterRegistry
    from mosaico_ros.bags.model import Connection
    from mosaico_ros.bags.reader import BagReader
    from mosaico_ros.client import MosaicoClient

__all__ = [
    'InjectError',
    'InjectOptions',
    'InjectProgress',
    'Injector',
    'NullProgress',
    'inject_paths',
]


class InjectError(Exception):
    """An injection could not start or had to stop; the text names the bag."""


class _AbortSessionError(Exception):
    """Raised inside the session to make the client apply `--on-error delete`."""


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

    @property
    def _windowed(self) -> bool:
        return self.options.start_ns is not None or self.options.end_ns is not None

    def _open(self, path: Path) -> BagReader:
        from mosaico_ros.bags import open_bag

        return open_bag(
            path,
            msg_paths=tuple(self.options.msg_paths),
            distro=self.options.distro,
        )

    def _streams(self, reader: BagReader) -> tuple[dict[str, TopicStream], dict[int, TopicStream]]:
        """Resolve the bag's types and make its streams (see `StreamBuilder.build`)."""
        from mosaico_ros.bags.typesys import resolve_types

        resolution = resolve_types(
            reader.connections,
            distro=self.options.distro,
            msg_paths=tuple(self.options.msg_paths),
        )
        builder = StreamBuilder(self.registry, self.selection, self.options.adapter_overrides)
        return builder.build(reader.connections, resolution.typestore, dict(resolution.unknown))

    def _new_report(self, path: Path, sequence: str | None) -> BagReport:
        name = sequence or self.options.sequence
        if name is None:
            name, renamed = sequence_name_for(path)
        else:
            renamed = None
        return BagReport(source=path, sequence=name, renamed_from=renamed)

    # -- planning -----------------------------------------------------------------------------

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
                by_topic, _ = self._streams(reader)
                report.topics = {topic: s.report for topic, s in by_topic.items()}
                if self._windowed or any(s.report.expected is None for s in by_topic.values()):
                    counts: dict[str, int] = dict.fromkeys(by_topic, 0)
                    for raw in reader.messages(
                        start=self.options.start_ns, end=self.options.end_ns
                    ):
                        counts[raw.connection.topic] += 1
                    for topic, count in counts.items():
                        by_topic[topic].report.expected = count
                _add_problems(report, reader.problems)
        except Exception as err:
            report.status, report.error = BagStatus.FAILED, f'{path}: {err}'
        report.elapsed_s = time.perf_counter() - started
        return report

    # -- injection ----------------------------------------------------------------------------

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
            with scheduled_gc(), self._open(path) as reader:
                report.bytes_total = reader.size_bytes
                self._inject_open(path, reader, report)
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

    def _inject_open(self, path: Path, reader: BagReader, report: BagReport) -> None:
        by_topic, by_connection = self._streams(reader)
        report.topics = {topic: s.report for topic, s in by_topic.items()}
        wanted = [conn for conn in reader.connections if conn.id in by_connection]
        counts = [conn.message_count for conn in wanted]
        known = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
        if self._windowed:
            known = None
        converters: dict[int, BatchConverter] = {}
        for key, stream in enumerate(by_topic.values()):
            if stream.converter is not None:
                stream.key = key
                converters[key] = stream.converter
        freeze_setup()
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
                session=session,
                pool=pool,
                report=report,
            )

    def _conversion_pool(
        self,
        converters: Mapping[int, BatchConverter],
        known: int | None,
        size_bytes: int,
    ) -> ConversionPool[Batch]:
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
        by_topic: Mapping[str, TopicStream],
        by_connection: Mapping[int, TopicStream],
        session: Any,
        pool: ConversionPool[Batch],
        report: BagReport,
    ) -> None:
        """Read every wanted message, cut batches, convert and store them."""
        budget = self.options.buffer_budget
        batch_messages = self.options.batch_messages
        batch_bytes = self.options.batch_bytes
        progress = self.progress

        def submit(stream: TopicStream) -> None:
            stream.submit(pool)
            for batch, result in pool.completed():
                self._store(batch, result, session, path)

        try:
            with session:
                buffered_total = 0
                since_progress = 0
                bytes_since = 0
                for raw in reader.messages(
                    wanted, start=self.options.start_ns, end=self.options.end_ns
                ):
                    stream = by_connection[raw.connection.id]
                    size = len(raw.data)
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
                        stream.append(raw)
                        buffered_total += size
                        if len(stream.ends) >= batch_messages or len(stream.blob) >= batch_bytes:
                            buffered_total -= len(stream.blob)
                            submit(stream)
                        elif buffered_total >= budget:
                            for other in by_topic.values():
                                submit(other)
                            buffered_total = 0
                    if since_progress >= 1000:
                        progress.advance(since_progress, bytes_since)
                        since_progress = bytes_since = 0
                for stream in by_topic.values():
                    submit(stream)
                for batch, result in pool.completed(wait=True):
                    self._store(batch, result, session, path)
                progress.advance(since_progress, bytes_since)
                progress.finish()
                self._check_completeness(reader, report)
                if self.options.on_error == 'delete' and not report.clean:
                    raise _AbortSessionError('; '.join(report.problems()[:5]))
        except Exception as err:
            # Under --on-error delete the session has removed everything it stored.
            if self.options.on_error != 'delete':
                raise
            report.status = BagStatus.DELETED
            report.error = f'{path}: nothing kept (--on-error delete) because: {err}'
            return
        if report.clean:
            report.status = BagStatus.STORED
        else:
            report.status = BagStatus.PARTIAL if report.stored else BagStatus.FAILED

    def _check_completeness(self, reader: BagReader, report: BagReport) -> None:
        _add_problems(report, reader.problems)
        declared = reader.message_count
        if not self._windowed and declared and report.read == 0:
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

    def _store(
        self,
        batch: Batch,
        result: ConvertedBatch,
        session: Any,
        path: Path,
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
                self._store(batch, stock(batch.payloads), session, path)
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
            user_metadata = self.options.topic_metadata.get(report.topic, {})
            writer = create_topic(stream, session, path, user_metadata)
            if writer is None:
                raise InjectError(f'{path}: the server refused to create topic {report.topic!r}')
        assert stream.schema is not None
        record_batch = pa.RecordBatch.from_arrays(
            [pa.array(times, type=pa.int64()), *struct.flatten()],
            schema=stream.schema,
        )
        writer.push_batch(record_batch)
        collect_garbage()
        report.stored += record_batch.num_rows
        report.bytes_stored += record_batch.nbytes


def _add_problems(report: BagReport, problems: Iterable[Any]) -> None:
    """File reader problems: losses as failures, harmless disagreements as notes."""
    for problem in problems:
        if problem.kind == 'mismatch' and not problem.lost:
            report.notes.append(str(problem))
        else:
            report.failures.append(
                Failure(
                    reason=f'{problem.kind}: {problem.reason}',
                    file=problem.file,
                    topic=problem.topic,
                    offset=problem.offset,
                    count=getattr(problem, 'lost', None),
                )
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
