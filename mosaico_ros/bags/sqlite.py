"""Reader for one rosbag2 SQLite storage file (`.db3`).

The database is opened with `?immutable=1`: shared bags are read-only and a
database in WAL mode would otherwise make SQLite create `-wal`/`-shm` files
beside it. The topics table of the database is the truth about topics, type
names and QoS; a rosbag2 directory's metadata.yaml is only compared with it.

Damage is read around, not given up on, and each problem names the row id
where it starts:

* A file shorter than its header says (cut off while copying or recording)
  is read from a temporary copy padded with empty pages to its declared
  size: SQLite refuses the original outright, and reads the copy up to the
  first page that is missing.
* Text that is not UTF-8 is read with replacement characters and reported.
* When a query meets a damaged page, the rows read before it are kept and the
  messages table is walked by row id instead, seeking past each damaged
  stretch to the next readable row; messages are still yielded in timestamp
  order.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters.msgtype import normalize_msgtype, service_of_event
from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.model import BagMessage, Connection
from mosaico_ros.bags.reader import BagReader

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

FETCH_ROWS = 512
SCAN_ROWS = 4096
_MAX_ROWID = 2**63 - 1

RowKey = tuple[int, int, int]
"""`(timestamp, row id, topic id)` of a message row."""


_INT = int
_TEXT = str
_MAYBE_TEXT = (str, type(None))


def _typed(values: Iterable[Any], kinds: Iterable[Any]) -> bool:
    """Whether each value has its kind (damaged pages can read as NULLs or other types)."""
    return all(isinstance(value, kind) for value, kind in zip(values, kinds, strict=True))


def _lenient_text(raw: bytes) -> str:
    return raw.decode('utf-8', errors='replace')


def _missing_pages(path: Path) -> tuple[int, int, int] | None:
    """`(page size, pages present, pages declared)` of a file cut short, else None."""
    with path.open('rb') as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(b'SQLite format 3\0'):
        return None
    (page_size,) = struct.unpack_from('>H', header, 16)
    page_size = 65536 if page_size == 1 else page_size
    (declared,) = struct.unpack_from('>I', header, 28)
    counter, valid_for = struct.unpack_from('>I', header, 24), struct.unpack_from('>I', header, 92)
    present = os.path.getsize(path) // page_size
    if not page_size or counter != valid_for or declared <= present:
        return None
    return page_size, present, declared


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
        self._keys: list[RowKey] | None = None
        try:
            self._db = self._connect(self._readable(path))
            self._open()
        except sqlite3.DatabaseError as exc:
            self.close()
            cut = ''.join(f' ({p.reason})' for p in self.problems if p.kind == 'truncated')
            msg = f'{self.path}: not a readable rosbag2 database: {exc}{cut}'
            raise BagFormatError(msg) from exc
        except BaseException:
            self.close()
            raise

    def _readable(self, path: Path) -> Path:
        """Return the file to open: `path`, or a copy SQLite can read if it was cut short."""
        missing = _missing_pages(path)
        if missing is None:
            return path
        page_size, present, declared = missing
        self.report_at(
            present * page_size,
            'truncated',
            f'the file ends at byte {self.size_bytes}, after {present} of its {declared} '
            f'pages of {page_size} bytes; rows on the missing pages are lost',
        )
        folder = Path(tempfile.mkdtemp(prefix='mosaico-db3-'))
        self.on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
        copy = folder / path.name
        with path.open('rb') as source, copy.open('wb') as target:
            shutil.copyfileobj(source, target)
            target.truncate(declared * page_size)
        return copy

    def _connect(self, path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(f'{path.resolve().as_uri()}?immutable=1', uri=True)
        except sqlite3.Error as exc:
            msg = f'{self.path}: SQLite cannot open it: {exc}'
            raise BagFormatError(msg) from exc
        self.on_close(db.close)
        db.text_factory = _lenient_text
        return db

    def _rows(self, table: str, columns: str, kinds: tuple[Any, ...]) -> list[Any]:
        """Read a small table in row id order, keeping what damage leaves readable.

        Rows before a damaged page are kept and rows with values of the wrong
        kind are dropped; both are reported with their row id.
        """
        rows: list[Any] = []
        try:
            for row in self._db.execute(f'SELECT rowid, {columns} FROM {table} ORDER BY rowid'):
                if _typed(row, (_INT, *kinds)):
                    rows.append(row)
                else:
                    self.report_at(row[0], 'corrupt', f'{table} row {row[0]} is garbled')
        except sqlite3.DatabaseError as exc:
            first = rows[-1][0] + 1 if rows else 1
            self.report_at(first, 'corrupt', f'{table} rows from id {first} on: {exc}')
        return rows

    def _open(self) -> None:
        tables = {
            row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not {'topics', 'messages'} <= tables:
            msg = f'{self.path}: SQLite file without topics/messages tables is not a rosbag2 bag'
            raise BagFormatError(msg)
        self.ros_distro = ''
        schema_columns = {row[1] for row in self._db.execute('PRAGMA table_info(schema)')}
        if 'ros_distro' in schema_columns:
            distros = self._rows('schema', 'ros_distro', (_MAYBE_TEXT,))
            self.ros_distro = str(distros[0][1] or '') if distros else ''
        definitions: dict[str, tuple[str, str]] = {}
        if 'message_definitions' in tables:
            for rowid, typ, enc, text in self._rows(
                'message_definitions',
                'topic_type, encoding, encoded_message_definition',
                (_TEXT, _MAYBE_TEXT, _MAYBE_TEXT),
            ):
                if '\ufffd' in (text or ''):
                    self.report_at(
                        rowid, 'corrupt', f'the definition of {typ} is not valid UTF-8', lost=0
                    )
                if text:
                    definitions[normalize_msgtype(typ)] = (enc or '', text)
        cols = [row[1] for row in self._db.execute('PRAGMA table_info(topics)')]
        select = ['id', 'name', 'type', 'serialization_format']
        select.append('offered_qos_profiles' if 'offered_qos_profiles' in cols else 'NULL')
        self.connections = []
        self._conns: dict[int, Connection] = {}
        kinds = (_INT, _TEXT, _TEXT, _MAYBE_TEXT, _MAYBE_TEXT)
        topics = self._rows('topics', ', '.join(select), kinds)
        stats = self._stats()
        for _, tid, name, typ, fmt, qos in topics:
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

    def _stats(self) -> dict[int, tuple[int, int, int]]:
        """`topic id -> (count, first, last timestamp)`, from the readable rows if some are not."""
        try:
            rows = self._db.execute(
                'SELECT topic_id, COUNT(*), MIN(timestamp), MAX(timestamp)'
                ' FROM messages GROUP BY topic_id'
            ).fetchall()
            if all(_typed(row, (_INT,) * 4) for row in rows):
                return {tid: (count, lo, hi) for tid, count, lo, hi in rows}
        except sqlite3.DatabaseError:
            pass
        stats: dict[int, tuple[int, int, int]] = {}
        for stamp, _, tid in self._row_keys():
            count, lo, hi = stats.get(tid, (0, stamp, stamp))
            stats[tid] = (count + 1, min(lo, stamp), max(hi, stamp))
        return stats

    # -- damaged tables ------------------------------------------------------------

    def _row_keys(self) -> list[RowKey]:
        """Every readable message row's key, sorted; damaged stretches are reported once."""
        if self._keys is not None:
            return self._keys
        keys: list[RowKey] = []
        after = -_MAX_ROWID
        while True:
            read_before = len(keys)
            try:
                for row in self._db.execute(
                    'SELECT id, topic_id, timestamp FROM messages WHERE id > ? ORDER BY id LIMIT ?',
                    (after, SCAN_ROWS),
                ):
                    after = row[0]
                    if _typed(row, (_INT,) * 3):
                        keys.append((row[2], row[0], row[1]))
                    else:
                        self.report_at(after, 'corrupt', f'message row {after} is garbled')
            except sqlite3.DatabaseError:
                first = max(after + 1, 1)
                resume = self._next_readable(after)
                if resume is None:
                    self.report_at(
                        first, 'corrupt', f'message rows from id {first} on are unreadable'
                    )
                    break
                if resume > first:
                    self.report_at(
                        first, 'corrupt', f'message rows {first} to {resume - 1} are unreadable'
                    )
                # A row a seek reaches may still sit on a damaged page: read it alone.
                key = self._key(resume)
                if key is None:
                    self.report_at(resume, 'corrupt', f'message row {resume} is unreadable')
                else:
                    keys.append(key)
                after = resume
                continue
            if len(keys) - read_before < SCAN_ROWS:
                break
        keys.sort()
        self._keys = keys
        return keys

    def _key(self, rowid: int) -> RowKey | None:
        """Return the key of one row, None when it cannot be read."""
        try:
            row = self._db.execute(
                'SELECT timestamp, id, topic_id FROM messages WHERE id = ?', (rowid,)
            ).fetchone()
        except sqlite3.DatabaseError:
            return None
        return (row[0], row[1], row[2]) if row is not None and _typed(row, (_INT,) * 3) else None

    def _probe(self, rowid: int) -> tuple[bool, int | None]:
        """Seek to the first row with id >= rowid: `(readable, its id or None at the end)`."""
        try:
            row = self._db.execute(
                'SELECT id FROM messages WHERE id >= ? ORDER BY id LIMIT 1', (rowid,)
            ).fetchone()
        except sqlite3.DatabaseError:
            return False, None
        return True, None if row is None else int(row[0])

    def _next_readable(self, after: int) -> int | None:
        """Return the id of the first readable row past the damage after row `after`."""
        step = 1
        while True:
            probe = min(after + step, _MAX_ROWID)
            readable = self._probe(probe)[0]
            if readable or probe == _MAX_ROWID:
                break
            step *= 2
        if not readable:
            return None
        low, high = after, probe  # a probe at `high` reads; a probe at `low` or below fails.
        while high - low > 1:
            middle = (low + high) // 2
            if self._probe(middle)[0]:
                high = middle
            else:
                low = middle
        return self._probe(high)[1]

    def _fetch(self, rowids: list[int]) -> Iterable[tuple[int, Any]]:
        """`(row id, data)` of rows, one by one where a batch meets damage (reported)."""
        query = f'SELECT id, data FROM messages WHERE id IN ({",".join("?" * len(rowids))})'
        try:
            return self._db.execute(query, rowids).fetchall()
        except sqlite3.DatabaseError:
            pass
        rows: list[tuple[int, Any]] = []
        for rowid in rowids:
            try:
                rows.extend(
                    self._db.execute('SELECT id, data FROM messages WHERE id = ?', (rowid,))
                )
            except sqlite3.DatabaseError as exc:
                self.report_at(rowid, 'corrupt', f'the data of message row {rowid}: {exc}', lost=1)
        return rows

    def _salvage(
        self,
        wanted: set[int] | None,
        start: int | None,
        end: int | None,
        after: tuple[int, int] | None,
    ) -> Iterator[BagMessage]:
        """Yield the readable messages past `after` (a `(timestamp, id)`), in order."""
        keys = [
            key
            for key in self._row_keys()
            if (wanted is None or key[2] in wanted)
            and (start is None or key[0] >= start)
            and (end is None or key[0] < end)
            and (after is None or key[:2] > after)
        ]
        conns = self._conns
        for first in range(0, len(keys), FETCH_ROWS):
            batch = keys[first : first + FETCH_ROWS]
            data = dict(self._fetch([rowid for _, rowid, _ in batch]))
            for stamp, rowid, tid in batch:
                conn = conns.get(tid)
                payload = data.get(rowid)
                if conn is not None and isinstance(payload, bytes):
                    yield BagMessage(conn, stamp, payload, rowid, self.path)

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
        last: tuple[int, int] | None = None
        try:
            cur = self._db.execute(query, args)
            try:
                while rows := cur.fetchmany(FETCH_ROWS):
                    for rowid, tid, stamp, data in rows:
                        if not _typed((rowid, tid, stamp, data), (_INT, _INT, _INT, bytes)):
                            self.report_at(rowid, 'corrupt', f'message row {rowid} is garbled')
                            continue
                        last = (stamp, rowid)
                        conn = conns.get(tid)
                        if conn is not None:
                            yield BagMessage(conn, stamp, data, rowid, file)
            finally:
                cur.close()
        except sqlite3.DatabaseError:
            # Walk the table by row id around the damage, from where the cursor stopped.
            yield from self._salvage(wanted, start, end, last)
