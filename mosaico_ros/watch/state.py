"""What `mosaico-ros watch` remembers across restarts: bags ingested, quarantined, in progress.

Bags are known by content hash, so a renamed or copied bag is not ingested
twice. The state is one JSON file, by default in the XDG state directory
(`$XDG_STATE_HOME/mosaico_ros/watch/`, else `~/.local/state/...`), one file
per watched folder and target, so the watched folder itself is never written
to. It is replaced atomically on every change, so a crash leaves the old or
the new state, never a torn one.

A bag is recorded as *pending* with its sequence name before it is
injected, and settled after; a pending bag found at start was cut short
(the process was killed), so its sequence is to be checked and removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

STATE_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One remembered bag.

    Attributes:
        path: Its path relative to the watched folder when it was seen.
        at: When (UTC, ISO-8601).
        sequence: The sequence it went to (ingested bags; None for an empty bag).
        reason: Why it failed (quarantined bags).

    """

    path: str
    at: str
    sequence: str | None = None
    reason: str | None = None


def default_state_path(folder: Path, target: str, environ: dict[str, str] | None = None) -> Path:
    """Return the state file of watching `folder` into `target` (a `Target.describe()`)."""
    env = os.environ if environ is None else environ
    state_home = Path(env.get('XDG_STATE_HOME') or Path.home() / '.local' / 'state')
    resolved = str(folder.expanduser().resolve())
    slug = re.sub(r'[^A-Za-z0-9_-]+', '_', Path(resolved).name).strip('_')[:40] or 'root'
    digest = hashlib.sha256(f'{resolved}\0{target}'.encode()).hexdigest()[:12]
    return state_home / 'mosaico_ros' / 'watch' / f'{slug}-{digest}.json'


class WatchState:
    """The ingested and quarantined bags, by content hash, saved on every change.

    Args:
        path: The state file; created with its folder on the first save.

    Raises:
        ValueError: The file exists but is not a state file.

    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ingested: dict[str, Entry] = {}
        self.quarantined: dict[str, Entry] = {}
        self.pending: dict[str, Entry] = {}
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_text(encoding='utf-8'))
            if document.get('version') != STATE_VERSION:
                raise ValueError(f'version {document.get("version")!r}')
            self.ingested = {key: Entry(**value) for key, value in document['ingested'].items()}
            self.quarantined = {
                key: Entry(**value) for key, value in document['quarantined'].items()
            }
            self.pending = {
                key: Entry(**value) for key, value in document.get('pending', {}).items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ValueError(
                f'{self.path} is not a watch state file ({err}); move it away'
            ) from err

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the state for one watcher: a second one on the same folder and target is refused.

        Raises:
            ValueError: Another process holds it.

        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(f'.{self.path.name}.lock').open('a') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ValueError(
                    f'another mosaico-ros watch is using {self.path} (the same folder into the '
                    'same target); stop it first',
                ) from None
            yield

    def save(self) -> None:
        """Write the state atomically."""
        document: dict[str, Any] = {
            'version': STATE_VERSION,
            'ingested': {key: asdict(entry) for key, entry in self.ingested.items()},
            'quarantined': {key: asdict(entry) for key, entry in self.quarantined.items()},
            'pending': {key: asdict(entry) for key, entry in self.pending.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f'.{self.path.name}.partial')
        partial.write_text(json.dumps(document, indent=1, sort_keys=True), encoding='utf-8')
        os.replace(partial, self.path)

    def begin(self, digest: str, path: str, sequence: str) -> None:
        """Remember that a bag is being stored into `sequence`, until it is settled."""
        self.pending[digest] = Entry(path, _now(), sequence=sequence)
        self.save()

    def settle(self, digest: str) -> None:
        """Forget a pending bag: nothing of it was kept."""
        if self.pending.pop(digest, None) is not None:
            self.save()

    def mark_ingested(self, digest: str, path: str, sequence: str | None) -> None:
        """Remember a bag as stored in `sequence` (None: it held nothing to store)."""
        self.pending.pop(digest, None)
        self.quarantined.pop(digest, None)
        self.ingested[digest] = Entry(path, _now(), sequence=sequence)
        self.save()

    def quarantine(self, digest: str, path: str, reason: str) -> None:
        """Remember a bag as failed, not to be tried again until its content changes."""
        self.pending.pop(digest, None)
        self.quarantined[digest] = Entry(path, _now(), reason=reason)
        self.save()

    def release_quarantine(self) -> list[Entry]:
        """Forget every quarantined bag, so each is tried again; return them."""
        released = list(self.quarantined.values())
        self.quarantined.clear()
        self.save()
        return released


def _now() -> str:
    return datetime.now(tz=timezone.utc).isoformat(timespec='seconds')
