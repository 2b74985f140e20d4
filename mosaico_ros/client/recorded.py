"""Filter query results by when their data was recorded, which the query cannot express.

The `query` action filters sequences by creation time on the server
(`created_at_ns`); the time range of the recorded data is only in each
sequence's FlightInfo, so it is checked here, one sequence at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mosaico_ros.client.client import MosaicoClient
    from mosaico_ros.client.query import QueryResultItem


def recorded_between(
    client: MosaicoClient,
    items: Iterable[QueryResultItem],
    after_ns: int | None = None,
    before_ns: int | None = None,
) -> list[QueryResultItem]:
    """Keep the sequences whose recorded data reaches into `[after_ns, before_ns]`.

    A sequence is kept when its last record is at or after `after_ns` and its
    first record at or before `before_ns`; a sequence with no data is dropped
    when either bound is given.

    Args:
        client: Connected client.
        items: Query results.
        after_ns: Lower bound, or None.
        before_ns: Upper bound, or None.

    Returns:
        The kept results, in order.

    """
    if after_ns is None and before_ns is None:
        return list(items)
    kept = []
    for item in items:
        handler = client.sequence_handler(item.sequence)
        if handler is None or handler.timestamp_ns_min is None or handler.timestamp_ns_max is None:
            continue
        if after_ns is not None and handler.timestamp_ns_max < after_ns:
            continue
        if before_ns is not None and handler.timestamp_ns_min > before_ns:
            continue
        kept.append(item)
    return kept
