"""Bags into Mosaico sequences: `mosaico-ros inject`, as a bag source of the pipeline.

One bag (a file, or a rosbag2 directory with all its split files) becomes
one sequence. The bag's connections become `TopicInfo`s, its messages
`RawMessage`s, and the shared pipeline (`mosaico_ros.pipeline`) buffers,
converts and stores them per topic, in bounded memory.

Conventions, chosen to match what the official SDK's `RosbagInjector` writes
from the same bag:

- Topics, their adapters and what is skipped: see
  `mosaico_ros.pipeline.routing`; topic creation and metadata: see
  `mosaico_ros.pipeline.sink`. A topic declared in the bag with zero
  messages (in the window) is not created, as the SDK does; the report lists
  it with 0 messages and the note 'no messages'. A bag that stores nothing
  creates no sequence.
- Sequence metadata = ``--metadata`` plus ``rosbag_injection`` (the name of
  the path given).
- Time window `start_ns` .. `end_ns` is half-open: log time >= start and
  < end.
- Topic selection patterns (`topics`, `exclude`, `types`) are Python
  regular expressions searched anywhere in the name, like
  ``ros2 bag record -e``; anchor them (``^/camera/``) to match a prefix.

Every message that is read and not stored is counted in the report under a
reason, with the file and offset of the first one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mosaico_ros.bags.options import InjectOptions, sequence_name_for
from mosaico_ros.bags.progress import InjectProgress, NullProgress
from mosaico_ros.bags.source import BagSource
from mosaico_ros.pipeline.conversion import default_jobs
from mosaico_ros.pipeline.driver import Pipeline
from mosaico_ros.pipeline.policy import CutPolicy
from mosaico_ros.pipeline.report import Failure, SequenceReport, SequenceStatus
from mosaico_ros.pipeline.routing import Router
from mosaico_ros.pipeline.sink import SessionSink
from mosaico_ros.pipeline.types import resolve_types
from mosaico_ros.protocol import sanitize_topic_name

if TYPE_CHECKING:
    from mosaico_ros.adapters import AdapterRegistry
    from mosaico_ros.bags.model import Connection
    from mosaico_ros.bags.reader import BagReader
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.pipeline.conversion import ConversionStats

__all__ = [
    'InjectError',
    'InjectOptions',
    'InjectProgress',
    'Injector',
    'NullProgress',
    'inject_paths',
]

_PROGRESS_EVERY = 1000


class InjectError(Exception):
    """An injection could not start or had to stop; the text names the bag."""


class Injector:
    """Injects bags into a Mosaico server.

    Args:
        client: Connected client; None is enough for `plan`.
        options: What to inject and how.
        registry: Adapter registry; by default the built-ins, the installed
            ``mosaico_ros.adapters`` entry points and `options.adapters`, in a
            registry of this injector's own.
        progress: Told when a bag starts, every thousand messages, and at the end.
        on_stored: Called after every stored batch (the CLI schedules garbage
            collection there).

    Raises:
        AdapterRegistrationError: An adapter module or entry point does not load.
        AdapterNotFoundError: An `adapter_overrides` name is unknown.
        ValueError: A topic pattern is not a regular expression.

    """

    def __init__(
        self,
        client: MosaicoClient | None,
        options: InjectOptions | None = None,
        registry: AdapterRegistry | None = None,
        progress: InjectProgress | None = None,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        """Prepare the registry and the filters."""
        from mosaico_ros.adapters import run_registry
        from mosaico_ros.adapters.sensor_msgs import use_image_format

        self.client = client
        self.options = options or InjectOptions()
        if registry is None:
            registry = run_registry(self.options.adapters)
        else:
            for module in self.options.adapters:
                registry.load_module(module)
        self.registry = registry
        use_image_format(registry, self.options.image_format)
        for name in self.options.adapter_overrides.values():
            self.registry.by_name(name)
        self.selection = self.options.selection
        self.progress: InjectProgress = progress or NullProgress()
        self.on_stored = on_stored
        self.last_conversion: ConversionStats | None = None
        """How the batches of the last injected bag were converted."""

    @property
    def _windowed(self) -> bool:
        return self.options.start_ns is not None or self.options.end_ns is not None

    def _open(self, path: Path) -> BagReader:
        from mosaico_ros.bags import open_bag

        return open_bag(path, msg_paths=tuple(self.options.msg_paths), distro=self.options.distro)

    def _new_report(self, path: Path, sequence: str | None) -> SequenceReport:
        name = sequence or self.options.sequence
        if name is None:
            name, renamed = sequence_name_for(path)
        else:
            renamed = None
        return SequenceReport(source=path, sequence=name, renamed_from=renamed)

    def _policy(self) -> CutPolicy:
        options = self.options
        return CutPolicy(
            max_messages=options.batch_messages,
            max_bytes=options.batch_bytes,
            budget_bytes=options.buffer_budget,
        )

    def _pipeline(
        self,
        path: Path,
        reader: BagReader,
        report: SequenceReport,
        sink: SessionSink | None,
        left_out: Mapping[str, str] | None = None,
    ) -> tuple[Pipeline, BagSource, list[Connection]]:
        """Declare the bag's topics in a new pipeline; return it, the source and what to read."""
        options = self.options
        source = BagSource(reader, path, options.start_ns, options.end_ns)
        infos = source.topics()
        resolution = resolve_types(infos, options.distro, tuple(options.msg_paths))
        router = Router(
            self.registry,
            resolution.typestore,
            self.selection,
            options.adapter_overrides,
            unknown=resolution.unknown,
            left_out=left_out,
        )
        pipeline = Pipeline(
            router,
            self._policy(),
            report,
            sink,
            jobs=self._jobs(reader),
            on_stored=self.on_stored,
        )
        for info in infos:
            pipeline.declare(info)
        report.notes.extend(source.notes)
        wanted = [conn for conn in reader.connections if pipeline.selected(conn.topic)]
        return pipeline, source, wanted

    def _jobs(self, reader: BagReader) -> int:
        """Worker processes for one bag: none when it is too small to pay for them."""
        options = self.options
        jobs = default_jobs() if options.jobs is None else max(0, options.jobs)
        known = None if self._windowed else reader.message_count
        if known is not None:
            small = known < 4 * options.batch_messages
        else:
            small = reader.size_bytes < options.batch_bytes
        return 0 if small else jobs

    # -- planning -----------------------------------------------------------------------------

    def plan(self, path: Path, sequence: str | None = None) -> SequenceReport:
        """Report what `inject` would do with a bag, writing nothing.

        The first batch of every topic is decoded and converted exactly as
        `inject` would, so a topic that would store nothing says so. Message
        counts come from the container's index when it has one (and no time
        window is given), else from reading every record (without decoding).

        Args:
            path: The bag.
            sequence: Sequence name; derived from the path when None.

        Returns:
            The plan, with status `PLANNED` (or `FAILED` if the bag cannot be read).

        """
        report = self._new_report(path, sequence)
        report.status = SequenceStatus.PLANNED
        started = time.perf_counter()
        try:
            with self._open(path) as reader:
                report.bytes_total = reader.size_bytes
                pipeline, source, wanted = self._pipeline(path, reader, report, None)
                count = self._windowed or any(t.expected is None for t in report.topics.values())
                with pipeline:
                    for _ in source.feed(pipeline, wanted):
                        if not count and pipeline.sampled_all():
                            break
                if count:
                    for topic in report.topics.values():
                        topic.expected = topic.received
                _add_problems(report, reader.problems)
        except Exception as err:
            report.status, report.error = SequenceStatus.FAILED, f'{path}: {err}'
        report.elapsed_s = time.perf_counter() - started
        return report

    # -- injection ----------------------------------------------------------------------------

    def inject(self, path: Path, sequence: str | None = None) -> SequenceReport:
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
            with self._open(path) as reader:
                report.bytes_total = reader.size_bytes
                self._inject_open(path, reader, report)
        except KeyboardInterrupt:  # before anything was created on the server
            report.interrupted, report.status = True, SequenceStatus.FAILED
            report.error = f'{path}: interrupted (Ctrl-C or SIGTERM) before anything was stored'
        except Exception as err:
            if report.error is None:
                report.error = f'{path}: {err}'
            if report.status is SequenceStatus.STORED:
                report.status = SequenceStatus.PARTIAL if report.stored else SequenceStatus.FAILED
        report.elapsed_s = time.perf_counter() - started
        return report

    def _inject_open(self, path: Path, reader: BagReader, report: SequenceReport) -> None:
        assert self.client is not None
        options = self.options
        resume = options.resume and self.client.sequence_exists(report.sequence)
        sink = SessionSink(
            self.client,
            report.sequence,
            metadata={**options.metadata, 'rosbag_injection': path.name},
            update=options.update or resume,
            on_error=options.on_error,
            topic_metadata=options.topic_metadata,
        )
        left_out = self._stored_already(report.sequence, reader) if resume else None
        pipeline, source, wanted = self._pipeline(path, reader, report, sink, left_out)
        sink.open([state.info.topic for state in pipeline.topics() if state.route is not None])
        known = None if self._windowed else sum(c.message_count or 0 for c in wanted)
        if any(c.message_count is None for c in wanted):
            known = None
        progress = self.progress
        progress.start(path, known, reader.size_bytes)
        try:
            with pipeline:
                self.last_conversion = pipeline.stats
                since = payload = 0
                for count, size in source.feed(pipeline, wanted):
                    since += count
                    payload += size
                    if since >= _PROGRESS_EVERY:
                        progress.advance(since, payload)
                        since = payload = 0
            progress.advance(since, payload)
            progress.finish()
            self._check_completeness(reader, report)
            if options.on_error == 'delete' and not report.clean:
                raise InjectError('; '.join(report.problems()[:5]))
        except BaseException as err:  # Ctrl-C and SIGTERM too: the error policy decides
            self._abort(sink, report, path, err)
            if not isinstance(err, Exception | KeyboardInterrupt):
                raise
            return
        started = sink.started
        sink.close()
        if not started:
            self._nothing_stored(report)
        elif report.clean:
            report.status = SequenceStatus.STORED
        else:
            report.status = SequenceStatus.PARTIAL if report.stored else SequenceStatus.FAILED

    def _abort(
        self, sink: SessionSink, report: SequenceReport, path: Path, error: BaseException
    ) -> None:
        """Apply the error policy: under 'delete' nothing of the session stays."""
        started = sink.started
        sink.abort(f'{type(error).__name__}: {error}')
        why = str(error) or type(error).__name__
        if isinstance(error, KeyboardInterrupt):
            report.interrupted = True
            why = 'interrupted (Ctrl-C or SIGTERM)'
        if self.options.on_error == 'delete':
            report.status = SequenceStatus.DELETED if started else SequenceStatus.FAILED
            report.error = f'{path}: nothing kept (--on-error delete) because: {why}'
        else:
            report.status = SequenceStatus.PARTIAL if report.stored else SequenceStatus.FAILED
            report.error = f'{path}: {why}'

    def _nothing_stored(self, report: SequenceReport) -> None:
        """Say why a run created no sequence: an empty bag or window is a warning, not a failure."""
        if report.received == 0 and not report.failures:
            report.status = SequenceStatus.EMPTY
            where = 'in the time window' if self._windowed else 'in the bag'
            selected = [t for t in report.topics.values() if t.ingest]
            if report.topics and not selected:
                where = 'on the selected topics (none is selected)'
            report.notes.append(f'no message {where}: no sequence was created')
            return
        report.status = SequenceStatus.FAILED
        report.notes.append('no message could be stored: no sequence was created')

    def _stored_already(self, sequence: str, reader: BagReader) -> dict[str, str]:
        """For --resume: the bag's topics the sequence holds already, and how completely."""
        assert self.client is not None
        handler = self.client.sequence_handler(sequence)
        stored = {sanitize_topic_name(t) for t in (handler.topics if handler else [])}
        left_out: dict[str, str] = {}
        for topic, connections in reader.topics().items():
            if sanitize_topic_name(topic) not in stored:
                continue
            rows = self.client.topic_handler(sequence, topic)
            count = rows.msg_count if rows is not None else 0
            declared = sum(c.message_count or 0 for c in connections)
            if declared and count < declared and not self._windowed:
                left_out[topic] = (
                    f'incomplete in {sequence} ({count} of {declared} rows); a topic cannot be '
                    'completed in place: delete the sequence and inject again'
                )
            else:
                left_out[topic] = f'stored already ({count} rows)'
        return left_out

    def _check_completeness(self, reader: BagReader, report: SequenceReport) -> None:
        _add_problems(report, reader.problems)
        declared = reader.message_count
        if not self._windowed and declared and report.received == 0:
            report.failures.append(
                Failure(
                    f'no message could be read although the bag declares {declared}',
                    file=reader.path,
                    count=declared,
                ),
            )
        for topic in report.topics.values():
            if topic.ingest and topic.received == 0:
                topic.note = 'no messages'


def _add_problems(report: SequenceReport, problems: Iterable[Any]) -> None:
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
    on_stored: Callable[[], None] | None = None,
) -> list[SequenceReport]:
    """Inject (or plan, with `dry_run`) several bags, one sequence each.

    Args:
        client: Connected client (None for a dry run).
        paths: Bags.
        options: What and how; `sequence` only with a single path.
        progress: Progress sink.
        on_stored: Called after every stored batch.

    Returns:
        One report per path.

    Raises:
        InjectError: `--sequence` was given for several bags.

    """
    paths = list(paths)
    options = options or InjectOptions()
    if options.sequence is not None and len(paths) > 1:
        raise InjectError('--sequence names one sequence; give a single bag with it')
    injector = Injector(client, options, progress=progress, on_stored=on_stored)
    reports = []
    for path in paths:
        reports.append(injector.inject(path))
        if reports[-1].interrupted:
            break  # Ctrl-C or SIGTERM: the bags after this one are not started
    return reports
