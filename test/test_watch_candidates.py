"""What `watch` takes for a bag, when it is ready, and how it is recognised after a rename."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mosaico_ros.watch.candidates import find_candidates, fingerprint, not_ready_because
from mosaico_ros.watch.state import WatchState, default_state_path

METADATA = """rosbag2_bagfile_information:
  version: 5
  storage_identifier: mcap
  relative_file_paths:
    - {name}
  message_count: 0
  topics_with_message_count: []
"""


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for file in [path, *path.rglob('*')] if path.is_dir() else [path]:
        os.utime(file, (then, then))


def test_candidates_and_readiness(tmp_path: Path) -> None:
    (tmp_path / 'a.mcap').write_bytes(b'one')
    (tmp_path / 'notes.txt').write_text('not a bag')
    (tmp_path / '.partial.mcap').write_bytes(b'rsync temp')
    (tmp_path / 'deep' / 'er').mkdir(parents=True)
    (tmp_path / 'deep' / 'er' / 'b.BAG').write_bytes(b'two')
    recording = tmp_path / 'rec'
    recording.mkdir()
    (recording / 'rec_0.mcap').write_bytes(b'three')
    loose = tmp_path / 'loose'
    loose.mkdir()
    (loose / 'x.db3').write_bytes(b'four')

    found = {c.relative: c for c in find_candidates(tmp_path)}
    assert sorted(found) == ['a.mcap', 'deep/er/b.BAG', 'loose/x.db3', 'rec']
    assert found['rec'].is_dir
    assert [c.relative for c in find_candidates(tmp_path, ['*.mcap', 'deep/*'])] == ['a.mcap']
    assert [c.relative for c in find_candidates(tmp_path, ['er/*.BAG'])] == ['deep/er/b.BAG']

    now = time.time()
    assert 'still being written' in (not_ready_because(found['a.mcap'], 5, now) or '')
    assert not_ready_because(found['a.mcap'], 0, now) is None
    assert 'metadata.yaml is not written yet' in (not_ready_because(found['rec'], 0, now) or '')
    (recording / 'metadata.yaml').write_text(METADATA.format(name='rec_0.mcap')[:60])
    assert 'metadata.yaml is incomplete' in (not_ready_because(found['rec'], 0, now) or '')
    (recording / 'metadata.yaml').write_text(METADATA.format(name='rec_1.mcap'))
    assert 'lists rec_1.mcap, not there yet' in (not_ready_because(found['rec'], 0, now) or '')
    (recording / 'metadata.yaml').write_text(METADATA.format(name='rec_0.mcap'))
    assert not_ready_because(found['rec'], 0, time.time()) is None
    assert not_ready_because(found['rec'], 60, time.time()) is not None
    _age(recording, 120)
    # Setting old times changes the status-change time: a preserved mtime does not hide a copy.
    assert not_ready_because(found['rec'], 60, time.time()) is not None


def test_fingerprint_follows_content_not_names(tmp_path: Path) -> None:
    (tmp_path / 'a.mcap').write_bytes(b'x' * 3_000_000)
    (tmp_path / 'rec').mkdir()
    (tmp_path / 'rec' / 'rec_0.mcap').write_bytes(b'payload')
    (tmp_path / 'rec' / 'metadata.yaml').write_text(METADATA.format(name='rec_0.mcap'))
    before = {c.relative: fingerprint(c) for c in find_candidates(tmp_path)}
    (tmp_path / 'a.mcap').rename(tmp_path / 'renamed.mcap')
    (tmp_path / 'rec').rename(tmp_path / 'moved')
    after = {c.relative: fingerprint(c) for c in find_candidates(tmp_path)}
    assert after == {'renamed.mcap': before['a.mcap'], 'moved': before['rec']}
    (tmp_path / 'moved' / 'rec_0.mcap').write_bytes(b'payloaD')
    assert fingerprint(next(c for c in find_candidates(tmp_path) if c.is_dir)) != before['rec']


def test_state_survives_and_is_per_folder_and_target(tmp_path: Path) -> None:
    env = {'XDG_STATE_HOME': str(tmp_path / 'state')}
    path = default_state_path(tmp_path / 'inbox', 'store /s', env)
    assert path.parent == tmp_path / 'state' / 'mosaico_ros' / 'watch'
    assert path != default_state_path(tmp_path / 'inbox', 'grpc://h:6726', env)
    state = WatchState(path)
    state.mark_ingested('aa', 'a.mcap', 'a')
    state.quarantine('bb', 'b.bag', 'truncated at offset 4117')
    again = WatchState(path)
    assert again.ingested['aa'].sequence == 'a'
    assert again.quarantined['bb'].reason == 'truncated at offset 4117'
    assert [entry.path for entry in again.release_quarantine()] == ['b.bag']
    assert WatchState(path).quarantined == {}
    assert list(path.parent.iterdir()) == [path]
