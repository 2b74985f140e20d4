"""Reader for one rosbag2 SQLite storage file (`.db3`).

The database is opened with `?immutable=1`: shared bags are read-only and a
database in WAL mode would otherwise make SQLite create `-wal`/`-shm` files
beside it. The topics table of the database is the truth about topics, type
names and QoS; a rosbag2 directory's metadata.yaml is only compared with it.
"""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

from mosaico_ros.adapters.msgtype import normalize_msgtype, service_of_event
from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.model import BagMessage, Connection
from mosaico_ros.bags.reader import BagReader

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FETCH_ROWS = 512


class Db3Reader(BagReader):
    """Reader for a `.db3` file, with or without its rosbag2 metadata.yaml."""

    def __init__(self, path: Path, *, strict: bool = False, display_path: Path | None = None):
        """Open the database and read topics, definitions, counts and time range.

        Args:
            path: Database file.
            strict: Raise on damage instead of recording problems.
            display_path: Name reported for the file (the original of a
                decompressed temporary copy).

        Raises:
            BagFormatError: Not a rosbag2 database (no topics/messages tables).

        """
        super().__init__(display_path or path, strict=strict)
        self.size_bytes = os.path.getsize(path)
        try:
            self._db = sqlite3.connect(f'{path.resolve().as_uri()}?immutable=1', uri=True)
        except sqlite3.Error as exc:
            msg = f'{self.path}: SQLite cannot open it: {exc}'
            raise BagFormatError(msg) from exc
        self.on_close(self._db.close)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self.close()
            msg = f'{self.path}: not a readable rosbag2 database: {exc}'
            raise BagFormatError(msg) from exc
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        tables = {
            row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not {'topics', 'messages'} <= tables:
            msg = f'{self.path}: SQLite file without topics/messages tables is not a rosbag2 bag'
            raise BagFormatError(msg)
        self.ros_distro = ''
        if 'schema' in tables:
            cur = self._db.execute('SELECT * FROM schema')
            row = cur.fetchone()
            cols = [d[0] for d in cur.description]
            if row and 'ros_distro' in cols:
                self.ros_distro = str(row[cols.index('ros_distro')] or '')
        definitions: dict[str, tuple[str, str]] = {}
        if 'message_definitions' in tables:
            for typ, enc, text in self._db.execute(
                'SELECT topic_type, encoding, encoded_message_definition FROM message_definitions'
            ):
                if text:
                    definitions[normalize_msgtype(typ)] = (enc or '', text)
        cols = [row[1] for row in self._db.execute('PRAGMA table_info(topics)')]
        select = ['id', 'name', 'type', 'serialization_format']
        select.append('offered_qos_profiles' if 'offered_qos_profiles' in cols else 'NULL')
        stats = {
            tid: (count, lo, hi)
            for tid, count, lo, hi in self._db.execute(
                'SELECT topic_id, COUNT(*), MIN(timestamp), MAX(timestamp)'
                ' FROM messages GROUP BY topic_id'
            )
        }
        self.connections = []
        self._conns: dict[int, Connection] = {}
        for tid, name, typ, fmt, qos in self._db.execute(
            f'SELECT {", ".join(select)} FROM topics ORDER BY id'
        ):
            msgtype = normalize_msgtype(typ)
            enc, text = definitions.get(msgtype, ('', ''))
            if not text and (service := service_of_event(msgtype)):
                enc, text = definitions.get(service, ('', ''))
            conn = Connection(
                id=tid,
                topic=name,
                msgtype=msgtype,
                encoding=fmt or '',
                msgdef=text,
                msgdef_encoding=enc,
                md5sum='',
                message_count=stats.get(tid, (0, None, None))[0],
                qos=qos,
                schema_name=typ,
                source_file=self.path,
            )
            self.connections.append(conn)
            self._conns[tid] = conn
        self.message_count = sum(s[0] for s in stats.values())
        orphans = stats.keys() - self._conns.keys()
        for tid in sorted(orphans):
            self.report_at(
                None,
                'unknown-connection',
                f'{stats[tid][0]} messages reference topic id {tid}, absent from the topics table',
                lost=stats[tid][0],
            )
        known = [s for tid, s in stats.items() if tid in self._conns]
        self.start_ns = min((s[1] for s in known), default=None)
        self.end_ns = max((s[2] for s in known), default=None)

    def _messages(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagMessage]:
        """Yield messages in timestamp order, streamed from one SQL cursor."""
        where: list[str] = []
        args: list[int] = []
        if wanted is not None:
            ids = sorted(wanted)
            if not ids:
                return
            where.append(f'topic_id IN ({",".join("?" * len(ids))})')
            args.extend(ids)
        if start is not None:
            where.append('timestamp >= ?')
            args.append(start)
        if end is not None:
            where.append('timestamp < ?')
            args.append(end)
        query = 'SELECT id, topic_id, timestamp, data FROM messages'
        if where:
            query += ' WHERE ' + ' AND '.join(where)
        query += ' ORDER BY timestamp, id'
        conns = self._conns
        file = self.path
        cur = self._db.execute(query, args)
        try:
            while rows := cur.fetchmany(FETCH_ROWS):
                for rowid, tid, stamp, data in rows:
                    conn = conns.get(tid)
                    if conn is not None:
                        yield BagMessage(conn, stamp, data, rowid, file)
        except sqlite3.DatabaseError as exc:
            self.report_at(None, 'corrupt', f'SQLite read failed: {exc}')
        finally:
            cur.close()
