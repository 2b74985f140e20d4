"""Log-time ordering of chunked message streams in bounded memory.

ROS 1 and MCAP files both index their data as chunks with a time range and
the connections they hold; the readers share the choice of chunks for a
query, the merge of their messages and the final time window here.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from operator import attrgetter
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from mosaico_ros.bags.model import BagRun

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator

    from mosaico_ros.bags.model import BagMessage

log_time = attrgetter('log_time_ns')


class ChunkSpan(Protocol):
    """What a chunk index says about one chunk."""

    @property
    def pos(self) -> int:
        """Byte offset of the chunk record."""

    @property
    def start_ns(self) -> int:
        """Earliest log time in the chunk."""

    @property
    def end_ns(self) -> int:
        """Latest log time in the chunk."""

    @property
    def conn_ids(self) -> Collection[int]:
        """Connections with messages in the chunk; empty when the index does not say."""


SpanT = TypeVar('SpanT', bound=ChunkSpan)


def select_chunks(
    chunks: Iterable[SpanT], wanted: set[int] | None, start: int | None, end: int | None
) -> list[SpanT]:
    """Return the chunks that may hold messages of a query, by start time then offset.

    Args:
        chunks: Chunks of a file, in any order.
        wanted: Connection ids asked for; all when None.
        start: Only log times >= start (ns).
        end: Only log times < end (ns).

    Returns:
        The chunks to read, in the order `merge_chunks` needs.

    """
    return sorted(
        (
            chunk
            for chunk in chunks
            if (wanted is None or not chunk.conn_ids or not wanted.isdisjoint(chunk.conn_ids))
            and (start is None or chunk.end_ns >= start)
            and (end is None or chunk.start_ns < end)
        ),
        key=lambda chunk: (chunk.start_ns, chunk.pos),
    )


def overlapping(spans: Iterable[tuple[int, int]]) -> bool:
    """Whether a (start, end) time span starts before an earlier one ends.

    For chunks in `select_chunks` order (or files by start time): without
    overlaps, reading one after the other is reading in log-time order, for
    every connection (equal times keep their order, as `merge_chunks` does).
    """
    latest: int | None = None
    for start, end in spans:
        if latest is not None and start < latest:
            return True
        latest = end if latest is None else max(latest, end)
    return False


def runs_of(messages: Iterable[BagMessage]) -> list[BagRun]:
    """Group messages (of one chunk, in log-time order) into one run per connection.

    Each run takes the file and offset of its first message.
    """
    grouped: dict[int, list[BagMessage]] = {}
    for msg in messages:
        grouped.setdefault(msg.connection.id, []).append(msg)
    runs = []
    for group in grouped.values():
        times = np.array([msg.log_time_ns for msg in group], dtype=np.int64)
        sizes = np.array([len(msg.data) for msg in group], dtype=np.int64)
        stops = np.cumsum(sizes)
        data = b''.join(msg.data for msg in group)
        first = group[0]
        runs.append(
            BagRun(first.connection, times, data, stops - sizes, stops, first.offset, first.file)
        )
    return runs


def merge_chunks(chunks: Iterable[tuple[int, list[BagMessage]]]) -> Iterator[BagMessage]:
    """Merge chunks of messages into one log-time ordered stream.

    Chunks must come in ascending order of their start time; each chunk's
    messages must be sorted. A message is released once no later chunk can
    hold an earlier one, so memory holds only the chunks whose time ranges
    overlap, usually one. Ties keep chunk order, then order within the chunk.

    Args:
        chunks: (start time of the chunk in ns, sorted messages) pairs.

    Yields:
        Messages in log-time order.

    """
    pending: list[BagMessage] = []
    for start, msgs in chunks:
        if pending:
            cut = bisect_left(pending, start, key=log_time)
            if cut:
                yield from pending[:cut]
                del pending[:cut]
        if not msgs:
            continue
        if not pending:
            pending = msgs
        elif msgs[0].log_time_ns >= pending[-1].log_time_ns:
            pending.extend(msgs)
        else:
            pending = list(heapq.merge(pending, msgs, key=log_time))
    yield from pending


def sort_chunk(msgs: list[BagMessage]) -> list[BagMessage]:
    """Sort one chunk's messages by log time in place, keeping ties in file order."""
    msgs.sort(key=log_time)
    return msgs


def clip(stream: Iterator[BagMessage], start: int | None, end: int | None) -> Iterator[BagMessage]:
    """Drop messages outside [start, end) that a selected chunk also held.

    Args:
        stream: Messages in any order.
        start: Only log times >= start (ns); no lower bound when None.
        end: Only log times < end (ns); no upper bound when None.

    Returns:
        The messages inside the window, in stream order.

    """
    if start is None and end is None:
        return stream
    low = -(2**63) if start is None else start
    high = 2**64 if end is None else end
    return (msg for msg in stream if low <= msg.log_time_ns < high)
