"""Reading bags in runs (one per connection and chunk) against reading them message by message.

An injection feeds the pipeline in runs where the bag allows it
(`BagReader.runs`, `Pipeline.push_run`): the MCAP message indexes locate
every connection's messages of a chunk at once. Everything here compares
that path with the per-message one, on every shared MCAP bag and on
generated ones, and checks where it must step aside: overlapping chunks,
message indexes that disagree with their chunk, per-message compression.
"""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
import textwrap
from collections import defaultdict
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SHARED
from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
from ros_support import stored_rows
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import MessageFactory

from mosaico_ros.adapters import default_registry
from mosaico_ros.bags import open_bag
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.bags.joining import joined_messages, joined_runs
from mosaico_ros.demo.recording import IMAGE_TOPIC, MIXED, RecordingSpec, write_recording
from mosaico_ros.pipeline import (
    CutPolicy,
    Pipeline,
    RawMessage,
    Router,
    SequenceReport,
    SessionSink,
    TopicInfo,
    TopicSelection,
)
from mosaico_ros.pipeline.buffers import KEEP_FROM, TopicBuffer
from mosaico_ros.pipeline.envelope import MessageRun, Origin

STORE = get_typestore(Stores.ROS2_HUMBLE)
BAGS = SHARED / 'data' / 'bags'
IMU = 'sensor_msgs/msg/Imu'

Streams = dict[str, list[tuple[int, bytes]]]


def _shared_mcap_bags() -> list[str]:
    """Shared MCAP files and rosbag2 MCAP directories, relative to the bags folder."""
    if not BAGS.is_dir():
        return ['<no shared bags>']
    files = [p for p in BAGS.rglob('*.mcap') if p.parent.name in ('ros2_mcap', 'mcap_other', 'odd')]
    folders = [p.parent for p in BAGS.rglob('metadata.yaml') if any(p.parent.glob('*.mcap'))]
    return sorted(str(p.relative_to(BAGS)) for p in [*files, *folders])


def per_message(
    reader: Any, connections: Any = None, start: Any = None, end: Any = None
) -> Streams:
    """Each topic's (time, payload) pairs, read message by message."""
    streams: Streams = defaultdict(list)
    for msg in reader.messages(connections, start, end):
        streams[msg.connection.topic].append((msg.log_time_ns, bytes(msg.data)))
    return dict(streams)


def in_runs(reader: Any, connections: Any = None, start: Any = None, end: Any = None) -> Streams:
    """The same, read in runs; fails the test when the bag cannot be read in runs."""
    runs = reader.runs(connections, start, end)
    assert runs is not None, 'this bag should be readable in runs'
    streams: Streams = defaultdict(list)
    for run in runs:
        data = memoryview(run.data)
        for time, first, stop in zip(run.times, run.starts, run.stops, strict=True):
            streams[run.connection.topic].append((int(time), bytes(data[first:stop])))
    return dict(streams)


@pytest.mark.parametrize('name', _shared_mcap_bags())
def test_runs_hold_exactly_what_messages_hold_on_every_shared_mcap_bag(name: str) -> None:
    if not BAGS.is_dir():
        pytest.skip(f'the shared bags ({BAGS}) are absent')
    with open_bag(BAGS / name) as reader:
        if reader.runs() is None:
            # No chunk index with message indexes, or chunks that overlap in time.
            assert not getattr(reader, '_chunks', None) or name.startswith('odd/'), name
            return
        expected = per_message(reader)
        problems = list(reader.problems)
    with open_bag(BAGS / name) as reader:
        assert in_runs(reader) == expected
        assert reader.problems == problems
        if reader.start_ns is not None and reader.end_ns is not None and reader.connections:
            third = (reader.end_ns - reader.start_ns) // 3
            window = (reader.start_ns + third, reader.end_ns - third)
            some = reader.connections[::2]
            assert in_runs(reader, some, *window) == per_message(reader, some, *window)


