"""Bag readers against every real bag of the shared inventory and against generated bags."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zstandard
from conftest import SHARED
from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.adapters import default_registry
from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.bags import (
    BagCorruptError,
    BagFormatError,
    BagMissingFileError,
    open_bag,
)
from mosaico_ros.bags.source import BagSource
from mosaico_ros.pipeline.decoding import payload_decoder
from mosaico_ros.pipeline.envelope import ROS_ENCODINGS, TopicInfo
from mosaico_ros.pipeline.routing import Refused, Router
from mosaico_ros.pipeline.selection import TopicSelection
from mosaico_ros.pipeline.types import resolve_types


def deserialize(store: Any, msg: Any) -> Any:
    """Decode a bag message with the pipeline's one payload decoder."""
    conn = msg.connection
    return payload_decoder(store, conn.msgtype, conn.encoding == 'ros1')(msg.data)


_INVENTORY = SHARED / 'data' / 'bags' / 'inventory.json'


def _entries() -> list[dict]:
    if not _INVENTORY.is_file():
        return [{'path': '<no shared inventory>'}]
    return json.loads(_INVENTORY.read_text())['bags']


ENTRIES = {e['path']: e for e in _entries()}

# Damaged files: what a salvaging reader recovers, and where the damage starts.
DAMAGED = {
    # Index-less and cut inside its only chunk: the inventory's raw count (0)
    # counts complete chunks; we recover the complete records before the cut.
    'odd/tiryoh_test_truncated.bag': (3, 4117),
    # No summary/footer; the data section's chunk is whole, a message index is cut.
    'odd/tiryoh_test_sample_truncated.mcap': (14, 1475),
}

# (entry, topic) whose ROS payloads no reader decodes, and why.
UNDECODABLE = {
    # The .db3 embeds a bogus 'uint8 level' as rcl_interfaces/msg/Log.
    ('ros2_db3/rosbag2_talker', '/rosout'),
    # Payload is only the 4-byte CDR header; the schema is a placeholder comment.
    ('odd/tiryoh_test_sample_no_rosout.mcap', '/sensor/lidar/points'),
    # float64 aligned to 4 inside XCDR1 data: not valid CDR for its schema.
    ('odd/plotjuggler_test_embedded_timestamp.mcap', '/stamped/value'),
    # The schema text is garbage; reported as unknown.
    ('odd/plotjuggler_test_bad_schema.mcap', '/bad/data'),
}


@pytest.fixture
def entry_path(request: pytest.FixtureRequest, bags_dir: Path) -> Path:
    return bags_dir / request.param


def _reference_ok(topic: dict) -> int:
    """Most messages any reference reader decoded for a topic (with the noted fixes)."""
    return max(
        topic.get('rosbags_ok') or 0,
        topic.get('mcap_decode_ok') or 0,
        topic.get('rosbags_ok_if_type_renamed_pkg_msg_Type') or 0,
        topic.get('mcap_decode_ok_after_zstd_decompress') or 0,
    )


