"""Time-ordered merge of several topic streams of one sequence."""

from __future__ import annotations

import heapq
from typing import Any

from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.client.errors import StreamerClosedError
from mosaico_ros.client.topic_reader import TopicDataStreamer


class SequenceDataStreamer(ClosesOnExit):
    """Yields `(topic_name, message)` across topics in strict record-time order.

    A k-way merge over the next row of each topic's stream; equal timestamps
    come out in the order the topics were given, so the output is
    deterministic.
    """

    def __init__(self, sequence_name: str, streamers: dict[str, TopicDataStreamer]) -> None:
        """Merge open topic streamers.

        Args:
            sequence_name: The sequence, for messages.
            streamers: Topic name (leading `/`) to streamer, in tie-break order.

        """
        self.sequence_name = sequence_name
        self._streamers = streamers
        self._names = list(streamers)
        self._heap: list[tuple[int, int]] | None = None
        self._closed = False

    @property
    def topics(self) -> list[str]:
        """Topic names being merged, in tie-break order."""
        return list(self._names)

    @property
    def msg_count(self) -> int:
        """Messages the request covers over all topics."""
        return sum(streamer.msg_count for streamer in self._streamers.values())

    @property
    def timestamp_ns_min(self) -> int | None:
        """Earliest record time over all topics."""
        values = [
            s.timestamp_ns_min for s in self._streamers.values() if s.timestamp_ns_min is not None
        ]
        return min(values) if values else None

    @property
    def timestamp_ns_max(self) -> int | None:
        """Latest record time over all topics."""
        values = [
            s.timestamp_ns_max for s in self._streamers.values() if s.timestamp_ns_max is not None
        ]
        return max(values) if values else None

    def _ensure_heap(self) -> list[tuple[int, int]]:
        if self._closed:
            raise StreamerClosedError(
                f'streamer of sequence {self.sequence_name!r} is closed (a newer streamer '
                'of the same handler replaces it)',
            )
        if self._heap is None:
            heap = []
            for order, name in enumerate(self._names):
                timestamp = self._streamers[name].next_timestamp()
                if timestamp is not None:
                    heap.append((timestamp, order))
            heapq.heapify(heap)
            self._heap = heap
        return self._heap

    def next_timestamp(self) -> int | None:
        """Peek at the record time of the next message, None at the end.

        Raises:
            StreamerClosedError: The streamer was closed.

        """
        heap = self._ensure_heap()
        return heap[0][0] if heap else None

    def __iter__(self) -> SequenceDataStreamer:
        return self

    def __next__(self) -> tuple[str, Any]:
        heap = self._ensure_heap()
        if not heap:
            raise StopIteration
        _, order = heap[0]
        name = self._names[order]
        streamer = self._streamers[name]
        message = next(streamer)
        following = streamer.next_timestamp()
        if following is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (following, order))
        return name, message

    def close(self) -> None:
        """Cancel every topic stream; further use raises `StreamerClosedError`."""
        self._closed = True
        for streamer in self._streamers.values():
            streamer.close()
