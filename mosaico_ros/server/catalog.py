"""The SQLite catalog: sequences, sessions, topics, chunks and notifications.

Every state change is one transaction of its `Database`, so the catalog is
consistent after any crash. Data of a session becomes visible to readers in
the one transaction that finalizes it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from mosaico_ros.server.database import Database
from mosaico_ros.server.errors import BadRequestError, ConflictError, NotFoundError
from mosaico_ros.server.ids import new_session_id, new_token
from mosaico_ros.server.records import (
    ChunkRecord,
    NotificationRecord,
    SequenceRecord,
    SessionRecord,
    TopicRecord,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sequences (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at_ns INTEGER NOT NULL,
    user_metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    sequence_id INTEGER NOT NULL REFERENCES sequences(id),
    uuid TEXT NOT NULL UNIQUE,
    ident TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL,
    completed_at_ns INTEGER,
    finalized INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sequence_id, ident)
);
CREATE TABLE IF NOT EXISTS topics (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    sequence_id INTEGER NOT NULL REFERENCES sequences(id),
    uuid TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    ontology_tag TEXT NOT NULL,
    serialization_format TEXT NOT NULL,
    user_metadata TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL,
    schema_ipc BLOB,
    put_state TEXT NOT NULL DEFAULT 'idle',
    UNIQUE (sequence_id, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    topic_id INTEGER NOT NULL REFERENCES topics(id),
    file TEXT NOT NULL UNIQUE,
    row_count INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    column_stats TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_topic ON chunks (topic_id, min_ts);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    sequence_id INTEGER NOT NULL REFERENCES sequences(id),
    topic_path TEXT,
    notification_type TEXT NOT NULL,
    msg TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL
);
"""

_TOPIC_SELECT = """
SELECT t.id, t.session_id, t.sequence_id, q.name, t.uuid, t.path, t.ontology_tag,
       t.serialization_format, t.user_metadata, t.created_at_ns, t.schema_ipc, t.put_state,
       s.finalized, s.locked, s.completed_at_ns
FROM topics t JOIN sessions s ON s.id = t.session_id JOIN sequences q ON q.id = t.sequence_id
"""

_SEQUENCE_SELECT = 'SELECT id, name, created_at_ns, user_metadata FROM sequences q '

_HAS_FINALIZED_SESSION = (
    'EXISTS (SELECT 1 FROM sessions s WHERE s.sequence_id = q.id AND s.finalized = 1) '
)

_SESSION_SELECT = """
SELECT s.id, s.sequence_id, q.name, s.uuid, s.ident, s.created_at_ns, s.completed_at_ns,
       s.finalized, s.locked
FROM sessions s JOIN sequences q ON q.id = s.sequence_id
"""


def _sequence(row: sqlite3.Row) -> SequenceRecord:
    return SequenceRecord(row[0], row[1], row[2], json.loads(row[3]))


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        bool(row[7]),
        bool(row[8]),
    )


def _topic(row: sqlite3.Row) -> TopicRecord:
    return TopicRecord(
        id=row[0],
        session_id=row[1],
        sequence_id=row[2],
        sequence_name=row[3],
        uuid=row[4],
        path=row[5],
        ontology_tag=row[6],
        serialization_format=row[7],
        user_metadata=json.loads(row[8]),
        created_at_ns=row[9],
        schema_ipc=row[10],
        put_state=row[11],
        session_finalized=bool(row[12]),
        session_locked=bool(row[13]),
        session_completed_at_ns=row[14],
    )