@pytest.mark.parametrize('entry_path', list(ENTRIES), indirect=True, ids=list(ENTRIES))
def test_inventory_entry(entry_path: Path, bags_dir: Path) -> None:
    entry = ENTRIES[str(entry_path.relative_to(bags_dir))]
    name = entry['path']
    with open_bag(entry_path) as reader:
        declared = {c.topic for c in reader.connections}
        assert {t['topic'] for t in entry['topics']} <= declared
        resolution = reader.type_resolution()
        counts: Counter[str] = Counter()
        decoded: Counter[str] = Counter()
        parsed_json: Counter[str] = Counter()
        files: set[Path] = set()
        last = -1
        for msg in reader.messages():
            conn = msg.connection
            counts[conn.topic] += 1
            assert msg.log_time_ns >= last, f'{name}: out of order at {msg.offset}'
            last = msg.log_time_ns
            files.add(msg.file)
            if conn.encoding == 'json':
                json.loads(bytes(msg.data))
                parsed_json[conn.topic] += 1
            if conn.encoding not in ROS_ENCODINGS or conn.msgtype in resolution.unknown:
                continue
            try:
                deserialize(resolution.typestore, msg)
            except Exception:
                assert (name, conn.topic) in UNDECODABLE, f'{conn.topic} fails to decode'
                continue
            decoded[conn.topic] += 1
        assert all(file.exists() for file in files)
        damage = [p for p in reader.problems if p.kind not in ('mismatch', 'missing-file')]

        if name in DAMAGED:
            readable, offset = DAMAGED[name]
            assert sum(counts.values()) == readable
            assert any(p.offset == offset and p.file == entry_path for p in damage), damage
            assert all(str(entry_path) in str(p) for p in damage)
        else:
            expected = {t['topic']: t['count'] for t in entry['topics'] if t['count']}
            assert dict(counts) == expected
            assert sum(counts.values()) == entry['message_count']
            assert damage == []
            if reader.message_count is not None:
                assert reader.message_count == entry['message_count']
            if reader.start_ns is not None:
                assert (reader.start_ns, reader.end_ns) == (entry['start_ns'], entry['end_ns'])
        if all(c.message_count is not None for c in reader.connections) and name not in DAMAGED:
            per_topic: Counter[str] = Counter()
            for conn in reader.connections:
                per_topic[conn.topic] += conn.message_count or 0
            assert +per_topic == +counts

    for topic in entry['topics']:
        if (name, topic['topic']) in UNDECODABLE:
            continue
        if topic.get('message_encoding') == 'json':
            assert parsed_json[topic['topic']] == topic['count']
            continue
        assert decoded[topic['topic']] >= _reference_ok(topic), topic['topic']
        if topic.get('message_encoding', 'cdr') in ('cdr', 'ros1') and name not in DAMAGED:
            assert decoded[topic['topic']] == topic['count'], topic['topic']


def _first(path: Path, topic: str) -> tuple[object, int]:
    with open_bag(path) as reader:
        store = reader.typestore()
        for msg in reader.messages([c for c in reader.connections if c.topic == topic]):
            return deserialize(store, msg), msg.log_time_ns
    raise AssertionError(f'no message on {topic}')


def test_db3_without_metadata_and_legacy_type_names(bags_dir: Path) -> None:
    path = bags_dir / 'ros2_db3' / 'rosbag2js_sample.db3'
    with open_bag(path) as reader:
        assert {c.msgtype for c in reader.connections} >= {
            'sensor_msgs/msg/Image',
            'sensor_msgs/msg/NavSatFix',
        }
    fix, _ = _first(path, '/fix')
    assert math.isnan(fix.latitude)  # type: ignore[attr-defined]
    image, stamp = _first(path, '/image')
    assert (image.width, image.height, image.encoding) == (640, 480, 'bgr8')  # type: ignore[attr-defined]
    assert len(image.data) == 640 * 480 * 3  # type: ignore[attr-defined]
    assert stamp >= 1552860401167984836
    # immutable=1: no -wal/-shm appear beside the read-only WAL database.
    assert not list(path.parent.glob('*-wal'))
    assert not list(path.parent.glob('*-shm'))


def test_per_message_zstd_and_missing_split_files(bags_dir: Path) -> None:
    path = bags_dir / 'odd' / 'amber_soccer_goal_partial'
    image, stamp = _first(path, '/camera/image_raw')
    assert (image.width, image.height, image.encoding) == (640, 480, 'rgb8')  # type: ignore[attr-defined]
    assert image.header.frame_id == 'camera'  # type: ignore[attr-defined]
    assert len(image.data) == 921600  # type: ignore[attr-defined]
    assert stamp == 8297777777
    with open_bag(path) as reader:
        missing = [p for p in reader.problems if p.kind == 'missing-file']
        assert len(missing) == 12
        assert sum(p.lost or 0 for p in missing) == 251 - 2
        assert missing[0].file == path / 'soccer_goal_0.mcap'


def test_roslib_header_bag_decodes_with_noetic(bags_dir: Path) -> None:
    path = bags_dir / 'ros1' / 'robot_state_publisher_joint_states_indexed.bag'
    joints, stamp = _first(path, 'joint_states')
    assert joints.__msgtype__ == 'sensor_msgs/msg/JointState'  # type: ignore[attr-defined]
    assert len(joints.name) == len(joints.position) > 10  # type: ignore[attr-defined]
    assert 290 <= joints.header.stamp.sec <= 310  # type: ignore[attr-defined]
    assert stamp == 291538000000


