"""Column rebuilders: ontology rows back to ROS-shaped Arrow columns.

The columnar counterpart of `mosaico_ros.adapters.rows`: each helper takes
what its namesake there takes and returns one Arrow array holding, row for
row, the values the namesake returns as Python objects (nulls and masked
rows become the same fills). `assemble` nests columns given by dotted ROS
field path into the ROS-shaped struct `mosaico_ros.codec.encode` serializes,
as `rows.RosFactory.assemble` nests values into message objects; fields no
path names are left out and serialized as ROS defaults, the values
`RosFactory` fills them with.

An adapter's `to_ros_columns` is its `from_arrow` written with these helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.adapters import rows
from mosaico_ros.codec.buffers import offsets

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import DTypeLike, NDArray


def numbers(arr: pa.Array, fill: float = 0, mask: NDArray[np.bool_] | None = None) -> pa.Array:
    """`rows.numbers` as a column: `fill` where null or where `mask` is False."""
    if pa.types.is_null(arr.type):
        return pa.array([fill] * len(arr))
    out = arr.fill_null(pa.scalar(fill).cast(arr.type)) if arr.null_count else arr
    if mask is not None and not mask.all():
        out = pc.if_else(pa.array(mask), out, pa.scalar(fill).cast(arr.type))
    return out


def strings(arr: pa.Array, mask: NDArray[np.bool_] | None = None) -> pa.Array:
    """`rows.strings` as a column: ``''`` where null or masked."""
    return numbers(arr.cast(pa.string()), '', mask)  # type: ignore[arg-type]


def arrays(
    arr: pa.Array,
    dtype: DTypeLike,
    fill_size: int = 0,
    fill: float = 0,
    mask: NDArray[np.bool_] | None = None,
) -> pa.ListArray:
    """`rows.arrays` as a list column: null elements `fill`, null rows `fill_size` x `fill`."""
    parts = rows.list_parts(arr, mask)
    flat = parts.values
    if flat.null_count:
        flat = flat.fill_null(bool(fill) if pa.types.is_boolean(flat.type) else fill)
    values = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=dtype)
    sizes = np.diff(parts.offsets)
    ok = parts.valid
    if not ok.all():
        kept = np.where(ok, sizes, fill_size)
        starts = offsets(kept)
        out = np.full(int(starts[-1]), fill, dtype=dtype)
        owner = np.repeat(np.arange(len(sizes)), sizes)
        keep = np.repeat(ok, sizes)
        within = np.arange(len(values)) - parts.offsets[owner]
        out[(starts[owner] + within)[keep]] = values[keep]
        values, sizes = out, kept
    return pa.ListArray.from_arrays(pa.array(offsets(sizes), pa.int32()), pa.array(values))


def split(parts: rows.ListParts, elements: pa.Array) -> pa.ListArray:
    """`rows.ListParts.split` as a list column: the elements of each row, null rows empty."""
    mask = None if parts.valid.all() else pa.array(~parts.valid)
    return pa.ListArray.from_arrays(pa.array(parts.offsets, pa.int32()), elements, mask=mask)


def headers(arr: pa.Array | None, count: int) -> pa.StructArray:
    """`rows.RosFactory.headers` as a column (``seq`` left out, so 0 on ROS 1)."""
    if arr is None:
        zeros = pa.array(np.zeros(count, np.int64))
        return assemble({'stamp.sec': zeros, 'stamp.nanosec': zeros, 'frame_id': pa.nulls(count)})
    ok = rows.valid(arr)
    stamp = arr.field('timestamp')
    stamp_ok = rows.valid(stamp, ok)
    return assemble(
        {
            'stamp.sec': numbers(stamp.field('seconds'), 0, stamp_ok),
            'stamp.nanosec': numbers(stamp.field('nanoseconds'), 0, stamp_ok),
            'frame_id': strings(arr.field('frame_id'), ok),
        }
    )


def assemble(values: Mapping[str, pa.Array]) -> pa.StructArray:
    """Nest columns given by dotted ROS field path into one ROS-shaped struct array.

    ``{'header': h, 'pose.pose.position.x': x}`` gives a struct with fields
    ``header`` and ``pose`` (a struct with ``pose``, ...). Every column must
    have the same length; a struct (such as `headers` returns) is kept whole.

    Args:
        values: Dotted path -> column.

    Returns:
        The struct array, fields in the order their paths first appear.

    """
    nested: dict[str, Any] = {}
    for path, column in values.items():
        head, _, rest = path.partition('.')
        if rest:
            nested.setdefault(head, {})[rest] = column
        else:
            nested[head] = column
    names = list(nested)
    children = [assemble(c) if isinstance(c, dict) else c for c in nested.values()]
    return pa.StructArray.from_arrays(children, names=names)
