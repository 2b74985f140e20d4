"""The forward pipeline: raw messages in, ontology rows out, per topic.

Every source (a bag, a live ROS graph) feeds the same `Pipeline`:

1. `declare` a topic (`TopicInfo`) before its first message: the router
   chooses its route (adapter, converter, metadata) or refuses it with a
   reason, and the report gets its entry.
2. `push` raw messages (`RawMessage`), or `push_run` many of one topic at
   once (`MessageRun`). A message of a refused topic, or of a type other
   than the one its topic was declared with, is counted as skipped under
   the reason. The others are buffered per topic.
3. A buffer is cut into a batch by the `CutPolicy`: message count, payload
   bytes, total buffered bytes over all topics, or the latency of its
   oldest message. `flush_due` cuts what waited too long; a live source
   calls it at least every `next_due()` seconds when no message arrives.
4. A batch is decoded and converted by the `ConversionPool` (worker
   processes or in-process: the caller's choice), and stored through the
   `SessionSink` in the order batches were cut, per topic.
5. `drain` cuts and stores everything buffered; `close` drains and
   finalizes the session.

Without a sink (a dry run) only the first batch of each topic is converted,
so the plan shows what the real run would store and skip; the other
messages are only counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mosaico_ros.pipeline.buffers import Batch, TopicBuffer
from mosaico_ros.pipeline.conversion import (
    BatchConverter,
    ConversionPool,
    ConversionStats,
    ConvertedBatch,
)
from mosaico_ros.pipeline.report import Failure, SequenceReport, TopicReport
from mosaico_ros.pipeline.routing import Refused, Route

if TYPE_CHECKING:
    from types import TracebackType

    from mosaico_ros.pipeline.envelope import MessageRun, Origin, RawMessage, TopicInfo
    from mosaico_ros.pipeline.policy import CutPolicy
    from mosaico_ros.pipeline.routing import Router
    from mosaico_ros.pipeline.sink import SessionSink


@dataclass
class TopicState:
    """One declared topic while the pipeline runs.

    Attributes:
        info: What the source declared.
        report: The topic's counters (shared by every state of one topic name).
        route: How it is stored; None when refused.
        refused: Why it is not stored; None when routed.
        key: Converter key in the pool.
        buffer: Messages since the last cut.
        generation: Counts converter switches (the stock-definition fallback):
            a batch cut under an older converter is converted again.
        local: Convert in this process (the converter changed after the
            workers were forked).
        stock_tried: The stock-definition fallback was considered already.
        sampled: In a dry run, the first batch was cut (later messages are only counted).

    """

    info: TopicInfo
    report: TopicReport
    route: Route | None
    refused: str | None
    key: int
    buffer: TopicBuffer = field(default_factory=TopicBuffer)
    generation: int = 0
    local: bool = False
    stock_tried: bool = False
    sampled: bool = False


_POLL_EVERY = 64
"""Messages of a topic between two looks for batches the workers finished (between cuts)."""


class Pipeline:
    """Raw messages of any source into one sequence, per topic, in batches.

    Use as a context manager: entering starts the conversion pool (forking
    workers when `jobs` > 0, so declare every topic known up front first);
    leaving without an error drains and closes the sink, with an error aborts it.

    Args:
        router: Chooses each topic's route.
        policy: When buffers are cut.
        report: Receives the per-topic counters; `report.topics` is filled by `declare`.
        sink: Where batches go; None for a dry run.
        jobs: Conversion worker processes; 0 converts in this process (a node
            that called ``rclpy.init`` must not fork).
        clock: Monotonic seconds, for the latency bound.
        on_stored: Called after each stored batch (the caller's housekeeping).

    """

    def __init__(
        self,
        router: Router,
        policy: CutPolicy,
        report: SequenceReport,
        sink: SessionSink | None = None,
        *,
        jobs: int = 0,
        clock: Callable[[], float] = time.monotonic,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        """Prepare; nothing runs before entering."""
        self.router = router
        self.policy = policy
        self.report = report
        self.sink = sink
        self.jobs = jobs
        self.clock = clock
        self.on_stored = on_stored
        self._states: dict[str, TopicState] = {}
        self._others: dict[tuple[str, str], TopicState] = {}
        self._buffered = 0
        self._next_due: float | None = None
        self._pool: ConversionPool[tuple[TopicState, Batch]] | None = None
        self.stats = ConversionStats()

    # -- topics -----------------------------------------------------------------------------

    def declare(self, info: TopicInfo) -> None:
        """Declare a topic before its messages arrive.

        The first type declared on a topic name is the topic's type; a later
        declaration with another type gets a state that stores nothing and
        counts its messages as skipped. Declaring the same topic and type
        again does nothing.
        """
        first = self._states.get(info.topic)
        if first is not None:
            if first.route is None and first.refused is None:
                return  # the topic is not selected, whatever its type
            other_type = (info.topic, info.msgtype)
            if first.info.msgtype != info.msgtype and other_type not in self._others:
                reason = f'type {info.msgtype} differs from the topic type {first.info.msgtype}'
                other = TopicState(info, first.report, None, reason, -1)
                self._others[other_type] = other
            self._add_expected(first.report, info.expected)
            return
        report = TopicReport(topic=info.topic, msgtype=info.msgtype)
        self._add_expected(report, info.expected)
        choice = self.router.route(info)
        if isinstance(choice, Refused):
            state = TopicState(info, report, None, choice.reason, -1)
            report.ingest, report.note = False, choice.reason
            if not choice.selected:
                state.refused = None
        else:
            state = TopicState(info, report, choice, None, len(self._states))
            report.adapter, report.ontology_tag, report.note = choice.name, choice.tag, choice.note
            if self._pool is not None:
                state.local = True
        self._states[info.topic] = state
        self.report.topics[info.topic] = report

    @staticmethod
    def _add_expected(report: TopicReport, expected: int | None) -> None:
        if expected is not None:
            report.expected = (report.expected or 0) + expected

    def selected(self, topic: str) -> bool:
        """Whether a declared topic is selected (its messages are received and counted)."""
        state = self._states.get(topic)
        return state is not None and (state.route is not None or state.refused is not None)

    def sampled_all(self) -> bool:
        """In a dry run: whether every stored topic's first batch was cut already."""
        return all(state.sampled or state.route is None for state in self._states.values())

    def topics(self) -> list[TopicState]:
        """Every declared topic, in declaration order."""
        return list(self._states.values())

    # -- context ----------------------------------------------------------------------------

    def __enter__(self) -> Pipeline:
        if self.policy.max_latency_s is not None:
            _prime_arrow()
        converters: dict[int, BatchConverter] = {
            state.key: state.route.converter
            for state in self._states.values()
            if state.route is not None
        }
        jobs = self.jobs if converters and self.sink is not None else 0
        pool: ConversionPool[tuple[TopicState, Batch]] = ConversionPool(
            converters,
            jobs=jobs,
            max_batches=2 * jobs + 1,
            max_bytes=self.policy.budget_bytes // 2,
        )
        pool.__enter__()
        self._pool = pool
        self.stats = pool.stats
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pool, self._pool = self._pool, None
        try:
            if exc is None and pool is not None:
                self._pool = pool
                self.drain()
                self._pool = None
        finally:
            if pool is not None:
                pool.__exit__(exc_type, exc, tb)

    # -- messages ---------------------------------------------------------------------------

    def push(self, msg: RawMessage) -> None:
        """Take one message: count it, buffer it, cut and store what is due.

        Raises:
            KeyError: The message's topic was never declared.

        """
        state = self._receiving(msg.topic, msg.msgtype, 1, len(msg.data), msg.origin)
        if state is None:
            return
        buffer = state.buffer
        self._start_clock(buffer)
        buffer.append(msg.data, msg.log_time_ns, msg.origin)
        self._buffered += len(msg.data)
        self._cut_if_full(state)
        if self._next_due is not None and self.clock() >= self._next_due:
            self.flush_due()
        elif not state.report.received % _POLL_EVERY:
            self._store_completed()

    def push_run(self, run: MessageRun) -> None:
        """Take many messages of one topic: what `push` does for each, without a loop per message.

        Batches are cut where `push`, given the same messages one by one, would cut them.

        Raises:
            KeyError: The run's topic was never declared.

        """
        count = len(run)
        if not count:
            return
        sizes = np.cumsum(run.stops - run.starts)
        state = self._receiving(run.topic, run.msgtype, count, int(sizes[-1]), run.origins[0])
        if state is None:
            return
        buffer, policy = state.buffer, self.policy
        start = 0
        while start < count and not (self.sink is None and state.sampled):
            self._start_clock(buffer)
            # The message that brings the buffer to max_bytes is the last one of its batch.
            consumed = int(sizes[start - 1]) if start else 0
            full_at = int(np.searchsorted(sizes, consumed + policy.max_bytes - buffer.nbytes)) + 1
            stop = min(count, start + policy.max_messages - len(buffer), full_at)
            self._buffered += buffer.extend(run, start, stop)
            self._cut_if_full(state)
            start = stop
        if self._next_due is not None and self.clock() >= self._next_due:
            self.flush_due()
        else:
            self._store_completed()

    def _receiving(
        self, topic: str, msgtype: str, count: int, size: int, origin: Origin | None
    ) -> TopicState | None:
        """Count messages received; return the state to buffer them in, None if not to buffer.

        Messages of a topic that is not selected are not counted; those of a
        refused topic (or type) are counted as skipped.
        """
        state = self._states[topic]
        if state.info.msgtype != msgtype:
            state = self._others.get((topic, msgtype)) or self._undeclared(topic, msgtype)
        route, refused = state.route, state.refused
        if route is None and refused is None:
            return None  # not selected: neither stored nor counted
        report = state.report
        report.received += count
        report.bytes_received += size
        if refused is not None:
            failure = Failure(
                refused,
                origin.file if origin else None,
                topic,
                origin.offset if origin else None,
            )
            report.skip(refused, count, failure=failure)
            return None
        if self.sink is None and state.sampled:
            return None
        return state

    def _start_clock(self, buffer: TopicBuffer) -> None:
        """Start the latency bound of a buffer that gets its first message."""
        if buffer.since_s is None and self.policy.max_latency_s is not None:
            buffer.since_s = now = self.clock()
            due = now + self.policy.max_latency_s
            if self._next_due is None or due < self._next_due:
                self._next_due = due

    def _cut_if_full(self, state: TopicState) -> None:
        """Cut a buffer at its bounds, or every buffer when together they reach the budget."""
        buffer, policy = state.buffer, self.policy
        if len(buffer) >= policy.max_messages or buffer.nbytes >= policy.max_bytes:
            self._submit(state)
        elif self._buffered >= policy.budget_bytes:
            for other in self._states.values():
                self._submit(other)

    def _undeclared(self, topic: str, msgtype: str) -> TopicState:
        """Give messages of an unexpected type on a known topic a refusing state."""
        first = self._states[topic]
        reason = f'type {msgtype} differs from the topic type {first.info.msgtype}'
        state = TopicState(first.info, first.report, None, reason, -1)
        self._others[topic, msgtype] = state
        return state

    def next_due(self) -> float | None:
        """Seconds until the oldest buffered message reaches the latency bound; None if none."""
        if self._next_due is None:
            return None
        return max(0.0, self._next_due - self.clock())

    def flush_due(self) -> None:
        """Cut every buffer whose oldest message waited `max_latency_s`, and store what is done."""
        latency = self.policy.max_latency_s
        if latency is None:
            return
        now = self.clock()
        upcoming: float | None = None
        for state in self._states.values():
            since = state.buffer.since_s
            if since is None:
                continue
            if now - since >= latency:
                self._submit(state)
            elif upcoming is None or since + latency < upcoming:
                upcoming = since + latency
        self._next_due = upcoming
        self._store_completed()

    def drain(self) -> None:
        """Cut every buffer and store every batch (waits for the conversions)."""
        for state in self._states.values():
            self._submit(state)
        self._next_due = None
        self._store_completed(wait=True)

    # -- batches ----------------------------------------------------------------------------

    def _submit(self, state: TopicState) -> None:
        buffer = state.buffer
        if not len(buffer) or state.route is None:
            return
        pool = self._pool
        assert pool is not None, 'use the pipeline as a context manager'
        self._buffered -= buffer.nbytes
        batch = buffer.cut(state.generation)
        if self.sink is None:
            state.sampled = True
        local = state.route.converter if state.local else None
        pool.submit(
            state.key, batch.payloads, (state, batch), batch.describe(state.info.topic), local=local
        )
        self._store_completed()

    def _store_completed(self, wait: bool = False) -> None:
        pool = self._pool
        assert pool is not None
        for (state, batch), result in pool.completed(wait=wait):
            self._store(state, batch, result)

    def _store(self, state: TopicState, batch: Batch, result: ConvertedBatch) -> None:
        """Count what a converted batch lost and write what it kept."""
        route = state.route
        assert route is not None
        if batch.generation != state.generation:
            # Cut before the topic switched definitions: the workers used the old one.
            result = self._convert_again(state, batch)
        undecodable = all(failure.undecodable for failure in result.failures)
        if result.decoded == 0 and result.count and undecodable and self._try_stock(state):
            self._store(state, batch, self._convert_again(state, batch))
            return
        report = state.report
        for failure in result.failures:
            origin = batch.origins[failure.index]
            report.skip(
                failure.reason,
                failure=Failure(
                    failure.detail,
                    origin.file if origin else None,
                    report.topic,
                    origin.offset if origin else None,
                ),
            )
        struct = result.struct
        if self.sink is None:
            if struct is None or len(struct) == 0:
                reasons = '; '.join(report.skipped)
                report.ingest = False
                report.note = f'not one of the first {len(batch)} messages is storable: {reasons}'
            return
        if struct is None or len(struct) == 0:
            return
        times = batch.times if result.kept is None else [batch.times[i] for i in result.kept]
        report.bytes_stored += self.sink.write(report.topic, route, times, struct)
        report.stored += len(struct)
        if self.on_stored is not None:
            self.on_stored()

    @staticmethod
    def _convert_again(state: TopicState, batch: Batch) -> ConvertedBatch:
        assert state.route is not None
        return state.route.converter(batch.payloads)

    def _try_stock(self, state: TopicState) -> bool:
        """Switch a topic whose first batch decoded not at all to the stock definition."""
        if state.stock_tried or state.report.stored:
            return False
        state.stock_tried = True
        stock = self.router.stock_route(state.info)
        if stock is None:
            return False
        state.route = stock
        state.generation += 1
        state.local = True
        state.report.note = 'decoded with the stock definition'
        return True


def _prime_arrow() -> None:
    """Pay pyarrow's one-time probe for pandas now, not in a live run's first batch.

    The first ``pa.array`` of a process imports pandas when it is installed
    (0.2 to 1 s). The codec and the stock adapters' column builders avoid it
    (`mosaico_ros.codec.arrays`), so a bag never pays it; a user adapter, or
    a rare path, may still call ``pa.array``, and in a live run the import
    would then delay that batch past the latency bound.
    """
    pa.array(np.zeros(1))
