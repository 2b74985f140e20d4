"""Row readers: Arrow columns back to the values ROS message classes take.

Columns are converted whole (numpy or one ``to_pylist`` per leaf); only the
final ROS objects are built per row, because the player and exporter need
message objects. Nulls become the ROS defaults (0, ``''``, empty arrays).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa

from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.protocol import TIMESTAMP_COLUMN

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import DTypeLike, NDArray
    from rosbags.typesys.store import Typestore

NUMPY_PRIMITIVES: dict[str, Any] = {
    'bool': np.bool_,
    'byte': np.int8,
    'char': np.uint8,
    'octet': np.uint8,
    'uint8': np.uint8,
    'int8': np.int8,
    'uint16': np.uint16,
    'int16': np.int16,
    'uint32': np.uint32,
    'int32': np.int32,
    'uint64': np.uint64,
    'int64': np.int64,
    'float32': np.float32,
    'float64': np.float64,
    'float128': np.longdouble,
}
"""numpy dtype of each ROS primitive, as rosbags decodes arrays of it."""


def as_struct(data: Any) -> pa.StructArray:
    """Turn a table, batch, chunked or struct array into one struct array.

    The ``timestamp_ns`` envelope column is dropped when present.

    Args:
        data: ``pa.Table``, ``pa.RecordBatch``, ``pa.ChunkedArray`` or ``pa.StructArray``.

    Returns:
        The data columns as one struct array.

    Raises:
        AdapterError: `data` is none of the accepted kinds.

    """
    if isinstance(data, pa.Table | pa.RecordBatch):
        if TIMESTAMP_COLUMN in data.schema.names:
            data = data.drop_columns([TIMESTAMP_COLUMN])
        if isinstance(data, pa.Table):
            data = data.combine_chunks()
            batches = data.to_batches()
            if not batches:
                return pa.array([], type=pa.struct(list(data.schema)))
            data = pa.concat_batches(batches) if len(batches) > 1 else batches[0]
        return data.to_struct_array()
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    if isinstance(data, pa.StructArray):
        return data
    raise AdapterError(f'expected an Arrow table, batch or struct array, got {type(data).__name__}')


def field(arr: pa.StructArray, path: str) -> pa.Array:
    """Child array at a dotted path.

    Args:
        arr: Struct array.
        path: Dotted field path.

    Returns:
        The nested child array (parent validity not applied).

    """
    out: pa.Array = arr
    for name in path.split('.'):
        out = out.field(name)
    return out


def has_field(arr: pa.StructArray, name: str) -> bool:
    """Whether a struct array has a field `name`."""
    return arr.type.get_field_index(name) >= 0


def valid(arr: pa.Array, mask: NDArray[np.bool_] | None = None) -> NDArray[np.bool_]:
    """Row validity of an array as numpy booleans.

    Args:
        arr: Any Arrow array.
        mask: Extra validity to combine with, e.g. the parent struct's.

    Returns:
        A fresh boolean array, one entry per row.

    """
    if arr.null_count == 0:
        ok = np.ones(len(arr), np.bool_)
    else:
        ok = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), np.bool_)
    return ok if mask is None else ok & mask


class ListParts(NamedTuple):
    """A list column taken apart, so its elements can be converted all at once."""

    values: pa.Array
    """The elements of all rows, flat."""

    offsets: NDArray[np.int64]
    """Row boundaries into `values`, starting at 0."""

    valid: NDArray[np.bool_]
    """Row validity."""

    def split(self, elements: Sequence[Any], keep_null: bool = False) -> list[Any]:
        """Slice per-element results back into rows; null rows get ``[]`` unless `keep_null`."""
        offsets, ok = self.offsets, self.valid
        return [
            elements[offsets[i] : offsets[i + 1]] if keep_null or ok[i] else []
            for i in range(len(ok))
        ]


def list_parts(arr: pa.Array, mask: NDArray[np.bool_] | None = None) -> ListParts:
    """Flat elements, rebased offsets and row validity of a list or fixed-size list column.

    Args:
        arr: ``list`` or ``fixed_size_list`` array (possibly a slice).
        mask: Extra row validity.

    Returns:
        The parts.

    """
    count = len(arr)
    if isinstance(arr, pa.FixedSizeListArray):
        size = arr.type.list_size
        offsets = np.arange(count + 1, dtype=np.int64) * size
        flat = arr.values.slice(arr.offset * size, count * size)
    else:
        offsets = arr.offsets.to_numpy().astype(np.int64)
        flat = arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        offsets -= offsets[0]
    return ListParts(flat, offsets, valid(arr, mask))


def numbers(
    arr: pa.Array,
    fill: float = 0,
    mask: NDArray[np.bool_] | None = None,
) -> list[Any]:
    """Python numbers of a primitive column, `fill` where null or where `mask` is False.

    Args:
        arr: Primitive Arrow array.
        fill: Value for null rows.
        mask: Extra validity, e.g. the parent struct's.

    Returns:
        One Python value per row.

    """
    values = (
        arr.fill_null(fill).to_numpy(zero_copy_only=False)
        if arr.null_count
        else (arr.to_numpy(zero_copy_only=False))
    )
    if mask is not None and not mask.all():
        values = np.where(mask, values, fill)
    return values.tolist()  # type: ignore[no-any-return, unused-ignore]


def strings(arr: pa.Array, mask: NDArray[np.bool_] | None = None) -> list[str]:
    """Python strings of a string column, ``''`` where null or masked."""
    values = arr.to_pylist()
    if mask is None:
        return [value or '' for value in values]
    return [value or '' if keep else '' for value, keep in zip(values, mask, strict=True)]


def arrays(
    arr: pa.Array,
    dtype: DTypeLike,
    fill_size: int = 0,
    fill: float = 0,
    mask: NDArray[np.bool_] | None = None,
) -> list[NDArray[Any]]:
    """Per-row numpy arrays of a list or fixed-size list column.

    Args:
        arr: ``list``/``fixed_size_list`` array of primitives.
        dtype: numpy dtype of the ROS array.
        fill_size: Length of the array returned for null rows.
        fill: Element value of the arrays returned for null rows.
        mask: Extra validity, e.g. the parent struct's.

    Returns:
        One contiguous numpy array per row.

    """
    parts = list_parts(arr, mask)
    flat = parts.values
    if flat.null_count:
        flat = flat.fill_null(bool(fill) if pa.types.is_boolean(flat.type) else fill)
    values = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=dtype)
    filler = np.full(fill_size, fill, dtype=dtype)
    offsets, ok = parts.offsets, parts.valid
    return [
        values[offsets[i] : offsets[i + 1]].copy() if ok[i] else filler.copy()
        for i in range(len(ok))
    ]


def binaries(arr: pa.Array, mask: NDArray[np.bool_] | None = None) -> list[NDArray[np.uint8]]:
    """Per-row ``uint8`` numpy arrays of a binary column (empty where null).

    Args:
        arr: ``binary`` or ``large_binary`` array.
        mask: Extra validity.

    Returns:
        One ``uint8`` array per row.

    """
    count = len(arr)
    row_valid = valid(arr, mask)
    offset_dtype = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    buffers = arr.buffers()
    offsets = np.frombuffer(
        buffers[1], offset_dtype, count + 1, arr.offset * np.dtype(offset_dtype).itemsize
    )
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    return [
        data[offsets[i] : offsets[i + 1]].copy() if row_valid[i] else np.empty(0, np.uint8)
        for i in range(count)
    ]


def is_ros1_store(typestore: Typestore) -> bool:
    """Whether `typestore` holds ROS 1 definitions (its ``Header`` has ``seq``)."""
    header = typestore.fielddefs.get('std_msgs/msg/Header')
    return header is not None and any(name == 'seq' for name, _ in header[1])


class RosFactory:
    """Builds ROS message objects of one typestore, with the header conventions.

    Args:
        typestore: The rosbags typestore whose classes are instantiated.

    """

    def __init__(self, typestore: Typestore) -> None:
        self.typestore = typestore
        self.header_has_seq = is_ros1_store(typestore)

    def cls(self, msgtype: str) -> Any:
        """Return the typestore class of `msgtype`.

        Raises:
            AdapterError: The typestore does not know `msgtype`.

        """
        try:
            return self.typestore.types[msgtype]
        except KeyError:
            raise AdapterError(f'typestore has no definition for {msgtype!r}') from None

    def fields(self, msgtype: str) -> list[tuple[str, Any]]:
        """``(name, node)`` pairs of `msgtype`'s fields, in declaration order.

        Raises:
            AdapterError: The typestore does not know `msgtype`.

        """
        try:
            return self.typestore.fielddefs[msgtype][1]
        except KeyError:
            raise AdapterError(f'typestore has no definition for {msgtype!r}') from None

    def field_names(self, msgtype: str) -> list[str]:
        """Field names of `msgtype`, in declaration order."""
        return [name for name, _ in self.fields(msgtype)]

    def times(self, sec: list[int], nanosec: list[int], msgtype: str) -> list[Any]:
        """``builtin_interfaces`` Time or Duration objects."""
        cls = self.cls(msgtype)
        return [cls(sec=s, nanosec=n) for s, n in zip(sec, nanosec, strict=True)]

    def headers(self, arr: pa.Array | None, count: int) -> list[Any]:
        """ROS headers from an ontology header column (null => stamp 0, frame ``''``).

        ``seq`` is always 0 on ROS 1: ``sample_counter`` is not restored.

        Args:
            arr: Ontology header struct column, or None for no header at all.
            count: Number of rows.

        Returns:
            One ROS header per row.

        """
        header_cls = self.cls('std_msgs/msg/Header')
        if arr is None:
            sec = nsec = [0] * count
            frames = [''] * count
        else:
            ok = valid(arr)
            stamp = arr.field('timestamp')
            stamp_ok = valid(stamp, ok)
            sec = numbers(stamp.field('seconds'), 0, stamp_ok)
            nsec = numbers(stamp.field('nanoseconds'), 0, stamp_ok)
            frames = strings(arr.field('frame_id'), ok)
        stamps = self.times(sec, nsec, 'builtin_interfaces/msg/Time')
        if self.header_has_seq:
            return [
                header_cls(seq=0, stamp=s, frame_id=f) for s, f in zip(stamps, frames, strict=True)
            ]
        return [header_cls(stamp=s, frame_id=f) for s, f in zip(stamps, frames, strict=True)]

    def build(self, msgtype: str, columns: dict[str, list[Any]], count: int) -> list[Any]:
        """Instantiate `count` messages from per-field value lists.

        Args:
            msgtype: ROS message type.
            columns: Field name -> one value per row; every field must be present.
            count: Number of rows.

        Returns:
            The ROS message objects.

        Raises:
            AdapterError: A field of the definition is missing from `columns`.

        """
        cls = self.cls(msgtype)
        names = self.field_names(msgtype)
        missing = [name for name in names if name not in columns]
        if missing:
            raise AdapterError(f'cannot build {msgtype}: no values for fields {missing}')
        if not names:
            return [cls() for _ in range(count)]
        cols = [columns[name] for name in names]
        return [cls(**dict(zip(names, values, strict=True))) for values in zip(*cols, strict=True)]

    def default(self, node: tuple[Any, Any]) -> Any:
        """Return the ROS default value of a field node (0, ``''``, zeros, empty arrays)."""
        kind, details = node
        if kind == 1:
            base = details[0]
            return '' if base == 'string' else False if base == 'bool' else 0
        if kind == 2:
            return self.assemble(str(details), {}, 1)[0]
        sub, size = details
        if sub[0] == 1 and sub[1][0] != 'string':
            return np.zeros(size if kind == 3 else 0, NUMPY_PRIMITIVES[sub[1][0]])
        return [self.default(sub) for _ in range(size)] if kind == 3 else []

    def assemble(self, msgtype: str, values: Mapping[str, list[Any]], count: int) -> list[Any]:
        """Build `count` messages from values given by dotted field path.

        Nested messages are assembled from the paths below them; fields no path
        names get ROS defaults. ``{'header': h, 'pose.pose': p, 'pose.covariance': c}``
        builds a ``PoseWithCovarianceStamped``.

        Args:
            msgtype: ROS type to build.
            values: Dotted path -> one value per row.
            count: Number of rows.

        Returns:
            The ROS message objects.

        Raises:
            AdapterError: A path names no field of `msgtype`.

        """
        fields = dict(self.fields(msgtype))
        nested: dict[str, dict[str, list[Any]]] = {}
        direct: dict[str, list[Any]] = {}
        for path, column in values.items():
            head, _, rest = path.partition('.')
            if head not in fields:
                raise AdapterError(f'{msgtype} has no field {head!r} (path {path!r})')
            if rest:
                nested.setdefault(head, {})[rest] = column
            else:
                direct[head] = column
        cols: dict[str, list[Any]] = {}
        for name, node in fields.items():
            if name in direct:
                cols[name] = direct[name]
            elif name in nested:
                cols[name] = self.assemble(str(node[1]), nested[name], count)
            else:
                cols[name] = [self.default(node) for _ in range(count)]
        return self.build(msgtype, cols, count)
