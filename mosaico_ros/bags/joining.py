"""A bag's messages as the pipeline takes them: in runs, small ones joined into larger ones.

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

Readers without runs (ROS 1 bags, SQLite) hand over messages one by one;
`joined_messages` joins them the same way, so the pipeline takes every bag
in runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mosaico_ros.pipeline.buffers import KEEP_FROM, append_payloads
from mosaico_ros.pipeline.envelope import MessageRun, Origin, Origins

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import numpy.typing as npt

    from mosaico_ros.bags.model import BagMessage, BagRun

JOIN_BELOW = 256
"""Runs with fewer messages than this (and no large payload) are joined."""

JOIN_BYTES = 1 << 20
"""Payload bytes at which a topic's joined run is handed over."""

JOIN_MESSAGES = 4096
"""Messages at which a topic's joined run is handed over."""


@dataclass
class _Joined:
    """Copies of one topic's small messages (of any of its connections), waiting to go."""

    topic: str
    msgtype: str
    data: bytearray = field(default_factory=bytearray)
    times: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    origins: Origins = field(default_factory=Origins)

    def add_run(self, run: BagRun, lengths: npt.NDArray[np.int64]) -> None:
        self.origins.add(len(self.times), Origin(run.file, run.offset))
        append_payloads(self.data, run.data, run.starts, run.stops)
        self.times.extend(run.times.tolist())
        self.lengths.extend(lengths.tolist())

    def add_message(self, msg: BagMessage) -> None:
        self.origins.add(len(self.times), Origin(msg.file, msg.offset))
        self.data += msg.data
        self.times.append(msg.log_time_ns)
        self.lengths.append(len(msg.data))

    def run(self) -> MessageRun:
        lengths = np.array(self.lengths, np.int64)
        stops = np.cumsum(lengths)
        starts = stops - lengths
        times = np.array(self.times, np.int64)
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
    waiting = _Waiting(max_bytes, max_messages)
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
            yield from waiting.alone(key, message_run(run))
        else:
            waiting.joined(key).add_run(run, lengths)
            yield from waiting.due(key)
    yield from waiting.rest()


def joined_messages(
    messages: Iterable[BagMessage], max_bytes: int = JOIN_BYTES, max_messages: int = JOIN_MESSAGES
) -> Iterator[MessageRun]:
    """Yield messages read one by one (in log-time order) as runs of one topic each.

    For readers without runs (ROS 1 bags, SQLite): small messages of a topic
    are joined as `joined_runs` joins small runs; a message of `KEEP_FROM`
    bytes or more goes as a run of its own, not copied. Each topic's
    messages keep their order.

    Args:
        messages: A reader's messages.
        max_bytes: Payload bytes at which a joined run is handed over.
        max_messages: Messages at which a joined run is handed over.

    """
    waiting = _Waiting(max_bytes, max_messages)
    for msg in messages:
        key = msg.connection.topic, msg.connection.msgtype
        if len(msg.data) >= KEEP_FROM:
            yield from waiting.alone(key, _single(msg))
        else:
            waiting.joined(key).add_message(msg)
            yield from waiting.due(key)
    yield from waiting.rest()


class _Waiting:
    """Each topic's joined run, until it is handed over."""

    def __init__(self, max_bytes: int, max_messages: int) -> None:
        self._joined: dict[tuple[str, str], _Joined] = {}
        self._max_bytes = max_bytes
        self._max_messages = max_messages

    def joined(self, key: tuple[str, str]) -> _Joined:
        """Return the topic's joined run, started if none waits."""
        joined = self._joined.get(key)
        if joined is None:
            joined = self._joined[key] = _Joined(*key)
        return joined

    def alone(self, key: tuple[str, str], run: MessageRun) -> Iterator[MessageRun]:
        """Hand over what waits of the topic, then `run` as it is."""
        if key in self._joined:
            yield self._joined.pop(key).run()
        yield run

    def due(self, key: tuple[str, str]) -> Iterator[MessageRun]:
        """Hand over the topic's joined run if it reached a bound."""
        joined = self._joined[key]
        if len(joined.times) >= self._max_messages or len(joined.data) >= self._max_bytes:
            yield self._joined.pop(key).run()

    def rest(self) -> Iterator[MessageRun]:
        """Hand over every joined run still waiting."""
        for joined in self._joined.values():
            yield joined.run()
        self._joined.clear()


def _single(msg: BagMessage) -> MessageRun:
    """Return one message as a run of its own, its payload not copied."""
    conn, size = msg.connection, len(msg.data)
    return MessageRun(
        conn.topic,
        conn.msgtype,
        np.array([msg.log_time_ns], np.int64),
        msg.data,
        np.zeros(1, np.int64),
        np.array([size], np.int64),
        Origins.of(Origin(msg.file, msg.offset)),
    )
