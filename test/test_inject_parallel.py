"""Conversion in forked workers: same result as in-process, bounded, and loud when a worker dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator, Set
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pytest

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.demo.recording import (
    IMAGE_TOPIC,
    IMU_TOPIC,
    Recording,
    RecordingSpec,
    write_recording,
)
from mosaico_ros.pipeline.conversion import (
    BatchConverter,
    ConversionError,
    ConversionPool,
    ConvertedBatch,
    Payloads,
    fork_available,
)
from mosaico_ros.pipeline.decoding import ROS_DECODE_ERRORS
from mosaico_ros.pipeline.report import SequenceReport, SequenceStatus
from mosaico_ros.pipeline.workers import WORKER_NAME

pytestmark = pytest.mark.skipif(not fork_available(), reason="no 'fork' start method here")

# Small batches, so that a few seconds of recording make dozens of batches per topic.
BATCH = 40
BROKEN = {5, 77, 78, 300}
IMU_TYPE = 'sensor_msgs/msg/Imu'


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def rewrite_mcap(
    source: Path, target: Path, broken: Set[int] = frozenset(), imu_definition: bytes | None = None
) -> None:
    """Copy an MCAP, spoiling the IMU payloads numbered in `broken` or the IMU definition."""
    from mcap.reader import make_reader
    from mcap.writer import Writer

    with source.open('rb') as inp, target.open('wb') as out:
        reader = make_reader(inp)
        writer = Writer(out, chunk_size=64 << 10)
        writer.start(profile='ros2', library='test')
        schemas: dict[int, int] = {}
        channels: dict[int, int] = {}
        imu_index = 0
        for schema, channel, message in reader.iter_messages(log_time_order=True):
            assert schema is not None
            if schema.id not in schemas:
                definition = schema.data
                if imu_definition is not None and schema.name == IMU_TYPE:
                    definition = imu_definition
                schemas[schema.id] = writer.register_schema(
                    schema.name, schema.encoding, definition
                )
            if channel.id not in channels:
                channels[channel.id] = writer.register_channel(
                    channel.topic, channel.message_encoding, schemas[schema.id]
                )
            data = message.data
            if channel.topic == IMU_TOPIC:
                if imu_index in broken:
                    data = data[:4] + b'\xff' * 7
                imu_index += 1
            writer.add_message(
                channels[channel.id],
                log_time=message.log_time,
                data=data,
                publish_time=message.publish_time,
            )
        writer.finish()


@pytest.fixture(scope='module')
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    root = tmp_path_factory.mktemp('parallel')
    spec = RecordingSpec(duration_s=3.0)
    return {
        'mcap': write_recording(root / 'drive_mcap', 'mcap', spec),
        'bag': write_recording(root / 'drive.bag', 'bag', spec),
    }


def read_all(client: Any, sequence: str, report: SequenceReport) -> dict[str, pa.Table]:
    tables = {}
    for topic in report.topics:
        handler = client.topic_handler(sequence, topic)
        assert handler is not None, f'{sequence}{topic} missing'
        tables[topic] = pa.Table.from_batches(list(handler.iter_batches()), schema=handler.schema)
    return tables


def skipped(report: SequenceReport) -> dict[str, Any]:
    return {topic: (t.stored, t.received, dict(t.skipped)) for topic, t in report.topics.items()}


def first_skips(report: SequenceReport) -> dict[tuple[str, str], Any]:
    return {
        (topic, reason): (f.reason, f.file, f.topic, f.offset)
        for topic, t in report.topics.items()
        for reason, f in t.first_skip.items()
    }


@pytest.mark.parametrize('fmt', ['mcap', 'bag'])
def test_workers_store_exactly_what_in_process_conversion_stores(
    client: Any, recordings: dict[str, Recording], tmp_path: Path, fmt: str
) -> None:
    recording = recordings[fmt]
    bag = recording.path
    broken: set[int] = set()
    if fmt == 'mcap':
        bag = tmp_path / 'broken.mcap'
        rewrite_mcap(next(recording.path.glob('*.mcap')), bag, BROKEN)
        broken = BROKEN

    results = {}
    for jobs in (0, 2):
        injector = Injector(
            client, InjectOptions(sequence=f'par_{fmt}_{jobs}', jobs=jobs, batch_messages=BATCH)
        )
        report = injector.inject(bag)
        assert report.error is None, report.error
        stats = injector.last_conversion
        assert stats is not None
        assert stats.jobs == jobs
        if jobs:
            assert stats.in_workers > 0
            assert stats.in_process == 0
        else:
            assert stats.in_workers == 0
        results[jobs] = (report, read_all(client, f'par_{fmt}_{jobs}', report))

    (serial, serial_tables), (parallel, parallel_tables) = results[0], results[2]
    assert serial.stored == parallel.stored == recording.message_count - len(broken)
    assert skipped(serial) == skipped(parallel)
    assert first_skips(serial) == first_skips(parallel)
    assert serial_tables.keys() == parallel_tables.keys() == set(recording.counts)
    for topic, table in serial_tables.items():
        lost = len(broken) if topic == IMU_TOPIC else 0
        assert table.num_rows == recording.counts[topic] - lost
        assert table.equals(parallel_tables[topic]), topic
    if broken:
        imu = parallel.topics[IMU_TOPIC]
        [reason] = imu.skipped
        assert reason.startswith('cannot decode as sensor_msgs/msg/Imu: ')
        assert imu.skipped[reason] == len(broken)
        first = imu.first_skip[reason]
        assert (first.file, first.topic) == (bag, IMU_TOPIC)
        assert first.offset is not None
        assert parallel.status is SequenceStatus.PARTIAL


def test_a_stub_definition_falls_back_to_the_stock_one_with_batches_in_flight(
    client: Any, recordings: dict[str, Recording], tmp_path: Path
) -> None:
    # Like the rosbag2 talker fixture: the bag's definition cannot decode a single payload.
    recording = recordings['mcap']
    bag = tmp_path / 'stub.mcap'
    rewrite_mcap(next(recording.path.glob('*.mcap')), bag, imu_definition=b'int32 data')
    tables = {}
    for jobs in (0, 2):
        sequence = f'stub_{jobs}'
        options = InjectOptions(sequence=sequence, jobs=jobs, batch_messages=BATCH)
        injector = Injector(client, options)
        report = injector.inject(bag)
        assert report.clean, report.problems()
        assert report.stored == recording.message_count
        assert report.topics[IMU_TOPIC].note == 'decoded with the stock definition'
        stats = injector.last_conversion
        assert stats is not None
        assert stats.jobs == jobs
        if jobs:
            # After the switch the workers' definition is stale: the topic converts here.
            assert stats.in_workers > 0
            assert stats.in_process > 0
        tables[jobs] = read_all(client, sequence, report)
    for topic, table in tables[0].items():
        assert table.num_rows == recording.counts[topic]
        assert table.equals(tables[2][topic]), topic


def test_batches_in_flight_stay_bounded(client: Any, recordings: dict[str, Recording]) -> None:
    recording = recordings['mcap']
    options = InjectOptions(
        sequence='bounded',
        jobs=2,
        batch_messages=BATCH,
        batch_bytes=64 << 10,
        buffer_budget=256 << 10,
    )
    injector = Injector(client, options)
    report = injector.inject(recording.path)
    assert report.clean, report.problems()
    assert report.stored == recording.message_count
    stats = injector.last_conversion
    assert stats is not None
    assert stats.in_workers > 20
    # 2 * jobs + 1 batches, and half the buffer budget, each overshot by at most one batch.
    assert 2 <= stats.peak_in_flight <= 2 * 2 + 1 + 1
    largest_frame = 64 * 48 * 3
    assert stats.peak_in_flight_bytes <= (256 << 10) // 2 + (64 << 10) + largest_frame
    camera = read_all(client, 'bounded', report)[IMAGE_TOPIC]
    assert camera.num_rows == recording.counts[IMAGE_TOPIC]


class _KillAWorker:
    """Progress sink that kills one conversion worker once reading is under way."""

    def __init__(self) -> None:
        self.killed: int | None = None

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        del path, messages, size_bytes

    def advance(self, messages: int, payload_bytes: int) -> None:
        del messages, payload_bytes
        if self.killed is None:
            workers = [p for p in multiprocessing.active_children() if p.name == WORKER_NAME]
            assert workers, 'no conversion worker process to kill'
            pid = workers[0].pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            self.killed = pid

    def finish(self) -> None:
        pass


@pytest.mark.timeout(120)
@pytest.mark.parametrize('on_error', ['report', 'delete'])
def test_a_killed_worker_fails_the_bag_with_a_clear_error(
    client: Any, tmp_path: Path, on_error: Literal['report', 'delete']
) -> None:
    recording = write_recording(tmp_path / 'long', 'mcap', RecordingSpec(duration_s=8.0))
    progress = _KillAWorker()
    sequence = f'killed_{on_error}'
    options = InjectOptions(sequence=sequence, jobs=2, batch_messages=BATCH, on_error=on_error)
    report = Injector(client, options, progress=progress).inject(recording.path)

    assert progress.killed is not None
    assert report.error is not None
    assert str(recording.path) in report.error
    assert 'conversion worker process ended abruptly' in report.error
    assert 'topic /' in report.error
    assert report.stored < recording.message_count
    assert [p for p in multiprocessing.active_children() if p.name == WORKER_NAME] == []
    if on_error == 'delete':
        assert report.status is SequenceStatus.DELETED
        assert sequence not in client.list_sequences()
    else:
        assert report.status in (SequenceStatus.PARTIAL, SequenceStatus.FAILED)


def imu_converter_and_batches(sizes: list[int]) -> tuple[BatchConverter, list[Payloads]]:
    """A real IMU converter and CDR batches of `sizes` messages, one undecodable in each."""
    from rosbags.typesys import Stores

    from mosaico_ros.adapters import default_registry
    from mosaico_ros.demo.recording import _MessageFactory

    factory = _MessageFactory(Stores.ROS2_HUMBLE, RecordingSpec())
    typestore = factory.typestore
    adapter = default_registry.resolve(IMU_TYPE, typestore)
    converter = BatchConverter(
        lambda data: typestore.deserialize_cdr(data, IMU_TYPE),
        adapter,
        IMU_TYPE,
        'IMUAdapter',
        ROS_DECODE_ERRORS,
    )
    batches, index = [], 0
    for size in sizes:
        blob, ends = bytearray(), []
        for position in range(size):
            data = factory.serialize(factory.imu(index, 1_700_000_000 + index), IMU_TYPE)
            blob += data[:4] + b'\xff' * 7 if position == size // 2 else data
            ends.append(len(blob))
            index += 1
        batches.append(Payloads(bytes(blob), ends))
    return converter, batches


def test_pool_hands_back_batches_in_submission_order() -> None:
    sizes = [30, 1, 120, 7, 60, 3, 90, 15, 45, 2, 75, 10]
    converter, batches = imu_converter_and_batches(sizes)
    taken: list[tuple[int, ConvertedBatch]] = []
    with ConversionPool[int]({0: converter}, jobs=2, max_batches=3) as pool:
        for number, payloads in enumerate(batches):
            pool.submit(0, payloads, number, f'batch {number}')
            taken.extend(pool.completed())
            assert pool.in_flight <= 3
        taken.extend(pool.completed(wait=True))
        assert pool.in_flight == 0
    assert pool.stats.in_workers == len(sizes)
    assert [number for number, _ in taken] == list(range(len(sizes)))
    for (number, result), size in zip(taken, sizes, strict=True):
        expected = converter(batches[number])
        assert result.count == size
        assert result.decoded == size - 1
        assert [f.index for f in result.failures] == [size // 2]
        assert result.kept == [i for i in range(size) if i != size // 2]
        if size == 1:
            assert result.struct is None
            continue
        assert result.struct is not None
        assert expected.struct is not None
        assert len(result.struct) == size - 1
        assert result.struct.equals(expected.struct)


def convert_with_a_stopped_worker(
    converter: BatchConverter, payloads: Payloads, stopped: list[Any]
) -> None:
    """Run one batch through a one-worker pool whose worker is stopped (alive, never answering)."""
    before = {child.pid for child in multiprocessing.active_children()}
    with ConversionPool[int]({0: converter}, jobs=1, stall_s=1.0) as pool:
        [worker] = [p for p in multiprocessing.active_children() if p.pid not in before]
        assert worker.name == WORKER_NAME
        assert worker.pid is not None
        stopped.append(worker)
        os.kill(worker.pid, signal.SIGSTOP)
        pool.submit(0, payloads, 0, 'the only batch')
        list(pool.completed(wait=True))


@pytest.mark.timeout(60)
def test_a_stuck_worker_is_given_up_on_and_killed() -> None:
    converter, batches = imu_converter_and_batches([20])
    stopped: list[Any] = []
    with pytest.raises(ConversionError, match=r'the only batch after 1 s: the workers are stuck'):
        convert_with_a_stopped_worker(converter, batches[0], stopped)
    [worker] = stopped
    worker.join(10)
    assert not worker.is_alive()


@pytest.mark.timeout(60)
def test_a_stuck_worker_is_killed_even_when_the_error_was_handled() -> None:
    converter, batches = imu_converter_and_batches([20])
    before = {child.pid for child in multiprocessing.active_children()}
    with ConversionPool[int]({0: converter}, jobs=1, stall_s=1.0) as pool:
        [worker] = [p for p in multiprocessing.active_children() if p.pid not in before]
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGSTOP)
        pool.submit(0, batches[0], 0, 'the only batch')
        with pytest.raises(ConversionError, match='the workers are stuck'):
            list(pool.completed(wait=True))
    worker.join(10)
    assert not worker.is_alive()


class _Raises:
    """A converter with a bug: it raises what no adapter rejection is."""

    def __call__(self, payloads: Payloads) -> ConvertedBatch:
        raise KeyError(f'no field for {len(payloads)} message(s)')


@pytest.mark.timeout(60)
def test_an_exception_in_a_worker_names_the_batch_and_stops_the_workers() -> None:
    def convert(pool: ConversionPool[int]) -> None:
        pool.submit(0, Payloads(b'ab', [1, 2]), 0, 'topic /imu at offset 7')
        list(pool.completed(wait=True))

    pool = ConversionPool[int]({0: _Raises()}, jobs=1)  # type: ignore[dict-item]
    with pool, pytest.raises(ConversionError) as raised:  # from either call
        convert(pool)
    assert str(raised.value) == (
        'converting topic /imu at offset 7 failed in a worker: '
        "KeyError: 'no field for 2 message(s)'"
    )
    assert [p for p in multiprocessing.active_children() if p.name == WORKER_NAME] == []


_ORPHAN_SCRIPT = """
import sys, time
from mosaico_ros.pipeline.conversion import ConversionPool

with ConversionPool({}, jobs=2) as pool:
    import multiprocessing
    print(' '.join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(60)
"""


@pytest.mark.timeout(60)
def test_workers_leave_when_their_parent_is_killed() -> None:
    import subprocess
    import sys
    import time

    parent = subprocess.Popen(
        [sys.executable, '-c', _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    pids = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(pids) == 2
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), 'a worker outlived its killed parent'


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, reaped by init soon, counts as gone)."""
    try:
        status = Path(f'/proc/{pid}/stat').read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(')', 1)[1].split()[0] != 'Z'
