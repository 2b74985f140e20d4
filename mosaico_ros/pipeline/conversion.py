"""Batches of raw payloads into Arrow, in forked worker processes or in-process.

Decoding a batch and running the adapter on it is where a run spends its
CPU; reading and uploading are cheap next to it. A `BatchConverter` decodes
a batch of `COLUMNAR_FROM` messages or more straight into columns with
`mosaico_ros.codec` when its route has a plan (the type can be planned and
its adapter is `columnar`), and smaller batches, or all of a route without
a plan, into rosbags message objects one by one. A
`ConversionPool` moves that work to worker processes while the caller keeps
reading and uploading; the caller chooses (a node that has called
``rclpy.init`` must not fork, so it converts in-process with ``jobs=0``):

- Workers are forked (the 'fork' start method) when the pool is entered,
  so they inherit the typestore, the resolved adapters and any user adapter
  modules as they are; nothing about them has to be picklable. Enter the
  pool before opening upload streams: a child then never inherits a
  connection in the middle of an operation (and it never touches one: it
  only decodes and converts, and leaves with ``os._exit``).
- A batch travels as one payload blob plus message end offsets, and comes
  back as one struct array plus the per-message failures (index, reason),
  so the caller can still name the file and offset of every message that
  was not stored.
- Shipping a batch to a worker and its rows back costs CPU for every byte
  (`SHIP_S_PER_BYTE`). The pool keeps, per converter, the least CPU a batch
  of it took per payload byte (a converter's first batches in a process pay
  one-time costs), and converts in the calling process the batches of a
  converter that costs less than shipping: raw images, point clouds and
  compressed images are one copy, cheaper converted where they are.
- Results are handed back strictly in submission order, and the number
  and payload bytes of batches in flight are bounded, so memory stays
  bounded however far ahead reading runs.
- A worker that dies (killed, or crashed in native code) or stops
  answering for `stall_s` makes the pool raise `ConversionError` and kill
  its workers: an injection fails with a clear error, it never hangs.
  Each worker has a socket of its own and takes one batch at a time
  (`mosaico_ros.pipeline.workers`); workers whose parent is killed leave.

With ``jobs=0``, or where 'fork' does not exist, the same interface
converts in-process at submission.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeAlias, TypeVar

import pyarrow as pa

from mosaico_ros import codec
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.pipeline.errors import ConversionError
from mosaico_ros.pipeline.workers import ForkedWorkers, WorkerFailed, WorkerLost

ContextT = TypeVar('ContextT')

REJECTIONS: tuple[type[Exception], ...] = (
    AdapterError,
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    OverflowError,
)
"""What an adapter raises for a message it cannot convert (as opposed to a bug in it)."""

COLUMNAR_FROM = 128
"""Fewest messages of a batch decoded as columns; smaller ones are decoded per message.

Read off ``bench/codec.py --converter`` (decode and the type's adapter, per
batch, on a 2-CPU machine): the codec pays a fixed cost per batch (a few
hundred to a few thousand numpy and pyarrow calls, 1.5 to 5 ms for Imu,
JointState or TFMessage), so columns are 2 to 8 times slower than rosbags
objects for 1 to 16 messages, break even between 96 and 128, and are 5 to 8
times faster at 1000. Images and point clouds are one copy either way.
A bag's batches are full (4096 messages, or 8 MiB) but the last of each
topic; a live recorder cuts a low-rate topic by latency into batches of a
few messages, which stay per message.
"""

SHIP_S_PER_BYTE = 4e-9
"""What a payload byte costs a run when shipped to a worker and its rows back, in seconds.