def test_runs_cover_most_shared_mcap_bags() -> None:
    if not BAGS.is_dir():
        pytest.skip(f'the shared bags ({BAGS}) are absent')
    readable = 0
    for name in _shared_mcap_bags():
        with open_bag(BAGS / name) as reader:
            readable += reader.runs() is not None
    assert readable >= 8, readable


def test_a_generated_recording_split_in_files_reads_the_same_in_runs(tmp_path: Path) -> None:
    spec = RecordingSpec(duration_s=3, **{**MIXED, 'image_width': 32, 'image_height': 24})
    recording = write_recording(tmp_path / 'mixed', 'mcap', spec)
    with open_bag(recording.path) as reader:
        expected = per_message(reader)
    with open_bag(recording.path) as reader:
        assert in_runs(reader) == expected
        assert sum(map(len, expected.values())) == recording.message_count


def _string(text: str) -> bytes:
    msg = STORE.types['std_msgs/msg/String'](data=text)
    return bytes(STORE.serialize_cdr(msg, 'std_msgs/msg/String'))


def _write_mcap(
    path: Path,
    times: list[int],
    chunk_size: int = 300,
    payloads: dict[int, bytes] | None = None,
    topics: tuple[str, str] = ('/a', '/b'),
) -> None:
    """std_msgs/String on two channels (of `topics`), zstd chunks, message indexes on.

    Message i goes to channel i % 2 and says `m<i>`, unless `payloads` gives its bytes.
    """
    with path.open('wb') as stream:
        writer = McapWriter(stream, chunk_size=chunk_size, compression=CompressionType.ZSTD)
        writer.start(profile='ros2', library='test')
        schema = writer.register_schema('std_msgs/msg/String', 'ros2msg', b'string data\n')
        channels = [writer.register_channel(t, 'cdr', schema) for t in topics]
        for index, stamp in enumerate(times):
            data = (payloads or {}).get(index) or _string(f'm{index}')
            writer.add_message(channels[index % 2], log_time=stamp, data=data, publish_time=stamp)
        writer.finish()


def test_chunks_that_overlap_in_time_are_read_message_by_message(tmp_path: Path) -> None:
    path = tmp_path / 'overlap.mcap'
    _write_mcap(path, [t * 100 + shift for shift in range(0, 50, 5) for t in range(10)])
    with open_bag(path) as reader:
        assert reader.runs() is None
    ordered = tmp_path / 'ordered.mcap'
    _write_mcap(ordered, list(range(0, 10_000, 100)))
    with open_bag(ordered) as reader:
        assert reader.runs() is not None


def test_a_message_index_that_disagrees_with_its_chunk_is_noted_and_read_record_by_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / 'lying.mcap'
    _write_mcap(path, list(range(0, 10_000, 100)))
    with open_bag(path) as reader:
        expected = per_message(reader)
        chunk = reader._chunks[1]  # where the second chunk's indexes are
    # The first entry's log time of the second chunk's first message index, moved by one.
    entry = min(chunk.index_offsets.values()) + 9 + 2 + 4
    raw = bytearray(path.read_bytes())
    (stamp,) = struct.unpack_from('<Q', raw, entry)
    struct.pack_into('<Q', raw, entry, stamp + 1)
    path.write_bytes(raw)
    with open_bag(path) as reader:
        assert in_runs(reader) == expected
        notes = [p for p in reader.problems if p.kind == 'mismatch']
        assert len(notes) == 1, reader.problems
        assert notes[0].offset == chunk.pos
        assert 'read record by record' in notes[0].reason
        assert notes[0].lost == 0


def test_a_run_of_an_undeclared_channel_is_counted_lost(tmp_path: Path) -> None:
    path = tmp_path / 'undeclared.mcap'
    _write_mcap(path, list(range(0, 2_000, 100)))
    with open_bag(path) as reader:
        del reader._conns[2]  # as if the channel record were missing
        streams = in_runs(reader)
        assert set(streams) == {'/a'}
        lost = [p for p in reader.problems if p.kind == 'unknown-connection']
        assert sum(p.lost for p in lost) == 10