def test_salvaged_messages_match_the_intact_twin(bags_dir: Path) -> None:
    with open_bag(bags_dir / 'odd' / 'tiryoh_test_truncated.bag') as cut:
        salvaged = [(m.connection.topic, m.log_time_ns, bytes(m.data)) for m in cut.messages()]
        assert cut.problems[0].kind == 'truncated'
        assert 'offset 4117' in str(cut.problems[0])
    with open_bag(bags_dir / 'odd' / 'tiryoh_test_unindexed.bag') as whole:
        intact = [(m.connection.topic, m.log_time_ns, bytes(m.data)) for m in whole.messages()]
    assert len(salvaged) == 3
    # The cut chunk's first records, byte for byte as in the intact bag.
    assert set(salvaged) <= set(intact)


def test_truncated_bag_strict_mode_raises(bags_dir: Path) -> None:
    path = bags_dir / 'odd' / 'tiryoh_test_truncated.bag'
    with pytest.raises(BagCorruptError) as info:
        open_bag(path, strict=True)
    assert info.value.file == path
    assert info.value.offset == 4117


def test_compression_variants_hold_identical_payloads(bags_dir: Path) -> None:
    digests = []
    for name in ('rosbagjs_example.bag', 'rosbagjs_example-lz4.bag', 'rosbagjs_example-bz2.bag'):
        digest = hashlib.sha256()
        with open_bag(bags_dir / 'ros1' / name) as reader:
            for msg in reader.messages():
                digest.update(msg.connection.topic.encode())
                digest.update(msg.log_time_ns.to_bytes(8, 'little'))
                digest.update(msg.data)
        digests.append(digest.hexdigest())
    assert len(set(digests)) == 1


def test_unsorted_chunks_come_out_sorted(bags_dir: Path) -> None:
    with open_bag(bags_dir / 'ros1' / 'rosbagjs_example-unsorted-chunks.bag') as reader:
        store = reader.typestore()
        got = [(m.log_time_ns, deserialize(store, m).data) for m in reader.messages()]  # type: ignore[attr-defined]
    assert [t for t, _ in got] == [1_000_000_000, 2_000_000_000, 3_000_000_000]


def test_ros1_and_db3_twins_agree(bags_dir: Path) -> None:
    ros1, t1 = _first(bags_dir / 'ros1' / 'evo_tf_example.bag', '/tf')
    ros2, t2 = _first(bags_dir / 'ros2_db3' / 'evo_tf_example', '/tf')
    assert t1 == t2 == 1714741164196592603
    a = ros1.transforms[0]  # type: ignore[attr-defined]
    b = ros2.transforms[0]  # type: ignore[attr-defined]
    assert a.child_frame_id == b.child_frame_id
    assert a.transform.translation.x == b.transform.translation.x


def test_service_events_decode_from_srv_text(bags_dir: Path) -> None:
    for sub in ('ros2_db3', 'ros2_mcap'):
        event, _ = _first(
            bags_dir / sub / 'rosbag2_topics_and_service_events', '/test_service1/_service_event'
        )
        assert event.info.event_type in (0, 1, 2, 3)  # type: ignore[attr-defined]
        assert len(event.request) + len(event.response) == 1  # type: ignore[attr-defined]


def test_filters_by_connection_and_time(bags_dir: Path) -> None:
    path = bags_dir / 'ros1' / 'evo_ROS_example.bag'
    with open_bag(path) as reader:
        ground = [c for c in reader.connections if c.topic == 'groundtruth']
        assert sum(1 for _ in reader.messages(ground)) == 12765
        times = [m.log_time_ns for m in reader.messages()]
        lo, hi = times[1000], times[5000]
        window = list(reader.messages(start=lo, end=hi))
        assert len(window) == sum(1 for t in times if lo <= t < hi)
        assert all(lo <= m.log_time_ns < hi for m in window)


def test_directory_named_bag_and_metadata_path(bags_dir: Path) -> None:
    path = bags_dir / 'ros2_db3' / 'ros2bag_tools_images.bag'
    with open_bag(path / 'metadata.yaml') as reader:
        assert reader.path == path
        assert [m.log_time_ns for m in reader.messages()] == [0, 1_000_000_000, 2_000_000_000]


