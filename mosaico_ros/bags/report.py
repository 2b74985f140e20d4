"""What an injection did, per bag and per topic, and how it is shown.

The report is the injector's answer: the CLI prints it and derives its exit
status from it, tests assert on it. Every message that was read but not
stored is counted under a reason, so nothing disappears silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from pathlib import Path


class BagStatus(str, Enum):
    """How the injection of one bag ended."""

    STORED = 'stored'
    """Every message read was stored."""
    PARTIAL = 'partial'
    """Something was stored, something was skipped or damaged (`--on-error report`)."""
    DELETED = 'deleted'
    """Something failed and the sequence was removed (`--on-error delete`)."""
    FAILED = 'failed'
    """Nothing could be stored."""
    PLANNED = 'planned'
    """Dry run: nothing was written."""


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
        topic: Topic name (the same in the bag and in Mosaico).
        msgtype: ROS type (or schema name for non-ROS channels).
        adapter: Name of the adapter used, 'generic' for the fallback, '' if none.
        ontology_tag: Tag of the Mosaico topic, if one was chosen.
        expected: Messages the container's index declares, if known.
        read: Messages read from the container (inside the time window).
        stored: Rows written to Mosaico.
        bytes_read: Payload bytes read.
        bytes_stored: Arrow bytes written.
        skipped: Messages read but not stored, per reason.
        first_skip: Where the first skipped message of each reason was.
        ingest: Whether the topic is selected and has a way to be stored.
        note: Why the topic is not ingested, when it is not.

    """

    topic: str
    msgtype: str
    adapter: str = ''
    ontology_tag: str | None = None
    expected: int | None = None
    read: int = 0
    stored: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    first_skip: dict[str, Failure] = field(default_factory=dict)
    ingest: bool = True
    note: str = ''

    def skip(self, reason: str, count: int = 1, failure: Failure | None = None) -> None:
        """Count `count` messages that were read and not stored."""
        self.skipped[reason] += count
        if failure is not None and reason not in self.first_skip:
            self.first_skip[reason] = failure

    @property
    def skipped_total(self) -> int:
        """Messages read and not stored."""
        return sum(self.skipped.values())


@dataclass
class BagReport:
    """What happened to one bag.

    Attributes:
        source: The bag path as given.
        sequence: Name of the Mosaico sequence.
        renamed_from: The raw name the sequence name was derived from, when
            it had to be sanitized.
        topics: Per-topic results, in bag order.
        failures: Damage and errors not tied to single messages (truncated
            files, bad chunks, failed uploads).
        notes: Disagreements that lost nothing (metadata.yaml vs storage file).
        status: How it ended.
        error: The error that stopped the bag, if any.
        elapsed_s: Wall time.
        bytes_total: Size of the bag on disk.

    """

    source: Path
    sequence: str
    renamed_from: str | None = None
    topics: dict[str, TopicReport] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: BagStatus = BagStatus.STORED
    error: str | None = None
    elapsed_s: float = 0.0
    bytes_total: int = 0

    @property
    def read(self) -> int:
        """Messages read."""
        return sum(t.read for t in self.topics.values())

    @property
    def stored(self) -> int:
        """Rows stored."""
        return sum(t.stored for t in self.topics.values())

    @property
    def skipped(self) -> int:
        """Messages read and not stored."""
        return sum(t.skipped_total for t in self.topics.values())

    @property
    def clean(self) -> bool:
        """True when everything read was stored and nothing was damaged."""
        return (
            self.error is None
            and not self.failures
            and self.skipped == 0
            and self.status in (BagStatus.STORED, BagStatus.PLANNED)
        )

    def problems(self) -> list[str]:
        """Every loss as one line of text: failures, then skipped messages by reason."""
        lines = [str(failure) for failure in self.failures]
        for report in self.topics.values():
            for reason, count in report.skipped.items():
                first = report.first_skip.get(reason)
                where = f' (first at {first.file}, offset {first.offset})' if first else ''
                lines.append(f'topic {report.topic}: {count} skipped: {reason}{where}')
        if self.error is not None:
            lines.append(self.error)
        return lines


def exit_code(reports: list[BagReport]) -> int:
    """Return the process status for a set of bags: 0 only if every bag is clean."""
    return 0 if reports and all(report.clean for report in reports) else 1


def human_size(num_bytes: int | None) -> str:
    """Format a byte count the way the summary tables show it (`1.6 MB`); None is 0 B."""
    value = float(num_bytes or 0)
    for unit in ('B', 'kB', 'MB', 'GB'):
        if value < 1000 or unit == 'GB':
            return f'{value:.0f} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1000
    raise AssertionError


def _title(report: BagReport, state: str) -> str:
    title = f'{report.source} -> sequence {report.sequence} {state}'
    if report.renamed_from is not None:
        title += f' (name sanitized from {report.renamed_from!r})'
    return title


def summary_table(report: BagReport) -> Table:
    """Return the closing per-topic table of one injected bag."""
    table = Table(title=_title(report, f'[{report.status.value}]'), title_justify='left')
    for column in ('topic', 'ros type', 'adapter', 'stored', 'bytes', 'rate', 'skipped'):
        numeric = column in ('stored', 'bytes', 'rate')
        table.add_column(column, justify='right' if numeric else 'left', overflow='fold')
    elapsed = max(report.elapsed_s, 1e-9)
    for topic in report.topics.values():
        skipped = '; '.join(f'{count} {reason}' for reason, count in topic.skipped.items())
        if not topic.ingest:
            skipped = skipped or topic.note
        table.add_row(
            topic.topic,
            topic.msgtype,
            topic.adapter or '-',
            str(topic.stored),
            human_size(topic.bytes_stored),
            f'{topic.stored / elapsed:,.0f}/s',
            skipped or '-',
        )
    table.caption = (
        f'{report.stored} of {report.read} message(s) stored in {report.elapsed_s:.2f} s'
        + (f' ({report.stored / elapsed:,.0f} msg/s)' if report.stored else '')
    )
    return table


def plan_table(report: BagReport) -> Table:
    """Return the dry-run table: what would be ingested, with which adapter."""
    table = Table(title=_title(report, '(dry run)'), title_justify='left')
    for column in ('topic', 'ros type', 'adapter', 'ontology', 'messages', 'ingest'):
        table.add_column(column, justify='right' if column == 'messages' else 'left')
    for topic in report.topics.values():
        count = '?' if topic.expected is None else str(topic.expected)
        ingest = 'yes' if topic.ingest else f'no: {topic.note}'
        table.add_row(
            topic.topic,
            topic.msgtype,
            topic.adapter or '-',
            topic.ontology_tag or '-',
            count,
            ingest,
        )
    return table
