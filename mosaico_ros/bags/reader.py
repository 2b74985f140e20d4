"""The interface every bag reader implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from mosaico_ros.bags.errors import BagCorruptError
from mosaico_ros.bags.model import Problem
from mosaico_ros.pipeline.types import resolve_types

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path
    from types import TracebackType

    from rosbags.typesys.store import Typestore

    from mosaico_ros.bags.model import BagMessage, BagRun, Connection
    from mosaico_ros.pipeline.types import TypeResolution


def known_total(counts: Iterable[int | None]) -> int | None:
    """Return the sum of counts, or None if any of them is unknown."""
    total = 0
    for count in counts:
        if count is None:
            return None
        total += count
    return total


class BagReader(ABC):
    """A bag opened for reading; use it as a context manager.

    Attributes:
        path: Path the bag was opened from (file or rosbag2 directory).
        connections: Every connection the bag declares, with or without messages.
        message_count: Total messages if an index or metadata says so, else None.
        start_ns: First log time if known without a scan, else None.
        end_ns: Last log time if known without a scan, else None.
        size_bytes: Bytes on disk of every storage file.
        problems: Damage and disagreements found so far; grows while iterating.
        strict: Raise `BagCorruptError` at the first damage instead of recording it.

    """

    path: Path
    connections: list[Connection]
    message_count: int | None
    start_ns: int | None
    end_ns: int | None
    size_bytes: int
    problems: list[Problem]
    strict: bool
    msg_paths: tuple[Path, ...] = ()
    distro: str | None = None

    def __init__(self, path: Path, *, strict: bool = False) -> None:
        """Set what every reader has before it reads anything.

        Args:
            path: Path reported as the bag's (the original of a decompressed copy).
            strict: Raise on damage instead of recording problems.

        """
        self.path = path
        self.strict = strict
        self.problems = []
        self._closers: list[Callable[[], object]] = []

    def __enter__(self) -> BagReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release files, database handles and temporary files."""
        closers, self._closers = self._closers, []
        for closer in reversed(closers):
            closer()

    def on_close(self, closer: Callable[[], object]) -> None:
        """Run closer when the reader is closed (temporary files, sub-readers).

        Args:
            closer: Callable without arguments.

        """
        self._closers.append(closer)

    def messages(
        self,
        connections: Iterable[Connection] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Iterator[BagMessage]:
        """Yield raw messages in log-time order.

        Args:
            connections: Only these connections; all when None.
            start: Only messages with log time >= start (ns).
            end: Only messages with log time < end (ns).

        Returns:
            Raw messages.

        """
        wanted = None if connections is None else {c.id for c in connections}
        return self._messages(wanted, start, end)

    def runs(
        self,
        connections: Iterable[Connection] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Iterator[BagRun] | None:
        """Yield the messages `messages` yields as runs of one connection each, if the reader can.

        Runs are in log-time order per connection, not across connections:
        for a consumer that handles each connection on its own (an
        injection), without a Python object per message. Damage is reported
        as `messages` reports it.

        Args:
            connections: Only these connections; all when None.
            start: Only messages with log time >= start (ns).
            end: Only messages with log time < end (ns).

        Returns:
            The runs, or None when this bag cannot be read in runs (read `messages`).

        """
        wanted = None if connections is None else {c.id for c in connections}
        return self._runs(wanted, start, end)

    def _runs(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagRun] | None:
        """Yield runs as `runs` does; None when the format or this file cannot."""
        return None

    @abstractmethod
    def _messages(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagMessage]:
        """Yield messages of the wanted connection ids (all when None) as `messages` does."""

    def type_resolution(self) -> TypeResolution:
        """Typestore for this bag (see `pipeline.types.resolve_types`) with undecodable types."""
        from mosaico_ros.bags.source import topic_info

        infos = [topic_info(conn, self.path) for conn in self.connections]
        return resolve_types(infos, self.distro, self.msg_paths)

    def typestore(self) -> Typestore:
        """Typestore that decodes every connection whose definition is known."""
        return self.type_resolution().typestore

    def topics(self) -> dict[str, list[Connection]]:
        """Group connections by topic, in declaration order."""
        grouped: dict[str, list[Connection]] = {}
        for conn in self.connections:
            grouped.setdefault(conn.topic, []).append(conn)
        return grouped

    def report(self, problem: Problem) -> None:
        """Record damage, or raise it in strict mode.

        Args:
            problem: What went wrong and where.

        Raises:
            BagCorruptError: In strict mode, for damage (not for mismatches).

        """
        if self.strict and problem.kind not in ('mismatch', 'unordered'):
            raise BagCorruptError(
                f'{problem.kind}: {problem.reason}',
                file=problem.file,
                offset=problem.offset,
                topic=problem.topic,
            )
        if problem not in self.problems:
            self.problems.append(problem)

    def report_at(
        self,
        offset: int | None,
        kind: str,
        reason: str,
        *,
        lost: int | None = None,
        topic: str | None = None,
    ) -> None:
        """Report a problem in this reader's own file (see `report`).

        Args:
            offset: Byte offset (row id for SQLite) where it starts, if known.
            kind: Short tag, as in `Problem.kind`.
            reason: Human readable explanation.
            lost: Messages lost; None when unknown, 0 when nothing was lost.
            topic: Topic affected, if known.

        """
        self.report(Problem(self.path, offset, topic, kind, reason, lost))
