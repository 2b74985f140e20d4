"""Columnar decoding: a batch of payloads of one type into one Arrow struct array.

The reader walks the plan once per batch, not once per message. It holds one
read position per message (a numpy array) and handles each field for all
messages at once:

- a run of fixed fields is one (messages, width) byte matrix, whose columns
  are reinterpreted as the fields' numbers;
- a string or a sequence of numbers is a length read at every position,
  then one gather of all the ranges it announces;
- a sequence of fixed structs is gathered as a matrix of elements;
- a sequence (or array) whose elements vary in size is read rank by rank:
  the first element of every message, then the second of those that have
  one, and so on, each rank again one step for all messages at once. The
  loop runs over the longest sequence of the batch, never over messages.

A payload that does not fit the definition fails alone: it is recorded with
its reason, reads harmless bytes from then on, and is left out at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa

from mosaico_ros.codec.arrays import (
    empty_array,
    fixed_list_array,
    gather,
    list_array,
    numeric_array,
    string_array,
    struct_array,
)
from mosaico_ros.codec.buffers import element_view, offsets, take_ranges, take_rows
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

_CDR_SLACK = 3
"""Bytes of alignment padding a CDR payload may carry after its last field."""


@dataclass(frozen=True)
class PayloadFailure:
    """A payload that does not fit the definition.

    Attributes:
        index: Position of the payload in its batch.
        reason: What is wrong and where; the same for every payload failing the same way.

    """

    index: int
    reason: str


@dataclass(frozen=True)
class DecodedBatch:
    """The decoded payloads of one batch.

    Attributes:
        struct: One row per payload that fits the definition, in batch order.
        kept: Batch positions of the rows of `struct`.
        failures: The payloads left out, in batch order.

    """

    struct: pa.StructArray
    kept: NDArray[np.int64]
    failures: tuple[PayloadFailure, ...]


def decode(plan: Plan, blob: bytes | bytearray | memoryview, ends: Seq[int]) -> DecodedBatch:
    """Decode a batch of payloads of the plan's type into Arrow columns.

    The columns are those `GenericAdapter.to_arrow` builds from the messages
    rosbags decodes from the same payloads.

    Args:
        plan: Plan of the payloads' type and serialization.
        blob: The payloads, back to back.
        ends: Where each payload ends in `blob`.

    Returns:
        The rows of the payloads that fit, and why the others do not.

    Raises:
        CodecError: `ends` do not rise within `blob`, or the batch is too large
            for 32-bit Arrow offsets.

    """
    data = np.frombuffer(blob, np.uint8)
    stops = np.asarray(ends, np.int64).reshape(-1)
    count = len(stops)
    starts = np.zeros(count, np.int64)
    starts[1:] = stops[:-1]
    if count and (stops[-1] > len(data) or bool((stops < starts).any())):
        raise CodecError('payload ends must rise and stay within the blob')
    failures = _Failures(count)
    rows = _Rows(np.arange(count, dtype=np.int64), starts, stops - starts)
    groups: list[tuple[Literal['<', '>'], _Rows]]
    groups = [('<', rows)] if plan.ros1 else _cdr_groups(data, rows, failures)
    parts, positions = [], []
    for order, group in groups:
        if not len(group):
            continue
        reader = _Reader(data, order, failures, plan.max_sequence_length)
        struct, pos = reader.read_struct(plan.root, group, np.zeros(len(group), np.int64), '')
        slack = group.size - pos
        trailing = slack > (0 if plan.ros1 else _CDR_SLACK)
        failures.add(group.msg[trailing], 'trailing bytes after the message')
        parts.append(struct)
        positions.append(group.msg)
    struct = gather(parts, positions) if parts else empty_array(plan.arrow_type)
    kept = np.flatnonzero(failures.code == 0)
    if len(kept) < count:
        struct = struct.take(numeric_array(kept))
    return DecodedBatch(struct, kept, failures.listed())


def _cdr_groups(
    data: NDArray[np.uint8], rows: _Rows, failures: _Failures
) -> list[tuple[Literal['<', '>'], _Rows]]:
    """Split CDR payloads by byte order, past their encapsulation header."""
    whole = rows.size >= CDR_HEADER
    kind = np.zeros(len(rows), np.int64)
    order = np.zeros(len(rows), np.int64)
    kind[whole] = data[rows.base[whole]]
    order[whole] = data[rows.base[whole] + 1]
    failures.add(rows.msg[~whole | (kind != 0) | (order > 1)], 'invalid CDR encapsulation header')
    payloads = _Rows(rows.msg, rows.base + CDR_HEADER, np.maximum(rows.size - CDR_HEADER, 0))
    big = whole & (kind == 0) & (order == 0)
    return [('<', payloads.take(np.flatnonzero(~big))), ('>', payloads.take(np.flatnonzero(big)))]


@dataclass(frozen=True)
class _Rows:
    """The values being read: one per message, or one per element of a repeated field.

    Attributes:
        msg: Batch position of the message each row belongs to.
        base: Where that message's payload starts in the blob.
        size: Its payload size.

    """

    msg: NDArray[np.int64]
    base: NDArray[np.int64]
    size: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.msg)

    def take(self, index: NDArray[np.int64]) -> _Rows:
        return _Rows(self.msg[index], self.base[index], self.size[index])


class _Failures:
    """The first failure of every message of a batch."""

    def __init__(self, count: int) -> None:
        self.code = np.zeros(count, np.int32)
        self.reasons: dict[str, int] = {}

    def add(self, msgs: NDArray[np.int64], reason: str) -> None:
        fresh = msgs[self.code[msgs] == 0]
        if len(fresh):
            self.code[fresh] = self.reasons.setdefault(reason, len(self.reasons) + 1)

    def adopt(self, other: _Failures, msgs: NDArray[np.int64], rows: NDArray[np.int64]) -> None:
        """Take the failures of `other`'s `rows` as those of messages `msgs`."""
        codes = other.code[rows]
        reasons = {code: reason for reason, code in other.reasons.items()}
        for code in np.unique(codes[codes != 0]).tolist():
            self.add(msgs[codes == code], reasons[code])

    def listed(self) -> tuple[PayloadFailure, ...]:
        reasons = {code: reason for reason, code in self.reasons.items()}
        failed = np.flatnonzero(self.code)
        return tuple(
            PayloadFailure(index, reasons[code])
            for index, code in zip(failed.tolist(), self.code[failed].tolist(), strict=True)
        )