The copies through the pipes both ways, and the CPU the workers take from
the reading process: on the 2-CPU machine of ``bench/inject.py``, shipping
the mixed recording's 2.8 GB of raw 640x480 frames to 2 workers added 12 s
(20 s, not 8 s), about 4 ns a byte. Structured messages convert at 7 to 20
ns a byte as columns, PNG-packing at 7 to 40: those are worth a worker.
"""

_WORKER_GC_PERIOD_S = 1.0
# glibc mallopt parameters (malloc.h) and the largest documented mmap threshold on 64 bits.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 << 20


@dataclass(frozen=True)
class Payloads:
    """The raw payloads of one batch: one blob, and where each message ends in it.

    Or, with `parts`, one buffer per message (and an empty blob): large
    payloads kept where their source holds them instead of copied into a
    blob first (`TopicBuffer.extend`). `contiguous` joins them when one blob
    is needed (columnar decoding, shipping to a worker).
    """

    blob: bytes | bytearray
    ends: Sequence[int]
    parts: tuple[bytes | memoryview, ...] | None = None

    def __len__(self) -> int:
        """Return the number of messages."""
        return len(self.ends)

    @property
    def nbytes(self) -> int:
        """Payload bytes of the batch."""
        return self.ends[-1] if self.ends else 0

    def contiguous(self) -> Payloads:
        """Return the payloads in one blob (these, when they are)."""
        if self.parts is None:
            return self
        return Payloads(b''.join(self.parts), self.ends)

    def views(self) -> list[memoryview]:
        """Return one view per message, without copying."""
        if self.parts is not None:
            return [memoryview(part) for part in self.parts]
        view = memoryview(self.blob)
        start = 0
        views = []
        for end in self.ends:
            views.append(view[start:end])
            start = end
        return views


@dataclass(frozen=True)
class MessageFailure:
    """A message of a batch that was not converted.

    Attributes:
        index: Position of the message in its batch.
        reason: Short reason, the same for every message failing the same way.
        detail: Reason with the error text of this message.
        stage: 'decode' (the payload does not fit the definition), 'convert'
            (the adapter rejected the message) or 'bug' (the decoder or adapter broke).

    """

    index: int
    reason: str
    detail: str
    stage: str = 'decode'

    @property
    def undecodable(self) -> bool:
        """Whether the payload itself did not fit the definition."""
        return self.stage == 'decode'


@dataclass
class ConvertedBatch:
    """What became of one batch.

    Attributes:
        struct: The converted messages, in batch order; None when none was.
        kept: Batch positions of the rows of `struct`; None when all were kept.
        failures: Messages left out, with why.
        decoded: How many messages decoded (before the adapter ran).
        count: How many messages the batch had.
        cpu_s: CPU seconds the conversion took.

    """

    struct: pa.StructArray | None
    kept: list[int] | None
    failures: list[MessageFailure]
    decoded: int
    count: int
    cpu_s: float = 0.0


_Decoded: TypeAlias = 'tuple[list[Any] | pa.StructArray, list[int], list[MessageFailure]]'
"""The decoded messages (objects or columns), their batch positions, and the failures."""


class BatchConverter:
    """Decodes the payloads of one topic and converts them with its adapter.

    A message the decoder cannot read (one of `decode_errors`, or a payload
    the codec's plan does not fit) or the adapter rejects (one of
    `REJECTIONS`) is left out and named with the error's text. Any other
    exception is a bug in the decoder or the adapter: the whole batch is left
    out under a reason that names the exception, and the batch is not
    retried message by message.

    Args:
        decode: Turns one payload into a message object.
        adapter: Has ``to_arrow(msgs, msgtype) -> pa.StructArray``.
        msgtype: Message type of the topic.
        adapter_name: Name used in the reason of a rejected message.
        decode_errors: What `decode` raises for a payload that does not fit.
        plan: Decodes batches of `columnar_from` messages or more into the
            columns the adapter takes; None decodes every message with `decode`.
        columnar_from: Fewest messages decoded with `plan`.

    """

    def __init__(
        self,
        decode: Callable[[bytes | memoryview], Any],
        adapter: Any,
        msgtype: str,
        adapter_name: str,
        decode_errors: tuple[type[Exception], ...],
        *,
        plan: codec.Plan | None = None,
        columnar_from: int = COLUMNAR_FROM,
    ) -> None:
        """Keep what a batch needs."""
        self.decode = decode
        self.adapter = adapter
        self.msgtype = msgtype
        self.adapter_name = adapter_name
        self.decode_errors = decode_errors
        self.plan = plan
        self.columnar_from = columnar_from

    def __call__(self, payloads: Payloads) -> ConvertedBatch:
        """Convert one batch; what fails is left out and named, never raised."""
        started = time.process_time()
        try:
            result = self._convert(payloads)
        except Exception as err:  # a bug: report it for the whole batch, keep running
            reason = f'{self.adapter_name} failed on {self.msgtype} ({type(err).__name__}: {err})'
            failures = [
                MessageFailure(i, _short(reason), reason, 'bug') for i in range(len(payloads))
            ]
            result = ConvertedBatch(None, [], failures, 0, len(payloads))
        result.cpu_s = time.process_time() - started
        return result

    def _convert(self, payloads: Payloads) -> ConvertedBatch:
        columnar = self.plan is not None and len(payloads) >= self.columnar_from
        decoded_columns = self._decode_columns(payloads) if columnar else None
        msgs, kept, failures = decoded_columns or self._decode_objects(payloads)
        decoded = len(msgs)
        struct = self._to_arrow(msgs, kept, failures) if decoded else None
        del msgs
        failures.sort(key=lambda failure: failure.index)
        return ConvertedBatch(
            struct,
            None if len(kept) == len(payloads) else kept,
            failures,
            decoded,
            len(payloads),
        )

    def _decode_objects(self, payloads: Payloads) -> _Decoded:
        """Decode each payload into a message object; return them, their positions, the rest."""
        decode = self.decode
        datas = payloads.views()
        failures: list[MessageFailure] = []
        kept = list(range(len(datas)))
        try:
            msgs = [decode(data) for data in datas]
        except self.decode_errors:
            msgs, kept = [], []
            for index, data in enumerate(datas):
                try:
                    msgs.append(decode(data))
                except self.decode_errors as err:
                    reason = f'cannot decode as {self.msgtype}: {type(err).__name__}'
                    failures.append(MessageFailure(index, reason, f'{reason}: {err}'))
                else:
                    kept.append(index)
        return msgs, kept, failures

    def _decode_columns(self, payloads: Payloads) -> _Decoded | None:
        """Decode the batch into columns; None for a batch the codec cannot take whole."""
        assert self.plan is not None
        try:
            whole = payloads.contiguous()
            batch = codec.decode(self.plan, whole.blob, whole.ends)
        except codec.CodecError:  # beyond 32-bit offsets: the objects path names the rows
            return None
        failures = []
        for failure in batch.failures:
            reason = f'cannot decode as {self.msgtype}: {failure.reason}'
            failures.append(MessageFailure(failure.index, _short(reason), reason))
        return batch.struct, batch.kept.tolist(), failures

    def _to_arrow(
        self,
        msgs: list[Any] | pa.StructArray,
        kept: list[int],
        failures: list[MessageFailure],
    ) -> pa.StructArray | None:
        """Run the adapter on the batch; when it rejects it, find the messages it rejects.

        `msgs` are message objects or their columns. `kept` (batch positions
        of `msgs`) is narrowed in place to the rows returned.
        """
        adapter = self.adapter
        try:
            return adapter.to_arrow(msgs, self.msgtype)
        except REJECTIONS:
            pass
        parts: list[pa.StructArray] = []
        good: list[int] = []
        for index, position in enumerate(kept):
            try:
                parts.append(adapter.to_arrow(msgs[index : index + 1], self.msgtype))
            except REJECTIONS as err:
                detail = f'{self.adapter_name} rejected the message: {err}'
                failures.append(MessageFailure(position, _short(detail), detail, 'convert'))
            else:
                good.append(position)
        kept[:] = good
        return pa.concat_arrays(parts) if parts else None


def _short(text: str, limit: int = 160) -> str:
    """Cut a reason to a length a summary table can show."""
    return text if len(text) <= limit else text[: limit - 3] + '...'


@dataclass
class ConversionStats:
    """How a pool's batches were converted (for tests and benchmarks).

    Attributes:
        jobs: Worker processes (0: everything in-process).
        in_workers: Batches converted by workers.
        in_process: Batches converted in the calling process.
        peak_in_flight: Most batches submitted and not yet taken at once.
        peak_in_flight_bytes: Most payload bytes submitted and not yet taken at once.
        convert_cpu_s: CPU seconds spent converting, over all processes.

    """

    jobs: int = 0
    in_workers: int = 0
    in_process: int = 0
    peak_in_flight: int = 0
    peak_in_flight_bytes: int = 0
    convert_cpu_s: float = 0.0


@dataclass
class _Job(Generic[ContextT]):
    key: int
    context: ContextT
    label: str
    size: int
    payloads: Payloads | None = None
    """Until a worker takes it."""
    result: ConvertedBatch | None = None
    in_worker: bool = False


def fork_available() -> bool:
    """Whether worker processes can be forked here."""
    return 'fork' in multiprocessing.get_all_start_methods()


def default_jobs() -> int:
    """Return the default number of workers: the usable CPUs but two, at most four.

    The reading process needs a CPU, and so does the upload (its Flight
    thread, and the server when it runs on the same machine); workers only
    pay on CPUs beyond those. On 2 CPUs, once reading and decoding were
    columnar, ``bench/inject.py`` measured no gain from two workers over
    four runs: 0-15% slower on the IMU-only recording, within 8% either
    way on the mixed one.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    return max(0, min(4, cpus - 2))


