"""Column builders: batches of decoded ROS messages to Arrow arrays.

Every builder takes a whole batch and returns one Arrow array, so adapters
never create an object per row. A batch comes in one of two shapes, and every
helper here takes both:

- message objects: a list of rosbags messages, and what `pluck` reads from
  them (lists of values, of nested messages, of numpy arrays);
- columns: the ROS-shaped Arrow struct of the same messages, as
  `mosaico_ros.codec.decode` produces it (the generic adapter's layout:
  field names verbatim, ``byte`` as uint8 octets, ``T[]`` as lists, ``T[N]``
  as fixed-size lists, nested messages as structs), and its children, which
  `pluck` returns.

An adapter written with these helpers therefore converts either shape, and
must produce the same rows from both; one that reads attributes itself
works on objects only (see `RosAdapter.columnar`). The target Arrow type
always comes from the ontology model, which keeps field names, order and
nullability exactly as the model declares them.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain, pairwise
from operator import attrgetter, not_
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.codec.arrays import numeric_array, numpy_values

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from numpy.typing import NDArray

ArrayLike: TypeAlias = 'pa.Array | np.ndarray[Any, Any] | list[Any]'

Batch: TypeAlias = 'Sequence[Any] | pa.Array'
"""Message objects (or values plucked from them), or the ROS-shaped column of the same values."""


def pluck(objs: Batch, path: str) -> Any:
    """Read one dotted field path from every message.

    Args:
        objs: Message objects, or their ROS-shaped struct column.
        path: Dotted field path, e.g. ``'header.stamp.sec'``.

    Returns:
        One value per object (a list), or the field's column.

    """
    if isinstance(objs, pa.Array):
        for name in path.split('.'):
            objs = objs.field(name)
        return objs
    return list(map(attrgetter(path), objs))


def field_names(objs: Batch) -> list[str]:
    """Field names of the messages of a batch (none for an empty batch of objects)."""
    if isinstance(objs, pa.Array):
        return list(objs.type.names)
    return list(getattr(objs[0], '__dataclass_fields__', ())) if len(objs) else []


def pylist(values: Batch) -> list[Any]:
    """Python values of a plucked field: numbers, strings, or dicts for messages."""
    return values.to_pylist() if isinstance(values, pa.Array) else list(values)


def truthy(values: Batch) -> NDArray[np.bool_]:
    """Whether each number or bool of a plucked field is non-zero."""
    return numbers(values) != 0


def numbers(values: Batch, dtype: Any = None) -> NDArray[Any]:
    """Return the numbers or bools of a plucked field as numpy (a column's are not copied)."""
    if isinstance(values, pa.Array):
        array = numpy_values(values)
        return array if dtype is None else array.astype(dtype, copy=False)
    return np.asarray(values, dtype)


def lengths(rows: Batch) -> NDArray[np.int64]:
    """Return the number of elements of each row of a plucked array or sequence field."""
    if isinstance(rows, pa.Array):
        return numpy_values(pc.list_value_length(rows)).astype(np.int64)
    return np.fromiter(map(len, rows), np.int64, len(rows))


def empty_strings(values: Batch) -> NDArray[np.bool_]:
    """Whether each string of a plucked field is empty."""
    if isinstance(values, pa.Array):
        return numpy_values(pc.binary_length(values)) == 0
    return np.fromiter(map(not_, values), np.bool_, len(values))


def masked(values: Batch | NDArray[Any], null: NDArray[np.bool_], dtype: pa.DataType) -> pa.Array:
    """`values` as an array of `dtype`, null where `null` is True."""
    array = as_array(values if isinstance(values, pa.Array | np.ndarray) else list(values), dtype)
    if not null.any():
        return array
    return pc.if_else(numeric_array(null), pa.nulls(1, dtype)[0], array)


def byte_rows(rows: Batch) -> list[NDArray[np.uint8]]:
    """Each row of a plucked ``uint8[]`` field as a uint8 numpy array (views for columns)."""
    if isinstance(rows, pa.Array):
        offsets, data = _list_bytes(rows)
        return [data[start:stop] for start, stop in pairwise(offsets.tolist())]
    return [np.asarray(row, np.uint8) for row in rows]


def _list_bytes(rows: pa.Array) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Offsets (from 0) and bytes of a ``list<uint8>`` column, without copying the bytes."""
    offsets = numpy_values(rows.offsets).astype(np.int64)
    start = int(offsets[0]) if len(offsets) else 0
    values = rows.values
    if not len(values):
        return offsets - start, np.empty(0, np.uint8)
    data = np.frombuffer(values.buffers()[1], np.uint8, len(values), values.offset)
    return offsets - start, data[start : start + int(offsets[-1] - start)]


def as_array(values: ArrayLike, dtype: pa.DataType) -> pa.Array:
    """Convert values to an Arrow array of exactly `dtype`.

    Args:
        values: An Arrow array, a numpy array or a Python list.
        dtype: Target Arrow type.

    Returns:
        The Arrow array.

    """
    if isinstance(values, pa.Array):
        return values if values.type == dtype else values.cast(dtype)
    if isinstance(values, np.ndarray):
        return numeric_array(values, dtype)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        try:  # out-of-range numbers raise OverflowError, as pa.array raises ArrowInvalid
            return numeric_array(np.asarray(values, dtype.to_pandas_dtype()), dtype)
        except (TypeError, ValueError):  # None (a null) among them: Arrow knows nulls
            pass
    elif pa.types.is_boolean(dtype) and (flags := np.asarray(values)).dtype == np.bool_:
        return numeric_array(flags)
    elif pa.types.is_string(dtype) and all(isinstance(value, str) for value in values):
        return _strings([value.encode('utf-8', 'surrogatepass') for value in values], dtype)
    elif pa.types.is_binary(dtype) and all(isinstance(value, bytes) for value in values):
        return _strings(values, dtype)
    return pa.array(values, type=dtype)


def _strings(encoded: Sequence[bytes], dtype: pa.DataType) -> pa.Array:
    """Return a string or binary array of the encoded values (32-bit offsets)."""
    offsets = _offsets(map(len, encoded), len(encoded))
    data = pa.py_buffer(b''.join(encoded))
    return pa.Array.from_buffers(dtype, len(encoded), [None, pa.py_buffer(offsets), data])


def null_mask(valid: NDArray[np.bool_] | None) -> pa.Array | None:
    """Arrow null mask (True = null) of a row validity; None when every row is valid."""
    return None if valid is None or bool(valid.all()) else numeric_array(~valid)


def empty_value(dtype: pa.DataType) -> Any:
    """Arrow's "empty" value of `dtype`: what its builders append under a null parent.

    Args:
        dtype: Any Arrow type.

    Returns:
        0, ``False``, ``''``, ``b''``, ``[]``, N empty elements for a fixed-size
        list, or a struct of its children's empty values (a valid struct).

    """
    if pa.types.is_struct(dtype):
        return {field.name: empty_value(field.type) for field in dtype}
    if pa.types.is_fixed_size_list(dtype):
        return [empty_value(dtype.value_type)] * dtype.list_size
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return []
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return ''
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return b''
    if pa.types.is_boolean(dtype):
        return False
    if pa.types.is_floating(dtype):
        return 0.0
    return 0


@lru_cache(maxsize=1024)
def empty_scalar(dtype: pa.DataType) -> pa.Scalar:
    """`empty_value` of `dtype` as an Arrow scalar (cached per type)."""
    return pa.scalar(empty_value(dtype), type=dtype)


def empty_array(dtype: pa.DataType, length: int) -> pa.Array:
    """`length` valid copies of the empty value of `dtype`.

    Every empty value is all-zero bytes in Arrow's layout (zero numbers, zero
    offsets), so the buffers are zeroed memory rather than repeated scalars.
    """
    if pa.types.is_struct(dtype):
        children = [empty_array(field.type, length) for field in dtype]
        return pa.Array.from_buffers(dtype, length, [None], children=children)
    if pa.types.is_fixed_size_list(dtype):
        values = empty_array(dtype.value_type, length * dtype.list_size)
        return pa.Array.from_buffers(dtype, length, [None], children=[values])
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        offsets = _zeros((length + 1) * _offset_size(dtype))
        values = empty_array(dtype.value_type, 0)
        return pa.Array.from_buffers(dtype, length, [None, offsets], children=[values])
    if _is_binary_like(dtype):
        offsets = _zeros((length + 1) * _offset_size(dtype))
        return pa.Array.from_buffers(dtype, length, [None, offsets, _zeros(0)])
    if pa.types.is_boolean(dtype) or pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        data = _zeros((length * dtype.bit_width + 7) // 8)
        return pa.Array.from_buffers(dtype, length, [None, data])
    return pa.repeat(empty_scalar(dtype), length)


def _is_binary_like(dtype: pa.DataType) -> bool:
    return (
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_binary(dtype)
        or pa.types.is_large_binary(dtype)
    )


def _offset_size(dtype: pa.DataType) -> int:
    large = pa.types.is_large_list(dtype) or pa.types.is_large_string(dtype)
    return 8 if large or pa.types.is_large_binary(dtype) else 4


def _zeros(size: int) -> pa.Buffer:
    return pa.py_buffer(np.zeros(size, np.uint8))


def null_array(dtype: pa.DataType, length: int) -> pa.Array:
    """`length` nulls of `dtype` whose descendants hold empty values, never nulls.

    ``pa.nulls`` leaves a null struct's or fixed-size list's children null even
    where the child field is non-nullable, which Parquet writers reject.

    Args:
        dtype: Any Arrow type.
        length: Number of rows.

    Returns:
        The all-null array.

    """
    if pa.types.is_struct(dtype) and dtype.num_fields:
        children = [empty_array(field.type, length) for field in dtype]
        return pa.StructArray.from_arrays(children, fields=list(dtype), mask=_all_null(length))
    if pa.types.is_fixed_size_list(dtype):
        values = empty_array(dtype.value_type, length * dtype.list_size)
        return pa.FixedSizeListArray.from_arrays(values, type=dtype, mask=_all_null(length))
    return pa.nulls(length, dtype)


def _all_null(length: int) -> pa.Array:
    return numeric_array(np.ones(length, np.bool_))


def struct_array(
    stype: pa.StructType,
    length: int,
    children: Mapping[str, ArrayLike | None],
    valid: NDArray[np.bool_] | None = None,
) -> pa.StructArray:
    """Assemble a struct array of `stype`; fields absent from `children` are null.

    A non-nullable field never holds a null, at any depth: where it is absent
    or null (only ever under a null parent) it holds its `empty_value`, the
    rule Arrow's own builders and the ontology's encoder follow.

    Args:
        stype: Target struct type.
        length: Number of rows.
        children: Values per field name.
        valid: Row validity; None means every row is valid.

    Returns:
        The struct array, typed exactly `stype`.

    """
    arrays = []
    for field in stype:
        value = children.get(field.name)
        if value is None:
            array = null_array(field.type, length) if field.nullable else None
            arrays.append(empty_array(field.type, length) if array is None else array)
            continue
        array = as_array(value, field.type)
        if not field.nullable and array.null_count:
            array = array.fill_null(empty_scalar(field.type))
        arrays.append(array)
    mask = null_mask(valid)
    if not arrays:
        # from_arrays cannot tell the length of a struct without fields
        validity = None if valid is None or mask is None else numeric_array(valid).buffers()[1]
        return pa.Array.from_buffers(stype, length, [validity], children=[])
    return pa.StructArray.from_arrays(arrays, fields=list(stype), mask=mask)


def child_type(stype: pa.DataType, *path: str) -> pa.DataType:
    """Type of a nested field of a struct type.

    Args:
        stype: Struct type to descend.
        path: Field names, outermost first.

    Returns:
        The nested field's type.

    """
    dtype = stype
    for name in path:
        dtype = dtype.field(name).type
    return dtype


def stack_rows(rows: Batch, dtype: Any = np.float64) -> NDArray[Any]:
    """Stack equal-length per-row arrays into a 2-D array with one concatenation.

    Args:
        rows: One 1-D array per row, all the same length, or a list column.
        dtype: Result dtype.

    Returns:
        Array of shape (len(rows), row length).

    Raises:
        ValueError: The rows differ in length.

    """
    count = len(rows)
    if not count:
        return np.empty((0, 0), dtype)
    if isinstance(rows, pa.Array):
        sizes = lengths(rows)
        if bool((sizes != sizes[0]).any()):
            raise ValueError(f'rows differ in length (first has {sizes[0]})')
        flat = numpy_values(rows.flatten()).astype(dtype, copy=False)
        return flat.reshape(count, int(sizes[0]))
    wanted = np.dtype(dtype)
    try:
        # rosbags decodes fixed arrays as contiguous numpy arrays of one dtype; joining
        # their buffers is several times faster than np.concatenate over 100k tiny arrays
        if set(map(attrgetter('dtype'), rows)) != {wanted}:
            raise TypeError
        flat = np.frombuffer(b''.join(rows), wanted)
    except (AttributeError, TypeError):
        flat = np.concatenate(rows).astype(dtype, copy=False)
    if flat.size != count * np.size(rows[0]):
        raise ValueError(f'rows differ in length (first has {len(rows[0])})')
    return flat.reshape(count, -1)


def header_array(
    headers: Batch,
    stype: pa.StructType,
    *,
    keep_empty: bool = False,
) -> pa.StructArray:
    """Build ontology ``Header`` structs from ROS headers.

    ROS 1 ``seq`` becomes ``sample_counter``. An empty header (stamp 0, frame
    ``''``) becomes null unless `keep_empty`.

    Args:
        headers: ROS header objects, or their column.
        stype: The ontology header struct type.
        keep_empty: Keep empty headers instead of nulling them.

    Returns:
        The header struct array.

    """
    count = len(headers)
    stamps = pluck(headers, 'stamp')
    sec = as_array(pluck(stamps, 'sec'), pa.int64())
    nsec = as_array(pluck(stamps, 'nanosec'), pa.int64())
    frames = pluck(headers, 'frame_id')
    time_type = stype.field('timestamp').type
    timestamp = struct_array(time_type, count, {'seconds': sec, 'nanoseconds': nsec})
    children: dict[str, ArrayLike | None] = {'timestamp': timestamp, 'frame_id': frames}
    if 'seq' in field_names(headers):
        children['sample_counter'] = pluck(headers, 'seq')
    valid = None
    if not keep_empty and count:
        no_frame = empty_strings(frames)
        valid = ~((numpy_values(sec) == 0) & (numpy_values(nsec) == 0) & no_frame)
    return struct_array(stype, count, children, valid)


def covariance_array(
    matrices: Batch | NDArray[np.float64],
    list_type: pa.ListType,
) -> pa.ListArray:
    """Flattened covariance lists, null where no element is > 0.

    Args:
        matrices: One ROS covariance array per row (all the same length), their
            column, or those rows already stacked into a 2-D array.
        list_type: Target ``list<double>`` type.

    Returns:
        The covariance list array.

    """
    count = len(matrices)
    if not count:
        return pa.nulls(0, list_type)
    stacked = matrices if isinstance(matrices, np.ndarray) else stack_rows(matrices)
    valid = np.asarray((stacked > 0).any(axis=1), np.bool_)
    offsets = np.zeros(count + 1, np.int32)
    np.cumsum(valid * stacked.shape[1], out=offsets[1:])
    values = numeric_array(stacked[valid].ravel(), list_type.value_type)
    return pa.ListArray.from_arrays(
        numeric_array(offsets), values, type=list_type, mask=null_mask(valid)
    )


def _offsets(sizes: Iterable[int], count: int) -> NDArray[np.int32]:
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(np.fromiter(sizes, np.int64, count), out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise OverflowError('batch exceeds 2 GiB of list values; flush smaller batches')
    return offsets.astype(np.int32)


def list_array(
    rows: Batch,
    list_type: pa.ListType,
    valid: NDArray[np.bool_] | None = None,
) -> pa.ListArray:
    """Variable-length lists from per-row numpy arrays or Python lists, or a list column.

    Numeric rows are concatenated once; string rows are chained once.

    Args:
        rows: One sequence per row, or their column.
        list_type: Target list type.
        valid: Row validity; None means every row is valid.

    Returns:
        The list array.

    """
    if isinstance(rows, pa.Array):
        lists = as_array(rows, list_type)
        if valid is None or valid.all():
            return lists
        # from_arrays takes no mask with offsets that are a slice: copy them
        offsets = numeric_array(numpy_values(lists.offsets).copy())
        return pa.ListArray.from_arrays(
            offsets, lists.values, type=list_type, mask=null_mask(valid)
        )
    count = len(rows)
    offsets = _offsets(map(len, rows), count)
    value_type = list_type.value_type
    if pa.types.is_primitive(value_type) and count:
        arrays = [np.asarray(row) for row in rows]
        flat = np.concatenate(arrays) if arrays else np.empty(0)
        values = numeric_array(flat, value_type) if len(flat) else pa.nulls(0, value_type)
    else:
        values = pa.array(list(chain.from_iterable(rows)), type=value_type)
    return pa.ListArray.from_arrays(
        numeric_array(offsets), values, type=list_type, mask=null_mask(valid)
    )


def fixed_list_array(rows: Batch, list_type: pa.FixedSizeListType) -> pa.Array:
    """Fixed-size lists from per-row arrays of exactly ``list_size`` elements, or their column.

    Args:
        rows: One array per row, or their column.
        list_type: Target fixed-size list type.

    Returns:
        The fixed-size list array.

    Raises:
        ValueError: A row has the wrong number of elements.

    """
    if isinstance(rows, pa.Array):
        if rows.type != list_type and bool((lengths(rows) != list_type.list_size).any()):
            raise ValueError(f'expected {list_type.list_size} elements per row for {list_type}')
        return as_array(rows, list_type)
    size = list_type.list_size
    count = len(rows)
    if not count:
        return pa.nulls(0, list_type)
    if any(len(row) != size for row in rows):
        raise ValueError(f'expected {size} elements per row for {list_type}')
    value_type = list_type.value_type
    if pa.types.is_primitive(value_type):
        values = numeric_array(np.concatenate([np.asarray(row) for row in rows]), value_type)
    else:
        # numpy would hold strings as fixed-width unicode, which drops trailing NULs
        values = pa.array(list(chain.from_iterable(rows)), type=value_type)
    return fixed_lists(values, list_type, count)


def fixed_lists(values: pa.Array, list_type: pa.FixedSizeListType, length: int) -> pa.Array:
    """Fixed-size lists of consecutive `values`, ``list_size`` per row.

    ``FixedSizeListArray.from_arrays`` divides by the list size, which kills
    the process (SIGFPE) for ``T[0]``; such rows are built from buffers.

    Args:
        values: ``length * list_size`` values.
        list_type: Target fixed-size list type.
        length: Number of rows.

    Returns:
        The fixed-size list array.

    """
    if not list_type.list_size:
        return pa.Array.from_buffers(list_type, length, [None], children=[values])
    return pa.FixedSizeListArray.from_arrays(values, type=list_type)


def binary_array(rows: Batch, dtype: pa.DataType | None = None) -> pa.Array:
    """Binary values from per-row ``uint8`` numpy arrays (or bytes), or a ``list<uint8>`` column.

    Rows are copied once; a column's bytes are not copied at all.

    Args:
        rows: One byte buffer per row, or their column.
        dtype: ``binary`` (default) or ``large_binary``.

    Returns:
        The binary array.

    """
    dtype = dtype or pa.binary()
    count = len(rows)
    large = pa.types.is_large_binary(dtype)
    if isinstance(rows, pa.Array):
        offsets, data = _list_bytes(rows)
        offset_type = np.int64 if large else np.int32
        buffers = [None, pa.py_buffer(offsets.astype(offset_type)), pa.py_buffer(data)]
        return pa.Array.from_buffers(dtype, count, buffers)
    chunks = [
        np.frombuffer(row, np.uint8) if isinstance(row, bytes | bytearray) else row for row in rows
    ]
    sizes = np.fromiter(map(len, chunks), np.int64, count)
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if not large and offsets[-1] > np.iinfo(np.int32).max:
        raise OverflowError('batch exceeds 2 GiB of binary values; flush smaller batches')
    data = np.concatenate(chunks).astype(np.uint8, copy=False) if count else np.empty(0, np.uint8)
    offset_buffer = pa.py_buffer(offsets if large else offsets.astype(np.int32))
    return pa.Array.from_buffers(dtype, count, [None, offset_buffer, pa.py_buffer(data)])


def nested_list_array(
    rows: Batch,
    list_type: pa.ListType,
    build: Any,
    valid: NDArray[np.bool_] | None = None,
) -> pa.ListArray:
    """Build lists whose elements `build` makes from all flattened elements at once.

    Args:
        rows: One sequence of element objects per row, or their list column.
        list_type: Target list type.
        build: ``build(elements, element_type) -> pa.Array`` for all elements at
            once, given as objects or as their column, as `rows` are.
        valid: Row validity; None means every row is valid.

    Returns:
        The list array.

    """
    count = len(rows)
    elements: Batch
    if isinstance(rows, pa.Array):
        offsets = _offsets(lengths(rows), count)
        elements = rows.flatten()
    else:
        offsets = _offsets(map(len, rows), count)
        elements = list(chain.from_iterable(rows))
    values = build(elements, list_type.value_type)
    return pa.ListArray.from_arrays(
        numeric_array(offsets), values, type=list_type, mask=null_mask(valid)
    )
