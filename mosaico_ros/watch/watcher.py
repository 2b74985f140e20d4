"""`Watcher`: ingest the bags that appear in a folder, each once, into its own sequence.

Each scan lists the folder's candidates (see `candidates`), skips those not
ready yet and those already known by content hash (ingested or quarantined,
see `state`), and injects the others one at a time with the injector's
`on_error='delete'`: a bag is stored whole or not at all. The sequence is
named from the bag's path in the folder (`runs/day1/drive.mcap` ->
`runs_day1_drive`, with the hash's first digits appended if that name is
taken) and carries `source_path` and `source_sha256` in its metadata, so a
bag stored before the state file was lost is recognised on the server.

A bag that fails is handled by `on_error`: `quarantine` records it with the
reason and leaves it until its content changes, `skip` leaves it until the
next start, `retry` tries it again after a growing delay. A failure while
the server does not answer is retried, never quarantined.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mosaico_ros.watch.candidates import (
    Candidate,
    find_candidates,
    fingerprint,
    not_ready_because,
    stat_key,
)
from mosaico_ros.watch.signals import Abandon, AbandonCheck, StopSignals

if TYPE_CHECKING:
    from mosaico_ros.bags.injector import InjectOptions
    from mosaico_ros.client import MosaicoClient, SequenceHandler
    from mosaico_ros.watch.state import WatchState

OnFailure = Literal['skip', 'retry', 'quarantine']

SOURCE_PATH_KEY = 'source_path'
SOURCE_HASH_KEY = 'source_sha256'


class EventKind(str, Enum):
    """What happened to a bag."""

    WAITING = 'waiting'
    INGESTING = 'ingesting'
    INGESTED = 'ingested'
    KNOWN = 'already stored'
    CLEANED = 'cleaned up'
    FAILED = 'failed'
    QUARANTINED = 'quarantined'
    ABANDONED = 'abandoned'


@dataclass(frozen=True)
class WatchEvent:
    """One thing to tell the user.

    Attributes:
        kind: What happened.
        path: The bag, relative to the watched folder.
        detail: Why, or what was stored.
        sequence: The sequence concerned, if any.

    """

    kind: EventKind
    path: str
    detail: str = ''
    sequence: str | None = None


@dataclass(frozen=True)
class WatchOptions:
    """How to watch.

    Attributes:
        folder: The watched folder.
        globs: Only bags whose relative path matches one of these (all when empty).
        min_age_s: Seconds a bag must be left unchanged before it is ingested.
        interval_s: Seconds between scans.
        on_error: What to do with a bag that fails.
        retry_max_s: Longest delay between retries (`on_error='retry'`).
        inject: Injector options for every bag; the sequence name, metadata
            and `on_error='delete'` are set per bag.

    """

    folder: Path
    globs: tuple[str, ...] = ()
    min_age_s: float = 5.0
    interval_s: float = 2.0
    on_error: OnFailure = 'quarantine'
    retry_max_s: float = 300.0
    inject: InjectOptions | None = None


@dataclass
class _Failure:
    attempts: int
    due: float


class Watcher:
    """Ingests the bags of one folder into one server, remembering them in a state.

    Args:
        client: Connected client.
        options: How to watch.
        state: What was ingested and quarantined before.
        notify: Receives every event.

    """

    def __init__(
        self,
        client: MosaicoClient,
        options: WatchOptions,
        state: WatchState,
        notify: Callable[[WatchEvent], None],
    ) -> None:
        self._client = client
        self._options = options
        self._state = state
        self._notify = notify
        self._hashes: dict[tuple[tuple[str, int, int, int], ...], str] = {}
        self._failures: dict[str, _Failure] = {}
        self._said: set[tuple[str, EventKind]] = set()
        self.counts: dict[EventKind, int] = dict.fromkeys(EventKind, 0)

    def run(self, signals: StopSignals, *, once: bool = False) -> None:
        """Settle what a killed run left, then scan until a stop signal (or once)."""
        self.recover()
        while not signals.stopping:
            self.scan(signals)
            if once:
                return
            signals.sleep(self._options.interval_s)

    def scan(self, signals: StopSignals) -> None:
        """Look at the folder once and ingest every bag that is ready and new."""
        for candidate in find_candidates(self._options.folder, self._options.globs):
            if signals.stopping:
                return
            why = not_ready_because(candidate, self._options.min_age_s, time.time())
            if why is not None:
                self._event(EventKind.WAITING, candidate, why, once=True)
                continue
            try:
                before = stat_key(candidate)
                digest = self._hashes.get(before) or fingerprint(candidate)
                if stat_key(candidate) != before:
                    continue  # changed while hashing: not ready after all
            except OSError:
                continue  # moved away meanwhile
            self._hashes[before] = digest
            self._said.discard((candidate.relative, EventKind.WAITING))
            known = self._state.ingested.get(digest)
            if known is not None:
                if known.path != candidate.relative:
                    where = f'sequence {known.sequence}' if known.sequence else 'nothing to store'
                    detail = f'same content as {known.path}, in {where}'
                    self._event(EventKind.KNOWN, candidate, detail, known.sequence, once=True)
            elif self._is_due(digest):
                self._ingest(candidate, digest, signals)

    def recover(self) -> None:
        """Settle the bags a killed run left pending: keep them if whole, else remove them."""
        for digest, entry in list(self._state.pending.items()):
            candidate = Candidate(self._options.folder / entry.path, entry.path, is_dir=False)
            self._settle(digest, candidate, 'left unfinished by a killed run')

    def _settle(self, digest: str, candidate: Candidate, why: str) -> bool:
        """End a pending bag: record it if its sequence is whole, else remove what is there.

        Returns:
            Whether the sequence was whole (and is now recorded as ingested).

        """
        from mosaico_ros.client import ServerError

        entry = self._state.pending.get(digest)
        if entry is None or entry.sequence is None:
            return False
        handler = self._client.sequence_handler(entry.sequence)
        ours = handler is None or handler.user_metadata.get(SOURCE_HASH_KEY) == digest
        if handler is not None and ours and _whole(handler):
            self._state.mark_ingested(digest, entry.path, entry.sequence)
            self._event(EventKind.KNOWN, candidate, f'as sequence {entry.sequence}')
            return True
        if ours:
            try:
                self._client.sequence_delete(entry.sequence)
            except ServerError:
                pass  # nothing of it is on the server
            else:
                detail = f'removed sequence {entry.sequence}, {why}'
                self._event(EventKind.CLEANED, candidate, detail, entry.sequence)
        self._state.settle(digest)
        return False

    def _is_due(self, digest: str) -> bool:
        if digest in self._state.quarantined:
            return False
        failure = self._failures.get(digest)
        return failure is None or time.monotonic() >= failure.due

    def _ingest(self, candidate: Candidate, digest: str, signals: StopSignals) -> None:
        from mosaico_ros.bags.injector import InjectOptions, inject_paths
        from mosaico_ros.pipeline.report import SequenceStatus

        stored_as = self._stored_as(digest, candidate)
        if stored_as is not None:
            self._state.mark_ingested(digest, candidate.relative, stored_as)
            self._event(EventKind.KNOWN, candidate, f'as sequence {stored_as}', stored_as)
            return
        base = self._options.inject or InjectOptions()
        name = self._sequence_name(candidate, digest)
        options = dataclasses.replace(
            base,
            sequence=name,
            metadata={
                **base.metadata,
                SOURCE_PATH_KEY: candidate.relative,
                SOURCE_HASH_KEY: digest,
            },
            on_error='delete',
            update=False,
            dry_run=False,
        )
        self._event(EventKind.INGESTING, candidate, f'into sequence {name}', name)
        self._state.begin(digest, candidate.relative, name)
        try:
            with signals.working():
                (report,) = inject_paths(
                    self._client, [candidate.path], options, AbandonCheck(signals)
                )
        except Abandon:
            if not self._settle(digest, candidate, 'abandoned'):
                self._event(
                    EventKind.ABANDONED, candidate, 'nothing of it is kept; redone next time'
                )
            return
        if report.clean:
            self._failures.pop(digest, None)
            if report.status is SequenceStatus.EMPTY:
                self._state.mark_ingested(digest, candidate.relative, None)
                self._event(EventKind.INGESTED, candidate, 'nothing to store: no sequence made')
                return
            self._state.mark_ingested(digest, candidate.relative, report.sequence)
            detail = f'{report.stored} message(s) in {report.elapsed_s:.1f} s'
            self._event(EventKind.INGESTED, candidate, detail, report.sequence)
            return
        reason = str(report.error or f'ended {report.status}')
        self._settle(digest, candidate, 'which failed')
        if self._options.on_error == 'quarantine' and self._server_answers():
            self._state.quarantine(digest, candidate.relative, reason)
            self._event(EventKind.QUARANTINED, candidate, reason)
            return
        self._fail(digest, candidate, reason)

    def _fail(self, digest: str, candidate: Candidate, reason: str) -> None:
        failure = self._failures.setdefault(digest, _Failure(0, 0.0))
        failure.attempts += 1
        if self._options.on_error == 'skip' and self._server_answers():
            failure.due = math.inf
            self._event(EventKind.FAILED, candidate, f'{reason}; skipped until the next start')
            return
        delay = min(self._options.interval_s * 2**failure.attempts, self._options.retry_max_s)
        failure.due = time.monotonic() + delay
        self._event(EventKind.FAILED, candidate, f'{reason}; trying again in {delay:.0f} s')

    def _stored_as(self, digest: str, candidate: Candidate) -> str | None:
        """Name of a sequence on the server holding this content whole, if any.

        One left unfinished by a killed run (a session never finalized) is
        deleted, so the bag is stored again.
        """
        from mosaico_ros.client import CatalogQuery, SequenceQuery

        query = CatalogQuery(sequence=SequenceQuery().with_metadata(SOURCE_HASH_KEY, '$eq', digest))
        for item in self._client.query(query):
            handler = self._client.sequence_handler(item.sequence)
            if handler is None:
                continue
            if _whole(handler):
                return item.sequence
            self._client.sequence_delete(item.sequence)
            detail = f'removed sequence {item.sequence}, left unfinished by an interrupted run'
            self._event(EventKind.CLEANED, candidate, detail, item.sequence)
        return None

    def _sequence_name(self, candidate: Candidate, digest: str) -> str:
        from mosaico_ros.bags.options import sequence_name_for

        name, _ = sequence_name_for(Path(candidate.relative.replace('/', '_')))
        if self._client.sequence_exists(name):
            name = f'{name}_{digest[:8]}'
        return name

    def _server_answers(self) -> bool:
        from mosaico_ros.client import ClientError

        try:
            self._client.ping()
        except ClientError:
            return False
        return True

    def _event(
        self,
        kind: EventKind,
        candidate: Candidate,
        detail: str,
        sequence: str | None = None,
        *,
        once: bool = False,
    ) -> None:
        if once:
            if (candidate.relative, kind) in self._said:
                return
            self._said.add((candidate.relative, kind))
        self.counts[kind] += 1
        self._notify(WatchEvent(kind, candidate.relative, detail, sequence))


def _whole(handler: SequenceHandler) -> bool:
    """Whether every session of a sequence was finalized."""
    return bool(handler.sessions) and all(session.locked for session in handler.sessions)