class ConversionPool(Generic[ContextT]):
    """Converts batches in forked workers and hands results back in submission order.

    Use as a context manager: entering forks the workers, leaving stops them.

    Args:
        converters: Key -> converter; workers see these as they were when forked.
        jobs: Worker processes; 0 (or no 'fork' here) converts in-process.
        max_batches: Most batches in flight; `completed` blocks beyond it.
        max_bytes: Most payload bytes in flight; `completed` blocks beyond it.
        stall_s: Longest wait for one batch (or for the workers to start)
            before the pool gives up on its workers.

    """

    def __init__(
        self,
        converters: Mapping[int, BatchConverter],
        jobs: int = 0,
        max_batches: int = 4,
        max_bytes: int = 32 << 20,
        stall_s: float = 300.0,
    ) -> None:
        """Prepare the pool; nothing is forked before entering it."""
        self.converters = dict(converters)
        self.jobs = jobs
        self.max_batches = max_batches
        self.max_bytes = max_bytes
        self.stall_s = stall_s
        self.stats = ConversionStats()
        self._workers: ForkedWorkers | None = None
        self._pending: deque[_Job[ContextT]] = deque()
        self._queued: deque[_Job[ContextT]] = deque()
        self._pending_bytes = 0
        self._failed = False
        self._cost: dict[int, float] = {}

    def __enter__(self) -> ConversionPool[ContextT]:
        """Fork the workers (if any) now, before the caller opens connections."""
        jobs = self.jobs if self.jobs > 0 and fork_available() else 0
        self.stats.jobs = jobs
        if jobs:
            workers = ForkedWorkers(
                jobs, partial(_start_worker, self.converters), _convert_in_worker, self.stall_s
            )
            try:
                self._workers = workers.__enter__()
            except WorkerLost as err:
                raise ConversionError(
                    f'{jobs} conversion worker processes did not start: a worker {err} '
                    '(convert in-process with jobs=0)',
                ) from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        """Stop the workers; batches not taken are dropped."""
        workers, self._workers = self._workers, None
        self._pending.clear()
        self._queued.clear()
        self._pending_bytes = 0
        if workers is not None:
            # Killed also when the caller swallowed our error: a stuck worker never exits.
            workers.stop(kill=exc_type is not None or self._failed)

    @property
    def in_flight(self) -> int:
        """Batches submitted and not yet taken."""
        return len(self._pending)

    def submit(
        self,
        key: int,
        payloads: Payloads,
        context: ContextT,
        label: str,
        local: BatchConverter | None = None,
    ) -> None:
        """Queue one batch for conversion.

        Args:
            key: Converter of the batch, as given to the pool.
            payloads: The batch.
            context: Handed back with the result.
            label: Names the batch in errors (topic, file, offset).
            local: Convert in this process with this converter instead of in a
                worker (the result still comes back in submission order).

        """
        size = payloads.nbytes
        job: _Job[ContextT] = _Job(key, context, label, size)
        if self._workers is None or local is not None or self._cheap(key):
            job.result = (local or self.converters[key])(payloads)
            self._spend(key, job.result.cpu_s, size)
            self.stats.in_process += 1
        else:
            job.payloads = payloads.contiguous()
            job.in_worker = True
            self._queued.append(job)
            self.stats.in_workers += 1
            self._exchange(0.0)
        self._pending.append(job)
        self._pending_bytes += size
        stats = self.stats
        stats.peak_in_flight = max(stats.peak_in_flight, len(self._pending))
        stats.peak_in_flight_bytes = max(stats.peak_in_flight_bytes, self._pending_bytes)

    def completed(self, wait: bool = False) -> Iterator[tuple[ContextT, ConvertedBatch]]:
        """Yield converted batches in submission order.

        Yields the finished batches at the head of the queue; waits for more
        while the queue is over its bounds, or until it is empty when `wait`.

        Raises:
            ConversionError: A worker died or a batch could not be converted.

        """
        pending = self._pending
        while pending:
            job = pending[0]
            if job.result is None:
                self._exchange(0.0)
            over = len(pending) > self.max_batches or self._pending_bytes > self.max_bytes
            if job.result is None:
                if not (wait or over):
                    return
                deadline = time.monotonic() + self.stall_s
                while job.result is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._failed = True
                        raise ConversionError(
                            f'no conversion result for {job.label} after {self.stall_s:.0f} s: '
                            'the workers are stuck (convert in-process with jobs=0)',
                        )
                    self._exchange(left)
            result = job.result
            pending.popleft()
            self._pending_bytes -= job.size
            self.stats.convert_cpu_s += result.cpu_s
            if job.in_worker:
                self._spend(job.key, result.cpu_s, job.size)
            yield job.context, result

    def _exchange(self, timeout: float) -> None:
        """Hand queued batches to idle workers and take the results that come within `timeout`.

        Raises:
            ConversionError: A worker died, stopped answering, or raised.

        """
        workers = self._workers
        if workers is None:
            return
        try:
            self._dispatch(workers)
            for job, result in workers.replies(timeout):
                job.result = result
            self._dispatch(workers)
        except WorkerLost as err:
            self._failed = True
            label = err.worker.task.label if err.worker.task is not None else 'a batch'
            if err.stuck:
                raise ConversionError(
                    f'no conversion result for {label}: a worker {err}; the workers are stuck '
                    '(convert in-process with jobs=0)',
                ) from None
            raise ConversionError(
                f'a conversion worker process {err} (killed, or crashed in native code) '
                f'while {label} was in flight',
            ) from None
        except WorkerFailed as err:
            self._failed = True
            raise ConversionError(
                f'converting {err.task.label} failed in a worker: {err}'
            ) from None

    def _dispatch(self, workers: ForkedWorkers) -> None:
        """Give each idle worker the next queued batch."""
        for worker in workers.idle():
            if not self._queued:
                return
            job = self._queued.popleft()
            payloads, job.payloads = job.payloads, None
            workers.send(worker, (job.key, payloads), job)

    def _spend(self, key: int, cpu_s: float, size: int) -> None:
        """Note what converting `size` payload bytes of converter `key` cost."""
        if size:
            cost = cpu_s / size
            self._cost[key] = min(cost, self._cost.get(key, cost))

    def _cheap(self, key: int) -> bool:
        """Whether a batch of converter `key` costs less CPU than shipping it would."""
        return self._cost.get(key, SHIP_S_PER_BYTE) < SHIP_S_PER_BYTE


