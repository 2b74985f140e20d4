"""Arrow arrays assembled from numpy buffers, and the permutations between orders.

Arrays are built from buffers (`numeric_array`, `empty_array`), not with
``pa.array``: its first call in a process imports pandas when pandas is
installed (0.2 to 1 s, a third of a small injection) to ask whether the
values are a pandas object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def numeric_array(values: NDArray[Any], dtype: pa.DataType | None = None) -> pa.Array:
    """Return an Arrow array over a 1-D numpy array of numbers or booleans, without nulls.

    Numbers in native byte order are not copied. Like ``pa.array(values,
    dtype)``, values of another numpy type are cast safely (an overflow
    raises ``pa.ArrowInvalid``), without asking pandas first.

    Args:
        values: The values.
        dtype: The Arrow type; the numpy type's equivalent when None.

    Returns:
        The array.

    """
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind not in 'biuf':
        return pa.array(values, dtype)
    if values.dtype.kind == 'b':
        bits = np.packbits(values, bitorder='little')
        array = pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    else:
        if not values.dtype.isnative:
            values = values.astype(values.dtype.newbyteorder('='))
        values = np.ascontiguousarray(values)
        own = pa.from_numpy_dtype(values.dtype)
        array = pa.Array.from_buffers(own, len(values), [None, pa.py_buffer(values)])
    return array if dtype is None or array.type == dtype else array.cast(dtype)


def numpy_values(array: pa.Array) -> NDArray[Any]:
    """Return the values of a numeric or boolean Arrow array as numpy (numbers are not copied).

    Like ``array.to_numpy(zero_copy_only=False)`` without asking pandas
    first; an array with nulls, or of another type, is converted by pyarrow.
    """
    dtype = array.type
    numeric = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if array.null_count or not (numeric or pa.types.is_boolean(dtype)):
        return array.to_numpy(zero_copy_only=False)
    data = array.buffers()[1]
    if data is None:
        return np.empty(0, np.bool_ if pa.types.is_boolean(dtype) else dtype.to_pandas_dtype())
    if pa.types.is_boolean(dtype):
        bits = np.frombuffer(data, np.uint8)
        flags = np.unpackbits(bits, count=array.offset + len(array), bitorder='little')
        return flags[array.offset :].view(np.bool_)
    return np.frombuffer(data, dtype.to_pandas_dtype(), len(array), array.offset * dtype.byte_width)


def struct_array(stype: pa.StructType, length: int, children: Sequence[pa.Array]) -> pa.Array:
    """Return a struct array of `stype` with no nulls."""
    if not children:
        return pa.Array.from_buffers(stype, length, [None], children=[])
    return pa.StructArray.from_arrays(children, fields=list(stype))


def list_array(
    ltype: pa.DataType, counts: NDArray[np.int64], values: pa.Array, what: str
) -> pa.Array:
    """Return a list array of `ltype` with `counts[i]` of `values` in row i."""
    offs = numeric_array(int32_offsets(counts, what))
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
    return pa.nulls(0, dtype)


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
    return joined.take(numeric_array(inverse(where)))