def _path(where: str, name: str) -> str:
    return f'{where}.{name}' if where else name


class _Reader:
    """Reads the payloads of one byte order."""

    def __init__(
        self,
        data: NDArray[np.uint8],
        order: Literal['<', '>'],
        failures: _Failures,
        max_sequence: int,
    ) -> None:
        self.data = data
        self.order = order
        self.failures = failures
        self.max_sequence = max_sequence

    # --- bookkeeping -------------------------------------------------------

    def fail(self, rows: _Rows, bad: NDArray[np.bool_], reason: str) -> None:
        if bad.any():
            self.failures.add(rows.msg[bad], reason)

    def live(self, rows: _Rows) -> NDArray[np.bool_]:
        return self.failures.code[rows.msg] == 0

    def starts(self, rows: _Rows, pos: NDArray[np.int64]) -> NDArray[np.int64]:
        """Blob offsets of `pos`; 0 for failed rows, whose positions may be nonsense."""
        return np.where(self.live(rows), rows.base + pos, 0)

    def fetch(
        self, rows: _Rows, pos: NDArray[np.int64], width: int, where: str
    ) -> NDArray[np.uint8]:
        """Return the `width` bytes at each position, failing rows whose payload ends sooner."""
        self.fail(rows, pos + width > rows.size, f'payload too short at {where}')
        live = self.live(rows)
        if not live.any():
            return np.zeros((len(rows), width), np.uint8)
        return take_rows(self.data, np.where(live, rows.base + pos, 0), width)

    def length(self, rows: _Rows, pos: NDArray[np.int64], where: str) -> NDArray[np.int64]:
        """Return the uint32 length or count at each position."""
        block = self.fetch(rows, pos, 4, where)
        return block.view(self.order + 'u4')[:, 0].astype(np.int64)

    def numbers(self, block: NDArray[np.uint8], node: Primitive) -> NDArray[np.generic]:
        """Return the values of `node` in `block` as a flat native array of their own."""
        dtype = node.dtype if self.order == '<' else node.dtype.newbyteorder(self.order)
        values = block.view(dtype)
        if node.base == 'bool':
            return (values != 0).reshape(-1)
        if not dtype.isnative:
            return values.astype(node.dtype.newbyteorder('=')).reshape(-1)
        if values.flags.c_contiguous and np.may_share_memory(values, self.data):
            return values.reshape(-1).copy()
        return np.ascontiguousarray(values).reshape(-1)

    # --- nodes -------------------------------------------------------------

    def read(
        self, node: Node, rows: _Rows, pos: NDArray[np.int64], where: str
    ) -> tuple[pa.Array, NDArray[np.int64]]:
        """Read one node at every position; return its array and the positions after it."""
        if node.fixed:
            (array,), pos = self.read_run((node,), rows, pos, where)
            return array, pos
        if isinstance(node, String):
            return self.read_string(node, rows, pos, where)
        if isinstance(node, Sequence):
            return self.read_sequence(node, rows, pos, where)
        if isinstance(node, Struct):
            return self.read_struct(node, rows, pos, where)
        assert isinstance(node, FixedArray)
        counts = np.full(len(rows), node.length, np.int64)
        values, pos = self.read_repeated(node.elem, rows, align(pos, node.align), counts, where)
        return fixed_list_array(node.arrow, len(rows), values), pos

    def read_struct(
        self, node: Struct, rows: _Rows, pos: NDArray[np.int64], where: str
    ) -> tuple[pa.Array, NDArray[np.int64]]:
        children: list[pa.Array] = []
        for start, stop in node.segments:
            name, first = node.fields[start]
            path = _path(where, name)
            if first.fixed:
                nodes = [field for _, field in node.fields[start:stop]]
                arrays, pos = self.read_run(nodes, rows, pos, path)
                children.extend(arrays)
            else:
                array, pos = self.read(first, rows, pos, path)
                children.append(array)
        return struct_array(node.arrow, len(rows), children), pos

    def read_run(
        self, nodes: Seq[Node], rows: _Rows, pos: NDArray[np.int64], where: str
    ) -> tuple[list[pa.Array], NDArray[np.int64]]:
        """Read consecutive fixed nodes as one byte matrix per phase of their start."""
        first = nodes[0].align
        pos = align(pos, first)
        modulus = max(node.max_align for node in nodes)
        phases = pos & (modulus - 1) if modulus > first else np.zeros(len(pos), np.int64)
        parts, indices = [], []
        after = pos.copy()
        for phase in np.unique(phases).tolist() or [0]:
            index = np.flatnonzero(phases == phase)
            group = rows if len(index) == len(rows) else rows.take(index)
            width = run_end(nodes, phase) - phase
            block = self.fetch(group, pos[index], width, where)
            arrays, off = [], phase
            for node in nodes:
                array, off = self.unpack(node, block, phase, off)
                arrays.append(array)
            parts.append(arrays)
            indices.append(index)
            after[index] += width
        return [gather(column, indices) for column in zip(*parts, strict=True)], after

    def unpack(
        self, node: Node, block: NDArray[np.uint8], origin: int, off: int
    ) -> tuple[pa.Array, int]:
        """Read a fixed node from `block`, whose column 0 lies at phase-relative `origin`.

        Args:
            node: A fixed node.
            block: Bytes, (..., width); one row per value.
            origin: Phase-relative offset of column 0.
            off: Phase-relative offset of the node, before alignment.

        Returns:
            The node's values, row-major, and the offset after it.

        """
        count = int(np.prod(block.shape[:-1]))
        if isinstance(node, Primitive):
            if not node.size:
                return numeric_array(np.zeros(count, node.dtype), node.arrow), off
            off = align(off, node.align)
            column = block[..., off - origin : off - origin + node.size]
            return numeric_array(self.numbers(column, node), node.arrow), off + node.size
        if isinstance(node, Struct):
            children = []
            for _, field in node.fields:
                array, off = self.unpack(field, block, origin, off)
                children.append(array)
            return struct_array(node.arrow, count, children), off
        assert isinstance(node, FixedArray)
        elem, length = node.elem, node.length
        off = align(off, elem.align)
        end = fixed_end(node, off)
        col = off - origin
        if not length:
            values = empty_array(elem.arrow)
        elif isinstance(elem, Primitive):
            values = numeric_array(self.numbers(block[..., col : end - origin], elem), elem.arrow)
        elif phase_free(elem):
            elements = element_view(
                block, col, length, stride(elem), fixed_end(elem, 0), writeable=False
            )
            values, _ = self.unpack(elem, elements, off, off)
        else:
            starts = element_starts(off, elem, length)
            parts = [self.unpack(elem, block, origin, start)[0] for start in starts]
            rows = np.arange(count, dtype=np.int64) * length
            values = gather(parts, [rows + index for index in range(length)])
        return fixed_list_array(node.arrow, count, values), end

    def read_string(
        self, node: String, rows: _Rows, pos: NDArray[np.int64], where: str
    ) -> tuple[pa.Array, NDArray[np.int64]]:
        pos = align(pos, node.align)
        length = self.length(rows, pos, where)
        start = pos + 4
        nul = int(node.nul)
        self.fail(
            rows, (length < nul) | (start + length > rows.size), f'invalid string length at {where}'
        )
        if nul:
            live = self.live(rows)
            ends = rows.base[live] + start[live] + length[live] - 1
            unterminated = np.zeros(len(rows), np.bool_)
            unterminated[live] = self.data[ends] != 0
            self.fail(rows, unterminated, f'missing string terminator at {where}')
        live = self.live(rows)
        text = np.where(live, length - nul, 0)
        data = take_ranges(self.data, self.starts(rows, start), text)
        return self.strings(rows, text, data, where), start + length

    def strings(
        self, rows: _Rows, lengths: NDArray[np.int64], data: NDArray[np.uint8], where: str
    ) -> pa.Array:
        """Return the pieces of `data` as strings, failing rows that are not UTF-8."""
        if np.may_share_memory(data, self.data):
            data = data.copy()
        array = string_array(lengths, data, where)
        if not len(data) or int(data.max()) < 0x80:
            return array
        try:
            array.validate(full=True)
        except pa.ArrowInvalid:
            bad = np.zeros(len(rows), np.bool_)
            for index, text in enumerate(array.cast(pa.binary()).to_pylist()):
                try:
                    text.decode()
                except UnicodeDecodeError:
                    bad[index] = True
            self.fail(rows, bad, f'invalid UTF-8 at {where}')
            data = data[np.repeat(~bad, lengths)]
            array = string_array(np.where(bad, 0, lengths), data, where)
        return array

    def read_sequence(
        self, node: Sequence, rows: _Rows, pos: NDArray[np.int64], where: str
    ) -> tuple[pa.Array, NDArray[np.int64]]:
        pos = align(pos, node.align)
        count = self.length(rows, pos, where)
        start = pos + 4
        elem = node.elem
        too_many = (count > self.max_sequence) | (start + count * elem.min_size > rows.size)
        self.fail(rows, too_many, f'invalid sequence length at {where}')
        count = np.where(self.live(rows), count, 0)
        if elem.fixed and phase_free(elem):
            first = np.where(count > 0, align(start, elem.align), start)
            end = first + _elements_span(elem, count)
            self.fail(rows, end > rows.size, f'payload too short at {where}')
            count = np.where(self.live(rows), count, 0)
            values = self.read_elements(elem, rows, first, count)
        else:
            values, end = self.read_repeated(elem, rows, start, count, where)
        return list_array(node.arrow, count, values, where), end

    def read_elements(
        self, elem: Node, rows: _Rows, first: NDArray[np.int64], count: NDArray[np.int64]
    ) -> pa.Array:
        """Read sequences of phase-free fixed elements starting at `first` as one matrix."""
        size, step = fixed_end(elem, 0), stride(elem)
        total = int(count.sum())
        if not total:
            return empty_array(elem.arrow)
        starts = self.starts(rows, first)
        if isinstance(elem, Primitive):
            data = take_ranges(self.data, starts, count * size)
            return numeric_array(self.numbers(data, elem), elem.arrow)
        if step == size:
            block = take_ranges(self.data, starts, count * size).reshape(total, size)
        else:
            within = np.arange(total, dtype=np.int64) - np.repeat(offsets(count)[:-1], count)
            block = take_rows(self.data, np.repeat(starts, count) + within * step, size)
        return self.unpack(elem, block, 0, 0)[0]

    def read_repeated(
        self,
        elem: Node,
        rows: _Rows,
        pos: NDArray[np.int64],
        counts: NDArray[np.int64],
        where: str,
    ) -> tuple[pa.Array, NDArray[np.int64]]:
        """Read `counts[i]` consecutive elements of varying size at each position.

        Elements are read in rounds, each one step for all rows. In a round,
        every row with elements left reads a window of them at once, guessing
        that they lie one stride apart (the size of the row's last element).
        The first of a window starts where the last element read ended, so it
        is always right; the others count up to the first one that does not
        start where its predecessor ended, or does not fit. The window doubles
        while the guesses hold: a sequence of equal elements takes a few
        rounds, one whose elements all differ a round per element. Windows
        are read by a scratch reader, so a wrong guess never fails a message;
        a failing first element does.

        Returns:
            The elements, row-major, and the positions after each row's last one.

        """
        if not counts.any():
            return empty_array(elem.arrow), pos
        pos = pos.copy()
        done = np.zeros(len(rows), np.int64)
        step = np.zeros(len(rows), np.int64)
        window = np.ones(len(rows), np.int64)
        firsts = offsets(counts)[:-1]
        parts, targets = [], []
        while (active := np.flatnonzero(done < counts)).size:
            left = counts[active] - done[active]
            dead = ~self.live(rows.take(active))
            take = np.where(dead, left, np.minimum(window[active], left))
            bounds = offsets(take)
            heads = bounds[:-1]
            row_of = np.repeat(active, take)
            within = np.arange(bounds[-1], dtype=np.int64) - np.repeat(heads, take)
            start = align(pos[active], elem.align)
            guess = np.repeat(start, take) + within * np.repeat(step[active], take)
            trial = _Reader(self.data, self.order, _Failures(len(guess)), self.max_sequence)
            elements = _Rows(np.arange(len(guess)), rows.base[row_of], rows.size[row_of])
            values, end = trial.read(elem, elements, guess, where)
            fits = trial.failures.code == 0
            self.failures.adopt(trial.failures, rows.msg[active], heads)
            dead |= ~fits[heads]
            chained = fits.copy()
            chained[1:] &= guess[1:] == align(end[:-1], elem.align)
            chained[heads] = fits[heads]
            kept = np.where(dead, take, _leading_run(chained, bounds))
            accept = within < np.repeat(kept, take)
            parts.append(values if accept.all() else values.filter(numeric_array(accept)))
            targets.append((firsts[row_of] + done[row_of] + within)[accept])
            last = heads + kept - 1
            pos[active] = end[last]
            step[active] = align(end[last], elem.align) - guess[last]
            done[active] += kept
            window[active] = 2 * kept
        return gather(parts, targets), pos


def _leading_run(good: NDArray[np.bool_], bounds: NDArray[np.int64]) -> NDArray[np.int64]:
    """Length of the leading run of True in each segment ``good[bounds[i]:bounds[i + 1]]``."""
    runs = np.diff(bounds)
    bad = np.flatnonzero(~good)
    segments = np.searchsorted(bounds, bad, side='right') - 1
    found, first = np.unique(segments, return_index=True)
    runs[found] = bad[first] - bounds[found]
    return runs


def _elements_span(elem: Node, count: NDArray[np.int64]) -> NDArray[np.int64]:
    """Bytes from the first of `count` phase-free fixed elements to the end of the last."""
    return np.where(count > 0, (count - 1) * stride(elem) + fixed_end(elem, 0), 0)
