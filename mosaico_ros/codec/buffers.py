"""Moving bytes between one batch buffer and many per-message places at once.

Rows of one width are copied through a sliding-window view of the buffer
(``windows[starts]``), which numpy turns into one memcpy per row; rows at a
constant stride need no copy at all. Ranges of varying length are gathered
with one flat index when they are short, and by slicing when they are long
enough (images, point clouds) that the copy, not the loop, costs the time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import as_strided

if TYPE_CHECKING:
    from numpy.typing import NDArray

_SLICE_MIN_MEAN = 96
"""Mean range length from which slicing each range beats one flat index."""


def offsets(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return ``[0, c0, c0 + c1, ...]``: where each count's items start, and the total."""
    result = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=result[1:])
    return result


def _windows(data: NDArray[np.uint8], width: int, writeable: bool) -> NDArray[np.uint8]:
    count = len(data) - width + 1
    return as_strided(data, (count, width), (data.strides[0],) * 2, writeable=writeable)


def _constant_step(starts: NDArray[np.int64]) -> int:
    """Return the step of `starts` when it is a positive constant, else 0."""
    if len(starts) < 2:
        return 0
    step = int(starts[1] - starts[0])
    if step <= 0 or not bool((np.diff(starts) == step).all()):
        return 0
    return step


def take_rows(data: NDArray[np.uint8], starts: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """Return the `width` bytes at each start as a (rows, width) matrix.

    Every ``start + width`` must lie within `data`. The result may be a
    read-only view of `data`.
    """
    count = len(starts)
    if not count or not width:
        return np.zeros((count, width), np.uint8)
    first = int(starts[0])
    if count == 1:
        return data[first : first + width].reshape(1, width)
    step = _constant_step(starts)
    if step:
        return as_strided(data[first:], (count, width), (step, 1), writeable=False)
    return _windows(data, width, False)[starts]


def put_rows(out: NDArray[np.uint8], starts: NDArray[np.int64], rows: NDArray[np.uint8]) -> None:
    """Write each row of a (rows, width) matrix at its start in `out`."""
    count, width = rows.shape
    if not count or not width:
        return
    step = _constant_step(starts)
    if step >= width:
        first = int(starts[0])
        as_strided(out[first:], (count, width), (step, 1))[...] = rows
    else:
        _windows(out, width, True)[starts] = rows


def take_ranges(
    data: NDArray[np.uint8], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> NDArray[np.uint8]:
    """Return the ranges ``[start, start + length)`` of `data`, concatenated."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.uint8)
    count = len(lengths)
    width = int(lengths[0])
    if width * count == total and bool((lengths == width).all()):
        return take_rows(data, starts, width).reshape(-1)
    if total >= _SLICE_MIN_MEAN * count:
        return np.concatenate(
            [
                data[start : start + length]
                for start, length in zip(starts.tolist(), lengths.tolist(), strict=True)
            ]
        )
    return data[_flat_index(starts, lengths, total)]


def put_ranges(
    out: NDArray[np.uint8],
    starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    values: NDArray[np.uint8],
) -> None:
    """Write consecutive pieces of `values` into the ranges ``[start, start + length)``."""
    total = len(values)
    if not total:
        return
    count = len(lengths)
    width = int(lengths[0])
    if width * count == total and bool((lengths == width).all()):
        put_rows(out, starts, values.reshape(count, width))
    elif total >= _SLICE_MIN_MEAN * count:
        at = 0
        for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
            out[start : start + length] = values[at : at + length]
            at += length
    else:
        out[_flat_index(starts, lengths, total)] = values


def _flat_index(
    starts: NDArray[np.int64], lengths: NDArray[np.int64], total: int
) -> NDArray[np.int64]:
    """Return the index of every byte of the ranges, in order."""
    shifts = starts - offsets(lengths)[:-1]
    return np.repeat(shifts, lengths) + np.arange(total, dtype=np.int64)


def element_view(
    block: NDArray[np.uint8], col: int, length: int, step: int, size: int, *, writeable: bool
) -> NDArray[np.uint8]:
    """View `length` elements of `size` bytes, `step` apart from column `col`, as a new axis.

    Args:
        block: Bytes, (..., width), its last axis contiguous.
        col: Column of the first element.
        length: Number of elements; the last one ends within `block`.
        step: Bytes from one element to the next.
        size: Bytes of one element.
        writeable: Whether writes through the view reach `block`.

    Returns:
        A (..., length, size) view of `block`.

    """
    inner = block.strides[-1]
    return as_strided(
        block[..., col:],
        (*block.shape[:-1], length, size),
        (*block.strides[:-1], step * inner, inner),
        writeable=writeable,
    )
