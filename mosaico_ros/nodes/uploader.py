"""The recorder's uploader: spool segments into sequences, through outages and restarts.

It runs as a child process of the recorder (started with ``python -m``, never
forked: the recorder has called ``rclpy.init``), so conversion and upload
never compete with the subscriptions for the interpreter. It is the shared
pipeline's live source: records of the oldest spool segment, read while the
recorder appends to it, go through the same routing, conversion and session
sink as `inject`, with a latency bound so a slow topic reaches the server
within `max_latency` seconds.

- A segment is uploaded whole into one sequence, then finalized, and its
  spool file removed. Only finalized data survives a server restart, and a
  DoPut cut short is discarded: so when an upload fails (the server went
  away), the uploader waits for the server, removes the unfinished sequence
  it had started, and uploads the segment again from its first record. The
  spool keeps everything meanwhile (the recorder bounds it).
- A segment whose recorder died without closing it (killed, power cut) is
  finalized with what it holds once it stops growing and its writer is
  gone: by this uploader when its parent dies, or by the next recorder's
  uploader at start (one uploader per spool at a time, by file lock).
- At the end of a segment, the recorder's counts (lost in DDS, lost to a
  full spool, ignored while paused) join the pipeline's per-topic report;
  the report is stored as the sequence's ``/mosaico_recorder/accounting``
  topic (one row per topic, the full report in its metadata: Mosaico cannot
  change a sequence's metadata after it is created) and written to the
  status file the recorder reads for ``/diagnostics`` and its summary.

Run: ``python -m mosaico_ros.nodes.uploader SPOOL_DIR TARGET_JSON MAX_LATENCY``;
stdin closing tells it that no segment will grow any more.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from mosaico_ros.adapters import run_registry
from mosaico_ros.client.errors import ClientError
from mosaico_ros.connect import Target, open_client
from mosaico_ros.nodes.spool import (
    ACCOUNTING_RECORD,
    SEQUENCE_RECORD,
    SpooledMessage,
    SpooledMetadata,
    SpooledTopic,
    SpoolReader,
    segment_paths,
)
from mosaico_ros.ontology.message import topic_schema_of
from mosaico_ros.pipeline import (
    CutPolicy,
    Pipeline,
    PipelineError,
    RawMessage,
    Router,
    SequenceReport,
    SequenceStatus,
    SessionSink,
    TopicInfo,
    TopicSelection,
    TypeResolver,
)
from mosaico_ros.pipeline.errors import SinkError
from mosaico_ros.pipeline.qos import parse_offered_qos
from mosaico_ros.pipeline.report import ACCOUNTING_TAG, ACCOUNTING_TOPIC

STATUS_FILE = 'status.json'
LOCK_FILE = 'uploader.lock'
UPLOAD_ERRORS: tuple[type[Exception], ...] = (
    ClientError,
    ConnectionError,
    TimeoutError,
    pa.ArrowException,
    PipelineError,
    OSError,
)
"""What a lost or refusing server raises while a segment uploads."""

_REFUSALS_BEFORE_GIVING_UP = 3
_RETRY_S = 1.0
_STATUS_PERIOD_S = 0.5
_IDLE_S = 0.02
_STALE_S = 1.0


class SegmentError(Exception):
    """A segment cannot become a sequence (it is not a spool segment)."""


@dataclass
class SegmentState:
    """What the uploader knows of a segment across its own restarts (a file beside it).

    Attributes:
        created: The segment's sequence was created on the server (maybe unfinished).
        sequence: The name chosen for it (another than the recorder's when that was taken).

    """

    created: bool = False
    sequence: str | None = None

    @staticmethod
    def path_of(segment: Path) -> Path:
        """Return where the state of a segment is kept."""
        return segment.with_suffix('.state.json')

    @classmethod
    def load(cls, segment: Path) -> SegmentState:
        """Read the state of a segment (a fresh one when there is none)."""
        path = cls.path_of(segment)
        if not path.exists():
            return cls()
        return cls(**json.loads(path.read_text()))

    def save(self, segment: Path) -> None:
        """Write the state next to the segment, atomically."""
        _write_atomic(self.path_of(segment), json.dumps(asdict(self)))


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + '.tmp')
    temporary.write_text(text)
    temporary.replace(path)


@dataclass
class Status:
    """What the uploader tells the recorder, rewritten twice a second in the spool.

    Attributes:
        connected: The server answers.
        error: The last upload error, while not connected.
        segment: The segment being uploaded.
        pending: Segments waiting, the current one included.
        current: Report of the current segment so far.
        done: Reports of the finalized segments (the last hundred).
        outages: Times the connection was lost.

    """

    connected: bool = False
    error: str | None = None
    segment: str | None = None
    pending: int = 0
    current: dict[str, Any] | None = None
    done: list[dict[str, Any]] = field(default_factory=list)
    outages: int = 0


def read_status(spool: Path) -> Status | None:
    """Read the uploader's last status, or None before its first."""
    path = spool / STATUS_FILE
    try:
        return Status(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


class Uploader:
    """Uploads the segments of one spool directory, oldest first.

    Args:
        spool: The spool directory.
        target: The server (or store) to upload to.
        max_latency: Seconds a message may wait before it is uploaded.
        parent_alive: Set while the recorder may still append to a segment.

    """

    def __init__(
        self, spool: Path, target: Target, max_latency: float, parent_alive: threading.Event
    ) -> None:
        """Prepare; nothing connects before `run`."""
        self.spool = spool
        self.target = target
        self.policy = CutPolicy(max_latency_s=max_latency)
        self.parent_alive = parent_alive
        self.registry = run_registry()
        self.status = Status()
        self._status_written = 0.0
        self._client_context: Any = None
        self._client: Any = None

    def run(self) -> None:
        """Upload segments until the parent is gone and none is left."""
        self.spool.mkdir(parents=True, exist_ok=True)
        with _locked(self.spool / LOCK_FILE):
            try:
                while True:
                    segments = segment_paths(self.spool)
                    self.status.pending = len(segments)
                    if not segments:
                        self._write_status(force=True)
                        if not self.parent_alive.is_set():
                            return
                        time.sleep(0.1)
                        continue
                    self._upload_until_done(segments[0])
            finally:
                self._disconnect(None)
                self._write_status(force=True)

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self._client is None:
            context = open_client(self.target)
            self._client = context.__enter__()
            self._client_context = context
            self.status.connected, self.status.error = True, None
            self._write_status(force=True)
        return self._client

    def _disconnect(self, error: BaseException | None) -> None:
        context, self._client_context, self._client = self._client_context, None, None
        if context is not None:
            with contextlib.suppress(Exception):
                context.__exit__(None, None, None)
        if error is not None:
            if self.status.connected:
                self.status.outages += 1
            self.status.connected = False
            self.status.error = f'{type(error).__name__}: {error}'
            self._write_status(force=True)

    # -- segments -----------------------------------------------------------------------------

    def _upload_until_done(self, segment: Path) -> None:
        """Upload a segment; retry while the server is unreachable, give up on its refusals.

        After an error the server is asked a trivial question: no answer means
        it is away (wait for it, however long); an answer means it refused the
        upload, which is retried twice and then given up (the segment is kept).
        """
        refusals = 0
        while True:
            try:
                report = self._upload(self._connect(), segment)
            except SegmentError as err:
                report = self._failed(segment, str(err))
            except UPLOAD_ERRORS as err:
                if not self._answers():
                    self._disconnect(err)
                    time.sleep(_RETRY_S)
                    continue
                refusals += 1
                if refusals < _REFUSALS_BEFORE_GIVING_UP:
                    continue
                report = self._failed(segment, f'the server refused it: {err}')
            else:
                segment.unlink()
            self._finish(segment, report)
            return

    def _answers(self) -> bool:
        """Whether the server answers a trivial question right now."""
        try:
            self._connect().ping()
        except UPLOAD_ERRORS:
            return False
        return True

    def _failed(self, segment: Path, why: str) -> SequenceReport:
        """Keep a segment that cannot be uploaded in ``failed/``, and say why."""
        report = SequenceReport(source=str(segment), sequence=segment.stem)
        report.status, report.error = (
            SequenceStatus.FAILED,
            f'{why} (kept in {self.spool / "failed"})',
        )
        failed = self.spool / 'failed'
        failed.mkdir(exist_ok=True)
        segment.replace(failed / segment.name)
        return report

    def _finish(self, segment: Path, report: SequenceReport) -> None:
        """Forget a segment that is done (stored or given up) and publish its report."""
        SegmentState.path_of(segment).unlink(missing_ok=True)
        self.status.done = [*self.status.done[-99:], report.to_dict()]
        self.status.current, self.status.segment = None, None
        self._write_status(force=True)

    def _upload(self, client: Any, segment: Path) -> SequenceReport:
        """Upload one segment from its first record; return its report once finalized."""
        self.status.segment = segment.name
        reader = SpoolReader(segment)
        try:
            wanted, metadata = self._sequence_of(reader, segment)
            state = SegmentState.load(segment)
            name = state.sequence or wanted
            if state.created:
                if client.sequence_exists(name):
                    client.sequence_delete(name)  # our unfinished upload: start it again
            elif client.sequence_exists(name):
                name = _free_name(client, name)  # never write into another recording
            if state.sequence != name:
                state.sequence = name
                state.save(segment)
            report = SequenceReport(source=str(segment), sequence=name)
            if name != wanted:
                report.notes.append(f'sequence {wanted!r} exists already: stored as {name!r}')
            resolver = TypeResolver()
            router = Router(self.registry, resolver.typestore, TopicSelection())
            sink = SessionSink(client, name, metadata=metadata)
            accounting: dict[str, Any] = {}
            span = [0, 0]

            def started() -> None:
                if not state.created:
                    state.created = True
                    state.save(segment)

            pipeline = Pipeline(router, self.policy, report, sink, on_stored=started)
            with pipeline:
                for record in self._follow(reader, pipeline, report):
                    if isinstance(record, SpooledTopic):
                        info = TopicInfo(
                            record.topic,
                            record.msgtype,
                            'cdr',
                            record.msgdef,
                            'ros2msg' if record.msgdef else '',
                            qos=parse_offered_qos(record.qos_yaml),
                            distro=os.environ.get('ROS_DISTRO') or None,
                        )
                        router.unknown.update(resolver.add([info]))
                        pipeline.declare(info)
                    elif isinstance(record, SpooledMessage):
                        pipeline.push(
                            RawMessage(record.topic, record.msgtype, record.time_ns, record.data)
                        )
                        span[0] = span[0] or record.time_ns
                        span[1] = record.time_ns
                    elif record.name == ACCOUNTING_RECORD:
                        accounting = json.loads(record.values.get('topics', '{}'))
            if not reader.complete:
                report.notes.append(
                    'the recorder ended without closing this segment: what it received in '
                    'its last spool flush period may be missing'
                )
            merge_accounting(report, accounting)
            if sink.started:
                self._store_accounting(sink, report)
            sink.close()
            report.elapsed_s = (span[1] - span[0]) / 1e9  # the recording's span, for its rates
            report.status = (
                SequenceStatus.STORED
                if report.clean
                else (SequenceStatus.PARTIAL if report.stored else SequenceStatus.FAILED)
            )
            return report
        finally:
            reader.close()

    def _sequence_of(self, reader: SpoolReader, segment: Path) -> tuple[str, dict[str, Any]]:
        """Wait for the segment's first record: the sequence name and metadata."""
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            for record in reader.records(limit=1):
                if isinstance(record, SpooledMetadata) and record.name == SEQUENCE_RECORD:
                    return record.values['sequence'], json.loads(record.values['metadata'])
                raise SegmentError(f'{segment} does not start with a {SEQUENCE_RECORD} record')
            time.sleep(_IDLE_S)
        raise SegmentError(f'{segment} holds no {SEQUENCE_RECORD} record after 30 s')

    def _follow(
        self, reader: SpoolReader, pipeline: Pipeline, report: SequenceReport
    ) -> Iterator[Any]:
        """Yield the segment's records as they are appended, until it is complete or dead."""
        last_growth = time.monotonic()
        while not reader.complete:
            got = False
            for record in reader.records():
                got = True
                yield record
            now = time.monotonic()
            if got:
                last_growth = now
            elif not self.parent_alive.is_set() and now - last_growth > _STALE_S:
                return  # the writer is gone: what is in the segment is all there is
            else:
                due = pipeline.next_due()
                time.sleep(_IDLE_S if due is None else min(_IDLE_S, due))
            pipeline.flush_due()
            self.status.current = report.to_dict()
            self._write_status()

    def _store_accounting(self, sink: SessionSink, report: SequenceReport) -> None:
        topics = list(report.topics.values())
        columns = {
            'topic': pa.array([t.topic for t in topics], pa.string()),
            'msgtype': pa.array([t.msgtype for t in topics], pa.string()),
            'received': pa.array([t.received for t in topics], pa.int64()),
            'stored': pa.array([t.stored for t in topics], pa.int64()),
            'skipped': pa.array([json.dumps(dict(t.skipped)) for t in topics], pa.string()),
            'lost': pa.array([json.dumps(dict(t.lost)) for t in topics], pa.string()),
        }
        schema = topic_schema_of(pa.struct([(k, v.type) for k, v in columns.items()]))
        times = pa.array([time.time_ns()] * len(topics), pa.int64())
        table = pa.Table.from_arrays([times, *columns.values()], schema=schema)
        # As a JSON string: metadata keys must be plain words, and topic names are not.
        metadata = {'report_json': json.dumps(report.to_dict())}
        try:
            sink.write_table(ACCOUNTING_TOPIC, table, ACCOUNTING_TAG, metadata)
        except (SinkError, ClientError) as err:  # the data matters more than its accounting
            report.notes.append(f'the accounting topic was not stored: {err}')

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._status_written < _STATUS_PERIOD_S:
            return
        self._status_written = now
        _write_atomic(self.spool / STATUS_FILE, json.dumps(asdict(self.status)))


def _free_name(client: Any, name: str) -> str:
    """Return the next split index of `name` (`base_N`) whose sequence does not exist yet."""
    base, _, index = name.rpartition('_')
    if not base or not index.isdigit():
        base, index = name, '-1'
    number = int(index) + 1
    while client.sequence_exists(f'{base}_{number}'):
        number += 1
    return f'{base}_{number}'


def merge_accounting(report: SequenceReport, accounting: dict[str, Any]) -> None:
    """Add the recorder's per-topic counts (what never reached the spool) to a report."""
    for name, counts in accounting.items():
        topic = report.topics.get(name)
        if topic is None:
            continue
        for reason, count in counts.get('lost', {}).items():
            if count:
                topic.lost[reason] += int(count)
        if counts.get('paused'):
            topic.note = f'{counts["paused"]} message(s) not recorded while paused'


def target_to_json(target: Target) -> str:
    """Serialize a target for the uploader's command line."""
    return json.dumps(
        {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(target).items()}
    )


def target_from_json(text: str) -> Target:
    """Inverse of `target_to_json`."""
    values = json.loads(text)
    for key in ('store', 'tls_cert'):
        if values.get(key):
            values[key] = Path(values[key])
    return Target(**values)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`: one uploader per spool."""
    with path.open('a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write(f'waiting for the uploader holding {path}\n')
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _watch_parent(alive: threading.Event) -> None:
    """Clear `alive` when stdin closes: the recorder stopped (or died)."""
    alive.set()

    def wait() -> None:
        with contextlib.suppress(OSError):
            while sys.stdin.buffer.read(4096):
                pass
        alive.clear()

    threading.Thread(target=wait, name='parent-watch', daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Run the uploader (see the module docstring for the arguments)."""
    import signal

    args = sys.argv[1:] if argv is None else argv
    spool, target_json, max_latency = Path(args[0]), args[1], float(args[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the recorder decides when to stop
    target = target_from_json(target_json)
    alive = threading.Event()
    _watch_parent(alive)
    Uploader(spool, target, max_latency, alive).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
