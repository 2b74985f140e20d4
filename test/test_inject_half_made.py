"""Nothing half-made by inject: empty runs, interruptions, --update and --resume (issue 10).

Each case is checked afterwards with the official SDK: every sequence it
lists opens, and no empty or unfinished sequence blocks a retry.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.cli import main
from mosaico_ros.demo.recording import IMU_TOPIC, RecordingSpec, write_recording
from mosaico_ros.pipeline.report import SequenceStatus
from mosaico_ros.pipeline.selection import TopicSelection

SPEC = RecordingSpec(duration_s=2.0)


@pytest.fixture
def client(server: Any) -> Any:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def sdk_sequences(port: int) -> dict[str, list[str]]:
    """Every sequence the official SDK lists, with its topics (each handler must open)."""
    from mosaicolabs import MosaicoClient as PeerClient

    with PeerClient.connect(host='127.0.0.1', port=port) as sdk:
        found = {}
        for name in sdk.list_sequences():
            handler = sdk.sequence_handler(name)
            assert handler is not None, name
            for topic in handler.topics:
                assert sdk.topic_handler(name, topic) is not None, (name, topic)
            found[name] = sorted(handler.topics)
        return found


def test_runs_that_store_nothing_create_no_sequence(
    client: Any, server: Any, bags_dir: Path, tmp_path: Path
) -> None:
    empty = Injector(client, InjectOptions(sequence='empty')).inject(
        bags_dir / 'ros2_db3' / 'rosbag2_empty_bag'
    )
    assert empty.status is SequenceStatus.EMPTY
    assert empty.clean
    assert 'no message in the bag: no sequence was created' in empty.notes
    bag = write_recording(tmp_path / 'drive', 'mcap', SPEC).path
    outside = Injector(client, InjectOptions(sequence='outside', start_ns=1, end_ns=2)).inject(bag)
    assert outside.status is SequenceStatus.EMPTY
    assert 'no message in the time window: no sequence was created' in outside.notes
    failing = Injector(client, InjectOptions(sequence='failing')).inject(
        bags_dir / 'odd' / 'plotjuggler_test_bad_schema.mcap'
    )
    assert failing.status in (SequenceStatus.FAILED, SequenceStatus.PARTIAL)
    assert sdk_sequences(server.port).keys() <= {'failing'}
    assert 'empty' not in sdk_sequences(server.port)

    runner = CliRunner()
    store = tmp_path / 'cli_store'
    result = runner.invoke(
        main, ['inject', str(bag), '--store', str(store), '--start', '1', '--end', '2']
    )
    assert result.exit_code == 0, result.output
    assert 'warning: no message in the time window' in result.output


def _serve(store: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, '-m', 'mosaico_ros', 'serve', '--store', str(store), '--port', str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(('127.0.0.1', port)) == 0:
                return process, port
        time.sleep(0.1)
    raise AssertionError('serve did not start')


def _wait_until_uploading(store: Path, timeout: float = 60.0) -> None:
    """Wait until the server holds an upload session (pending sessions are invisible to clients,
    so the server's own catalog is read, read-only)."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f'file:{store / "catalog.sqlite"}?mode=ro', uri=True) as db:
                if db.execute('SELECT COUNT(*) FROM topics').fetchone()[0]:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    raise AssertionError('the inject never started uploading')


@pytest.mark.parametrize('policy', ['delete', 'report'])
@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_inject_applies_its_error_policy(
    tmp_path: Path, policy: str, sig: int
) -> None:
    spec = RecordingSpec(duration_s=60.0, image_width=320, image_height=240)
    bag = write_recording(tmp_path / 'long', 'mcap', spec).path
    server, port = _serve(tmp_path / 'store')
    try:
        inject = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'mosaico_ros',
                'inject',
                str(bag),
                '--sequence',
                'cut',
                '--host',
                '127.0.0.1',
                '--port',
                str(port),
                '--on-error',
                policy,
                '--jobs',
                '0',
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        _wait_until_uploading(tmp_path / 'store')  # mid-run: its first topic is uploading
        inject.send_signal(sig)
        out, _ = inject.communicate(timeout=120)
        text = out.decode(errors='replace')
        assert inject.returncode == 130, text
        assert 'interrupted' in text
        listed = sdk_sequences(port)
        if policy == 'delete':
            assert 'cut' not in listed, text
            retry = subprocess.run(
                [
                    sys.executable,
                    '-m',
                    'mosaico_ros',
                    'inject',
                    str(bag),
                    '--sequence',
                    'cut',
                    '--host',
                    '127.0.0.1',
                    '--port',
                    str(port),
                    '--start',
                    '0',
                    '--end',
                    str(spec.start_ns + 1_000_000_000),
                ],
                capture_output=True,
                check=False,
            )
            assert retry.returncode == 0, retry.stdout.decode()
            assert 'cut' in sdk_sequences(port)
        else:
            assert 'cut' in listed, text  # finalized with what it stored, and it opens
            assert listed['cut']
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_update_names_the_topics_it_holds_already_and_resume_adds_the_rest(
    client: Any, server: Any, tmp_path: Path
) -> None:
    bag = write_recording(tmp_path / 'drive', 'db3', SPEC).path
    first = Injector(
        client, InjectOptions(sequence='drive', selection=TopicSelection(topics=[IMU_TOPIC]))
    ).inject(bag)
    assert first.status is SequenceStatus.STORED
    sessions = len(client.sequence_handler('drive').sessions)

    clash = Injector(client, InjectOptions(sequence='drive', update=True)).inject(bag)
    assert clash.status is SequenceStatus.FAILED
    assert f'holds {IMU_TOPIC} already' in (clash.error or '')
    assert len(client.sequence_handler('drive').sessions) == sessions, 'nothing was created'

    resumed = Injector(client, InjectOptions(sequence='drive', resume=True)).inject(bag)
    assert resumed.status is SequenceStatus.STORED, resumed.problems()
    assert resumed.topics[IMU_TOPIC].note == 'stored already (800 rows)'
    assert resumed.topics[IMU_TOPIC].stored == 0
    handler = client.sequence_handler('drive')
    assert len(handler.sessions) == sessions + 1
    assert sorted(handler.topics) == sorted(SPEC.counts())
    assert sdk_sequences(server.port)['drive'] == sorted(SPEC.counts())


@pytest.mark.usefixtures('wide_console')
def test_the_summary_names_topics_as_stored(bags_dir: Path, tmp_path: Path) -> None:
    bag = bags_dir / 'mcap_other' / 'lichtblick_example_logs.mcap'
    result = CliRunner().invoke(main, ['inject', str(bag), '--store', str(tmp_path / 'store')])
    assert '│ /mouse ' in result.output, result.output
    assert 'name sanitized' not in result.output
