"""The player's read-ahead: stored messages turned into CDR in a child process, buffered ahead.

Reading (Flight DoGet), rebuilding ROS messages (`from_arrow`) and
serializing them is Python work that would compete with the scheduler for
the interpreter, so it runs in a child process (started with ``python -m``,
never forked: the player has called ``rclpy.init``). The child opens the
sequences with the shared reverse chain (`StoredSequences`), describes them
(`Catalog`), and then plays what it is told: segments of recorded time,
each announced by a `SEGMENT` entry and started with the last message of
every latched topic (`LATCHED` entries) before the timed `MESSAGE`s.

In the player, a feeder thread receives the child's chunks into a buffer
bounded in messages (``--read-ahead-queue-size``) and bytes; when the
buffer is full the feeder stops reading, the socket fills and the child
waits, so memory stays bounded whatever the sequence length. Every `play`
starts a new epoch: entries of an older epoch (before a seek) are dropped
on arrival.

Run by the player only: ``python -m mosaico_ros.nodes.readahead FD`` with
FD one end of a socket pair.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from mosaico_ros.nodes.timeline import Segment

if TYPE_CHECKING:
    from mosaico_ros.pipeline.qos import Profile
    from mosaico_ros.pipeline.replay import StoredSequences

MESSAGE, LATCHED, SEGMENT, END, ERROR = range(5)
"""Entry kinds: a timed message, a latched topic's state at a segment start, a segment
start, the end of the segments, a failure of the child."""

Entry = tuple[int, int, int, Any]
"""`(kind, topic index, time_ns, payload)`: for `END` the payload is the per-topic
report, for `ERROR` the text, for `SEGMENT` the time is the segment start."""

CHUNK_MESSAGES = 256
CHUNK_BYTES = 4 << 20
BUFFER_BYTES = 256 << 20
"""Payload bytes the buffer holds at most (besides its message bound)."""
OPEN_TIMEOUT_S = 120.0


class ReadAheadError(RuntimeError):
    """The child could not open the sequences, or died."""


@dataclass(frozen=True)
class ReplayTopic:
    """One topic the child can play.

    Attributes:
        topic: Topic name as stored.
        msgtype: ROS 2 type rebuilt.
        qos: Offered QoS profiles recorded with the topic, None when unknown.
        latched: Whether every recorded publisher was transient-local.
        messages: Stored messages over every sequence.

    """

    topic: str
    msgtype: str
    qos: tuple[Profile, ...] | None
    latched: bool
    messages: int


@dataclass(frozen=True)
class Catalog:
    """What the child found in the sequences.

    Attributes:
        topics: Topics that can be played; an entry's topic index is its place here.
        refused: Topic -> why it cannot be rebuilt (no adapter, type clash), with its count.
        start_ns: First stored time, None when nothing is stored.
        end_ns: Last stored time.
        windows: With a `where` setting, the `(start_ns, end_ns)` windows (both inclusive,
            pre- and post-roll added, overlaps merged) where it holds; else None.

    """

    topics: tuple[ReplayTopic, ...]
    refused: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    windows: tuple[tuple[int, int], ...] | None = None


class ReadAhead:
    """The child process and the bounded buffer it fills; use as a context manager.

    Args:
        settings: What the child opens: `target` (a `Target`), `sequences`, `selection`
            (a `TopicSelection`), `distro`, and `where` (conditions, topic and rolls in
            ns, or None).
        queue_size: Messages the buffer holds at most.
        max_bytes: Payload bytes the buffer holds at most (one chunk may exceed it).

    Raises:
        ReadAheadError: The child could not open the sequences.

    """

    def __init__(
        self, settings: Mapping[str, Any], queue_size: int, max_bytes: int = BUFFER_BYTES
    ) -> None:
        """Start the child and wait for its catalog (and the windows of a `where`)."""
        mine, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, '-m', 'mosaico_ros.nodes.readahead', str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._conn = Connection(mine.detach())
        self._queue_size = queue_size
        self._max_bytes = max_bytes
        self._changed = threading.Condition(threading.Lock())
        # Taken before `_changed` and held alone while sending: a send blocks while the child
        # is blocked sending to a feeder waiting for room, which needs `_changed` to drain.
        self._send_lock = threading.Lock()
        self._buffer: deque[Entry] = deque()
        self._bytes = 0
        self._epoch = 0
        self._closed = False
        self._feeder: threading.Thread | None = None
        self.final: dict[str, tuple[int, int, dict[str, int]]] = {}
        """Per topic, the child's counts when it stopped: rows read, rebuilt, not rebuilt."""
        try:
            self._conn.send(dict(settings))
            if not self._conn.poll(OPEN_TIMEOUT_S):
                raise ReadAheadError(f'the reader did not answer in {OPEN_TIMEOUT_S:.0f} s')
            kind, answer = self._conn.recv()
        except (EOFError, OSError) as err:
            self.close()
            raise ReadAheadError(f'the reader process ended at start: {err}') from None
        except ReadAheadError:
            self.close()
            raise
        if kind != 'catalog':
            self.close()
            raise ReadAheadError(str(answer))
        self.catalog: Catalog = answer
        self._feeder = threading.Thread(target=self._feed, name='mosaico-readahead', daemon=True)
        self._feeder.start()

    # -- the player's side ------------------------------------------------------------------

    def play(
        self, segments: Sequence[Segment], topics: Collection[str], latched: Collection[str]
    ) -> int:
        """Drop what is buffered and have the child play `segments` of `topics`.

        Args:
            segments: Recorded time to play.
            topics: Topic names to play.
            latched: Of those, the topics whose last message before each segment
                start comes first.

        Returns:
            The new epoch.

        """
        with self._send_lock:
            with self._changed:
                self._epoch += 1
                self._buffer.clear()
                self._bytes = 0
                self._changed.notify_all()
                epoch = self._epoch
            try:
                self._conn.send(('play', epoch, list(segments), sorted(topics), sorted(latched)))
            except OSError:
                with self._changed:
                    self._buffer.append((ERROR, -1, 0, 'the reader process is gone'))
                    self._changed.notify_all()
        return epoch

    @property
    def epoch(self) -> int:
        """The current epoch (entries of older ones are dropped)."""
        return self._epoch

    def take(self, epoch: int, timeout: float | None = None, most: int = 64) -> list[Entry]:
        """Return the next entries of `epoch` (up to `most`), in order.

        Empty on timeout or when the epoch changed. Taking several at once
        keeps the lock out of the per-message path; the caller checks `epoch`
        before acting on each (a seek may come in between).
        """
        with self._changed:
            while not self._buffer:
                if epoch != self._epoch or self._closed:
                    return []
                if not self._changed.wait(timeout):
                    return []
            if epoch != self._epoch:
                return []
            buffer = self._buffer
            taken = [buffer.popleft() for _ in range(min(most, len(buffer)))]
            self._bytes -= sum(len(entry[3]) for entry in taken if entry[0] <= LATCHED)
            self._changed.notify_all()
            return taken

    def wake(self) -> None:
        """Wake a `take` waiting for entries (it returns None if its epoch is gone)."""
        with self._changed:
            self._changed.notify_all()

    def close(self, give_up: threading.Event | None = None) -> None:
        """Stop the child (it sends its final counts) and the feeder, which drains until then.

        Args:
            give_up: When set (a second Ctrl-C), stop waiting: the child is killed
                and its final counts are left out.

        """
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with self._send_lock, contextlib.suppress(OSError):
            self._conn.send(('stop',))
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while self._feeder is not None and self._feeder.is_alive():
            if (give_up is not None and give_up.is_set()) or time.monotonic() > deadline:
                break
            self._feeder.join(0.2)
        try:
            self._process.wait(0 if give_up is not None and give_up.is_set() else 10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._conn.close()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the feeder thread -----------------------------------------------------------------

    def _room(self, epoch: int) -> bool:
        return (
            epoch != self._epoch
            or self._closed
            or (len(self._buffer) < self._queue_size and self._bytes < self._max_bytes)
        )

    def _feed(self) -> None:
        """Receive chunks into the buffer; once closed, drain until the child's final counts."""
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                message = ('ended', -1, 'the reader process ended')
            except Exception as err:  # an unreadable message: the player reports it
                message = ('ended', -1, f'the reader process sent garbage: {err}')
            if message[0] in ('ended', 'failed'):
                # 'failed': an error the child could not tie to a playback (two items).
                with self._changed:
                    if not self._closed:
                        self._buffer.append((ERROR, -1, 0, str(message[-1])))
                    self._changed.notify_all()
                return
            kind, epoch, payload = message
            if kind == 'final':
                self.final = payload
                return
            with self._changed:
                self._changed.wait_for(lambda e=epoch: self._room(e))  # type: ignore[misc]
                if self._closed or epoch != self._epoch:
                    continue
                if kind == 'chunk':
                    self._buffer.extend(payload)
                    self._bytes += sum(len(e[3]) for e in payload if e[0] <= LATCHED)
                elif kind == 'end':
                    self._buffer.append((END, -1, 0, payload))
                else:
                    self._buffer.append((ERROR, -1, 0, payload))
                self._changed.notify_all()


# -- the child process ----------------------------------------------------------------------


def _windows(client: Any, where: Mapping[str, Any], sequences: Sequence[str]) -> tuple[Any, ...]:
    """Ask the server where the expression holds, over every sequence, on one timeline.

    Within a sequence the windows of the expression's models are intersected
    (every condition holds); the sequences' windows are then joined, widened by
    the rolls and merged where they overlap.
    """
    from mosaico_ros.client.where import parse_where
    from mosaico_ros.client.windows import find_windows, sequence_spans, widen_spans

    expression = parse_where(where['conditions'], topic=where.get('topic') or None)
    found = find_windows(client, expression, sequences=sequences)
    spans = [span for spans in sequence_spans(found, expression).values() for span in spans]
    return tuple(widen_spans(spans, where['pre_roll_ns'], where['post_roll_ns']))


def _catalog(stored: StoredSequences, windows: tuple[Any, ...] | None) -> Catalog:
    from mosaico_ros.pipeline.qos import is_latched

    counts: dict[str, int] = {}
    for item in stored.topics:
        counts[item.topic] = counts.get(item.topic, 0) + int(item.handler.msg_count)
    topics = tuple(
        ReplayTopic(topic, encoder.msgtype, encoder.qos, is_latched(encoder.qos), counts[topic])
        for topic, encoder in stored.encoders.items()
    )
    refused = {topic: (reason, counts.get(topic, 0)) for topic, reason in stored.refused.items()}
    return Catalog(topics, refused, stored.start_ns, stored.end_ns, windows)


def _chunks(
    stored: StoredSequences,
    segments: Sequence[Segment],
    topics: Collection[str],
    latched: Collection[str],
) -> Iterator[list[Entry]]:
    """Yield the entries of a play, in chunks of bounded count and size."""
    index = {topic: i for i, topic in enumerate(stored.encoders)}
    chunk: list[Entry] = []
    size = 0
    for start, end in segments:
        chunk.append((SEGMENT, -1, start, b''))
        for message in stored.last_before(start, latched) if latched else ():
            chunk.append((LATCHED, index[message.topic], message.log_time_ns, message.data))
        for message in stored.messages(start, end, topics):
            chunk.append((MESSAGE, index[message.topic], message.log_time_ns, message.data))
            size += len(message.data)
            if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
    if chunk:
        yield chunk


def _reports(stored: StoredSequences) -> dict[str, tuple[int, int, dict[str, int]]]:
    """Per topic: rows read, messages rebuilt, rows not rebuilt by reason."""
    return {
        topic: (encoder.report.received, encoder.report.stored, dict(encoder.report.skipped))
        for topic, encoder in stored.encoders.items()
        if encoder.report is not None
    }


def _serve(conn: Connection) -> None:
    """Open the sequences, then play what the player asks until it says stop (the child)."""
    from mosaico_ros.adapters import run_registry
    from mosaico_ros.connect import open_client
    from mosaico_ros.pipeline.replay import StoredSequences
    from mosaico_ros.pipeline.types import TypeResolver

    settings = conn.recv()
    try:
        with open_client(settings['target'], create=False) as client:
            resolver = TypeResolver(settings.get('distro') or 'latest')
            with StoredSequences(
                client,
                settings['sequences'],
                registry=run_registry(settings.get('adapters', ())),
                typestore=resolver.typestore,
                selection=settings.get('selection'),
            ) as stored:
                where = settings.get('where')
                windows = _windows(client, where, settings['sequences']) if where else None
                conn.send(('catalog', _catalog(stored, windows)))
                _play(conn, stored)
    except (EOFError, BrokenPipeError):
        return
    except Exception as err:  # a refused connection, a missing sequence: the player says it
        with contextlib.suppress(OSError):
            conn.send(('failed', f'{type(err).__name__}: {err}'))


def _play(conn: Connection, stored: StoredSequences) -> None:
    chunks: Iterator[list[Entry]] | None = None
    epoch = 0
    while True:
        if chunks is None or conn.poll():
            command = conn.recv()
            if command[0] == 'stop':
                conn.send(('final', 0, _reports(stored)))
                return
            _, epoch, segments, topics, latched = command
            chunks = _chunks(stored, segments, set(topics), set(latched))
            continue
        try:
            chunk = next(chunks)
        except StopIteration:
            conn.send(('end', epoch, _reports(stored)))
            chunks = None
            continue
        except Exception as err:  # a broken stream: the player reports it and stops
            conn.send(
                ('error', epoch, f'reading the sequences failed: {type(err).__name__}: {err}')
            )
            chunks = None
            continue
        conn.send(('chunk', epoch, chunk))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of the child process: ``python -m mosaico_ros.nodes.readahead FD``."""
    # Ctrl-C reaches the whole process group; the player stops this child by its socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = list(sys.argv[1:] if argv is None else argv)
    conn = Connection(int(args[0]))
    try:
        _serve(conn)
    finally:
        conn.close()
    return 0


if __name__ == '__main__':
    # Run the module's own copy, so what it pickles names `mosaico_ros.nodes.readahead`.
    from mosaico_ros.nodes.readahead import main as module_main

    sys.exit(module_main())
