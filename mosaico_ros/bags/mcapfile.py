"""MCAP reader, record by record, or chunk by chunk through the message indexes.

Written from the MCAP specification (https://mcap.dev/spec). With a summary
section that has chunk indexes, chunks are read in start-time order and
merged, holding only time-overlapping chunks in memory. When the chunks do
not overlap in time and have message indexes, `runs` hands each chunk's
messages over as one run per channel (`mosaico_ros.bags.mcapruns`).
Without a usable summary (truncated files, writers that skip it) the data
section is scanned once at open to learn schemas, channels and counts, and
read linearly, chunk by chunk, up to the first damage, which is recorded as
a `Problem`.

Messages of every encoding are yielded raw; deciding what can be decoded is
the caller's business.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, replace
from struct import Struct
from typing import TYPE_CHECKING, BinaryIO

import lz4.frame
import zstandard

from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.mcapruns import IndexMismatchError, channel_runs, message_indexes
from mosaico_ros.bags.model import BagMessage, BagRun, Connection
from mosaico_ros.bags.ordering import (
    clip,
    merge_chunks,
    overlapping,
    runs_of,
    select_chunks,
    sort_chunk,
)
from mosaico_ros.bags.reader import BagReader

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

MAGIC = b'\x89MCAP0\r\n'

OP_HEADER = 0x01
OP_FOOTER = 0x02
OP_SCHEMA = 0x03
OP_CHANNEL = 0x04
OP_MESSAGE = 0x05
OP_CHUNK = 0x06
OP_CHUNK_INDEX = 0x08
OP_STATISTICS = 0x0B
OP_METADATA = 0x0C
OP_DATA_END = 0x0F

RECORD = Struct('<BQ')
MESSAGE = Struct('<HIQQ')
CHUNK = Struct('<QQQI')
U16 = Struct('<H')
U32 = Struct('<I')
U64 = Struct('<Q')
FOOTER = Struct('<QQI')
STATS = Struct('<QHIIIIQQ')
CHUNK_INDEX = Struct('<QQQQ')

ROS_SCHEMA_ENCODINGS = frozenset({'ros2msg', 'ros2idl', 'ros1msg'})
ROS_MESSAGE_ENCODINGS = frozenset({'cdr', 'ros1'})
BINARY_SCHEMA_ENCODINGS = frozenset({'protobuf', 'proto', 'flatbuffer'})


class _Body:
    """Cursor over one record body."""

    __slots__ = ('buf', 'pos')

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def u16(self) -> int:
        (val,) = U16.unpack_from(self.buf, self.pos)
        self.pos += 2
        return int(val)

    def u32(self) -> int:
        (val,) = U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(val)

    def u64(self) -> int:
        (val,) = U64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return int(val)

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.buf):
            msg = f'field of {size} bytes runs past the record end'
            raise ValueError(msg)
        val = self.buf[self.pos : self.pos + size]
        self.pos += size
        return val

    def string(self) -> str:
        return self.raw(self.u32()).decode()

    def bytes32(self) -> bytes:
        return self.raw(self.u32())

    def str_map(self) -> dict[str, str]:
        end = self.u32() + self.pos
        out: dict[str, str] = {}
        while self.pos < end:
            key = self.string()
            out[key] = self.string()
        return out


@dataclass
class _Chunk:
    """Where a chunk is, and where its chunk index says its message indexes are.

    Attributes:
        index_offsets: File offset of each channel's message index record.
        index_end: File offset where the message index records end.

    """

    pos: int
    start_ns: int
    end_ns: int
    index_offsets: dict[int, int]
    index_end: int

    @property
    def conn_ids(self) -> frozenset[int]:
        """Channels with messages in the chunk; empty when the writer wrote no message index."""
        return frozenset(self.index_offsets)


@dataclass
class _Schema:
    name: str
    encoding: str
    data: bytes


class McapReader(BagReader):
    """Reader for `.mcap` files of any profile and message encoding."""

    def __init__(self, path: Path, *, strict: bool = False, display_path: Path | None = None):
        """Open an MCAP file and read its summary (or scan it).

        Args:
            path: File to read.
            strict: Raise on damage instead of recording problems.
            display_path: Name reported for the file (the original of a
                decompressed temporary copy).

        Raises:
            BagFormatError: The file does not start with the MCAP magic.

        """
        super().__init__(display_path or path, strict=strict)
        self._file_size = self.size_bytes = os.path.getsize(path)
        self._fh: BinaryIO = path.open('rb')
        self.on_close(self._fh.close)
        self._schemas: dict[int, _Schema] = {}
        self._conns: dict[int, Connection] = {}
        self._counts: dict[int, int] | None = None
        self._chunks: list[_Chunk] | None = None
        self._stats_count: int | None = None
        self._zstd = zstandard.ZstdDecompressor()
        self.profile = ''
        self.metadata: dict[str, dict[str, str]] = {}
        self.start_ns = self.end_ns = None
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        if self._counts is not None:
            for cid, conn in list(self._conns.items()):
                self._conns[cid] = replace(conn, message_count=self._counts.get(cid, 0))
        self.connections = list(self._conns.values())
        self.message_count = self._stats_count

    # -- opening -------------------------------------------------------------------

    def _open(self) -> None:
        self._fh.seek(0)
        magic = self._fh.read(8)
        if magic != MAGIC:
            msg = f'{self.path}: not an MCAP file (starts with {magic!r})'
            raise BagFormatError(msg)
        rec = self._read_record(8)
        if rec is not None and rec[0] == OP_HEADER:
            try:
                self.profile = _Body(rec[1]).string()
            except (ValueError, struct.error, UnicodeDecodeError):
                self.profile = ''
        if not self._read_summary():
            self._scan()

    def _read_record(self, pos: int) -> tuple[int, bytes, int] | None:
        """Read the record at pos; None at a clean end of file.

        Returns:
            (opcode, body, position of the next record) or None.

        Raises:
            _TruncatedError: The record is cut off by the end of the file.

        """
        self._fh.seek(pos)
        head = self._fh.read(9)
        if not head:
            return None
        if len(head) < 9:
            raise _TruncatedError(pos, f'record header cut off ({len(head)} of 9 bytes present)')
        opcode, length = RECORD.unpack(head)
        body = self._fh.read(min(length, self._file_size))
        if len(body) < length:
            raise _TruncatedError(
                pos,
                f'record opcode 0x{opcode:02x} cut off ({length} bytes declared,'
                f' {len(body)} present)',
                opcode,
                body,
            )
        return opcode, body, pos + 9 + length

    def _read_summary(self) -> bool:
        """Read schemas, channels, statistics and chunk indexes from the summary."""
        if self._file_size < 8 + 9 + FOOTER.size + 8:
            return False
        footer_pos = self._file_size - 8 - 9 - FOOTER.size
        self._fh.seek(footer_pos)
        tail = self._fh.read(9 + FOOTER.size + 8)
        if tail[-8:] != MAGIC or tail[0] != OP_FOOTER:
            self.report_at(
                self._file_size,
                'truncated',
                'no footer and end magic at the end of the file: it is cut short or was'
                ' never closed; reading the data section up to the damage',
            )
            return False
        summary_start, _, _ = FOOTER.unpack_from(tail, 9)
        if not summary_start:
            return False
        chunks: list[_Chunk] = []
        pos = summary_start
        try:
            while pos < footer_pos:
                rec = self._read_record(pos)
                if rec is None:
                    break
                opcode, body, pos = rec
                if opcode == OP_STATISTICS:
                    self._read_statistics(body)
                elif opcode == OP_CHUNK_INDEX:
                    chunks.append(self._read_chunk_index(body))
                else:
                    self._declare(opcode, body)
        except (_TruncatedError, ValueError, struct.error, UnicodeDecodeError) as exc:
            self.report_at(
                pos,
                'corrupt',
                f'summary section unreadable ({exc}); scanning the data section instead',
                lost=0,
            )
            self._schemas.clear()
            self._conns.clear()
            self._counts = None
            self._stats_count = None
            return False
        if chunks:
            self._chunks = chunks
        if self.start_ns is None and chunks:
            self.start_ns = min(c.start_ns for c in chunks)
            self.end_ns = max(c.end_ns for c in chunks)
        return True

    def _read_statistics(self, body: bytes) -> None:
        count, _, _, _, _, _, start, end = STATS.unpack_from(body, 0)
        cur = _Body(body, STATS.size)
        stop = cur.u32() + cur.pos
        counts: dict[int, int] = {}
        while cur.pos < stop:
            cid = cur.u16()
            counts[cid] = cur.u64()
        self._stats_count = count
        self._counts = counts
        if count:
            self.start_ns, self.end_ns = start, end

    @staticmethod
    def _read_chunk_index(body: bytes) -> _Chunk:
        start, end, chunk_pos, chunk_length = CHUNK_INDEX.unpack_from(body, 0)
        cur = _Body(body, CHUNK_INDEX.size)
        stop = cur.u32() + cur.pos
        offsets = {}
        while cur.pos < stop:
            channel = cur.u16()
            offsets[channel] = cur.u64()
        index_end = chunk_pos + chunk_length + cur.u64()
        return _Chunk(chunk_pos, start, end, offsets, index_end)

    def _add_schema(self, body: bytes) -> None:
        cur = _Body(body)
        sid = cur.u16()
        name = cur.string()
        encoding = cur.string()
        self._schemas.setdefault(sid, _Schema(name, encoding, cur.bytes32()))

    def _add_channel(self, body: bytes) -> None:
        cur = _Body(body)
        cid = cur.u16()
        if cid in self._conns:
            return
        sid = cur.u16()
        topic = cur.string()
        encoding = cur.string()
        meta = cur.str_map()
        schema = self._schemas.get(sid, _Schema('', '', b''))
        ros = encoding in ROS_MESSAGE_ENCODINGS or schema.encoding in ROS_SCHEMA_ENCODINGS
        msgdef, schema_data = '', b''
        if schema.encoding in BINARY_SCHEMA_ENCODINGS:
            schema_data = schema.data
        else:
            try:
                msgdef = schema.data.decode()
            except UnicodeDecodeError:
                schema_data = schema.data
        self._conns[cid] = Connection(
            id=cid,
            topic=topic,
            msgtype=normalize_msgtype(schema.name) if ros else schema.name,
            encoding=encoding,
            msgdef=msgdef,
            msgdef_encoding=schema.encoding,
            md5sum=meta.get('md5sum', ''),
            message_count=None,
            qos=meta.get('offered_qos_profiles'),
            schema_name=schema.name,
            source_file=self.path,
            schema_data=schema_data,
        )

    def _declare(self, opcode: int, body: bytes) -> None:
        """Learn from a schema, channel or metadata record; ignore other records."""
        if opcode == OP_SCHEMA:
            self._add_schema(body)
        elif opcode == OP_CHANNEL:
            self._add_channel(body)
        elif opcode == OP_METADATA:
            self._add_metadata(body)

    def _scan(self) -> None:
        """Learn schemas, channels, counts and time range from the data section."""
        counts: dict[int, int] = {}
        bounds: tuple[int, int] | None = None
        for opcode, pos, body in self._records():
            records: Iterable[tuple[int, bytes]] = ((opcode, body),)
            if opcode == OP_CHUNK:
                chunk = self._decompress_chunk(pos, body)
                records = () if chunk is None else _inner_records(chunk)
            chunk_times: list[int] = []
            for inner_op, inner_body in records:
                if inner_op == OP_MESSAGE:
                    cid, _, log_time, _ = MESSAGE.unpack_from(inner_body, 0)
                    counts[cid] = counts.get(cid, 0) + 1
                    chunk_times.append(log_time)
                else:
                    self._declare(inner_op, inner_body)
            if chunk_times:
                first, last = min(chunk_times), max(chunk_times)
                if bounds is not None:
                    first, last = min(first, bounds[0]), max(last, bounds[1])
                bounds = first, last
        self._counts = counts
        self._stats_count = sum(counts.values())
        self.start_ns, self.end_ns = bounds or (None, None)

    def _add_metadata(self, body: bytes) -> None:
        cur = _Body(body)
        name = cur.string()
        # rosbag2 writes its metadata record at open and again at close: keep the last.
        self.metadata[name] = cur.str_map()

    # -- records -------------------------------------------------------------------

    def _records(self) -> Iterator[tuple[int, int, bytes]]:
        """Yield (opcode, offset, body) of data-section records up to the first damage.

        A chunk cut off by the end of the file is yielded with the records
        it still holds whole (see `_cut_chunk`), so a truncated file keeps
        everything written before the cut.
        """
        pos = 8
        while True:
            try:
                rec = self._read_record(pos)
            except _TruncatedError as exc:
                if exc.opcode == OP_CHUNK:
                    salvaged = self._cut_chunk(exc.pos, exc.body)
                    if salvaged is not None:
                        yield OP_CHUNK, exc.pos, salvaged
                        return
                self.report_at(exc.pos, 'truncated', exc.reason)
                return
            if rec is None:
                return
            opcode, body, nxt = rec
            if opcode in (OP_DATA_END, OP_FOOTER):
                return
            yield opcode, pos, body
            pos = nxt

    def _cut_chunk(self, pos: int, body: bytes) -> bytes | None:
        """Rebuild a whole, uncompressed chunk record from the part of one that is present.

        The decompressed prefix is cut back to its last whole record and the
        truncation is reported with the number of messages kept.

        Returns:
            The body of an uncompressed chunk holding the whole records, or
            None when nothing can be read from the part present.

        """
        try:
            start, end, _, _ = CHUNK.unpack_from(body, 0)
            cur = _Body(body, CHUNK.size)
            compression = cur.string()
            declared = cur.u64()
            data = body[cur.pos :]
            if compression == '':
                prefix = data
            elif compression == 'zstd':
                prefix = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            elif compression == 'lz4':
                prefix = lz4.frame.LZ4FrameDecompressor().decompress(data)
            else:
                return None
        except (ValueError, struct.error, UnicodeDecodeError, zstandard.ZstdError, RuntimeError):
            return None
        whole = prefix[: _whole_records_end(prefix)]
        kept = sum(1 for op, _ in _inner_records(whole) if op == OP_MESSAGE)
        self.report_at(
            pos,
            'truncated',
            f'chunk cut off by the end of the file ({len(data)} of {declared} compressed bytes '
            f'present); {kept} whole messages recovered from it',
        )
        header = CHUNK.pack(start, end, len(whole), zlib.crc32(whole))
        return header + struct.pack('<I', 0) + struct.pack('<Q', len(whole)) + whole

    def _decompress_chunk(self, pos: int, body: bytes) -> bytes | None:
        """Return a chunk's records, or None (reported) if they cannot be trusted."""
        try:
            _, _, size, crc = CHUNK.unpack_from(body, 0)
            cur = _Body(body, CHUNK.size)
            compression = cur.string()
            data = cur.raw(cur.u64())
            if compression == '':
                records = data
            elif compression == 'zstd':
                records = self._zstd.decompress(data, max_output_size=size)
            elif compression == 'lz4':
                records = lz4.frame.decompress(data)
            else:
                msg = f'unsupported chunk compression {compression!r}'
                raise ValueError(msg)
        except (
            ValueError,
            struct.error,
            UnicodeDecodeError,
            zstandard.ZstdError,
            RuntimeError,
        ) as e:
            self.report_at(pos, 'corrupt', f'chunk does not decode: {e}')
            return None
        if len(records) != size or (crc and zlib.crc32(records) != crc):
            lost = sum(1 for op, _ in _inner_records(records) if op == OP_MESSAGE)
            self.report_at(
                pos,
                'corrupt',
                f'chunk CRC or size mismatch (expected crc 0x{crc:08x} and {size} bytes,'
                f' got 0x{zlib.crc32(records):08x} and {len(records)}); chunk skipped',
                lost=lost or None,
            )
            return None
        return records

    def _indexed_chunk(self, pos: int) -> bytes | None:
        """Read the chunk record a chunk index points at; None (reported) if there is none."""
        try:
            rec = self._read_record(pos)
        except _TruncatedError as exc:
            self.report_at(exc.pos, 'truncated', exc.reason)
            return None
        if rec is None or rec[0] != OP_CHUNK:
            self.report_at(pos, 'corrupt', 'chunk index points at no chunk')
            return None
        return rec[1]

    def _indexed_chunk_messages(self, pos: int, wanted: set[int] | None) -> list[BagMessage]:
        """Read the chunk a chunk index points at; see `_chunk_messages`."""
        body = self._indexed_chunk(pos)
        return [] if body is None else self._chunk_messages(pos, body, wanted)

    def _chunk_messages(self, pos: int, body: bytes, wanted: set[int] | None) -> list[BagMessage]:
        """Decompress and parse one chunk record's messages; damage is reported, not raised."""
        records = self._decompress_chunk(pos, body)
        if records is None:
            return []
        conns = self._conns
        file = self.path
        out: list[BagMessage] = []
        append = out.append
        unpack_rec = RECORD.unpack_from
        unpack_msg = MESSAGE.unpack_from
        end = len(records)
        ipos = 0
        while ipos + 9 <= end:
            opcode, length = unpack_rec(records, ipos)
            body_start = ipos + 9
            ipos = body_start + length
            if ipos > end:
                self.report_at(pos, 'corrupt', 'record runs past the end of its chunk')
                break
            if opcode != OP_MESSAGE:
                continue
            cid, _, log_time, _ = unpack_msg(records, body_start)
            if wanted is not None and cid not in wanted:
                continue
            conn = conns.get(cid)
            if conn is None:
                self.report_at(
                    pos, 'unknown-connection', f'message on undeclared channel {cid}', lost=1
                )
                continue
            append(BagMessage(conn, log_time, records[body_start + 22 : ipos], pos, file))
        return sort_chunk(out)

    # -- reading -------------------------------------------------------------------

    def _messages(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagMessage]:
        """Merge indexed chunks in log-time order; without an index, read in file order."""
        loaded: Iterator[tuple[int, list[BagMessage]]]
        if self._chunks is not None:
            loaded = (
                (chunk.start_ns, self._indexed_chunk_messages(chunk.pos, wanted))
                for chunk in select_chunks(self._chunks, wanted, start, end)
            )
        else:
            loaded = self._linear_chunks(wanted)
        stream = merge_chunks(loaded)
        if wanted is None and start is None and end is None:
            return self._counted(stream)
        return clip(stream, start, end)

    def _counted(self, stream: Iterator[BagMessage]) -> Iterator[BagMessage]:
        """Pass a full read through and check it against the statistics record."""
        count = 0
        for msg in stream:
            count += 1
            yield msg
        self._check_count(count)

    def _check_count(self, count: int) -> None:
        """Report a full read that found fewer messages than the statistics record counts."""
        if self._stats_count is not None and count < self._stats_count and not self.problems:
            self.report_at(
                None,
                'mismatch',
                f'statistics record counts {self._stats_count} messages, {count} were read',
                lost=self._stats_count - count,
            )

    def _runs(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagRun] | None:
        """Yield each chunk's messages as one run per connection; see `BagReader.runs`.

        Possible when the file has chunk indexes that list message indexes
        and the chunks to read do not overlap in time: then chunk order is
        log-time order for every connection.
        """
        if self._chunks is None:
            return None
        chunks = select_chunks(self._chunks, wanted, start, end)
        spans = ((chunk.start_ns, chunk.end_ns) for chunk in chunks)
        if overlapping(spans) or not all(chunk.index_offsets for chunk in chunks):
            return None
        return self._chunk_runs(chunks, wanted, start, end)

    def _chunk_runs(
        self, chunks: list[_Chunk], wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagRun]:
        count = 0
        for chunk in chunks:
            body = self._indexed_chunk(chunk.pos)
            records = None if body is None else self._decompress_chunk(chunk.pos, body)
            if body is None or records is None:
                continue
            try:
                runs = self._indexed_runs(chunk, records, wanted, start, end)
            except IndexMismatchError as exc:
                self.report_at(chunk.pos, 'mismatch', f'{exc}; read record by record', lost=0)
                messages = clip(iter(self._chunk_messages(chunk.pos, body, wanted)), start, end)
                runs = runs_of(messages)
            for run in runs:
                count += len(run)
                yield run
        if wanted is None and start is None and end is None:
            self._check_count(count)

    def _indexed_runs(
        self,
        chunk: _Chunk,
        records: bytes,
        wanted: set[int] | None,
        start: int | None,
        end: int | None,
    ) -> list[BagRun]:
        """Cut one chunk's runs out of its records with its message indexes."""
        offsets = {
            cid: pos for cid, pos in chunk.index_offsets.items() if wanted is None or cid in wanted
        }
        if not offsets:
            return []
        base = min(offsets.values())
        self._fh.seek(base)
        indexes = message_indexes(self._fh.read(chunk.index_end - base), base, offsets)
        runs = []
        for found in channel_runs(records, indexes, start, end):
            conn = self._conns.get(found.channel)
            if conn is None:
                self.report_at(
                    chunk.pos,
                    'unknown-connection',
                    f'{len(found.times)} message(s) on undeclared channel {found.channel}',
                    lost=len(found.times),
                )
                continue
            runs.append(
                BagRun(conn, found.times, records, found.starts, found.stops, chunk.pos, self.path)
            )
        return runs

    def _linear_chunks(self, wanted: set[int] | None) -> Iterator[tuple[int, list[BagMessage]]]:
        last_start = -1
        for opcode, pos, body in self._records():
            if opcode == OP_CHUNK:
                start_ns = U64.unpack_from(body, 0)[0]
                msgs = self._chunk_messages(pos, body, wanted)
            elif opcode == OP_MESSAGE:
                cid, _, start_ns, _ = MESSAGE.unpack_from(body, 0)
                conn = self._conns.get(cid)
                if conn is None or (wanted is not None and cid not in wanted):
                    continue
                msgs = [BagMessage(conn, start_ns, body[22:], pos, self.path)]
            else:
                continue
            if msgs and start_ns < last_start:
                self.report_at(
                    pos,
                    'unordered',
                    'data is not in time order and the file has no chunk index:'
                    ' messages are yielded in file order from here',
                    lost=0,
                )
            last_start = max(last_start, start_ns)
            yield start_ns, msgs


class _TruncatedError(Exception):
    """A record runs past the end of the file; `opcode` and `body` are what is present."""

    def __init__(self, pos: int, reason: str, opcode: int | None = None, body: bytes = b'') -> None:
        super().__init__(reason)
        self.pos = pos
        self.reason = reason
        self.opcode = opcode
        self.body = body


def _whole_records_end(records: bytes) -> int:
    """Return the end of the last whole record in `records`."""
    pos = 0
    while pos + 9 <= len(records):
        _, length = RECORD.unpack_from(records, pos)
        if pos + 9 + length > len(records):
            break
        pos += 9 + length
    return pos


def _inner_records(records: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    end = len(records)
    while pos + 9 <= end:
        opcode, length = RECORD.unpack_from(records, pos)
        if pos + 9 + length > end:
            return
        yield opcode, records[pos + 9 : pos + 9 + length]
        pos += 9 + length
