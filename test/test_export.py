"""Export round trip on every shared bag that injects: bag -> Mosaico -> bag, read back by rosbags.

Each bag of ``../shared/data/bags`` that stores anything is exported as a
bare MCAP, as a rosbag2 directory with sqlite3 storage, and, when it was a
ROS 1 bag, as a ROS 1 bag. rosbags reads each export: the same topics, the
same counts, the same timestamps, and messages equal to the source's (as our
bag readers and the injector's typestore decode it) field by field, but for
the documented lossy conventions (`replay_support.LOSSY`) and the ROS 1
header sequence number (adapters store it as `sample_counter` but do not
restore it; ROS 2 has none). Topic names come back absolute (``foo`` as
``/foo``): Mosaico names topics with a leading slash.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from replay_support import assert_equal_messages
from test_adapters_support import plain

from mosaico_ros.bags.export import ExportError, ExportOptions, export_sequence
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.pipeline.selection import TopicSelection

REPO = Path(__file__).resolve().parents[1]
INVENTORY = (
    Path(os.environ.get('MOSAICO_SHARED', REPO.parent / 'shared')) / 'data/bags/inventory.json'
)


def _entries() -> list[Any]:
    if not INVENTORY.exists():
        return [pytest.param(None, id='no-shared')]
    bags = json.loads(INVENTORY.read_text())['bags']
    return [pytest.param(bag, id=bag['path']) for bag in bags if bag['message_count']]


@pytest.fixture(scope='module')
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    store = tmp_path_factory.mktemp('export_store')
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as connected,
    ):
        yield connected


def exported_messages(path: Path) -> dict[str, list[tuple[int, str, Any]]]:
    """An export as rosbags reads it: topic -> (log time, type, plain message).

    rosbags cannot parse a service event's definition as rosbag2 records it
    (the ``.srv`` text; it cannot read the source bags either): such a bag is
    read with our reader instead.
    """
    from rosbags.highlevel import AnyReader, AnyReaderError

    out: dict[str, list[tuple[int, str, Any]]] = {}
    try:
        with AnyReader([path]) as reader:
            for conn, stamp, raw in reader.messages():
                msg = reader.deserialize(raw, conn.msgtype)
                out.setdefault(conn.topic, []).append((stamp, conn.msgtype, plain(msg)))
    except AnyReaderError as err:
        if '_Event' not in str(err):
            raise
        return {
            topic: [(stamp, msgtype, msg) for stamp, msg in messages]
            for topic, (msgtype, messages) in our_reading(path).items()
        }
    return out


def our_reading(path: Path) -> dict[str, tuple[str, list[tuple[int, Any]]]]:
    """A bag as our readers and the injector's typestore decode it: topic -> (type, messages)."""
    from mosaico_ros.bags import open_bag
    from mosaico_ros.bags.source import topic_info
    from mosaico_ros.pipeline.types import resolve_types

    out: dict[str, tuple[str, list[tuple[int, Any]]]] = {}
    with open_bag(path) as reader:
        infos = [topic_info(conn, path) for conn in reader.connections]
        store = resolve_types(infos).typestore
        for message in reader.messages(reader.connections):
            conn = message.connection
            if conn.encoding not in ('cdr', 'ros1'):
                continue
            decode = store.deserialize_ros1 if conn.encoding == 'ros1' else store.deserialize_cdr
            try:
                msg = plain(decode(message.data, conn.msgtype))
            except Exception:  # rosbags' definition does not fit the bytes (an old distro's Log)
                msg = None
            out.setdefault(conn.topic, (conn.msgtype, []))[1].append((message.log_time_ns, msg))
    return out


def without_seq(message: Any) -> Any:
    """A message without header sequence numbers (ROS 1 only, not restored)."""
    if isinstance(message, dict):
        return {k: without_seq(v) for k, v in message.items() if k != 'seq'}
    if isinstance(message, list):
        return [without_seq(v) for v in message]
    return message


def absolute(topic: str) -> str:
    return topic if topic.startswith('/') else f'/{topic}'


