"""Bad input: every error names the file (and topic and offset where they exist).

Checks what was stored under `--on-error report` (everything readable) and
under `--on-error delete` (nothing of the sequence).
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.cli import main
from mosaico_ros.demo.recording import IMU_TOPIC, RecordingSpec, write_recording
from mosaico_ros.pipeline.report import SequenceStatus, exit_code

IMU = 'sensor_msgs/msg/Imu'


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def write_imu_mcap(path: Path, count: int, broken: set[int] = frozenset(), chunk_size: int = 4096):
    """Write an MCAP of IMU messages with the mcap library (zstd chunks, CRCs on)."""
    from mcap.writer import Writer

    from mosaico_ros.demo.recording import _MessageFactory

    factory = _MessageFactory(Stores.ROS2_HUMBLE, RecordingSpec())
    store = get_typestore(Stores.ROS2_HUMBLE)
    msgdef, _ = store.generate_msgdef(IMU)
    with path.open('wb') as stream:
        writer = Writer(stream, chunk_size=chunk_size)
        writer.start(profile='ros2', library='test')
        schema = writer.register_schema(IMU, 'ros2msg', msgdef.encode())
        channel = writer.register_channel(IMU_TOPIC, 'cdr', schema)
        for index in range(count):
            stamp = 1_700_000_000_000_000_000 + index * 2_500_000
            data = factory.serialize(factory.imu(index, stamp), IMU)
            if index in broken:
                data = data[:4] + b'\xff' * 7
            writer.add_message(channel, log_time=stamp, data=data, publish_time=stamp)
        writer.finish()


def chunk_offsets(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of every MCAP Chunk record."""
    raw = path.read_bytes()
    pos, found = 8, []
    while pos + 9 <= len(raw):
        opcode = raw[pos]
        (length,) = struct.unpack_from('<Q', raw, pos + 1)
        if opcode == 0x06:
            found.append((pos, 9 + length))
        if opcode == 0x0F:
            break
        pos += 9 + length
    return found


def stored_rows(client: Any, sequence: str, topic: str) -> int:
    handler = client.topic_handler(sequence, topic)
    return 0 if handler is None else sum(b.num_rows for b in handler.iter_batches())


def test_zero_byte_file(client: Any, tmp_path: Path) -> None:
    empty = tmp_path / 'empty.mcap'
    empty.touch()
    report = Injector(client).inject(empty)
    assert report.status is SequenceStatus.FAILED
    assert str(empty) in report.error
    assert 'empty' in report.error.lower() or 'zero' in report.error.lower()
    assert exit_code([report]) == 1
    assert client.list_sequences() == []


def test_unknown_storage_format(client: Any, tmp_path: Path) -> None:
    odd = tmp_path / 'notes.bag'
    odd.write_bytes(b'just some text, not a bag at all\n' * 4)
    report = Injector(client).inject(odd)
    assert report.status is SequenceStatus.FAILED
    assert str(odd) in report.error
    result = CliRunner().invoke(main, ['inject', str(odd), '--store', str(tmp_path / 's')])
    assert result.exit_code == 1
    assert 'notes.bag' in result.output


def test_message_failing_to_decode_report_then_delete(client: Any, tmp_path: Path) -> None:
    bag = tmp_path / 'glitch.mcap'
    write_imu_mcap(bag, 300, broken={17, 250})
    report = Injector(client).inject(bag)
    assert report.status is SequenceStatus.PARTIAL
    imu = report.topics[IMU_TOPIC]
    assert (imu.received, imu.stored, imu.skipped_total) == (300, 298, 2)
    ((reason, first),) = imu.first_skip.items()
    assert reason.startswith(f'cannot decode as {IMU}')
    assert first.file == bag
    assert first.topic == IMU_TOPIC
    assert first.offset is not None
    assert first.offset > 0
    line = report.problems()[0]
    assert f'topic {IMU_TOPIC}: 2 skipped' in line
    assert str(bag) in line
    assert f'offset {first.offset}' in line
    assert stored_rows(client, 'glitch', IMU_TOPIC) == 298

    deleted = Injector(client, InjectOptions(sequence='glitch2', on_error='delete')).inject(bag)
    assert deleted.status is SequenceStatus.DELETED
    assert 'nothing kept (--on-error delete)' in deleted.error
    assert f'cannot decode as {IMU}' in deleted.error
    assert 'glitch2' not in client.list_sequences()


def test_truncated_mcap(client: Any, tmp_path: Path) -> None:
    whole = tmp_path / 'whole.mcap'
    write_imu_mcap(whole, 2000)
    cut = tmp_path / 'cut.mcap'
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    report = Injector(client).inject(cut)
    assert report.status is SequenceStatus.PARTIAL
    stored = report.topics[IMU_TOPIC].stored
    assert 0 < stored < 2000
    assert stored_rows(client, 'cut', IMU_TOPIC) == stored
    text = '\n'.join(report.problems())
    assert str(cut) in text
    assert 'offset' in text
    assert exit_code([report]) == 1

    deleted = Injector(client, InjectOptions(sequence='cut2', on_error='delete')).inject(cut)
    assert deleted.status is SequenceStatus.DELETED
    assert 'cut2' not in client.list_sequences()


def test_chunk_with_bad_crc(client: Any, tmp_path: Path) -> None:
    good = tmp_path / 'good.mcap'
    write_imu_mcap(good, 2000)
    chunks = chunk_offsets(good)
    assert len(chunks) > 3
    offset, length = chunks[2]
    damaged = tmp_path / 'crc.mcap'
    raw = bytearray(good.read_bytes())
    raw[offset + length - 10] ^= 0xFF
    damaged.write_bytes(bytes(raw))

    report = Injector(client).inject(damaged)
    assert report.status is SequenceStatus.PARTIAL
    stored = report.topics[IMU_TOPIC].stored
    assert 0 < stored < 2000
    text = '\n'.join(report.problems())
    assert str(damaged) in text
    assert f'offset {offset}' in text
    assert stored_rows(client, 'crc', IMU_TOPIC) == stored


def test_db3_without_metadata_yaml_and_with_broken_table(client: Any, tmp_path: Path) -> None:
    recording = write_recording(tmp_path / 'rec', 'db3', RecordingSpec(duration_s=1.0))
    bare = tmp_path / 'bare.db3'
    shutil.copy(next(recording.path.glob('*.db3')), bare)
    report = Injector(client).inject(bare)
    assert report.status is SequenceStatus.STORED, report.problems()
    assert {t: r.stored for t, r in report.topics.items()} == recording.counts

    broken = tmp_path / 'broken.db3'
    shutil.copy(bare, broken)
    with sqlite3.connect(broken) as db:
        db.execute('DROP TABLE messages')
    failed = Injector(client).inject(broken)
    assert failed.status is SequenceStatus.FAILED
    assert str(broken) in failed.error
    assert 'broken' not in client.list_sequences()


def test_rosbag2_directory_without_metadata_yaml(client: Any, tmp_path: Path) -> None:
    recording = write_recording(tmp_path / 'rec', 'mcap', RecordingSpec(duration_s=1.0))
    (recording.path / 'metadata.yaml').unlink()
    report = Injector(client).inject(recording.path)
    assert report.status is SequenceStatus.FAILED
    assert str(recording.path) in report.error
    assert 'metadata.yaml' in report.error