def test_wrong_serialization_format_is_yielded_raw_but_not_decoded(bags_dir: Path) -> None:
    with open_bag(bags_dir / 'odd' / 'rosbag2_wrong_rmw_test') as reader:
        assert {c.encoding for c in reader.connections} == {'wrong_format'}
        resolution = reader.type_resolution()
        assert resolution.unknown == {}
        source = BagSource(reader, reader.path)
        router = Router(default_registry, resolution.typestore, TopicSelection())
        for info in source.topics():
            refused = router.route(info)
            assert isinstance(refused, Refused)
            assert "message encoding 'wrong_format'" in refused.reason


# -- generated bags: no shared data needed ---------------------------------------------------

STORE = get_typestore(Stores.ROS2_HUMBLE)
NOETIC = get_typestore(Stores.ROS1_NOETIC)


def _data(store: object, msg: object) -> object:
    return deserialize(store, msg).data  # type: ignore[arg-type, attr-defined]


def _string(store: object, text: str) -> object:
    return store.types['std_msgs/msg/String'](data=text)  # type: ignore[attr-defined]


def _write_ros2(path: Path, plugin: StoragePlugin, count: int, *, compress: bool = False) -> None:
    writer = Ros2Writer(path, version=9, storage_plugin=plugin)
    if compress:
        writer.set_compression(CompressionMode.MESSAGE, CompressionFormat.ZSTD)
    with writer:
        strings = writer.add_connection('/chatter', 'std_msgs/msg/String', typestore=STORE)
        floats = writer.add_connection('/value', 'std_msgs/msg/Float64', typestore=STORE)
        for i in range(count):
            data = STORE.serialize_cdr(_string(STORE, f'hello {i}'), 'std_msgs/msg/String')
            writer.write(strings, 1_000 + i * 10, data)
            value = STORE.types['std_msgs/msg/Float64'](data=float(i))
            writer.write(floats, 1_005 + i * 10, STORE.serialize_cdr(value, 'std_msgs/msg/Float64'))


