"""Parquet chunk files: durable writing, statistics, and clean-up.

A chunk is one zstd Parquet file holding a slice of one topic, sorted by
`timestamp_ns`. It is written under a temporary name, fsynced and renamed
before the catalog references it, so a crash leaves at worst an orphan file,
which start-up removes.

A chunk is written while its stream arrives, a row group at a time
(`ROW_GROUP_ROWS` rows or `ROW_GROUP_BYTES`), as long as the rows arrive in
time order, which is how clients send them: closing a chunk then writes
only its last row group, instead of the whole chunk after the stream's last
batch. Rows are sorted before they are written, and the newest 100 ms of
them wait for the next rows (a recorder's receive times can be out of order
by a few milliseconds); once a row is older than one already written, the
chunk's rows are held, and the chunk is sorted and written again, a row
group at a time, when it closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mosaico_ros.protocol import TIMESTAMP_COLUMN
from mosaico_ros.server.records import ChunkRecord

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
"""In-memory size of buffered rows at which a DoPut stream rolls a new chunk."""

DEFAULT_CHUNK_ROWS = 1_000_000
"""Row count at which a DoPut stream rolls a new chunk."""

ROW_GROUP_ROWS = 65_536
"""Parquet row group size in rows: the unit a windowed read can skip."""

ROW_GROUP_BYTES = 16 * 1024 * 1024
"""In-memory size of rows at which a row group is written (large rows: images, clouds)."""

REORDER_WINDOW_NS = 100_000_000
"""A chunk's rows within this of its newest row wait to be written: older ones may still come."""

_STAT_STRING_LIMIT = 256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stat_value(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _STAT_STRING_LIMIT:
        return None
    return value


def _stat_leaves(table: pa.Table) -> Iterator[tuple[str, pa.ChunkedArray]]:
    """Leaf numeric, boolean and string columns (structs flattened), by dotted path."""
    flat = table
    while any(pa.types.is_struct(field.type) for field in flat.schema):
        flat = flat.flatten()
    for name, column in zip(flat.column_names, flat.columns, strict=True):
        kind = column.type
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
        ) and not pa.types.is_float16(kind):
            yield name, column


class ColumnStats:
    """Min and max of every leaf numeric, boolean or string column, over the tables added.

    Keys are dotted paths (`acceleration.z`); list and map columns are left
    out, and so is a string column once a value too long to keep bounds it.
    """

    def __init__(self) -> None:
        self._bounds: dict[str, list[Any] | None] = {}

    def add(self, table: pa.Table) -> None:
        """Widen the bounds by the rows of `table`."""
        for name, column in _stat_leaves(table):
            extremes = pc.min_max(column)
            low, high = extremes['min'].as_py(), extremes['max'].as_py()
            if low is None:
                continue  # all null: says nothing
            low, high = _stat_value(low), _stat_value(high)
            known = self._bounds.get(name, [low, high])
            if low is None or high is None or known is None:
                self._bounds[name] = None
            else:
                self._bounds[name] = [min(known[0], low), max(known[1], high)]

    def result(self) -> dict[str, list[Any]]:
        """Return the bounds of every column that has them."""
        return {name: bounds for name, bounds in self._bounds.items() if bounds is not None}


def column_stats(table: pa.Table) -> dict[str, list[Any]]:
    """Min and max of every leaf numeric, boolean or string column of one table (`ColumnStats`)."""
    stats = ColumnStats()
    stats.add(table)
    return stats.result()


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """Return how a chunk's Parquet is written: dictionaries, statistics, page version.

    Only the string leaves get a dictionary: frame ids, formats and names
    repeat; numbers and blobs seldom do, and trying a dictionary on them
    first made IMU chunks slower to write (2x) and larger (20%). Only the
    leaves `ColumnStats` covers (numbers, bools, strings) get statistics: a
    blob's minimum and maximum take a pass over every byte (a quarter of the
    time to write raw images) and no query filters on blobs. Data pages are
    version 2: a version 1 page copies its values once more before
    compressing them (15% of the time to write raw images).
    """
    leaves = [name for name, _ in _stat_leaves(schema.empty_table())]
    return {
        'use_dictionary': [name for name in leaves if _is_text(schema, name)],
        'write_statistics': leaves,
        'data_page_version': '2.0',
    }