def _chunk(row: sqlite3.Row) -> ChunkRecord:
    return ChunkRecord(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


class Catalog:
    """The store's SQLite catalog, safe to share between server threads.

    Args:
        path: The `catalog.sqlite` file; created when absent.

    """

    def __init__(self, path: Path) -> None:
        self._db = Database(path, _SCHEMA)

    def close(self) -> None:
        """Close every connection opened by any thread."""
        self._db.close()

    # ----------------------------------------------------------------- sequences

    def create_sequence(self, name: str, user_metadata: dict[str, Any], now_ns: int) -> None:
        """Create a sequence.

        Raises:
            ConflictError: A sequence of that name exists.

        """
        with self._db.transaction() as conn:
            if conn.execute('SELECT 1 FROM sequences WHERE name = ?', (name,)).fetchone():
                raise ConflictError(f'sequence `{name}` already exists')
            conn.execute(
                'INSERT INTO sequences (name, created_at_ns, user_metadata) VALUES (?, ?, ?)',
                (name, now_ns, json.dumps(user_metadata)),
            )

    def visible_sequence(self, name: str) -> SequenceRecord:
        """Return the sequence of that name if it has a finalized session.

        Raises:
            NotFoundError: No such sequence, or none of its sessions is finalized.

        """
        rows = self._db.read(
            _SEQUENCE_SELECT + 'WHERE name = ? AND ' + _HAS_FINALIZED_SESSION,
            (name,),
        )
        if not rows:
            raise NotFoundError(f'resource `{name}` not found')
        return _sequence(rows[0])

    def visible_sequences(self) -> list[SequenceRecord]:
        """Sequences with at least one finalized session, by name."""
        rows = self._db.read(_SEQUENCE_SELECT + 'WHERE ' + _HAS_FINALIZED_SESSION + 'ORDER BY name')
        return [_sequence(row) for row in rows]

    def delete_sequence(self, name: str) -> list[str]:
        """Delete a sequence with all its sessions, topics and notifications.

        Returns:
            Chunk files (store-relative) no longer referenced.

        Raises:
            NotFoundError: No such sequence.

        """
        with self._db.transaction() as conn:
            sequence_id = self._sequence_id(conn, name)
            files = self._delete_topics(conn, 'sequence_id = ?', (sequence_id,))
            conn.execute('DELETE FROM sessions WHERE sequence_id = ?', (sequence_id,))
            conn.execute('DELETE FROM notifications WHERE sequence_id = ?', (sequence_id,))
            conn.execute('DELETE FROM sequences WHERE id = ?', (sequence_id,))
        return files

    # ------------------------------------------------------------------ sessions

    def create_session(self, sequence_name: str, now_ns: int) -> SessionRecord:
        """Open a new pending session on an existing sequence.

        Raises:
            NotFoundError: No such sequence.

        """
        with self._db.transaction() as conn:
            sequence_id = self._sequence_id(conn, sequence_name)
            uuid, ident = new_token(), new_session_id(now_ns)
            conn.execute(
                'INSERT INTO sessions (sequence_id, uuid, ident, created_at_ns) '
                'VALUES (?, ?, ?, ?)',
                (sequence_id, uuid, ident, now_ns),
            )
        session = self.session_by_uuid(uuid)
        assert session is not None
        return session

    def session_by_uuid(self, uuid: str) -> SessionRecord | None:
        """Return the session with that write token."""
        rows = self._db.read(_SESSION_SELECT + 'WHERE s.uuid = ?', (uuid,))
        return _session(rows[0]) if rows else None

    def finalized_sessions(self, sequence_id: int) -> list[SessionRecord]:
        """Return the finalized sessions of a sequence, oldest first."""
        rows = self._db.read(
            _SESSION_SELECT + 'WHERE s.sequence_id = ? AND s.finalized = 1 '
            'ORDER BY s.created_at_ns, s.id',
            (sequence_id,),
        )
        return [_session(row) for row in rows]

    def finalize_session(self, uuid: str, now_ns: int) -> None:
        """Make a pending session's topics visible, in one transaction.

        The session is locked unless an error was reported against its sequence
        or its topics while it was open, or one of its uploads failed: that is
        how the SDK's `Report` policy ends (an ordinary finalize after error
        notifications), and its data is kept but left unlocked.

        Raises:
            NotFoundError: No session has that uuid.
            ConflictError: The session is already finalized.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT id, sequence_id, created_at_ns, finalized FROM sessions WHERE uuid = ?',
                (uuid,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'session uuid `{uuid}` not found')
            session_id, sequence_id, created_at_ns, finalized = row
            if finalized:
                raise ConflictError(f'session uuid `{uuid}` is already finalized')
            errors = conn.execute(
                'SELECT COUNT(*) FROM notifications WHERE sequence_id = ? AND created_at_ns >= ? '
                'AND (topic_path IS NULL OR topic_path IN '
                '(SELECT path FROM topics WHERE session_id = ?))',
                (sequence_id, created_at_ns, session_id),
            ).fetchone()[0]
            failed = conn.execute(
                "SELECT COUNT(*) FROM topics WHERE session_id = ? AND put_state = 'failed'",
                (session_id,),
            ).fetchone()[0]
            conn.execute(
                'UPDATE sessions SET finalized = 1, locked = ?, completed_at_ns = ? WHERE id = ?',
                (int(errors == 0 and failed == 0), now_ns, session_id),
            )

    def delete_session(self, sequence_name: str, ident: str) -> list[str]:
        """Delete a session and its topics, finalized or not.

        Returns:
            Chunk files no longer referenced.

        Raises:
            NotFoundError: No such session.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT s.id FROM sessions s JOIN sequences q ON q.id = s.sequence_id '
                'WHERE q.name = ? AND s.ident = ?',
                (sequence_name, ident),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'session `{sequence_name}:{ident}` not found')
            files = self._delete_topics(conn, 'session_id = ?', (row[0],))
            conn.execute('DELETE FROM sessions WHERE id = ?', (row[0],))
        return files

    def reap_pending(self) -> list[str]:
        """Remove sessions never finalized and sequences left without any session.

        Called at start-up, when no client can still be writing: a pending
        session then belongs to an upload that died with the server or with its
        client, and its data must never become visible.

        Returns:
            Chunk files no longer referenced.

        """
        with self._db.transaction() as conn:
            files = self._delete_topics(
                conn,
                'session_id IN (SELECT id FROM sessions WHERE finalized = 0)',
                (),
            )
            conn.execute('DELETE FROM sessions WHERE finalized = 0')
            orphan = (
                'SELECT id FROM sequences q WHERE NOT EXISTS '
                '(SELECT 1 FROM sessions s WHERE s.sequence_id = q.id)'
            )
            conn.execute(f'DELETE FROM notifications WHERE sequence_id IN ({orphan})')
            conn.execute(f'DELETE FROM sequences WHERE id IN ({orphan})')
        return files

    def chunk_files(self) -> set[str]:
        """Every chunk file the catalog references."""
        return {row[0] for row in self._db.read('SELECT file FROM chunks')}

    # -------------------------------------------------------------------- topics

    def create_topic(  # noqa: PLR0917
        self,
        session_uuid: str,
        sequence_name: str,
        path: str,
        ontology_tag: str,
        serialization_format: str,
        user_metadata: dict[str, Any],
        now_ns: int,
    ) -> str:
        """Add a topic to a pending session.

        Returns:
            The topic's write token.

        Raises:
            NotFoundError: No session has that uuid.
            BadRequestError: The session is finalized, or the locator is outside
                the session's sequence.
            ConflictError: The sequence already has a topic of that name.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT s.id, s.sequence_id, s.finalized, q.name FROM sessions s '
                'JOIN sequences q ON q.id = s.sequence_id WHERE s.uuid = ?',
                (session_uuid,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'session uuid `{session_uuid}` not found')
            session_id, sequence_id, finalized, owner = row
            locator = f'{sequence_name}/{path}'
            if finalized:
                raise BadRequestError(
                    f'topic_create {locator}: session uuid `{session_uuid}` is already finalized',
                )
            if owner != sequence_name:
                raise BadRequestError(
                    f'topic_create {locator}: locator is outside sequence `{owner}` '
                    f'of session uuid `{session_uuid}`',
                )
            if conn.execute(
                'SELECT 1 FROM topics WHERE sequence_id = ? AND path = ?',
                (sequence_id, path),
            ).fetchone():
                raise ConflictError(f'topic `{locator}` already exists')
            uuid = new_token()
            conn.execute(
                'INSERT INTO topics (session_id, sequence_id, uuid, path, ontology_tag, '
                'serialization_format, user_metadata, created_at_ns) '
                'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                (
                    session_id,
                    sequence_id,
                    uuid,
                    path,
                    ontology_tag,
                    serialization_format,
                    json.dumps(user_metadata),
                    now_ns,
                ),
            )
        return uuid

    def topic_by_uuid(self, uuid: str) -> TopicRecord | None:
        """Return the topic with that write token."""
        rows = self._db.read(_TOPIC_SELECT + 'WHERE t.uuid = ?', (uuid,))
        return _topic(rows[0]) if rows else None

    def visible_topic(self, sequence_name: str, path: str) -> TopicRecord:
        """Return a topic of a finalized session by sequence name and path.

        Raises:
            NotFoundError: No such topic, or its session is not finalized.

        """
        rows = self._db.read(
            _TOPIC_SELECT + 'WHERE q.name = ? AND t.path = ? AND s.finalized = 1',
            (sequence_name, path),
        )
        if not rows:
            raise NotFoundError(f'resource `{sequence_name}/{path}` not found')
        return _topic(rows[0])

    def visible_topics(self, sequence_id: int | None = None) -> list[TopicRecord]:
        """Topics of finalized sessions (of one sequence, or all), by locator."""
        sql = _TOPIC_SELECT + 'WHERE s.finalized = 1 '
        params: tuple[Any, ...] = ()
        if sequence_id is not None:
            sql += 'AND t.sequence_id = ? '
            params = (sequence_id,)
        rows = self._db.read(sql + 'ORDER BY q.name, t.path', params)
        return [_topic(row) for row in rows]

    def claim_put(self, topic_id: int, schema_ipc: bytes) -> None:
        """Mark a topic's one DoPut stream as started and store its schema.

        Raises:
            NotFoundError: The topic was deleted meanwhile.
            BadRequestError: The topic's session is finalized.
            ConflictError: The topic's stream was opened before.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT t.put_state, t.uuid, s.finalized FROM topics t '
                'JOIN sessions s ON s.id = t.session_id WHERE t.id = ?',
                (topic_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'topic {topic_id} vanished')
            state, uuid, finalized = row
            if finalized:
                raise BadRequestError(f'topic uuid `{uuid}`: its session is already finalized')
            if state != 'idle':
                raise ConflictError(
                    f'topic uuid `{uuid}` was already used by a DoPut stream ({state})',
                )
            conn.execute(
                "UPDATE topics SET put_state = 'streaming', schema_ipc = ? WHERE id = ?",
                (schema_ipc, topic_id),
            )

    def end_put(self, topic_id: int) -> None:
        """Record that a topic's stream ended cleanly."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE topics SET put_state = 'done' WHERE id = ?", (topic_id,))

    def fail_put(self, topic_id: int) -> list[str]:
        """Record that a topic's stream failed, and drop the rows it sent.

        Returns:
            Chunk files no longer referenced.

        """
        with self._db.transaction() as conn:
            files = [
                row[0]
                for row in conn.execute('SELECT file FROM chunks WHERE topic_id = ?', (topic_id,))
            ]
            conn.execute('DELETE FROM chunks WHERE topic_id = ?', (topic_id,))
            conn.execute("UPDATE topics SET put_state = 'failed' WHERE id = ?", (topic_id,))
        return files

    def add_chunk(self, topic_id: int, chunk: ChunkRecord) -> None:
        """Record a chunk file that is already durable on disk.

        Raises:
            NotFoundError: The topic was deleted meanwhile.
            ConflictError: Its session was finalized meanwhile.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT s.finalized FROM topics t JOIN sessions s ON s.id = t.session_id '
                'WHERE t.id = ?',
                (topic_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'topic of chunk {chunk.file} was deleted during its upload')
            if row[0]:
                raise ConflictError(f'the session of chunk {chunk.file} was finalized meanwhile')
            conn.execute(
                'INSERT INTO chunks (topic_id, file, row_count, bytes, min_ts, max_ts, '
                'column_stats) VALUES (?, ?, ?, ?, ?, ?, ?)',
                (
                    topic_id,
                    chunk.file,
                    chunk.row_count,
                    chunk.bytes,
                    chunk.min_ts,
                    chunk.max_ts,
                    chunk.stats_json(),
                ),
            )

    def chunks(self, topic_id: int) -> list[ChunkRecord]:
        """Return a topic's chunks ordered by their first timestamp."""
        rows = self._db.read(
            'SELECT file, row_count, bytes, min_ts, max_ts, column_stats FROM chunks '
            'WHERE topic_id = ? ORDER BY min_ts, id',
            (topic_id,),
        )
        return [_chunk(row) for row in rows]

    def delete_topic(self, sequence_name: str, path: str) -> list[str]:
        """Delete one topic and its data.

        Returns:
            Chunk files no longer referenced.

        Raises:
            NotFoundError: No such topic.

        """
        with self._db.transaction() as conn:
            row = conn.execute(
                'SELECT t.id FROM topics t JOIN sequences q ON q.id = t.sequence_id '
                'WHERE q.name = ? AND t.path = ?',
                (sequence_name, path),
            ).fetchone()
            if row is None:
                raise NotFoundError(f'topic `{sequence_name}/{path}` not found')
            return self._delete_topics(conn, 'id = ?', (row[0],))

    @staticmethod
    def _delete_topics(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> list[str]:
        topics = conn.execute(f'SELECT id, sequence_id, path FROM topics WHERE {where}', params)
        files: list[str] = []
        for topic_id, sequence_id, path in topics.fetchall():
            files.extend(
                row[0]
                for row in conn.execute('SELECT file FROM chunks WHERE topic_id = ?', (topic_id,))
            )
            conn.execute('DELETE FROM chunks WHERE topic_id = ?', (topic_id,))
            conn.execute(
                'DELETE FROM notifications WHERE sequence_id = ? AND topic_path = ?',
                (sequence_id, path),
            )
            conn.execute('DELETE FROM topics WHERE id = ?', (topic_id,))
        return files

    # ------------------------------------------------------------- notifications

    def add_notification(
        self,
        sequence_name: str,
        topic_path: str | None,
        notification_type: str,
        msg: str,
        now_ns: int,
    ) -> None:
        """Attach a notification to a sequence, or to one of its topics.

        Raises:
            NotFoundError: The sequence or topic does not exist.

        """
        with self._db.transaction() as conn:
            sequence_id = self._owner_id(conn, sequence_name, topic_path)
            conn.execute(
                'INSERT INTO notifications (sequence_id, topic_path, notification_type, msg, '
                'created_at_ns) VALUES (?, ?, ?, ?, ?)',
                (sequence_id, topic_path, notification_type, msg, now_ns),
            )

    def notifications(self, sequence_name: str, topic_path: str | None) -> list[NotificationRecord]:
        """Notifications of a sequence (topic_path None) or of one topic, oldest first.

        Raises:
            NotFoundError: The sequence or topic does not exist.

        """
        where, params = self._notifications_of(self._db.connection(), sequence_name, topic_path)
        rows = self._db.read(
            'SELECT topic_path, notification_type, msg, created_at_ns FROM notifications '
            f'WHERE {where} ORDER BY created_at_ns, id',
            params,
        )
        return [NotificationRecord(sequence_name, row[0], row[1], row[2], row[3]) for row in rows]

    def purge_notifications(self, sequence_name: str, topic_path: str | None) -> None:
        """Remove the notifications of a sequence (topic_path None) or of one topic.

        Raises:
            NotFoundError: The sequence or topic does not exist.

        """
        with self._db.transaction() as conn:
            where, params = self._notifications_of(conn, sequence_name, topic_path)
            conn.execute(f'DELETE FROM notifications WHERE {where}', params)

    @classmethod
    def _notifications_of(
        cls,
        conn: sqlite3.Connection,
        sequence_name: str,
        topic_path: str | None,
    ) -> tuple[str, tuple[Any, ...]]:
        """Return the SQL condition and parameters selecting one owner's notifications."""
        sequence_id = cls._owner_id(conn, sequence_name, topic_path)
        if topic_path is None:
            return 'sequence_id = ? AND topic_path IS NULL', (sequence_id,)
        return 'sequence_id = ? AND topic_path = ?', (sequence_id, topic_path)

    @classmethod
    def _owner_id(
        cls,
        conn: sqlite3.Connection,
        sequence_name: str,
        topic_path: str | None,
    ) -> int:
        """Return the sequence id of a notification owner, which must exist."""
        sequence_id = cls._sequence_id(conn, sequence_name)
        if (
            topic_path is not None
            and not conn.execute(
                'SELECT 1 FROM topics WHERE sequence_id = ? AND path = ?',
                (sequence_id, topic_path),
            ).fetchone()
        ):
            raise NotFoundError(f'topic `{sequence_name}/{topic_path}` not found')
        return sequence_id

    @staticmethod
    def _sequence_id(conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute('SELECT id FROM sequences WHERE name = ?', (name,)).fetchone()
        if row is None:
            raise NotFoundError(f'sequence `{name}` not found')
        return int(row[0])
