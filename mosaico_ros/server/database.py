"""One SQLite database shared by the server's threads: durable, serialized writes.

Every thread gets its own connection (WAL mode, synchronous=FULL); writers
are serialized by one lock so that concurrent calls never meet
`SQLITE_BUSY`, and each write is one `BEGIN IMMEDIATE` transaction, so the
file is consistent after any crash.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Database:
    """A SQLite file opened for many threads.

    Args:
        path: The database file; created when absent.
        schema: SQL script creating its tables if they do not exist.

    """

    def __init__(self, path: Path, schema: str) -> None:
        self._path = path
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        with self._write_lock:
            self.connection().executescript(schema)

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, 'conn', None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute('PRAGMA journal_mode=WAL')
            conn.execute('PRAGMA synchronous=FULL')
            conn.execute('PRAGMA busy_timeout=30000')
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection opened by any thread."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._write_lock:
            conn = self.connection()
            conn.execute('BEGIN IMMEDIATE')
            try:
                yield conn
            except BaseException:
                conn.execute('ROLLBACK')
                raise
            conn.execute('COMMIT')

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run one query outside any write transaction and return its rows."""
        return self.connection().execute(sql, params).fetchall()
