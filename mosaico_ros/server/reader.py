"""Reading a topic's chunks back: time windows, sorted merge, exact schema.

Only chunks (and row groups) whose timestamp range meets the window are
opened. Chunks whose ranges do not overlap are streamed one after another;
overlapping ones are merged k-way, one batch per chunk in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mosaico_ros.protocol import TIMESTAMP_COLUMN
from mosaico_ros.server.chunks import ChunkFiles
from mosaico_ros.server.records import ChunkRecord

READ_BATCH_ROWS = 16_384
"""Rows per batch read from a Parquet file."""


@dataclass(frozen=True)
class Window:
    """`[start_ns, end_ns)` on `timestamp_ns`; a None bound is open."""

    start_ns: int | None = None
    end_ns: int | None = None

    def meets(self, low: int, high: int) -> bool:
        """Whether any timestamp in `[low, high]` lies inside the window."""
        if self.start_ns is not None and high < self.start_ns:
            return False
        return not (self.end_ns is not None and low >= self.end_ns)

    def covers(self, low: int, high: int) -> bool:
        """Whether every timestamp in `[low, high]` lies inside the window."""
        if self.start_ns is not None and low < self.start_ns:
            return False
        return not (self.end_ns is not None and high >= self.end_ns)

    def mask(self, stamps: np.ndarray) -> np.ndarray | None:
        """Boolean mask of the stamps inside the window; None when all are."""
        keep: np.ndarray | None = None
        if self.start_ns is not None:
            keep = stamps >= self.start_ns
        if self.end_ns is not None:
            below = stamps < self.end_ns
            keep = below if keep is None else keep & below
        return keep


def _row_groups(metadata: pq.FileMetaData, window: Window) -> list[int]:
    chosen = []
    for index in range(metadata.num_row_groups):
        stats = metadata.row_group(index).column(0).statistics
        if stats is None or not stats.has_min_max or window.meets(stats.min, stats.max):
            chosen.append(index)
    return chosen


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    # Parquet renames list items and drops nested field metadata; the
    # client must get back the exact schema it uploaded.
    if batch.schema.equals(schema, check_metadata=True):
        return batch
    return batch.cast(schema)


def _chunk_batches(
    files: ChunkFiles,
    chunk: ChunkRecord,
    window: Window,
    schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(files.path(chunk.file))
    groups = _row_groups(parquet.metadata, window)
    if not groups:
        return
    whole = window.covers(chunk.min_ts, chunk.max_ts)
    for raw in parquet.iter_batches(
        batch_size=READ_BATCH_ROWS,
        row_groups=groups,
        columns=schema.names,
        use_threads=False,
    ):
        batch = raw
        if not whole:
            keep = window.mask(raw.column(TIMESTAMP_COLUMN).to_numpy())
            if keep is not None:
                batch = raw.filter(pa.array(keep))
        if batch.num_rows:
            yield _conform(batch, schema)


def _overlap_groups(chunks: Sequence[ChunkRecord]) -> list[list[ChunkRecord]]:
    groups: list[list[ChunkRecord]] = []
    reach: int | None = None
    for chunk in sorted(chunks, key=lambda c: (c.min_ts, c.max_ts)):
        if reach is None or chunk.min_ts >= reach:
            groups.append([chunk])
            reach = chunk.max_ts
        else:
            groups[-1].append(chunk)
            reach = max(reach, chunk.max_ts)
    return groups


def _merge(streams: list[Iterator[pa.RecordBatch]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    heads: list[pa.RecordBatch | None] = [next(stream, None) for stream in streams]
    while True:
        live = [index for index, head in enumerate(heads) if head is not None]
        if not live:
            return
        # Every row at or before the smallest "last timestamp" of the loaded
        # batches is final: no unread row of any stream can come before it.
        frontier = min(int(heads[i].column(TIMESTAMP_COLUMN)[-1].as_py()) for i in live)  # type: ignore[union-attr]
        parts = []
        for index in live:
            head = heads[index]
            assert head is not None
            stamps = head.column(TIMESTAMP_COLUMN).to_numpy()
            cut = int(np.searchsorted(stamps, frontier, side='right'))
            if cut:
                parts.append(head.slice(0, cut))
            rest = head.slice(cut)
            heads[index] = rest if rest.num_rows else next(streams[index], None)
        merged = pa.Table.from_batches(parts, schema=schema)
        merged = merged.sort_by([(TIMESTAMP_COLUMN, 'ascending')])
        yield from merged.combine_chunks().to_batches()


def read_topic(
    files: ChunkFiles,
    chunks: Sequence[ChunkRecord],
    schema: pa.Schema,
    window: Window,
) -> Iterator[pa.RecordBatch]:
    """Stream a topic's rows inside a window, sorted by timestamp, in `schema`.

    Args:
        files: The store's chunk files.
        chunks: The topic's chunks.
        schema: Schema to return: the stored topic schema or a projection of it
            (`timestamp_ns` must be kept).
        window: Time window to return.

    Yields:
        Non-empty record batches.

    """
    wanted = [chunk for chunk in chunks if window.meets(chunk.min_ts, chunk.max_ts)]
    for group in _overlap_groups(wanted):
        if len(group) == 1:
            yield from _chunk_batches(files, group[0], window, schema)
        else:
            streams = [_chunk_batches(files, chunk, window, schema) for chunk in group]
            for batch in _merge(streams, schema):
                if batch.num_rows:
                    yield batch


def window_extent(
    files: ChunkFiles,
    chunks: Sequence[ChunkRecord],
    window: Window,
) -> tuple[int, int | None, int | None]:
    """Count the rows inside a window and find their first and last timestamps.

    Chunks wholly inside the window are answered from the catalog; only the
    timestamp column of the others is read.

    Returns:
        `(row_count, min_ns, max_ns)`; both bounds None when no row is inside.

    """
    count, low, high = 0, None, None
    for chunk in chunks:
        if not window.meets(chunk.min_ts, chunk.max_ts):
            continue
        if window.covers(chunk.min_ts, chunk.max_ts):
            count += chunk.row_count
            chunk_low, chunk_high = chunk.min_ts, chunk.max_ts
        else:
            parquet = pq.ParquetFile(files.path(chunk.file))
            groups = _row_groups(parquet.metadata, window)
            if not groups:
                continue
            stamps = parquet.read_row_groups(groups, columns=[TIMESTAMP_COLUMN]).column(0)
            values = stamps.to_numpy()
            keep = window.mask(values)
            if keep is not None:
                values = values[keep]
            if not len(values):
                continue
            count += len(values)
            chunk_low, chunk_high = int(values.min()), int(values.max())
        low = chunk_low if low is None else min(low, chunk_low)
        high = chunk_high if high is None else max(high, chunk_high)
    return count, low, high


def rebatch(batches: Iterator[pa.RecordBatch], target_bytes: int) -> Iterator[pa.RecordBatch]:
    """Split batches so each stays near `target_bytes`; never yields an empty batch."""
    for batch in batches:
        if not batch.num_rows:
            continue
        size = batch.nbytes
        if size <= target_bytes:
            yield batch
            continue
        rows = max(1, batch.num_rows * target_bytes // size)
        for offset in range(0, batch.num_rows, rows):
            yield batch.slice(offset, rows)