# -- joining small runs ------------------------------------------------------------------


def _joined_streams(runs: Any) -> dict[str, list[tuple[int, bytes, Any]]]:
    """Each topic's (time, payload, origin) triples, from pipeline runs."""
    streams: dict[str, list[tuple[int, bytes, Any]]] = defaultdict(list)
    for run in runs:
        data = memoryview(run.data)
        for i, (time, first, stop) in enumerate(zip(run.times, run.starts, run.stops, strict=True)):
            streams[run.topic].append((int(time), bytes(data[first:stop]), run.origins[i]))
    return dict(streams)


def test_small_runs_are_joined_and_every_message_keeps_its_chunk(tmp_path: Path) -> None:
    path = tmp_path / 'small_chunks.mcap'
    big = {30: _string('x' * KEEP_FROM)}  # a large payload on /a goes as it is, in order
    _write_mcap(path, list(range(0, 20_000, 100)), chunk_size=200, payloads=big)
    with open_bag(path) as reader:
        expected: dict[str, list[tuple[int, bytes, Any]]] = defaultdict(list)
        for msg in reader.messages():
            origin = Origin(msg.file, msg.offset)
            expected[msg.connection.topic].append((msg.log_time_ns, bytes(msg.data), origin))
        chunks = len({origin for stream in expected.values() for *_, origin in stream})
        assert chunks > 40
        runs = list(joined_runs(reader.runs(), max_messages=40))
    assert _joined_streams(runs) == expected
    # /a: 14 messages joined, then the run of the chunk holding the large one as it is (2
    # messages), then 84 joined in runs of at most 40.
    a_runs = [run for run in runs if run.topic == '/a']
    assert [len(run) for run in a_runs] == [14, 2, 40, 40, 4]
    assert [len(run) for run in runs if run.topic == '/b'] == [40, 40, 20]
    assert len(a_runs[1].data) > sum(a_runs[1].stops - a_runs[1].starts)  # the chunk, no copy


def test_the_connections_of_one_topic_are_joined_in_chunk_order(tmp_path: Path) -> None:
    # Two publishers of one topic (as an MCAP converted from ROS 1 keeps them): a run per
    # connection and chunk, in time order only chunk by chunk, as before joining.
    path = tmp_path / 'two_publishers.mcap'
    _write_mcap(path, list(range(0, 20_000, 100)), chunk_size=200, topics=('/a', '/a'))
    with open_bag(path) as reader:
        runs = list(joined_runs(reader.runs()))
    ((topic, stream),) = _joined_streams(runs).items()
    assert topic == '/a'
    assert len(stream) == 200
    by_chunk = [sorted(t for t, _, _ in chunk) for _, chunk in groupby(stream, lambda m: m[2])]
    assert [t for chunk in by_chunk for t in chunk] == list(range(0, 20_000, 100))


@pytest.mark.parametrize('fmt', ['db3', 'bag'])
def test_bags_read_message_by_message_are_joined_and_keep_each_offset(
    tmp_path: Path, fmt: str
) -> None:
    # SQLite and ROS 1 readers have no runs: their messages are joined per topic, and each
    # keeps its own offset (an SQLite row id); a frame of KEEP_FROM bytes goes alone, uncopied.
    spec = RecordingSpec(duration_s=2, **{**MIXED, 'image_width': 160, 'image_height': 140})
    recording = write_recording(tmp_path / f'mixed.{fmt}', fmt, spec)  # type: ignore[arg-type]
    with open_bag(recording.path) as reader:
        assert reader.runs() is None
        messages = list(reader.messages())
    expected: dict[str, list[tuple[int, bytes, Any]]] = defaultdict(list)
    for msg in messages:
        origin = Origin(msg.file, msg.offset)
        expected[msg.connection.topic].append((msg.log_time_ns, bytes(msg.data), origin))
    runs = list(joined_messages(messages, max_messages=50))
    assert _joined_streams(runs) == expected
    assert len(runs) < len(messages) / 10
    frames = [run for run in runs if run.topic == IMAGE_TOPIC]
    assert frames
    assert all(len(run) == 1 and len(run.data) >= KEEP_FROM for run in frames)
    assert {id(run.data) for run in frames} <= {id(msg.data) for msg in messages}


