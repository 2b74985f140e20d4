"""Columnar encoding: an Arrow struct array into one payload per row.

The writer mirrors the reader: it walks the plan once per batch, keeps one
write position per message, and records each field as either a (rows, width)
byte matrix at per-row positions or byte ranges of per-row lengths. Once the
walk knows every payload's size, one buffer is allocated and each record is
copied in with one vectorized step. Padding stays zero, as rosbags writes it.

Nulls, and fields the array lacks, are written as ROS defaults (zero, empty
string, empty sequence, N defaults for ``T[N]``), the values the generic
adapter restores for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.codec.buffers import element_view, offsets, put_ranges, put_rows, take_ranges
from mosaico_ros.codec.errors import CodecError
from mosaico_ros.codec.layout import (
    align,
    element_starts,
    fixed_end,
    phase_free,
    run_end,
    stride,
)
from mosaico_ros.codec.plan import CDR_HEADER, FixedArray, Primitive, Sequence, String, Struct

if TYPE_CHECKING:
    from collections.abc import Sequence as Seq

    from numpy.typing import NDArray

    from mosaico_ros.codec.plan import Node, Plan


def encode(
    plan: Plan, array: pa.Array | pa.ChunkedArray, *, little_endian: bool = True
) -> tuple[memoryview, NDArray[np.int64]]:
    """Encode every row of a struct array as one payload of the plan's type.

    For rows `decode` produced, the payloads are what rosbags' serializer
    writes for the messages it decodes from the original payloads.

    Args:
        plan: Plan of the type and serialization.
        array: Rows of the plan's Arrow type; fields it lacks and nulls are
            written as ROS defaults, other numeric and string types are cast.
        little_endian: Byte order of CDR payloads (ROS 1 is always little endian).

    Returns:
        The payloads back to back (a writable byte view), and where each one ends.

    Raises:
        CodecError: A column cannot be cast to its field's type.

    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    count = len(array)
    order: Literal['<', '>'] = '<' if little_endian or plan.ros1 else '>'
    writer = _Writer(order)
    msgs = np.arange(count, dtype=np.int64)
    sizes = writer.write(plan.root, _Column(array, None), msgs, np.zeros(count, np.int64))
    header = 0 if plan.ros1 else CDR_HEADER
    stops = offsets(sizes + header)[1:]
    # calloc'd: fresh pages come zeroed, so padding costs nothing and nothing is written twice
    out = np.zeros(int(stops[-1]) if count else 0, np.uint8)
    starts = stops - sizes - header
    if header and order == '<':
        out[starts + 1] = 1
    writer.flush(out, starts + header)
    return out.data, stops


@dataclass(frozen=True)
class _Column:
    """The values of one node for a set of rows.

    Attributes:
        array: The values; None where the input has no such column.
        valid: False where the row or one of its parents is null; None when
            no row is. An invalid row is written as the ROS default.

    """

    array: pa.Array | None
    valid: NDArray[np.bool_] | None

    def take(self, index: NDArray[np.int64]) -> _Column:
        return _Column(
            None if self.array is None else self.array.take(index),
            None if self.valid is None else self.valid[index],
        )


