"""A bag's runs as the pipeline takes them: small runs of a connection joined into larger ones.

A reader's run holds one connection's messages of one chunk. Where chunks
are small beside the messages (an MCAP file of camera frames holds a frame
or two per chunk), a chunk has a few messages of each other connection, and
handing each such run to the pipeline costs more than its messages do.
Runs of fewer than `JOIN_BELOW` messages, all small, are therefore
copied, payloads back to back, into one run per topic, handed over once it
holds `JOIN_BYTES` or `JOIN_MESSAGES`; each message keeps the file and
chunk offset it came from. Other runs go as they are: a long run is worth a
push already, and the pipeline keeps a payload of `KEEP_FROM` bytes or more
(a frame) as a view of its chunk instead of copying it. What waits to be
joined is at most `JOIN_BYTES` per topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mosaico_ros.pipeline.buffers import KEEP_FROM
from mosaico_ros.pipeline.envelope import MessageRun, Origin, Origins

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import numpy.typing as npt

    from mosaico_ros.bags.model import BagRun

JOIN_BELOW = 256
"""Runs with fewer messages than this (and no large payload) are joined."""

JOIN_BYTES = 1 << 20
"""Payload bytes at which a connection's joined run is handed over."""

JOIN_MESSAGES = 4096
"""Messages at which a connection's joined run is handed over."""


@dataclass
class _Joined:
    """Copies of one topic's small runs (of any of its connections), waiting to be handed over."""

    topic: str
    msgtype: str
    data: bytearray = field(default_factory=bytearray)
    times: list[npt.NDArray[np.int64]] = field(default_factory=list)
    lengths: list[npt.NDArray[np.int64]] = field(default_factory=list)
    origins: Origins = field(default_factory=Origins)
    count: int = 0

    def add(self, run: BagRun, lengths: npt.NDArray[np.int64]) -> None:
        self.origins.add(self.count, Origin(run.file, run.offset))
        data, blob = memoryview(run.data), self.data
        for start, stop in zip(run.starts.tolist(), run.stops.tolist(), strict=True):
            blob += data[start:stop]
        self.times.append(run.times)
        self.lengths.append(lengths)
        self.count += len(run)

    def run(self) -> MessageRun:
        stops = np.cumsum(np.concatenate(self.lengths))
        starts = np.concatenate(([0], stops[:-1]))
        times = np.concatenate(self.times)
        return MessageRun(self.topic, self.msgtype, times, self.data, starts, stops, self.origins)


def message_run(run: BagRun) -> MessageRun:
    """Return one reader run as the pipeline takes it."""
    conn, origins = run.connection, Origins.of(Origin(run.file, run.offset))
    return MessageRun(conn.topic, conn.msgtype, run.times, run.data, run.starts, run.stops, origins)


def joined_runs(
    runs: Iterable[BagRun], max_bytes: int = JOIN_BYTES, max_messages: int = JOIN_MESSAGES
) -> Iterator[MessageRun]:
    """Yield the runs' messages, small runs of a topic joined; see the module.

    Each topic's runs keep their order (its connections' runs are joined
    together, in the order read); runs of different topics may be handed
    over in another order than they were read.

    Args:
        runs: A reader's runs.
        max_bytes: Payload bytes at which a joined run is handed over.
        max_messages: Messages at which a joined run is handed over.

    """
    joining: dict[tuple[str, str], _Joined] = {}
    for run in runs:
        if not len(run):
            continue
        lengths = run.stops - run.starts
        key = run.connection.topic, run.connection.msgtype
        if (
            len(lengths) >= JOIN_BELOW
            or int(lengths.max()) >= KEEP_FROM
            or int(lengths.sum()) >= max_bytes
        ):
            if key in joining:
                yield joining.pop(key).run()
            yield message_run(run)
            continue
        joined = joining.get(key)
        if joined is None:
            joined = joining[key] = _Joined(*key)
        joined.add(run, lengths)
        if joined.count >= max_messages or len(joined.data) >= max_bytes:
            yield joining.pop(key).run()
    for joined in joining.values():
        yield joined.run()
