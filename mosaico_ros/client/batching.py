"""Cutting record batches to the byte budget of one DoPut message."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Piece:
    """One slice of a batch: either sendable, or a single row over budget."""

    batch: pa.RecordBatch
    oversized: bool = False


def split_to_budget(
    batch: pa.RecordBatch,
    budget_bytes: int,
    max_rows: int | None = None,
) -> Iterator[Piece]:
    """Slice a batch into pieces of at most `budget_bytes` and `max_rows`.

    Sizes are Arrow buffer sizes (`nbytes`, which honours slicing), the
    payload of the IPC message; the budget's 10 % headroom below the
    server limit absorbs the IPC metadata. Slices share the input's buffers,
    so nothing is copied here.

    Args:
        batch: The batch to cut.
        budget_bytes: Largest payload one piece may have.
        max_rows: Largest row count one piece may have, or None.

    Yields:
        Pieces in row order; a single row larger than the budget comes as
        its own piece marked `oversized`.

    """
    rows = batch.num_rows
    if rows == 0:
        return
    if max_rows is not None and rows > max_rows:
        for start in range(0, rows, max_rows):
            yield from split_to_budget(batch.slice(start, max_rows), budget_bytes)
        return
    size = batch.nbytes
    if size <= budget_bytes:
        yield Piece(batch)
        return
    if rows == 1:
        yield Piece(batch, oversized=True)
        return
    parts = min(rows, -(-size // budget_bytes))
    parts = max(parts, 2)
    step = -(-rows // parts)
    for start in range(0, rows, step):
        yield from split_to_budget(batch.slice(start, step), budget_bytes)