def test_a_message_that_fails_in_a_joined_run_is_reported_at_its_own_chunk(
    tmp_path: Path, client: Any
) -> None:
    path = tmp_path / 'glitch.mcap'
    broken = 2 * 37  # on /a, tens of chunks in
    _write_mcap(path, list(range(0, 20_000, 100)), chunk_size=200, payloads={broken: b'\xff' * 9})
    with open_bag(path) as reader:
        offsets = [msg.offset for msg in reader.messages()]
    assert offsets[broken] != offsets[0]
    report = Injector(client, InjectOptions(sequence='glitch', jobs=0)).inject(path)
    topic = report.topics['/a']
    assert (topic.received, topic.stored, topic.skipped_total) == (100, 99, 1)
    ((_, failure),) = topic.first_skip.items()
    assert (failure.file, failure.offset) == (path, offsets[broken])


# -- the pipeline side ---------------------------------------------------------------------


@pytest.fixture
def client(server: Any) -> Any:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def _imus(count: int) -> list[bytes]:
    factory = MessageFactory(STORE)
    return [bytes(STORE.serialize_cdr(factory.make(IMU), IMU)) for _ in range(count)]


def _run(payloads: list[bytes], times: list[int]) -> MessageRun:
    sizes = np.array([len(p) for p in payloads], np.int64)
    stops = np.cumsum(sizes)
    # Some slack between payloads, as in a chunk (record headers)
    gap = 31
    starts = stops - sizes + gap * np.arange(1, len(payloads) + 1)
    data = b''.join(b'\0' * gap + p for p in payloads)
    return MessageRun('/imu', IMU, np.array(times, np.int64), data, starts, starts + sizes)


def _store(client: Any, name: str, policy: CutPolicy, feed: Any) -> tuple[int, list[int]]:
    router = Router(default_registry.copy(), STORE, TopicSelection())
    report = SequenceReport(source='test', sequence=name)
    pipeline = Pipeline(router, policy, report, SessionSink(client, name))
    pipeline.declare(TopicInfo('/imu', IMU, 'cdr'))
    assert pipeline.sink is not None
    with pipeline.sink, pipeline:
        feed(pipeline)
    assert report.topics['/imu'].stored == report.topics['/imu'].received
    table = stored_rows(client, name, '/imu')
    return pipeline.stats.in_process, table.column('timestamp_ns').to_pylist()


