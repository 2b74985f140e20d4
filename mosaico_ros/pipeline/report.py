"""What a run did to one sequence, per topic, and how it is shown.

The report is the pipeline's answer, for `inject` (one per bag), the
recorder (one per sequence it writes) and tests: the CLI prints it and
derives its exit status from it. Every message that was received but not
stored is counted under a reason, and every message a source knows it lost
before receiving it (a gap in a publisher's sequence numbers, a full
spool) is counted too, so nothing disappears silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from mosaico_ros.protocol import sanitize_topic_name

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table


class SequenceStatus(str, Enum):
    """How a run on one sequence ended."""

    STORED = 'stored'
    """Every message received was stored."""
    PARTIAL = 'partial'
    """Something was stored, something was skipped or damaged (`--on-error report`)."""
    DELETED = 'deleted'
    """Something failed and the sequence was removed (`--on-error delete`)."""
    FAILED = 'failed'
    """Nothing could be stored."""
    PLANNED = 'planned'
    """Dry run: nothing was written."""
    EMPTY = 'empty'
    """Nothing to store (no message, or none in the time window): no sequence was created."""


@dataclass
class Failure:
    """One place where data was lost.

    Attributes:
        reason: Why, in words a person can act on.
        file: File holding the data, if known.
        topic: Topic, if known.
        offset: Byte offset (row id for SQLite) in `file`, if known.
        count: Messages lost, if known.

    """

    reason: str
    file: Path | None = None
    topic: str | None = None
    offset: int | None = None
    count: int | None = None

    def __str__(self) -> str:
        where = [str(self.file)] if self.file is not None else []
        if self.topic is not None:
            where.append(f'topic {self.topic}')
        if self.offset is not None:
            where.append(f'offset {self.offset}')
        lost = '' if self.count is None else f' ({self.count} message(s))'
        prefix = ', '.join(where)
        return f'{prefix}: {self.reason}{lost}' if prefix else f'{self.reason}{lost}'


@dataclass
class TopicReport:
    """What happened to one topic.

    Attributes:
        topic: Topic name (the same in the source and in Mosaico).
        msgtype: ROS type (or schema name for non-ROS channels).
        adapter: Name of the adapter used, 'generic' for the fallback, '' if none.
        ontology_tag: Tag of the Mosaico topic, if one was chosen.
        expected: Messages the source announces (a bag's index), if known.
        received: Messages received from the source (inside the time window).
        stored: Rows written to Mosaico.
        bytes_received: Payload bytes received.
        bytes_stored: Arrow bytes written.
        skipped: Messages received but not stored, per reason.
        first_skip: Where the first skipped message of each reason was.
        lost: Messages the source lost before they reached the pipeline, per reason.
        ingest: Whether the topic is selected and has a way to be stored.
        note: Why the topic is not ingested, when it is not.

    """

    topic: str
    msgtype: str
    adapter: str = ''
    ontology_tag: str | None = None
    expected: int | None = None
    received: int = 0
    stored: int = 0
    bytes_received: int = 0
    bytes_stored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    first_skip: dict[str, Failure] = field(default_factory=dict)
    lost: Counter[str] = field(default_factory=Counter)
    ingest: bool = True
    note: str = ''

    def skip(self, reason: str, count: int = 1, failure: Failure | None = None) -> None:
        """Count `count` messages that were received and not stored."""
        self.skipped[reason] += count
        if failure is not None and reason not in self.first_skip:
            self.first_skip[reason] = failure

    @property
    def skipped_total(self) -> int:
        """Messages received and not stored."""
        return sum(self.skipped.values())

    @property
    def lost_total(self) -> int:
        """Messages lost before they were received."""
        return sum(self.lost.values())


ACCOUNTING_TOPIC = '/mosaico_recorder/accounting'
"""Where a recorded sequence keeps its own report: one row per topic, not ROS messages."""
ACCOUNTING_TAG = 'mosaico_ros:recorder_accounting'
"""The ontology tag of `ACCOUNTING_TOPIC`; replay and export leave such topics out."""


@dataclass
class SequenceReport:
    """What happened to one sequence.

    Attributes:
        source: What fed it: the bag path as given, or a name for a live source.
        sequence: Name of the Mosaico sequence.
        renamed_from: The raw name the sequence name was derived from, when
            it had to be sanitized.
        topics: Per-topic results, in the order the source declared them.
        failures: Damage and errors not tied to single messages (truncated
            files, bad chunks, failed uploads).
        notes: Disagreements that lost nothing (metadata.yaml vs storage file).
        status: How it ended.
        error: The error that stopped the run, if any.
        elapsed_s: Wall time.
        bytes_total: Size of the source on disk (0 for a live source).
        interrupted: Ctrl-C or SIGTERM stopped the run (the error policy was applied).

    """

    source: Path | str
    sequence: str
    renamed_from: str | None = None
    topics: dict[str, TopicReport] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: SequenceStatus = SequenceStatus.STORED
    error: str | None = None
    elapsed_s: float = 0.0
    bytes_total: int = 0
    interrupted: bool = False

    @property
    def received(self) -> int:
        """Messages received."""
        return sum(t.received for t in self.topics.values())

    @property
    def stored(self) -> int:
        """Rows stored."""
        return sum(t.stored for t in self.topics.values())

    @property
    def skipped(self) -> int:
        """Messages received and not stored."""
        return sum(t.skipped_total for t in self.topics.values())

    @property
    def lost(self) -> int:
        """Messages lost before they were received."""
        return sum(t.lost_total for t in self.topics.values())

    @property
    def clean(self) -> bool:
        """True when everything received was stored, nothing was lost and nothing damaged."""
        return (
            self.error is None
            and not self.failures
            and self.skipped == 0
            and self.lost == 0
            and self.status in (SequenceStatus.STORED, SequenceStatus.PLANNED, SequenceStatus.EMPTY)
        )

    def problems(self) -> list[str]:
        """Every loss as one line of text: failures, then skipped and lost messages by reason."""
        lines = [str(failure) for failure in self.failures]
        for report in self.topics.values():
            for reason, count in report.skipped.items():
                lines.append(
                    f'topic {report.topic}: {count} skipped: {reason}{_first(report, reason)}'
                )
            for reason, count in report.lost.items():
                lines.append(f'topic {report.topic}: {count} lost: {reason}')
        if self.error is not None:
            lines.append(self.error)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data (for another process to print it)."""
        return {
            'source': str(self.source),
            'sequence': self.sequence,
            'status': self.status.value,
            'error': self.error,
            'elapsed_s': self.elapsed_s,
            'notes': list(self.notes),
            'failures': [str(failure) for failure in self.failures],
            'topics': {
                name: {
                    'msgtype': topic.msgtype,
                    'adapter': topic.adapter,
                    'ontology_tag': topic.ontology_tag,
                    'received': topic.received,
                    'stored': topic.stored,
                    'bytes_received': topic.bytes_received,
                    'bytes_stored': topic.bytes_stored,
                    'skipped': dict(topic.skipped),
                    'lost': dict(topic.lost),
                    'ingest': topic.ingest,
                    'note': topic.note,
                }
                for name, topic in self.topics.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SequenceReport:
        """Rebuild a report written by `to_dict`."""
        report = cls(
            source=data['source'],
            sequence=data['sequence'],
            status=SequenceStatus(data['status']),
            error=data.get('error'),
            elapsed_s=data.get('elapsed_s', 0.0),
            notes=list(data.get('notes', [])),
            failures=[Failure(text) for text in data.get('failures', [])],
        )
        for name, topic in data.get('topics', {}).items():
            report.topics[name] = TopicReport(
                topic=name,
                msgtype=topic['msgtype'],
                adapter=topic.get('adapter', ''),
                ontology_tag=topic.get('ontology_tag'),
                received=topic.get('received', 0),
                stored=topic.get('stored', 0),
                bytes_received=topic.get('bytes_received', 0),
                bytes_stored=topic.get('bytes_stored', 0),
                skipped=Counter(topic.get('skipped', {})),
                lost=Counter(topic.get('lost', {})),
                ingest=topic.get('ingest', True),
                note=topic.get('note', ''),
            )
        return report


def _first(report: TopicReport, reason: str) -> str:
    """Where the first message skipped for `reason` was, and its own error text."""
    first = report.first_skip.get(reason)
    if first is None:
        return ''
    where = []
    if first.file is not None:
        where.append(f'at {first.file}')
    if first.offset is not None:
        where.append(f'offset {first.offset}')
    detail = f': {first.reason}' if first.reason and first.reason != reason else ''
    return f' (first {", ".join(where)}{detail})' if where or detail else ''


INTERRUPTED_STATUS = 130
"""Exit status of a run stopped by Ctrl-C or SIGTERM, as shells report SIGINT."""


def exit_code(reports: list[SequenceReport]) -> int:
    """Return the process status: 130 when interrupted, else 0 only if every report is clean."""
    if any(report.interrupted for report in reports):
        return INTERRUPTED_STATUS
    return 0 if reports and all(report.clean for report in reports) else 1


def human_size(num_bytes: int | None) -> str:
    """Format a byte count the way the summary tables show it (`1.6 MB`); None is 0 B."""
    value = float(num_bytes or 0)
    for unit in ('B', 'kB', 'MB', 'GB'):
        if value < 1000 or unit == 'GB':
            return f'{value:.0f} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1000
    raise AssertionError


def _title(report: SequenceReport, state: str) -> str:
    title = f'{report.source} -> sequence {report.sequence} {state}'
    if report.renamed_from is not None:
        title += f' (name sanitized from {report.renamed_from!r})'
    return title


def summary_table(report: SequenceReport) -> Table:
    """Return the closing per-topic table of one sequence."""
    from rich.table import Table

    table = Table(title=_title(report, f'[{report.status.value}]'), title_justify='left')
    for column in ('topic', 'ros type', 'adapter', 'stored', 'bytes', 'rate', 'skipped'):
        numeric = column in ('stored', 'bytes', 'rate')
        table.add_column(column, justify='right' if numeric else 'left', overflow='fold')
    elapsed = max(report.elapsed_s, 1e-9)
    for topic in report.topics.values():
        losses = [*topic.skipped.items(), *((f'lost: {r}', c) for r, c in topic.lost.items())]
        skipped = '; '.join(f'{count} {reason}' for reason, count in losses)
        if not topic.ingest:
            skipped = skipped or topic.note
        table.add_row(
            sanitize_topic_name(topic.topic),
            topic.msgtype,
            topic.adapter or '-',
            str(topic.stored),
            human_size(topic.bytes_stored),
            f'{topic.stored / elapsed:,.0f}/s',
            skipped or '-',
        )
    table.caption = (
        f'{report.stored} of {report.received} message(s) stored in {report.elapsed_s:.2f} s'
        + (f' ({report.stored / elapsed:,.0f} msg/s)' if report.stored else '')
    )
    return table


def plan_table(report: SequenceReport) -> Table:
    """Return the dry-run table: what would be ingested, with which adapter."""
    from rich.table import Table

    table = Table(title=_title(report, '(dry run)'), title_justify='left')
    for column in ('topic', 'ros type', 'adapter', 'ontology', 'messages', 'ingest'):
        table.add_column(column, justify='right' if column == 'messages' else 'left')
    for topic in report.topics.values():
        count = '?' if topic.expected is None else str(topic.expected)
        ingest = 'yes' if topic.ingest else f'no: {topic.note}'
        table.add_row(
            sanitize_topic_name(topic.topic),
            topic.msgtype,
            topic.adapter or '-',
            topic.ontology_tag or '-',
            count,
            ingest,
        )
    return table


def print_reports(console: Console, reports: list[SequenceReport], *, plan: bool = False) -> None:
    """Print each report: its table, then its notes (warnings for an empty run) and losses.

    Args:
        console: Where to print.
        reports: The reports.
        plan: Print dry-run tables instead of summaries.

    """
    for report in reports:
        if report.error is not None and not report.topics:
            console.print(f'[red]failed[/]: {report.error}', highlight=False)
            continue
        console.print(plan_table(report) if plan else summary_table(report))
        empty = report.status is SequenceStatus.EMPTY
        style, label = ('yellow', 'warning') if empty else ('dim', 'note')
        for note in report.notes[:10]:
            console.print(f'  [{style}]{label}: {note}[/]', highlight=False)
        problems = report.problems()
        for line in problems[:20]:
            console.print(f'  [yellow]![/] {line}', highlight=False)
        if len(problems) > 20:
            console.print(f'  ... and {len(problems) - 20} more')
