"""An MCAP chunk's messages as one run per channel, found through its message indexes with numpy.

An indexed MCAP file follows each chunk with one message index record per
channel: the log time and offset (in the chunk's decompressed records) of
each of the channel's messages. With them, the messages of every channel of
a chunk are found, checked and ordered as arrays, without a Python loop
over records; the payloads stay where they are, in the decompressed chunk,
and the consumer copies out what it keeps. What the indexes say is checked
against the records they point at (opcode, channel, length, log time); a
chunk where they disagree is read record by record instead, by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from struct import Struct
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

OP_MESSAGE = 0x05
OP_MESSAGE_INDEX = 0x07

_RECORD = Struct('<BQ')
_INDEX_HEAD = Struct('<HI')
_ENTRY_BYTES = 16
"""A message index entry: log time and offset, two little-endian u64."""
_MESSAGE_HEAD = np.dtype(
    [
        ('opcode', 'u1'),
        ('length', '<u8'),
        ('channel', '<u2'),
        ('sequence', '<u4'),
        ('log_time', '<u8'),
        ('publish_time', '<u8'),
    ]
)
_HEAD_BYTES = np.arange(_MESSAGE_HEAD.itemsize)
_HEAD_FIELDS: dict[str, tuple[np.dtype[Any], int]] = {
    name: (dtype, offset) for name, (dtype, offset, *_) in (_MESSAGE_HEAD.fields or {}).items()
}
_FIELDS = 22
"""Bytes of a message record's fields before its data (channel to publish time)."""
_INT64_MAX = np.iinfo(np.int64).max


class IndexMismatchError(ValueError):
    """A message index does not describe its chunk; read the chunk record by record."""


@dataclass(frozen=True, slots=True)
class ChannelRun:
    """Where one channel's messages of a chunk are, in log-time order (ties in file order).

    Attributes:
        channel: The channel id.
        times: Log time of each message (ns).
        starts: Where each payload starts in the chunk's decompressed records.
        stops: Where each payload ends there.

    """

    channel: int
    times: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]


def _head_field(heads: npt.NDArray[np.uint8], name: str) -> npt.NDArray[Any]:
    """One field of gathered message record heads (one row of bytes each), as a strided view."""
    dtype, offset = _HEAD_FIELDS[name]
    return np.ndarray(len(heads), dtype, heads, offset, (_MESSAGE_HEAD.itemsize,))


def message_indexes(
    data: bytes, base: int, offsets: dict[int, int]
) -> dict[int, npt.NDArray[np.uint64]]:
    """Parse the message index records that follow a chunk.

    Args:
        data: The bytes of the file from `base` on, holding the records.
        base: File offset of `data[0]`.
        offsets: File offset of each channel's message index record (from the chunk index).

    Returns:
        Per channel, its entries as rows of (log time, offset).

    Raises:
        IndexMismatchError: A record is not a message index of its channel,
            or runs past `data`.

    """
    indexes = {}
    for channel, offset in offsets.items():
        pos = offset - base
        if pos < 0 or pos + _RECORD.size + _INDEX_HEAD.size > len(data):
            raise IndexMismatchError(f'message index of channel {channel} lies outside its region')
        opcode, _ = _RECORD.unpack_from(data, pos)
        found, size = _INDEX_HEAD.unpack_from(data, pos + _RECORD.size)
        start = pos + _RECORD.size + _INDEX_HEAD.size
        if opcode != OP_MESSAGE_INDEX or found != channel or size % _ENTRY_BYTES:
            raise IndexMismatchError(f'no message index of channel {channel} at offset {offset}')
        if start + size > len(data):
            raise IndexMismatchError(f'message index of channel {channel} runs past its region')
        entries = np.frombuffer(data, '<u8', size // 8, start)
        indexes[channel] = entries.reshape(-1, 2)
    return indexes


def channel_runs(
    records: bytes,
    indexes: dict[int, npt.NDArray[np.uint64]],
    start: int | None = None,
    end: int | None = None,
) -> list[ChannelRun]:
    """Locate every indexed channel's messages in a chunk's decompressed records.

    Args:
        records: The chunk's decompressed records.
        indexes: Message index entries per channel (`message_indexes`).
        start: Only log times >= start (ns).
        end: Only log times < end (ns).

    Returns:
        One run per channel with messages in the window, in channel order.

    Raises:
        IndexMismatchError: An entry does not point at a whole message
            record of its channel with the entry's log time.

    """
    entries = [index for index in indexes.values() if len(index)]
    if not entries:
        return []
    index = np.concatenate(entries)
    channels = np.repeat(
        np.fromiter(indexes, np.int64, len(indexes)), [len(entry) for entry in indexes.values()]
    )
    offsets = index[:, 1].astype(np.int64)
    size = len(records)
    if offsets.min() < 0 or offsets.max() + _MESSAGE_HEAD.itemsize > size:
        raise IndexMismatchError('a message index points past its chunk')
    view = np.frombuffer(records, np.uint8)
    heads = view[offsets[:, None] + _HEAD_BYTES]
    lengths = _head_field(heads, 'length').astype(np.int64)
    times = _head_field(heads, 'log_time').astype(np.int64)
    stops = offsets + _RECORD.size + lengths
    if not (
        (heads[:, 0] == OP_MESSAGE).all()
        and (_head_field(heads, 'channel') == channels).all()
        and (_head_field(heads, 'log_time') == index[:, 0]).all()
        and (lengths >= _FIELDS).all()
        and (stops <= size).all()
    ):
        raise IndexMismatchError('a message index disagrees with its chunk')
    order = np.lexsort((offsets, times, channels))
    if start is not None or end is not None:
        low = np.iinfo(np.int64).min if start is None else start
        high = _INT64_MAX if end is None else min(end, _INT64_MAX)
        order = order[(times[order] >= low) & (times[order] < high)]
    channels, times = channels[order], times[order]
    starts, stops = (offsets + _MESSAGE_HEAD.itemsize)[order], stops[order]
    if not len(order):
        return []
    firsts = np.flatnonzero(np.concatenate(([True], channels[1:] != channels[:-1])))
    bounds = [*firsts.tolist(), len(order)]
    return [
        ChannelRun(int(channels[a]), times[a:b], starts[a:b], stops[a:b])
        for a, b in pairwise(bounds)
    ]
