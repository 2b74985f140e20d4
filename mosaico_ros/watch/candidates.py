"""What a watched folder holds: bags, whether each is complete, and its content hash.

A *candidate* is a bag file (`.mcap`, `.db3`, `.bag`) or a rosbag2
directory (a directory holding `metadata.yaml`, whose files are one bag).
A directory holding `<name>_<N>.db3|.mcap` files but no `metadata.yaml` is
a rosbag2 recording still in progress: it is a candidate that is not ready.
Hidden entries (`.name`, as rsync and many tools use for partial copies)
are ignored.

A candidate is *ready* once it stopped changing for `min_age` seconds (its
files' newest modification or status-change time; a copy that preserves the
original modification time still changes the status-change time) and, for a
rosbag2 directory, once `metadata.yaml` is complete: it parses and every
file it lists exists.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BAG_SUFFIXES = ('.mcap', '.db3', '.bag')
"""File suffixes that make a file a candidate."""

_SPLIT_FILE = re.compile(r'^(?P<stem>.+)_\d+\.(?:db3|mcap)(?:\.zstd)?$')
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Candidate:
    """A bag in the watched folder.

    Attributes:
        path: Where it is.
        relative: Its path relative to the watched folder, with `/`.
        is_dir: Whether it is a rosbag2 directory.

    """

    path: Path
    relative: str
    is_dir: bool

    def files(self) -> list[Path]:
        """Its regular files, sorted by path (the file itself for a bag file)."""
        if not self.is_dir:
            return [self.path]
        return sorted(p for p in self.path.rglob('*') if p.is_file())


def find_candidates(root: Path, globs: Iterable[str] = ()) -> list[Candidate]:
    """List the bags under `root`, sorted by relative path.

    Args:
        root: The watched folder.
        globs: If any, only candidates whose relative path matches one of
            them (matched from the right, so `*.mcap` matches at any depth).

    Returns:
        The candidates.

    """
    patterns = list(globs)
    found = [
        candidate
        for candidate in _walk(root, root)
        if not patterns or any(PurePosixPath(candidate.relative).match(p) for p in patterns)
    ]
    return sorted(found, key=lambda c: c.relative)


def _walk(root: Path, folder: Path) -> Iterator[Candidate]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith('.'):
            continue
        relative = entry.relative_to(root).as_posix()
        if entry.is_dir():
            if (entry / 'metadata.yaml').exists() or _recording_in_progress(entry):
                yield Candidate(entry, relative, is_dir=True)
            else:
                yield from _walk(root, entry)
        elif entry.is_file() and entry.name.lower().endswith(BAG_SUFFIXES):
            yield Candidate(entry, relative, is_dir=False)


def _recording_in_progress(folder: Path) -> bool:
    """Tell a directory of `<folder>_<N>` storage files: rosbag2 before its metadata.yaml."""
    try:
        names = [entry.name for entry in folder.iterdir() if entry.is_file()]
    except OSError:
        return False
    return any(
        (match := _SPLIT_FILE.match(name)) is not None and match['stem'] == folder.name
        for name in names
    )


def not_ready_because(candidate: Candidate, min_age_s: float, now: float) -> str | None:
    """Say why a candidate is not ready to ingest, or None when it is.

    Args:
        candidate: The bag.
        min_age_s: Seconds its files must have been left unchanged.
        now: The current time (`time.time()`).

    Returns:
        A reason a person understands, or None.

    """
    if candidate.is_dir:
        incomplete = _metadata_incomplete(candidate.path)
        if incomplete is not None:
            return incomplete
    try:
        changed = max(_changed(path) for path in candidate.files())
    except (OSError, ValueError):
        return 'it is being moved or written'
    if now - changed < min_age_s:
        return f'it changed {max(now - changed, 0):.1f} s ago (still being written?)'
    return None


def _changed(path: Path) -> float:
    stat = path.stat()
    return max(stat.st_mtime, stat.st_ctime)


def _metadata_incomplete(folder: Path) -> str | None:
    from ruamel.yaml import YAML, YAMLError

    metadata = folder / 'metadata.yaml'
    if not metadata.exists():
        return 'its metadata.yaml is not written yet (rosbag2 writes it when recording ends)'
    try:
        document = YAML(typ='safe').load(metadata.read_text(encoding='utf-8'))
        info = document['rosbag2_bagfile_information']
        files = [str(name) for name in info['relative_file_paths']]
        complete = files and 'message_count' in info and 'topics_with_message_count' in info
    except (OSError, YAMLError, KeyError, TypeError):
        complete = False
    if not complete:
        return 'its metadata.yaml is incomplete'
    missing = [name for name in files if not (folder / name).exists()]
    if missing:
        return f'its metadata.yaml lists {", ".join(missing)}, not there yet'
    return None


def fingerprint(candidate: Candidate) -> str:
    """Return the SHA-256 of a bag's content, the same wherever and under whatever name it is.

    A rosbag2 directory hashes its files' paths relative to it, sizes and bytes.
    """
    digest = hashlib.sha256()
    for path in candidate.files():
        if candidate.is_dir:
            name = path.relative_to(candidate.path).as_posix()
            digest.update(f'{name}\0{path.stat().st_size}\0'.encode())
        with path.open('rb') as stream:
            while chunk := stream.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def stat_key(candidate: Candidate) -> tuple[tuple[str, int, int, int], ...]:
    """Sizes and times of a bag's files: equal keys mean an unchanged bag (to reuse its hash)."""
    key = []
    for path in candidate.files():
        stat = path.stat()
        key.append((os.fspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    return tuple(key)
