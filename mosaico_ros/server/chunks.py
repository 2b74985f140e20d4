"""Parquet chunk files: durable writing, statistics, and clean-up.

A chunk is one zstd Parquet file holding a slice of one topic, sorted by
`timestamp_ns`. It is written under a temporary name, fsynced and renamed
before the catalog references it, so a crash leaves at worst an orphan file,
which start-up removes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
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
"""Parquet row group size: the unit a windowed read can skip."""

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


def column_stats(table: pa.Table) -> dict[str, list[Any]]:
    """Min and max of every leaf numeric, boolean or string column (structs flattened).

    Keys are dotted paths (`acceleration.z`); list and map columns are left out.
    """
    flat = table
    while any(pa.types.is_struct(field.type) for field in flat.schema):
        flat = flat.flatten()
    stats: dict[str, list[Any]] = {}
    for name, column in zip(flat.column_names, flat.columns, strict=True):
        kind = column.type
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
        ) or pa.types.is_float16(kind):
            continue
        extremes = pc.min_max(column)
        low, high = extremes['min'].as_py(), extremes['max'].as_py()
        if low is None:
            continue
        low, high = _stat_value(low), _stat_value(high)
        if low is not None and high is not None:
            stats[name] = [low, high]
    return stats


def sort_by_timestamp(table: pa.Table) -> pa.Table:
    """Return the rows ordered by `timestamp_ns` (stable), skipping work if already sorted."""
    stamps = table.column(TIMESTAMP_COLUMN).to_numpy()
    if len(stamps) < 2 or bool(np.all(stamps[1:] >= stamps[:-1])):
        return table
    return table.take(pc.sort_indices(table, sort_keys=[(TIMESTAMP_COLUMN, 'ascending')]))


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

    def write(self, topic_uuid: str, index: int, table: pa.Table) -> ChunkRecord:
        """Sort, write and make durable one chunk.

        Args:
            topic_uuid: Topic write token; names the topic's chunk folder.
            index: Chunk number within the topic's stream.
            table: Rows of the chunk, at least one, any order.

        Returns:
            The chunk's catalog record.

        """
        table = sort_by_timestamp(table)
        relative = f'data/{topic_uuid}/{index:06d}.parquet'
        final = self.root / relative
        final.parent.mkdir(exist_ok=True)
        temporary = self.tmp_dir / f'{topic_uuid}-{index:06d}.parquet'
        pq.write_table(table, temporary, compression='zstd', row_group_size=ROW_GROUP_ROWS)
        with temporary.open('rb') as written:
            os.fsync(written.fileno())
        os.replace(temporary, final)
        _fsync_dir(final.parent)
        stamps = table.column(TIMESTAMP_COLUMN)
        return ChunkRecord(
            file=relative,
            row_count=table.num_rows,
            bytes=final.stat().st_size,
            min_ts=int(stamps[0].as_py()),
            max_ts=int(stamps[-1].as_py()),
            column_stats=column_stats(table),
        )

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
        self._index = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Buffer one batch, writing a chunk when the buffer is full."""
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self._pending_rows += batch.num_rows
        if self._pending_bytes >= self._max_bytes or self._pending_rows >= self._max_rows:
            self.flush()

    def flush(self) -> None:
        """Write whatever is buffered as one chunk."""
        if not self._pending:
            return
        table = pa.Table.from_batches(self._pending, schema=self._schema)
        self._pending, self._pending_bytes, self._pending_rows = [], 0, 0
        chunk = self._files.write(self._topic_uuid, self._index, table)
        self._index += 1
        self._on_chunk(chunk)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A stream that broke is a failed stream: its buffered rows are
        # dropped here, and the chunks already written by the caller.
        if exc_type is None:
            self.flush()
