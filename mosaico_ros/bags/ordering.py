"""Log-time ordering of chunked message streams in bounded memory."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from mosaico_ros.bags.model import RawMessage

log_time = attrgetter('log_time_ns')


def merge_chunks(chunks: Iterable[tuple[int, list[RawMessage]]]) -> Iterator[RawMessage]:
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
    pending: list[RawMessage] = []
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


def sort_chunk(msgs: list[RawMessage]) -> list[RawMessage]:
    """Sort one chunk's messages by log time in place, keeping ties in file order."""
    msgs.sort(key=log_time)
    return msgs
