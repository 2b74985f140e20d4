"""Arrow arrays assembled from numpy buffers, and the permutations between orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mosaico_ros.codec.buffers import offsets
from mosaico_ros.codec.errors import CodecError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

_INT32_MAX = np.iinfo(np.int32).max


def int32_offsets(counts: NDArray[np.int64], what: str) -> NDArray[np.int32]:
    """Arrow offsets of `counts`.

    Raises:
        CodecError: The batch holds more items than 32-bit offsets can address.

    """
    result = offsets(counts)
    if result[-1] > _INT32_MAX:
        raise CodecError(f'{what}: more than 2**31 items in one batch; cut it smaller')
    return result.astype(np.int32)


def struct_array(stype: pa.StructType, length: int, children: Sequence[pa.Array]) -> pa.Array:
    """Return a struct array of `stype` with no nulls."""
    if not children:
        return pa.Array.from_buffers(stype, length, [None], children=[])
    return pa.StructArray.from_arrays(children, fields=list(stype))


def list_array(
    ltype: pa.DataType, counts: NDArray[np.int64], values: pa.Array, what: str
) -> pa.Array:
    """Return a list array of `ltype` with `counts[i]` of `values` in row i."""
    offs = pa.array(int32_offsets(counts, what))
    return pa.ListArray.from_arrays(offs, values, type=ltype)


def fixed_list_array(ltype: pa.DataType, length: int, values: pa.Array) -> pa.Array:
    """Return `length` fixed-size lists of `ltype` holding consecutive `values`.

    ``FixedSizeListArray.from_arrays`` divides by the list size, which kills
    the process (SIGFPE) for ``T[0]``; such rows are built from buffers.
    """
    if not ltype.list_size:
        return pa.Array.from_buffers(ltype, length, [None], children=[values])
    return pa.FixedSizeListArray.from_arrays(values, type=ltype)


def string_array(lengths: NDArray[np.int64], data: NDArray[np.uint8], what: str) -> pa.Array:
    """Return a string array of the consecutive pieces of `data`, not validated."""
    offs = pa.py_buffer(int32_offsets(lengths, what))
    return pa.StringArray.from_buffers(len(lengths), offs, pa.py_buffer(data))


def empty_array(dtype: pa.DataType) -> pa.Array:
    """Return an array of `dtype` with no rows."""
    return pa.array([], type=dtype)


def inverse(permutation: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return the permutation that undoes `permutation`."""
    result = np.empty_like(permutation)
    result[permutation] = np.arange(len(permutation), dtype=permutation.dtype)
    return result


def gather(parts: Sequence[pa.Array], positions: Sequence[NDArray[np.int64]]) -> pa.Array:
    """Return ``parts[k][i]`` placed at ``positions[k][i]``; the positions cover 0..n-1."""
    where = np.concatenate(positions)
    joined = parts[0] if len(parts) == 1 else pa.concat_arrays(list(parts))
    if bool((where == np.arange(len(where))).all()):
        return joined
    return joined.take(inverse(where))