class _Writer:
    """Lays a batch out and records its bytes until the payload sizes are known."""

    def __init__(self, order: Literal['<', '>']) -> None:
        self.order = order
        self.row_writes: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.uint8]]] = []
        self.range_writes: list[
            tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.uint8]]
        ] = []

    def flush(self, out: NDArray[np.uint8], bases: NDArray[np.int64]) -> None:
        """Copy every recorded write into `out`, whose payload `i` starts at `bases[i]`."""
        for msg, pos, block in self.row_writes:
            put_rows(out, bases[msg] + pos, block)
        for msg, pos, lengths, data in self.range_writes:
            put_ranges(out, bases[msg] + pos, lengths, data)

    def dtype(self, node: Primitive) -> np.dtype[np.generic]:
        return node.dtype if self.order == '<' else node.dtype.newbyteorder(self.order)

    def lengths(
        self, msg: NDArray[np.int64], pos: NDArray[np.int64], values: NDArray[np.int64]
    ) -> None:
        """Record a uint32 length or count per row."""
        block = values.astype(self.order + 'u4').view(np.uint8).reshape(-1, 4)
        self.row_writes.append((msg, pos, block))

    # --- nodes -------------------------------------------------------------

    def write(
        self, node: Node, column: _Column, msg: NDArray[np.int64], pos: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Lay one node out at every position; return the positions after it."""
        if node.fixed:
            return self.write_run((node,), [column], msg, pos)
        if isinstance(node, String):
            pos = align(pos, node.align)
            lengths, data = _strings(column, len(msg))
            nul = int(node.nul)
            self.lengths(msg, pos, lengths + nul)
            self.range_writes.append((msg, pos + 4, lengths, data))
            return pos + 4 + lengths + nul
        if isinstance(node, Sequence):
            pos = align(pos, node.align)
            counts, elements = _list_parts(column, len(msg))
            self.lengths(msg, pos, counts)
            return self.write_elements(node.elem, elements, msg, pos + 4, counts)
        if isinstance(node, Struct):
            children = _fields(column, node, len(msg))
            for start, stop in node.segments:
                first = node.fields[start][1]
                if first.fixed:
                    nodes = [field for _, field in node.fields[start:stop]]
                    pos = self.write_run(nodes, children[start:stop], msg, pos)
                else:
                    pos = self.write(first, children[start], msg, pos)
            return pos
        assert isinstance(node, FixedArray)
        elements = _fixed_parts(column, node, len(msg))
        counts = np.full(len(msg), node.length, np.int64)
        return self.write_repeated(node.elem, elements, msg, align(pos, node.align), counts)

    def write_run(
        self,
        nodes: Seq[Node],
        columns: Seq[_Column],
        msg: NDArray[np.int64],
        pos: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Lay consecutive fixed nodes out as one byte matrix per phase of their start."""
        first = nodes[0].align
        pos = align(pos, first)
        modulus = max(node.max_align for node in nodes)
        phases = pos & (modulus - 1) if modulus > first else np.zeros(len(pos), np.int64)
        after = pos.copy()
        for phase in np.unique(phases).tolist():
            index = np.flatnonzero(phases == phase)
            every = len(index) == len(pos)
            width = run_end(nodes, phase) - phase
            block = np.zeros((len(index), width), np.uint8)
            off = phase
            for node, column in zip(nodes, columns, strict=True):
                off = self.pack(node, column if every else column.take(index), block, phase, off)
            self.row_writes.append((msg[index], pos[index], block))
            after[index] += width
        return after

    def pack(
        self, node: Node, column: _Column, block: NDArray[np.uint8], origin: int, off: int
    ) -> int:
        """Write a fixed node into `block`, whose column 0 lies at phase-relative `origin`.

        Args:
            node: A fixed node.
            column: Its values, one per row of `block` (row-major over its leading axes).
            block: Bytes, (..., width), written in place.
            origin: Phase-relative offset of column 0.
            off: Phase-relative offset of the node, before alignment.

        Returns:
            The offset after the node.

        """
        shape = block.shape[:-1]
        count = int(np.prod(shape))
        if isinstance(node, Primitive):
            if not node.size:
                return off
            off = align(off, node.align)
            values = block[..., off - origin : off - origin + node.size].view(self.dtype(node))
            values[..., 0] = _numbers(column, node, count).reshape(shape)
            return off + node.size
        if isinstance(node, Struct):
            children = _fields(column, node, count)
            for (_, field), child in zip(node.fields, children, strict=True):
                off = self.pack(field, child, block, origin, off)
            return off
        assert isinstance(node, FixedArray)
        elem, length = node.elem, node.length
        off = align(off, elem.align)
        end = fixed_end(node, off)
        elements = _fixed_parts(column, node, count)
        if not length:
            return end
        if isinstance(elem, Primitive):
            values = block[..., off - origin : end - origin].view(self.dtype(elem))
            values[...] = _numbers(elements, elem, count * length).reshape(*shape, length)
        elif phase_free(elem):
            split = element_view(
                block, off - origin, length, stride(elem), fixed_end(elem, 0), writeable=True
            )
            self.pack(elem, elements, split, off, off)
        else:
            rows = np.arange(count, dtype=np.int64) * length
            for index, start in enumerate(element_starts(off, elem, length)):
                self.pack(elem, elements.take(rows + index), block, origin, start)
        return end

    def write_elements(
        self,
        elem: Node,
        elements: _Column,
        msg: NDArray[np.int64],
        start: NDArray[np.int64],
        counts: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Lay sequences out: `counts[i]` elements after each row's count."""
        if not (elem.fixed and phase_free(elem)):
            return self.write_repeated(elem, elements, msg, start, counts)
        size, step = fixed_end(elem, 0), stride(elem)
        first = np.where(counts > 0, align(start, elem.align), start)
        total = int(counts.sum())
        if total and isinstance(elem, Primitive):
            numbers = np.asarray(_numbers(elements, elem, total), self.dtype(elem))
            self.range_writes.append((msg, first, counts * size, numbers.view(np.uint8)))
        elif total:
            block = np.zeros((total, size), np.uint8)
            self.pack(elem, elements, block, 0, 0)
            if step == size:
                self.range_writes.append((msg, first, counts * size, block.reshape(-1)))
            else:
                within = np.arange(total, dtype=np.int64) - np.repeat(offsets(counts)[:-1], counts)
                at = np.repeat(first, counts) + within * step
                self.row_writes.append((np.repeat(msg, counts), at, block))
        return first + np.where(counts > 0, (counts - 1) * step + size, 0)

    def write_repeated(
        self,
        elem: Node,
        elements: _Column,
        msg: NDArray[np.int64],
        pos: NDArray[np.int64],
        counts: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """Lay out `counts[i]` consecutive elements of varying size per row.

        An element's span (its size and the padding to the next one) depends
        only on its values and on its phase: its start modulo its largest
        inner alignment, one of at most 8 / alignment values. Every element is
        sized at every phase by one dry run per phase, which turns placement
        into a recurrence over that small set of phases; its prefix is composed
        for all elements at once in log2(longest row) steps. Then one real run
        writes every element at its place.
        """
        if not counts.any():
            return pos
        total = int(counts.sum())
        bounds = offsets(counts)
        heads = np.repeat(bounds[:-1], counts)
        first = np.repeat(align(pos, elem.align), counts)
        phases = np.arange(0, elem.max_align, elem.align)
        spans = np.empty((total, len(phases)), np.int64)
        for column, phase in enumerate(phases.tolist()):
            at = np.full(total, phase, np.int64)
            ends = _Writer(self.order).write(elem, elements, np.zeros(total, np.int64), at)
            spans[:, column] = align(ends, elem.align) - phase
        start_state = (first & (elem.max_align - 1)) // elem.align
        state = _element_states(spans, phases, elem.max_align, heads, start_state)
        steps = spans[np.arange(total), state]
        before = offsets(steps)[:-1]
        starts = first + before - before[heads]
        ends = self.write(elem, elements, np.repeat(msg, counts), starts)
        after = pos.copy()
        full = counts > 0
        after[full] = ends[bounds[1:][full] - 1]
        return after


def _element_states(
    spans: NDArray[np.int64],
    phases: NDArray[np.int64],
    modulus: int,
    heads: NDArray[np.int64],
    start_state: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Phase index each element starts at, given each row's first and every span.

    Element k maps the phase index it starts at to the one its successor
    starts at; composing those maps over a row (Hillis-Steele doubling, one
    numpy step per power of two) gives every element's phase at once.
    """
    total = len(heads)
    if len(phases) == 1:
        return np.zeros(total, np.int64)
    step = phases[1] - phases[0]
    maps = (phases + spans) % modulus // step  # (elements, phases): next element's phase index
    within = np.arange(total) - heads
    distance = 1
    while (far := np.flatnonzero(within >= distance)).size:
        composed = maps.copy()
        composed[far] = np.take_along_axis(maps[far], maps[far - distance], axis=1)
        maps = composed
        distance *= 2
    state = start_state.copy()
    later = np.flatnonzero(within > 0)
    state[later] = maps[later - 1, start_state[later]]
    return state


def _present(column: _Column) -> pa.Array | None:
    """Return the column's array, or None where it is absent or all null."""
    array = column.array
    return None if array is None or pa.types.is_null(array.type) else array


def _below(column: _Column, array: pa.Array) -> NDArray[np.bool_] | None:
    """Return the validity of the rows below `array`: False where it or a parent is null."""
    if not array.null_count:
        return column.valid
    own = array.is_valid().to_numpy(zero_copy_only=False)
    return own if column.valid is None else column.valid & own


def _cast(array: pa.Array, dtype: pa.DataType) -> pa.Array:
    if array.type == dtype:
        return array
    try:
        return array.cast(dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise CodecError(f'cannot encode a {array.type} column as {dtype}: {err}') from err


def _fields(column: _Column, node: Struct, count: int) -> list[_Column]:
    """Return the struct's columns in field order; an absent one holds defaults."""
    array = _present(column)
    if array is None:
        return [_Column(None, None)] * len(node.fields)
    if not pa.types.is_struct(array.type):
        raise CodecError(f'cannot encode a {array.type} column as {node.msgtype}')
    valid = _below(column, array)
    names = set(array.type.names)
    return [_Column(array.field(name) if name in names else None, valid) for name, _ in node.fields]


def _numbers(column: _Column, node: Primitive, count: int) -> NDArray[np.generic]:
    """Return the numbers of a primitive column, 0 (False) where invalid."""
    array = _present(column)
    if array is None:
        return np.zeros(count, node.dtype)
    array = _cast(array, node.arrow)
    if array.null_count:
        array = array.fill_null(pa.scalar(0 if node.base != 'bool' else False, node.arrow))
    values = array.to_numpy(zero_copy_only=False)
    valid = column.valid
    if valid is not None and not valid.all():
        values = np.where(valid, values, np.zeros(1, values.dtype))
    return values


def _strings(column: _Column, count: int) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Return the UTF-8 byte lengths and concatenated bytes of a string column; '' where invalid."""
    array = _present(column)
    if array is None:
        return np.zeros(count, np.int64), np.zeros(0, np.uint8)
    array = _cast(array, pa.string())
    if array.null_count:
        array = array.fill_null('')
    _, offs_buffer, data_buffer = array.buffers()
    offs = np.frombuffer(offs_buffer, np.int32, count + 1, array.offset * 4).astype(np.int64)
    data = np.zeros(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, np.uint8)
    lengths = np.diff(offs)
    valid = column.valid
    if valid is not None and not valid.all():
        lengths = np.where(valid, lengths, 0)
        return lengths, take_ranges(data, offs[:-1], lengths)
    return lengths, data[offs[0] : offs[-1]]


def _list_parts(column: _Column, count: int) -> tuple[NDArray[np.int64], _Column]:
    """Return the element counts of a list column, and the elements in row order."""
    array = _present(column)
    if array is None:
        return np.zeros(count, np.int64), _Column(None, None)
    if pa.types.is_fixed_size_list(array.type):
        return np.full(count, array.type.list_size, np.int64), _fixed_parts(column, None, count)
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        raise CodecError(f'cannot encode a {array.type} column as a sequence')
    counts = pc.list_value_length(array).fill_null(0).to_numpy().astype(np.int64)
    values = array.flatten()
    valid = column.valid
    if valid is not None and not valid.all():
        values = values.filter(pa.array(np.repeat(valid, counts)))
        counts = np.where(valid, counts, 0)
    return counts, _Column(values, None)


def _fixed_parts(column: _Column, node: FixedArray | None, count: int) -> _Column:
    """Return the N elements of every row of a fixed-size list column, row-major."""
    array = _present(column)
    if array is None:
        return _Column(None, None)
    if node is not None and not pa.types.is_fixed_size_list(array.type):
        array = _cast(array, pa.list_(array.type.value_field, node.length))
    length = array.type.list_size
    values = array.values.slice(array.offset * length, count * length)
    valid = _below(column, array)
    return _Column(values, None if valid is None else np.repeat(valid, length))
