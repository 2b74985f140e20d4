"""`mosaico-ros watch` as a service: bags copied in while it runs, restarts, SIGTERM.

Checked afterwards with the official SDK: every good bag is stored exactly
once, whole; the broken one is quarantined with its reason.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli_helpers import clean_env, sdk_contents, serve

SAMPLE = ('ros2_mcap', 'tiryoh_test_sample.mcap')
TALKER = ('ros2_db3', 'rosbag2_talker')
RAZOR = ('ros1', 'imu_tools_sparkfun_razor.bag')
BROKEN = ('odd', 'tiryoh_test_truncated.bag')
LARGE = ('ros1', 'evo_ROS_example.bag')


class Service:
    """A running `mosaico-ros watch` whose output lines can be waited for."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'mosaico_ros', 'watch', *args],
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip('\n'))

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        """Return the first line of the output matching `pattern` (a regex), waiting for it."""
        for line in self.lines:
            if re.search(pattern, line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self._queue.empty():
                    break
                continue
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(
            f'no line matching {pattern!r}; output so far:\n' + '\n'.join(self.lines)
        )

    def stop(self) -> int:
        """SIGTERM, then wait; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER=1: dump stacks
            self.process.wait(timeout=30)
            self._reader.join(timeout=10)
            while not self._queue.empty():
                self.lines.append(self._queue.get())
            raise AssertionError('no exit after SIGTERM:\n' + '\n'.join(self.lines)) from None
        self._reader.join(timeout=10)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return status


@contextmanager
def _growing(path: Path, content: bytes) -> Iterator[list[int]]:
    """Write `content` slowly (1 kB every 0.2 s) for as long as the block runs.

    Yields a one-element list holding how many bytes are written so far.
    """
    written = [0]
    done = threading.Event()

    def write() -> None:
        with path.open('wb') as stream:
            while not done.is_set() and written[0] < len(content):
                stream.write(content[written[0] : written[0] + 1024])
                stream.flush()
                written[0] += 1024
                done.wait(0.2)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield written
    finally:
        done.set()
        writer.join()


@contextmanager
def watching(args: list[str], env: dict[str, str]) -> Iterator[Service]:
    service = Service(args, env)
    try:
        yield service
    finally:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=30)


def _rosbag2_recording(source: Path, folder: Path) -> tuple[Path, str]:
    """Lay out `source` as `ros2 bag record` does: storage files first, metadata.yaml last."""
    folder.mkdir()
    (storage,) = source.glob('*.db3')
    name = f'{folder.name}_0.db3'
    shutil.copyfile(storage, folder / name)
    metadata = (source / 'metadata.yaml').read_text().replace(storage.name, name)
    return folder / 'metadata.yaml', metadata


def test_watch_ingests_each_good_bag_once_across_restarts(tmp_path: Path, bags_dir: Path) -> None:
    env = clean_env(tmp_path / 'home')
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    with serve(tmp_path / 'store', env) as port:
        args = [str(inbox), '--host', f'127.0.0.1:{port}', '--min-age', '1', '--interval', '0.2']
        with watching(args, env) as service:
            service.wait_for(r'Watching .* 0 bag\(s\) ingested before, 0 quarantined')
            shutil.copyfile(bags_dir.joinpath(*SAMPLE), inbox / 'sample.mcap')
            (inbox / 'runs').mkdir()
            shutil.copyfile(bags_dir.joinpath(*BROKEN), inbox / 'runs' / 'broken.bag')
            metadata, complete = _rosbag2_recording(
                bags_dir.joinpath(*TALKER), inbox / 'runs' / 'talker'
            )
            metadata.write_text(
                ''.join(complete.splitlines(keepends=True)[:9])
            )  # rosbag2 still writing it
            razor = bags_dir.joinpath(*RAZOR).read_bytes()
            with _growing(inbox / 'razor.bag', razor) as written:
                assert 'ingested sample.mcap' in service.wait_for(r'ingested sample\.mcap')
                assert 'quarantined runs/broken.bag' in service.wait_for(
                    r'quarantined runs/broken\.bag'
                )
                service.wait_for(r'waiting runs/talker: its metadata.yaml is incomplete')
                service.wait_for(r'waiting razor\.bag: it changed')
                time.sleep(2)
                assert sorted(sdk_contents(port)) == ['sample']
            assert service.stop() == 0
            assert not any('ingesting razor' in line for line in service.lines)
        assert 'stopped: 1 ingested, 0 already stored, 0 failed, 1 quarantined' in service.lines[-1]

        # While it is down, the recording ends and the copy completes; a renamed copy of an
        # ingested bag arrives too.
        metadata.write_text(complete)
        with (inbox / 'razor.bag').open('ab') as rest:
            rest.write(razor[written[0] :])
        shutil.copyfile(inbox / 'sample.mcap', inbox / 'sample_again.mcap')
        shutil.copytree(bags_dir / 'ros2_db3' / 'rosbag2_empty_bag', inbox / 'empty')

        with watching(args, env) as service:
            service.wait_for(r'1 bag\(s\) ingested before, 1 quarantined')
            assert 'quarantined runs/broken.bag' in service.wait_for(
                r'quarantined runs/broken\.bag \('
            )
            service.wait_for(r'ingested razor\.bag')
            service.wait_for(r'ingested runs/talker')
            service.wait_for(r'ingested empty: nothing to store: no sequence made')
            duplicate = r'already stored sample_again\.mcap: same content as sample\.mcap'
            assert service.wait_for(duplicate).endswith('in sequence sample')
            time.sleep(1.5)  # a few more scans: nothing else may happen
            assert service.stop() == 0
        assert 'stopped: 3 ingested, 1 already stored, 0 failed, 0 quarantined' in service.lines[-1]
        assert not any('ingesting sample_again' in line for line in service.lines)

        contents = sdk_contents(port)
        assert sorted(contents) == ['razor', 'runs_talker', 'sample']
        assert sum(contents['sample'].values()) == 14
        assert contents['runs_talker'] == {'/rosout': 10, '/topic': 10}
        assert sum(contents['razor'].values()) == 4288

        # The quarantine list is in the state file with its reason.
        (state_file,) = (tmp_path / 'home' / '.local' / 'state' / 'mosaico_ros' / 'watch').glob(
            '*.json'
        )
        state = state_file.read_text()
        assert 'runs/broken.bag' in state
        assert 'truncated' in state


def test_sigterm_finishes_the_bag_in_progress_or_abandons_it(
    tmp_path: Path, bags_dir: Path
) -> None:
    """On a local store, served in-process: SIGTERM must not take the server down mid-bag."""
    env = clean_env(tmp_path / 'home')
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    shutil.copyfile(bags_dir.joinpath(*LARGE), inbox / 'large.bag')
    store = tmp_path / 'store'
    args = [str(inbox), '--store', str(store), '--min-age', '0']
    with watching([*args, '--stop-grace', '0'], env) as service:
        service.wait_for(r'ingesting large\.bag')
        time.sleep(0.5)
        assert service.stop() == 0
    abandoned = any('abandoned large.bag' in line for line in service.lines)
    assert abandoned or any('ingested large.bag' in line for line in service.lines)

    with watching([*args, '--stop-grace', '60'], env) as service:
        if abandoned:
            service.wait_for(r'ingesting large\.bag')
            time.sleep(0.5)
        assert service.stop() == 0
    assert 'error' not in '\n'.join(service.lines).lower()
    assert any('ingested large.bag: 26566 message(s)' in line for line in service.lines)

    with serve(store, env) as port:
        contents = sdk_contents(port)
        assert sorted(contents) == ['large']
        assert sum(contents['large'].values()) == 26566
        # Shares the store with serve; remembers the bag across restarts.
        with watching([*args, '--once'], env) as service:
            assert service.process.wait(timeout=120) == 0
            service.stop()
        assert 'done: 0 ingested' in service.lines[-1]
        assert sorted(sdk_contents(port)) == ['large']


def test_a_killed_run_leaves_one_whole_sequence_and_one_watcher_per_state(
    tmp_path: Path, bags_dir: Path
) -> None:
    env = clean_env(tmp_path / 'home')
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    shutil.copyfile(bags_dir.joinpath(*LARGE), inbox / 'large.bag')
    with serve(tmp_path / 'store', env) as port:
        args = [str(inbox), '--host', f'127.0.0.1:{port}', '--min-age', '0']
        with watching(args, env) as killed:
            killed.wait_for(r'ingesting large\.bag')
            time.sleep(1.0)
            os.killpg(killed.process.pid, signal.SIGKILL)  # its conversion workers too
            killed.process.wait(timeout=30)
        with watching(args, env) as first:
            # The killed run may have finished the bag before the kill reached it.
            first.wait_for(
                r'ingested large\.bag|already stored large\.bag|1 bag\(s\) ingested before'
            )
            with watching([*args, '--once'], env) as second:
                assert second.process.wait(timeout=60) == 1
                second.stop()
            assert 'another mosaico-ros watch is using' in '\n'.join(second.lines)
            assert first.stop() == 0
        contents = sdk_contents(port)
        assert sorted(contents) == ['large']
        assert sum(contents['large'].values()) == 26566


def test_the_unfinished_sequence_of_a_killed_run_is_removed(tmp_path: Path, bags_dir: Path) -> None:
    """As a run killed mid-bag leaves it: journalled as pending, its session never finalized."""
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.protocol import Action
    from mosaico_ros.watch import WatchState, default_state_path
    from mosaico_ros.watch.candidates import find_candidates, fingerprint

    env = clean_env(tmp_path / 'home')
    inbox = tmp_path / 'inbox'
    inbox.mkdir()
    shutil.copyfile(bags_dir.joinpath(*SAMPLE), inbox / 'sample.mcap')
    (candidate,) = find_candidates(inbox)
    digest = fingerprint(candidate)
    with serve(tmp_path / 'store', env) as port:
        target = f'grpc://127.0.0.1:{port}'
        state = WatchState(default_state_path(inbox, target, env))
        state.begin(digest, 'sample.mcap', 'sample')
        with MosaicoClient.connect('127.0.0.1', port) as client:
            body = {'locator': 'sample', 'user_metadata': {'source_sha256': digest}}
            client.connection.action(Action.SEQUENCE_CREATE, body)
            client.connection.action(Action.SESSION_CREATE, {'locator': 'sample'})
        with watching(
            [str(inbox), '--host', f'127.0.0.1:{port}', '--min-age', '0', '--once'], env
        ) as once:
            assert once.process.wait(timeout=60) == 0
            once.stop()
        output = '\n'.join(once.lines)
        assert (
            'cleaned up sample.mcap: removed sequence sample, left unfinished by a killed run'
            in output
        )
        assert 'ingested sample.mcap' in output
        contents = sdk_contents(port)
        assert sorted(contents) == ['sample']
        assert sum(contents['sample'].values()) == 14
        assert WatchState(state.path).pending == {}