@pytest.mark.parametrize(
    ('max_messages', 'max_bytes'), [(7, 1_500), (4, 5_000)], ids=['bytes-cut', 'count-cuts']
)
def test_push_run_cuts_batches_where_push_would_and_stores_the_same_rows(
    client: Any, max_messages: int, max_bytes: int
) -> None:
    payloads = _imus(60)
    times = [1_000 + 10 * i for i in range(60)]
    policy = CutPolicy(max_messages=max_messages, max_bytes=max_bytes)
    per_batch = min(max_messages, -(-max_bytes // len(payloads[0])))

    def one_by_one(pipeline: Pipeline) -> None:
        for payload, time in zip(payloads, times, strict=True):
            pipeline.push(RawMessage('/imu', IMU, time, payload))

    def in_runs_of_several_sizes(pipeline: Pipeline) -> None:
        start = 0
        for size in (13, 1, 29, 2, 15):
            pipeline.push_run(_run(payloads[start : start + size], times[start : start + size]))
            start += size

    batches, stored = _store(client, 'by_message', policy, one_by_one)
    batches_in_runs, stored_in_runs = _store(client, 'in_runs', policy, in_runs_of_several_sizes)
    assert batches_in_runs == batches == -(-60 // per_batch)
    assert stored_in_runs == stored == times


@pytest.mark.skipif(importlib.util.find_spec('pandas') is None, reason='pandas is not installed')
def test_injecting_a_recording_does_not_import_pandas(tmp_path: Path, server: Any) -> None:
    # pyarrow imports pandas on its first pa.array() (0.2 to 1 s); the codec and the stock
    # adapters build their arrays from buffers, so an injection never pays for it. (A
    # server writing Parquet does: pyarrow's Parquet writer imports it.)
    spec = RecordingSpec(duration_s=2, **{**MIXED, 'image_width': 32, 'image_height': 24})
    recording = write_recording(tmp_path / 'mixed', 'mcap', spec)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from mosaico_ros.bags.injector import InjectOptions, Injector
        from mosaico_ros.client import MosaicoClient
        with MosaicoClient.connect('127.0.0.1', {server.port}) as client:
            report = Injector(client, InjectOptions(jobs=0)).inject(Path({str(recording.path)!r}))
        assert report.clean, report.problems()
        assert report.stored == {recording.message_count}, report.stored
        print('pandas' in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'False'


def test_large_payloads_are_kept_as_views_and_small_ones_copied() -> None:
    big, small = b'\x07' * KEEP_FROM, b'\x01' * 100
    # A chunk that is mostly one large payload: it is viewed, the small one copied.
    chunk = small + big
    run = MessageRun(
        '/camera',
        'sensor_msgs/msg/Image',
        np.array([1, 2], np.int64),
        chunk,
        np.array([0, len(small)], np.int64),
        np.array([len(small), len(chunk)], np.int64),
    )
    buffer = TopicBuffer()
    buffer.append(b'abc', 0, None)
    stored = buffer.extend(run, 0, 2)
    assert stored == len(small) + len(big)
    assert buffer.parts is not None
    assert [type(part) for part in buffer.parts] == [bytes, bytes, memoryview]
    assert buffer.parts[2].obj is chunk
    # A large payload that is less than half of its chunk is copied.
    other = MessageRun(
        '/camera',
        'sensor_msgs/msg/Image',
        np.array([3], np.int64),
        big + b'\0' * (2 * KEEP_FROM),
        np.array([0], np.int64),
        np.array([len(big)], np.int64),
    )
    buffer.extend(other, 0, 1)
    assert type(buffer.parts[3]) is bytes
    payloads = buffer.cut(0).payloads
    assert [bytes(view) for view in payloads.views()] == [b'abc', small, big, big]
    whole = payloads.contiguous()
    assert whole.blob == b'abc' + small + big + big
    assert list(whole.ends) == list(payloads.ends) == [3, 103, 103 + len(big), 103 + 2 * len(big)]
    assert buffer.parts is None
    assert len(buffer) == 0


def test_full_size_frames_are_stored_byte_for_byte(tmp_path: Path, client: Any) -> None:
    spec = RecordingSpec(duration_s=2, camera_hz=15, image_width=640, image_height=480)
    recording = write_recording(tmp_path / 'frames', 'mcap', spec)
    with open_bag(recording.path) as reader:
        assert reader.runs() is not None
        frames = [
            bytes(deserialize_image(msg.data))
            for msg in reader.messages()
            if msg.connection.topic == IMAGE_TOPIC
        ]
    assert len(frames) == 30
    assert len(frames[0]) == 640 * 480 * 3 > KEEP_FROM
    report = Injector(client, InjectOptions(sequence='frames', jobs=0)).inject(recording.path)
    assert report.clean, report.problems()
    assert stored_rows(client, 'frames', IMAGE_TOPIC).column('data').to_pylist() == frames


def deserialize_image(data: Any) -> Any:
    return STORE.deserialize_cdr(bytes(data), 'sensor_msgs/msg/Image').data