@pytest.mark.parametrize('entry', _entries())
def test_export_round_trip(
    entry: dict[str, Any] | None, bags_dir: Path, client: Any, tmp_path: Path
):
    assert entry is not None
    path = bags_dir / entry['path']
    sequence = re.sub(r'[^A-Za-z0-9_-]', '_', entry['path'])
    injected = Injector(client, InjectOptions(sequence=sequence)).inject(path)
    stored = {name: t for name, t in injected.topics.items() if t.stored}
    if not stored:
        pytest.skip(f'{entry["path"]} stores nothing')
    ros1 = entry['format'] == 'ros1-bag'
    source = {absolute(name): messages for name, (_, messages) in our_reading(path).items()}
    stored = {absolute(name): topic for name, topic in stored.items()}
    ros = {name for name in stored if name in source}
    outputs = [tmp_path / 'out.mcap', tmp_path / 'out_db3']
    if ros1:
        outputs.append(tmp_path / 'out.bag')
    if not ros:  # only JSON or protobuf channels: nothing that a ROS bag holds
        with pytest.raises(ExportError, match='no ROS adapter'):
            export_sequence(client, sequence, outputs[0])
        return
    for out in outputs:
        fmt = 'db3' if out.name == 'out_db3' else None
        report = export_sequence(client, sequence, out, ExportOptions(format=fmt))
        back = exported_messages(out)
        # every ROS topic comes back; a non-ROS channel (JSON, protobuf) is named as not exported
        assert set(back) == ros, out.name
        for name in set(stored) - ros:
            assert not report.topics[name].ingest, name
            assert 'no ROS adapter' in report.topics[name].note
        for name in ros:
            got = back[name]
            assert len(got) == stored[name].stored, f'{out.name} {name}'
            if stored[name].stored != stored[name].received:
                continue  # the injector skipped some (its report says why): compare counts only
            want = source[name]
            assert [stamp for stamp, _, _ in got] == [stamp for stamp, _ in want], name
            if any(msg is None for _, msg in want):
                continue  # rosbags cannot decode the source: compare times only
            msgtype = got[0][1]
            have = [msg for _, _, msg in got]
            expected = [msg for _, msg in want]
            if ros1:
                have, expected = [without_seq(m) for m in have], [without_seq(m) for m in expected]
            assert_equal_messages(msgtype, have, expected, f'{out.name} {name}')


def test_export_options_and_errors(bags_dir: Path, client: Any, tmp_path: Path) -> None:
    path = bags_dir / 'ros2_mcap' / 'evo_nav2_turtlebot.mcap'
    Injector(client, InjectOptions(sequence='nav2')).inject(path)
    first = client.topic_handler('nav2', '/odom').timestamp_ns_min
    window = ExportOptions(
        selection=TopicSelection(regex=('^/(odom|tf_static)$',)),
        start_ns=first + 10**9,
        end_ns=first + 3 * 10**9,
    )
    export_sequence(client, 'nav2', tmp_path / 'window.mcap', window)
    back = exported_messages(tmp_path / 'window.mcap')
    assert set(back) == {'/odom'}
    stamps = [stamp for stamp, _, _ in back['/odom']]
    assert first + 10**9 <= stamps[0]
    assert stamps[-1] < first + 3 * 10**9
    # the recorded QoS goes with the topics: /tf_static stays latched
    export_sequence(client, 'nav2', tmp_path / 'qos.mcap', ExportOptions())
    from mcap.reader import make_reader

    with (tmp_path / 'qos.mcap').open('rb') as handle:
        channels = make_reader(handle).get_summary().channels.values()
        qos = {channel.topic: channel.metadata['offered_qos_profiles'] for channel in channels}
    assert 'durability: transient_local' in qos['/tf_static']
    with pytest.raises(ExportError, match='exists'):
        export_sequence(client, 'nav2', tmp_path / 'qos.mcap')
    with pytest.raises(ExportError, match='no sequence'):
        export_sequence(client, 'nope', tmp_path / 'nope.mcap')
    with pytest.raises(ExportError, match='inside a rosbag2 directory'):
        export_sequence(client, 'nav2', tmp_path / 'x.db3')
    assert not list(tmp_path.glob('.*')), 'nothing half-written is left behind'


def test_export_command(bags_dir: Path, tmp_path: Path) -> None:
    from mosaico_ros.cli import main
    from mosaico_ros.connect import Target, open_client

    store = tmp_path / 'store'
    with open_client(Target(store=store)) as connected:
        Injector(connected, InjectOptions(sequence='talker')).inject(
            bags_dir / 'ros2_db3' / 'rosbag2_talker'
        )
    out = tmp_path / 'talker'
    result = CliRunner().invoke(
        main,
        ['export', 'talker', str(out), '--store', str(store), '--format', 'db3', '-x', 'rosout'],
    )
    assert result.exit_code == 0, result.output
    assert '10 of 10 message(s) written' in result.output
    assert (out / 'metadata.yaml').is_file()
    assert set(exported_messages(out)) == {'/topic'}
    refused = CliRunner().invoke(
        main,
        ['export', 'talker', str(tmp_path / 't.bag'), '--store', str(store), '--format', 'mcap'],
    )
    assert refused.exit_code == 1
    assert 'names a ROS 1 bag, but --format is mcap' in refused.output