def _is_text(schema: pa.Schema, path: str) -> bool:
    top, *rest = path.split('.')
    dtype: pa.DataType = schema.field(top).type
    for part in rest:
        dtype = dtype.field(part).type
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def sort_by_timestamp(table: pa.Table) -> tuple[pa.Table, npt.NDArray[np.int64]]:
    """Return the rows ordered by `timestamp_ns` (stable) and their stamps; no work if sorted."""
    stamps = table.column(TIMESTAMP_COLUMN).to_numpy()
    if len(stamps) < 2 or bool(np.all(stamps[1:] >= stamps[:-1])):
        return table, stamps
    order = np.argsort(stamps, kind='stable')
    return table.take(order), stamps[order]


class ChunkFiles:
    """The chunk files of one store directory.

    Args:
        root: The store directory; chunks live in `data/`, partial files in `tmp/`.

    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / 'data'
        self.tmp_dir = root / 'tmp'
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        """Absolute path of a store-relative chunk file name."""
        return self.root / relative

    def open(self, topic_uuid: str, index: int, schema: pa.Schema) -> ChunkFile:
        """Start one chunk of a topic; see `ChunkFile`.

        Args:
            topic_uuid: Topic write token; names the topic's chunk folder.
            index: Chunk number within the topic's stream.
            schema: The rows' schema.

        """
        relative = f'data/{topic_uuid}/{index:06d}.parquet'
        temporary = self.tmp_dir / f'{topic_uuid}-{index:06d}.parquet'
        return ChunkFile(self.root, relative, temporary, schema)

    def remove(self, files: Iterable[str]) -> None:
        """Delete chunk files (already unreferenced by the catalog) and empty folders."""
        for relative in files:
            path = self.root / relative
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    def remove_orphans(self, referenced: set[str]) -> int:
        """Delete partial files and chunk files the catalog does not reference.

        Returns:
            Number of files removed.

        """
        removed = 0
        for partial in self.tmp_dir.iterdir():
            partial.unlink(missing_ok=True)
            removed += 1
        for path in self.data_dir.glob('*/*'):
            if path.relative_to(self.root).as_posix() not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        for folder in self.data_dir.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if removed:
            logger.info('removed %d orphan chunk files from %s', removed, self.root)
        return removed


class ChunkFile:
    """One chunk being written: row groups while rows come in time order, then made durable.

    Args:
        root: The store directory.
        relative: The chunk's store-relative file name.
        temporary: Where it is written until `close` renames it.
        schema: The rows' schema.

    """

    def __init__(self, root: Path, relative: str, temporary: Path, schema: pa.Schema) -> None:
        self._root = root
        self._relative = relative
        self._temporary = temporary
        self._schema = schema
        self._writer: pq.ParquetWriter | None = None
        self._held: list[pa.Table] = []
        self._tail: pa.Table | None = None
        self._stats = ColumnStats()
        self._last: int | None = None
        self._first: int | None = None
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        """Write rows as row groups, or hold them once rows came out of time order.

        Rows are sorted before they are written, and the newest of them
        (`REORDER_WINDOW_NS`, at most half of them) wait for the next rows: a
        live source's receive times can be out of order by a few
        milliseconds. Only a row older than one already written makes the
        chunk hold the rest.
        """
        if not table.num_rows:
            return
        self.rows += table.num_rows
        if self._tail is not None:
            table, self._tail = pa.concat_tables([self._tail, table]), None
        if self._held:
            self._held.append(table)
            return
        table, stamps = sort_by_timestamp(table)
        if self._last is not None and stamps[0] < self._last:
            self._held.append(table)
            return
        ready = int(np.searchsorted(stamps, stamps[-1] - REORDER_WINDOW_NS, side='right'))
        ready = max(ready, len(stamps) // 2)  # what waits stays at most half a row group
        if ready:
            self._write(table.slice(0, ready))
        if ready < table.num_rows:
            self._tail = table.slice(ready)

    def _write(self, table: pa.Table) -> None:
        """Write rows sorted by time, newer than any written."""
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._temporary, self._schema, compression='zstd', **parquet_options(self._schema)
            )
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._stats.add(table)
        stamps = table.column(TIMESTAMP_COLUMN)
        self._first = stamps[0].as_py() if self._first is None else self._first
        self._last = stamps[-1].as_py()

    def close(self) -> ChunkRecord:
        """Write what is held (sorted, with the rows written so far), make the file durable.

        Returns:
            The chunk's catalog record.

        """
        if self._held:
            self._rewrite_sorted()
        elif self._tail is not None:
            self._write(self._tail)
            self._tail = None
        assert self._writer is not None, 'a chunk holds at least one row'
        self._writer.close()
        self._writer = None
        with self._temporary.open('rb') as written:
            os.fsync(written.fileno())
        final = self._root / self._relative
        final.parent.mkdir(exist_ok=True)
        os.replace(self._temporary, final)
        _fsync_dir(final.parent)
        assert self._first is not None
        assert self._last is not None
        return ChunkRecord(
            file=self._relative,
            row_count=self.rows,
            bytes=final.stat().st_size,
            min_ts=int(self._first),
            max_ts=int(self._last),
            column_stats=self._stats.result(),
        )

    def _rewrite_sorted(self) -> None:
        """Sort everything of the chunk and write it again from the start, a row group at a time.

        What was written is read back and joined with what is held into one
        table (Arrow's take would join a chunked column again for every row
        group); the sorted rows are taken one row group at a time, so the chunk
        is not in memory once more, sorted.
        """
        parts, self._held, self._stats = self._held, [], ColumnStats()
        self._first = self._last = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            parts.insert(0, pq.read_table(self._temporary, schema=self._schema))
        table = pa.concat_tables(parts).combine_chunks()
        del parts
        order = pc.sort_indices(table.column(TIMESTAMP_COLUMN))
        step = max(1, min(ROW_GROUP_ROWS, ROW_GROUP_BYTES * table.num_rows // (table.nbytes or 1)))
        for start in range(0, table.num_rows, step):
            self._write(table.take(order[start : start + step]))

    def discard(self) -> None:
        """Drop the chunk: nothing of it stays."""
        if self._writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._writer.close()
            self._writer = None
        self._held, self._tail = [], None
        self._temporary.unlink(missing_ok=True)


class ChunkWriter:
    """Buffers one DoPut stream and rolls it into chunks of bounded size.

    Args:
        files: The store's chunk files.
        topic_uuid: Topic write token.
        schema: The stream's schema.
        on_chunk: Called with each durable chunk, to reference it in the catalog.
        max_bytes: Buffered size that triggers a chunk.
        max_rows: Buffered rows that trigger a chunk.

    """

    def __init__(  # noqa: PLR0917
        self,
        files: ChunkFiles,
        topic_uuid: str,
        schema: pa.Schema,
        on_chunk: Callable[[ChunkRecord], None],
        max_bytes: int = DEFAULT_CHUNK_BYTES,
        max_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self._files = files
        self._topic_uuid = topic_uuid
        self._schema = schema
        self._on_chunk = on_chunk
        self._max_bytes = max_bytes
        self._max_rows = max_rows
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._pending_rows = 0
        self._chunk: ChunkFile | None = None
        self._chunk_bytes = 0
        self._index = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer one batch; write a row group, or close the chunk, when enough is buffered."""
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self._pending_rows += batch.num_rows
        chunk_rows = self._pending_rows + (self._chunk.rows if self._chunk else 0)
        if self._chunk_bytes + self._pending_bytes >= self._max_bytes or (
            chunk_rows >= self._max_rows
        ):
            self.flush()
        elif self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        if self._chunk is None:
            self._chunk = self._files.open(self._topic_uuid, self._index, self._schema)
        self._chunk_bytes += self._pending_bytes
        self._pending, self._pending_bytes, self._pending_rows = [], 0, 0
        self._chunk.append(table)

    def flush(self) -> None:
        """Write whatever is buffered and close the chunk, which the catalog then references."""
        self._write_pending()
        chunk, self._chunk, self._chunk_bytes = self._chunk, None, 0
        if chunk is None:
            return
        try:
            record = chunk.close()
        except BaseException:
            chunk.discard()
            raise
        self._index += 1
        self._on_chunk(record)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A stream that broke is a failed stream: its buffered rows and the
        # chunk being written are dropped here, the chunks already referenced by the caller.
        if exc_type is None:
            self.flush()
        elif self._chunk is not None:
            self._chunk.discard()
            self._chunk = None