@pytest.mark.parametrize('plugin', [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
@pytest.mark.parametrize('compress', [False, True])
def test_generated_rosbag2(tmp_path: Path, plugin: StoragePlugin, compress: bool) -> None:
    path = tmp_path / 'generated.bag'
    _write_ros2(path, plugin, 50, compress=compress)
    with open_bag(path) as reader:
        assert reader.message_count == 100
        assert {c.topic: c.message_count for c in reader.connections} == {
            '/chatter': 50,
            '/value': 50,
        }
        store = reader.typestore()
        got = [(m.connection.topic, m.log_time_ns, _data(store, m)) for m in reader.messages()]
    assert got[0] == ('/chatter', 1_000, 'hello 0')
    assert got[1] == ('/value', 1_005, 0.0)
    assert got[-1] == ('/value', 1_495, 49.0)
    assert len(got) == 100


@pytest.mark.parametrize('compression', [None, 'bz2', 'lz4'])
def test_generated_ros1(tmp_path: Path, compression: str | None) -> None:
    path = tmp_path / 'generated.bag'
    writer = Ros1Writer(path)
    if compression:
        writer.set_compression(Ros1Writer.CompressionFormat[compression.upper()])
    with writer:
        conn = writer.add_connection('/chatter', 'std_msgs/msg/String', typestore=NOETIC)
        for i in range(300):
            data = NOETIC.serialize_ros1(_string(NOETIC, f'msg {i}'), 'std_msgs/msg/String')
            writer.write(conn, 10**9 + i, data)
    with open_bag(path) as reader:
        assert reader.message_count == 300
        (conn,) = reader.connections
        assert (conn.msgtype, conn.encoding, conn.schema_name) == (
            'std_msgs/msg/String',
            'ros1',
            'std_msgs/String',
        )
        assert conn.md5sum == '992ce8a1687cec8c8bd883ec73ca41d1'
        store = reader.typestore()
        texts = [deserialize(store, m).data for m in reader.messages()]  # type: ignore[attr-defined]
    assert texts == [f'msg {i}' for i in range(300)]


def _generated_mcap(tmp_path: Path, count: int = 40) -> Path:
    bag = tmp_path / 'src'
    _write_ros2(bag, StoragePlugin.MCAP, count)
    return next(bag.glob('*.mcap'))


def test_zero_byte_and_unknown_files(tmp_path: Path) -> None:
    empty = tmp_path / 'empty.mcap'
    empty.write_bytes(b'')
    with pytest.raises(BagFormatError, match='empty file') as info:
        open_bag(empty)
    assert str(empty) in str(info.value)
    junk = tmp_path / 'junk.bag'
    junk.write_bytes(b'PK\x03\x04 not a bag at all')
    with pytest.raises(BagFormatError, match='unknown format') as info:
        open_bag(junk)
    assert str(junk) in str(info.value)
    with pytest.raises(BagFormatError, match='no such file'):
        open_bag(tmp_path / 'absent.db3')
    (tmp_path / 'dir').mkdir()
    with pytest.raises(BagFormatError, match=r'without metadata\.yaml'):
        open_bag(tmp_path / 'dir')


def test_whole_file_zstd_mcap(tmp_path: Path) -> None:
    source = _generated_mcap(tmp_path)
    packed = tmp_path / 'copy.mcap.zstd'
    packed.write_bytes(zstandard.ZstdCompressor().compress(source.read_bytes()))
    with open_bag(packed) as reader:
        assert reader.path == packed
        got = list(reader.messages())
    assert len(got) == 80
    # Names point at the compressed original, never at the temporary copy.
    assert {m.connection.source_file for m in got} == {m.file for m in got} == {packed}


def test_truncated_mcap_reports_file_and_offset(tmp_path: Path) -> None:
    source = _generated_mcap(tmp_path, count=200)
    cut = tmp_path / 'cut.mcap'
    raw = source.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with open_bag(cut) as reader:
        got = list(reader.messages())
        assert got == [] or got[0].file == cut
        problems = [p for p in reader.problems if p.kind == 'truncated']
        assert problems
        assert all(p.file == cut and p.offset is not None for p in problems)
        assert any(f'offset {p.offset}' in str(p) for p in problems)
    with pytest.raises(BagCorruptError) as info:
        open_bag(cut, strict=True)
    assert info.value.file == cut
    assert info.value.offset is not None


def _write_mcap(
    path: Path,
    times: list[int],
    *,
    compression: CompressionType = CompressionType.NONE,
    chunk_size: int = 1 << 20,
    use_chunking: bool = True,
) -> None:
    """Write std_msgs/String messages with the mcap library (chunk CRCs on)."""
    with path.open('wb') as stream:
        writer = McapWriter(
            stream, chunk_size=chunk_size, compression=compression, use_chunking=use_chunking
        )
        writer.start(profile='ros2', library='test')
        schema = writer.register_schema('std_msgs/msg/String', 'ros2msg', b'string data\n')
        channel = writer.register_channel('/chatter', 'cdr', schema)
        for index, stamp in enumerate(times):
            data = STORE.serialize_cdr(_string(STORE, f'hello {index}'), 'std_msgs/msg/String')
            writer.add_message(channel, log_time=stamp, data=bytes(data), publish_time=stamp)
        writer.finish()


@pytest.mark.parametrize(
    ('compression', 'use_chunking'),
    [(CompressionType.LZ4, True), (CompressionType.ZSTD, True), (CompressionType.NONE, False)],
)
def test_mcap_layouts_and_out_of_order_chunks(
    tmp_path: Path, compression: CompressionType, use_chunking: bool
) -> None:
    path = tmp_path / 'layout.mcap'
    # Chunks of ~10 messages whose time ranges interleave: 0..900, then 5..905, ...
    times = [t * 100 + shift for shift in range(0, 50, 5) for t in range(10)]
    _write_mcap(path, times, compression=compression, chunk_size=300, use_chunking=use_chunking)
    with open_bag(path) as reader:
        got = [m.log_time_ns for m in reader.messages()]
        assert reader.message_count == len(times)
        if use_chunking:
            assert got == sorted(times)
            assert len({m.offset for m in reader.messages()}) > 3
        else:
            # Unchunked data has no index to merge with: best effort, reported.
            assert sorted(got) == sorted(times)
            assert {p.kind for p in reader.problems} == {'unordered'}


def test_flipped_byte_in_chunk_fails_crc(tmp_path: Path) -> None:
    source = tmp_path / 'good.mcap'
    _write_mcap(source, list(range(0, 60_000, 1000)), chunk_size=400)
    with open_bag(source) as reader:
        per_chunk = Counter(m.offset for m in reader.messages())
    assert len(per_chunk) > 2
    raw = bytearray(source.read_bytes())
    flip = raw.index(b'hello 7')
    chunk_offset = max(o for o in per_chunk if o < flip)
    raw[flip] ^= 0x20
    damaged = tmp_path / 'flipped.mcap'
    damaged.write_bytes(bytes(raw))
    with open_bag(damaged) as reader:
        texts = [deserialize(STORE, m).data for m in reader.messages()]  # type: ignore[attr-defined]
        (problem,) = reader.problems
        assert (problem.kind, problem.file, problem.offset, problem.lost) == (
            'corrupt',
            damaged,
            chunk_offset,
            per_chunk[chunk_offset],
        )
        assert 'CRC' in str(problem)
        assert f'offset {chunk_offset}' in str(problem)
    assert len(texts) == 60 - per_chunk[chunk_offset]
    assert 'hello 7' not in texts
    assert 'hello 59' in texts
    with open_bag(damaged, strict=True) as reader, pytest.raises(BagCorruptError) as info:
        list(reader.messages())
    assert (info.value.file, info.value.offset) == (damaged, chunk_offset)
    assert f'offset {chunk_offset}' in str(info.value)


def test_split_bag_with_missing_and_unlisted_files(tmp_path: Path) -> None:
    bag = tmp_path / 'bag'
    _write_ros2(bag, StoragePlugin.SQLITE3, 10)
    (db3,) = bag.glob('*.db3')
    shutil.copy(db3, bag / 'stray.db3')
    with open_bag(bag) as reader:
        assert sum(1 for _ in reader.messages()) == 20
        (stray,) = reader.problems
        assert (stray.kind, stray.file, stray.lost) == ('mismatch', bag / 'stray.db3', 0)
    db3.unlink()
    with pytest.raises(BagMissingFileError, match=db3.name):
        open_bag(bag)


def test_definition_using_an_unknown_type_names_it() -> None:
    definition = 'my_pkg/Part part\nfloat64 weight\n'
    info = TopicInfo('/part', 'my_pkg/msg/Box', 'cdr', msgdef=definition, msgdef_encoding='ros2msg')
    resolution = resolve_types([info])
    reason = "definition of my_pkg/msg/Box refers to an unknown type: 'my_pkg/msg/Part'"
    assert resolution.unknown == {'my_pkg/msg/Box': reason}


def test_msg_paths_define_custom_types(tmp_path: Path) -> None:
    pkg = tmp_path / 'defs' / 'my_pkg' / 'msg'
    pkg.mkdir(parents=True)
    (pkg / 'Reading.msg').write_text('std_msgs/Header header\nfloat32[3] xyz\nstring note\n')
    info = TopicInfo('/reading', normalize_msgtype('my_pkg/Reading'), 'cdr')
    bare = resolve_types([info])
    reason = 'type my_pkg/msg/Reading is in no definition source'
    assert bare.unknown == {'my_pkg/msg/Reading': reason}
    resolved = resolve_types([info], distro='jazzy', msg_paths=[tmp_path / 'defs'])
    assert resolved.unknown == {}
    store = resolved.typestore
    msg_cls = store.types['my_pkg/msg/Reading']
    header = store.types['std_msgs/msg/Header'](
        stamp=store.types['builtin_interfaces/msg/Time'](sec=3, nanosec=4), frame_id='f'
    )
    raw = store.serialize_cdr(
        msg_cls(header=header, xyz=np.array([1, 2, 3], dtype=np.float32), note='n'),
        'my_pkg/msg/Reading',
    )
    back = store.deserialize_cdr(raw, 'my_pkg/msg/Reading')
    assert (back.header.stamp.sec, back.xyz.tolist(), back.note) == (3, [1.0, 2.0, 3.0], 'n')