_worker_converters: dict[int, BatchConverter] = {}
_worker_last_gc = [0.0]


def _start_worker(converters: dict[int, BatchConverter]) -> None:
    """Set a freshly forked worker up.

    Ctrl-C reaches the whole process group; only the parent reacts to it and
    stops the pool. Everything inherited is frozen out of the collector's
    reach (and its pages stay shared), and collection runs on a schedule:
    decoded messages hold no cycles, and automatic full collections would
    rescan each batch over and over.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_converters.clear()
    _worker_converters.update(converters)
    gc.freeze()
    gc.disable()
    keep_freed_memory()


def keep_freed_memory() -> None:
    """Keep the memory a batch frees for the next batch instead of returning it to the OS.

    Each batch allocates and frees megabytes; by default glibc hands large
    blocks back to the kernel and the next batch faults them in again, which
    was a third of the workers' system time. A process that converts or
    buffers batches one after the other holds a bounded amount at a time, so
    what it keeps is bounded. For the rest of the process: the workers call
    it, and the CLI for its own process. Without glibc this does nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)


def _convert_in_worker(request: tuple[int, Payloads]) -> ConvertedBatch:
    key, payloads = request
    result = _worker_converters[key](payloads)
    now = time.monotonic()
    if now - _worker_last_gc[0] >= _WORKER_GC_PERIOD_S:
        _worker_last_gc[0] = now
        gc.collect()
    return result
