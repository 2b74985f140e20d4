"""ROS 1 bag (format 2.0) reader, record by record.

Written from the format description at http://wiki.ros.org/Bags/Format/2.0:
a bag header record, then chunk records (connection and message data records,
optionally bz2 or lz4 compressed) each followed by index data records, then
at `index_pos` the connection and chunk info records.

Indexed bags are read chunk by chunk in chunk start-time order and merged,
so unsorted chunks come out in log-time order while only overlapping chunks
are held in memory. Unindexed or truncated bags (index_pos 0, or an index
that cannot be read) are scanned linearly once at open to rebuild the
connection and chunk lists; a chunk cut short by truncation is salvaged up to
the last complete record and reported.
"""

from __future__ import annotations

import bz2
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from struct import Struct
from typing import TYPE_CHECKING, BinaryIO

import lz4.frame

from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.model import Connection, Problem, RawMessage
from mosaico_ros.bags.msgtype import normalize_msgtype
from mosaico_ros.bags.ordering import merge_chunks, sort_chunk
from mosaico_ros.bags.reader import BagReader

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

MAGIC = b'#ROSBAG V2.0\n'

OP_MSG_DATA = 0x02
OP_BAG_HEADER = 0x03
OP_INDEX_DATA = 0x04
OP_CHUNK = 0x05
OP_CHUNK_INFO = 0x06
OP_CONNECTION = 0x07

U32 = Struct('<I')
U64 = Struct('<Q')
TIME = Struct('<II')


class _CutError(Exception):
    """A record runs past the end of the file."""

    def __init__(
        self, declared: int, present: int, data: bytes, fields: dict[bytes, bytes] | None = None
    ) -> None:
        super().__init__(f'{declared} bytes declared, {present} present')
        self.declared = declared
        self.present = present
        self.data = data
        self.fields = fields or {}


def _time_ns(raw: bytes) -> int:
    sec, nsec = TIME.unpack(raw)
    return sec * 1_000_000_000 + nsec


def _parse_header(buf: bytes | memoryview, pos: int, end: int) -> dict[bytes, bytes]:
    """Parse `len name=value` fields between pos and end."""
    fields: dict[bytes, bytes] = {}
    while pos < end:
        (flen,) = U32.unpack_from(buf, pos)
        pos += 4
        if pos + flen > end:
            msg = 'header field runs past the header'
            raise ValueError(msg)
        name, sep, value = bytes(buf[pos : pos + flen]).partition(b'=')
        if not sep:
            msg = f'header field without "=": {name[:40]!r}'
            raise ValueError(msg)
        fields[name] = value
        pos += flen
    return fields


@dataclass
class _Chunk:
    """Where a chunk is and what its index says about it."""

    pos: int
    start_ns: int
    end_ns: int
    conn_counts: dict[int, int] = field(default_factory=dict)


class Ros1Reader(BagReader):
    """Reader for ROS 1 `.bag` files."""

    def __init__(self, path: Path, *, strict: bool = False, display_path: Path | None = None):
        """Open a ROS 1 bag and read its index (or rebuild it by a scan).

        Args:
            path: File to read.
            strict: Raise on damage instead of recording problems.
            display_path: Name reported for the file (the original of a
                decompressed temporary copy).

        Raises:
            BagFormatError: Not a ROS 1 bag or its bag header is unreadable.

        """
        self.path = display_path or path
        self._real = path
        self.strict = strict
        self.problems = []
        self._file_size = self.size_bytes = os.path.getsize(path)
        self._fh: BinaryIO = path.open('rb')
        self._conns: dict[int, Connection] = {}
        self._chunks: list[_Chunk] = []
        self.indexed = False
        try:
            self._open()
        except BaseException:
            self._fh.close()
            raise
        self.connections = list(self._conns.values())
        if self._chunks:
            self.start_ns = min(c.start_ns for c in self._chunks)
            self.end_ns = max(c.end_ns for c in self._chunks)
        else:
            self.start_ns = self.end_ns = None
        counts = [c.message_count for c in self.connections]
        self.message_count = (
            sum(c or 0 for c in counts) if all(c is not None for c in counts) else None
        )

    def close(self) -> None:
        """Close the file."""
        self._fh.close()
        super().close()

    # -- opening -------------------------------------------------------------------

    def _read_at(self, pos: int, size: int) -> bytes:
        self._fh.seek(pos)
        return self._fh.read(size)

    def _read_record(self, pos: int) -> tuple[dict[bytes, bytes], bytes, int]:
        """Read the record at pos; return header fields, data and the next position.

        Raises:
            _CutError: The record is incomplete; args are (declared, present) data sizes
                and the data present.

        """
        head = self._read_at(pos, 4)
        if len(head) < 4:
            raise _CutError(4, len(head), b'')
        (hlen,) = U32.unpack(head)
        if hlen > 1 << 26:
            msg = f'header length {hlen} is implausible'
            raise ValueError(msg)
        hdr = self._fh.read(hlen + 4)
        if len(hdr) < hlen + 4:
            raise _CutError(hlen + 4, len(hdr), b'')
        fields = _parse_header(hdr, 0, hlen)
        (dlen,) = U32.unpack_from(hdr, hlen)
        data = self._fh.read(dlen)
        if len(data) < dlen:
            raise _CutError(dlen, len(data), data, fields)
        return fields, data, pos + 8 + hlen + dlen

    def _open(self) -> None:
        magic = self._read_at(0, len(MAGIC))
        if magic != MAGIC:
            msg = f'{self.path}: not a ROS 1 bag (starts with {magic[:16]!r})'
            raise BagFormatError(msg)
        try:
            fields, _, self._data_start = self._read_record(len(MAGIC))
            if fields.get(b'op') != bytes([OP_BAG_HEADER]):
                msg = 'first record is not a bag header'
                raise ValueError(msg)
            (index_pos,) = U64.unpack(fields[b'index_pos'])
        except (_CutError, ValueError, KeyError, struct.error) as exc:
            msg = f'{self.path}: bag header at offset {len(MAGIC)} is unreadable: {exc!r}'
            raise BagFormatError(msg) from exc

        if index_pos and self._read_index(index_pos):
            self.indexed = True
            return
        self._conns.clear()
        self._chunks.clear()
        self._scan()

    def _add_connection(self, conn_id: int, topic: str, data: bytes) -> None:
        if conn_id in self._conns:
            return
        info = _parse_header(data, 0, len(data))
        schema_name = info.get(b'type', b'').decode()
        self._conns[conn_id] = Connection(
            id=conn_id,
            topic=info.get(b'topic', topic.encode()).decode() or topic,
            msgtype=normalize_msgtype(schema_name),
            encoding='ros1',
            msgdef=info.get(b'message_definition', b'').decode(errors='replace'),
            msgdef_encoding='ros1msg',
            md5sum=info.get(b'md5sum', b'').decode(),
            message_count=None,
            qos=None,
            schema_name=schema_name,
            source_file=self.path,
        )

    def _read_index(self, index_pos: int) -> bool:
        """Read connection and chunk info records at index_pos; False if unusable."""
        pos = index_pos
        try:
            while pos < self._file_size:
                fields, data, pos = self._read_record(pos)
                op = fields[b'op'][0]
                if op == OP_CONNECTION:
                    (conn_id,) = U32.unpack(fields[b'conn'])
                    self._add_connection(conn_id, fields[b'topic'].decode(), data)
                elif op == OP_CHUNK_INFO:
                    (chunk_pos,) = U64.unpack(fields[b'chunk_pos'])
                    chunk = _Chunk(
                        chunk_pos, _time_ns(fields[b'start_time']), _time_ns(fields[b'end_time'])
                    )
                    for i in range(0, len(data) - 7, 8):
                        cid, cnt = TIME.unpack_from(data, i)
                        chunk.conn_counts[cid] = cnt
                    self._chunks.append(chunk)
        except (_CutError, ValueError, KeyError, struct.error, IndexError) as exc:
            self.report(
                Problem(
                    self.path,
                    pos,
                    None,
                    'corrupt',
                    f'index section unreadable ({exc!r}); rebuilding it by a linear scan',
                    0,
                )
            )
            return False
        totals: dict[int, int] = {}
        for chunk in self._chunks:
            for cid, cnt in chunk.conn_counts.items():
                totals[cid] = totals.get(cid, 0) + cnt
        for cid, conn in list(self._conns.items()):
            self._conns[cid] = _with_count(conn, totals.get(cid, 0))
        return True

    def _scan(self) -> None:
        """Rebuild connections and chunk list by walking every record."""
        pos = self._data_start
        totals: dict[int, int] = {}
        while pos < self._file_size:
            try:
                fields, data, nxt = self._read_record(pos)
            except _CutError as cut:
                self._scan_cut(pos, cut, totals)
                break
            except (ValueError, KeyError, struct.error) as exc:
                self.report(
                    Problem(self.path, pos, None, 'corrupt', f'unreadable record: {exc!r}', None)
                )
                break
            op = fields.get(b'op', b'\x00')[0]
            if op == OP_CHUNK:
                self._scan_chunk(pos, fields, data, totals, complete=True)
            elif op == OP_CONNECTION:
                (conn_id,) = U32.unpack(fields[b'conn'])
                self._add_connection(conn_id, fields[b'topic'].decode(), data)
            pos = nxt
        for cid, conn in list(self._conns.items()):
            self._conns[cid] = _with_count(conn, totals.get(cid, 0))

    def _scan_cut(self, pos: int, cut: _CutError, totals: dict[int, int]) -> None:
        recovered = 0
        if cut.fields.get(b'op') == bytes([OP_CHUNK]) and cut.data:
            recovered = self._scan_chunk(pos, cut.fields, cut.data, totals, complete=False)
        self.report(
            Problem(
                self.path,
                pos,
                None,
                'truncated',
                f'record at offset {pos} is cut off ({cut.declared} bytes declared,'
                f' {cut.present} present);'
                f' {recovered} complete messages recovered before the cut',
                None,
            )
        )

    def _scan_chunk(
        self,
        pos: int,
        fields: dict[bytes, bytes],
        data: bytes,
        totals: dict[int, int],
        *,
        complete: bool,
    ) -> int:
        """Register a chunk's connections and time range; return its message count."""
        try:
            raw = self._decompress(fields, data, complete=complete)
        except (OSError, ValueError, RuntimeError) as exc:
            self.report(
                Problem(self.path, pos, None, 'corrupt', f'chunk does not decompress: {exc}', None)
            )
            return 0
        chunk = _Chunk(pos, 0, 0)
        times: list[int] = []
        ipos = 0
        while ipos < len(raw):
            try:
                hlen = U32.unpack_from(raw, ipos)[0]
                hdr = _parse_header(raw, ipos + 4, ipos + 4 + hlen)
                (dlen,) = U32.unpack_from(raw, ipos + 4 + hlen)
            except (ValueError, struct.error):
                break
            dstart = ipos + 8 + hlen
            if dstart + dlen > len(raw):
                break
            op = hdr.get(b'op', b'\x00')[0]
            if op == OP_CONNECTION:
                (cid,) = U32.unpack(hdr[b'conn'])
                self._add_connection(cid, hdr[b'topic'].decode(), raw[dstart : dstart + dlen])
            elif op == OP_MSG_DATA:
                (cid,) = U32.unpack(hdr[b'conn'])
                chunk.conn_counts[cid] = chunk.conn_counts.get(cid, 0) + 1
                totals[cid] = totals.get(cid, 0) + 1
                times.append(_time_ns(hdr[b'time']))
            ipos = dstart + dlen
        if times:
            chunk.start_ns, chunk.end_ns = min(times), max(times)
            self._chunks.append(chunk)
        return len(times)

    # -- reading -------------------------------------------------------------------

    @staticmethod
    def _decompress(fields: dict[bytes, bytes], data: bytes, *, complete: bool) -> bytes:
        compression = fields.get(b'compression', b'none')
        if compression == b'none':
            return data
        if compression == b'bz2':
            if complete:
                return bz2.decompress(data)
            return bz2.BZ2Decompressor().decompress(data)
        if compression == b'lz4':
            if complete:
                return bytes(lz4.frame.decompress(data))
            return bytes(lz4.frame.LZ4FrameDecompressor().decompress(data))
        msg = f'unknown chunk compression {compression.decode(errors="replace")!r}'
        raise ValueError(msg)

    def _chunk_messages(self, chunk: _Chunk, wanted: set[int] | None) -> list[RawMessage]:
        """Read, decompress and parse one chunk; damage is reported, not raised."""
        complete = True
        try:
            fields, data, _ = self._read_record(chunk.pos)
        except _CutError as cut:
            fields, data = cut.fields, cut.data
            complete = False
            if fields.get(b'op') != bytes([OP_CHUNK]):
                return []
        except (ValueError, KeyError, struct.error) as exc:
            lost = sum(chunk.conn_counts.values()) or None
            self.report(
                Problem(self.path, chunk.pos, None, 'corrupt', f'unreadable chunk: {exc!r}', lost)
            )
            return []
        compressed = fields.get(b'compression', b'none') != b'none'
        try:
            raw = self._decompress(fields, data, complete=complete)
        except (OSError, ValueError, RuntimeError) as exc:
            lost = sum(chunk.conn_counts.values()) or None
            self.report(
                Problem(
                    self.path, chunk.pos, None, 'corrupt', f'chunk does not decompress: {exc}', lost
                )
            )
            return []
        data_start = self._chunk_data_offset(chunk.pos)
        conns = self._conns
        file = self.path
        out: list[RawMessage] = []
        append = out.append
        unpack_u32 = U32.unpack_from
        ipos = 0
        end = len(raw)
        while ipos < end:
            try:
                hlen = unpack_u32(raw, ipos)[0]
                hdr = _parse_header(raw, ipos + 4, ipos + 4 + hlen)
                dlen = unpack_u32(raw, ipos + 4 + hlen)[0]
            except (ValueError, struct.error) as exc:
                if complete:
                    self.report(
                        Problem(
                            self.path,
                            chunk.pos if compressed else data_start + ipos,
                            None,
                            'corrupt',
                            f'unreadable record inside chunk at offset {chunk.pos}: {exc!r}',
                            None,
                        )
                    )
                break
            dstart = ipos + 8 + hlen
            if dstart + dlen > end:
                if complete:
                    self.report(
                        Problem(
                            self.path,
                            chunk.pos,
                            None,
                            'corrupt',
                            f'record inside chunk runs past the chunk end ({dlen} bytes declared)',
                            None,
                        )
                    )
                break
            if hdr.get(b'op') == b'\x02':
                cid = U32.unpack(hdr[b'conn'])[0]
                conn = conns.get(cid)
                if conn is None:
                    self.report(
                        Problem(
                            self.path,
                            chunk.pos,
                            None,
                            'unknown-connection',
                            f'message on undeclared connection {cid}',
                            1,
                        )
                    )
                elif wanted is None or cid in wanted:
                    sec, nsec = TIME.unpack(hdr[b'time'])
                    append(
                        RawMessage(
                            conn,
                            sec * 1_000_000_000 + nsec,
                            raw[dstart : dstart + dlen],
                            chunk.pos if compressed else data_start + ipos,
                            file,
                        )
                    )
            ipos = dstart + dlen
        return sort_chunk(out)

    def _chunk_data_offset(self, pos: int) -> int:
        head = self._read_at(pos, 4)
        (hlen,) = U32.unpack(head)
        return pos + 8 + hlen

    def messages(
        self,
        connections: Iterable[Connection] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Iterator[RawMessage]:
        """Yield messages in log-time order (see `BagReader.messages`).

        Yields:
            Raw messages.

        """
        wanted = None if connections is None else {c.id for c in connections}
        chunks = sorted(self._chunks, key=lambda c: (c.start_ns, c.pos))
        if wanted is not None:
            chunks = [c for c in chunks if not c.conn_counts or wanted & c.conn_counts.keys()]
        if start is not None:
            chunks = [c for c in chunks if c.end_ns >= start]
        if end is not None:
            chunks = [c for c in chunks if c.start_ns < end]

        def loaded() -> Iterator[tuple[int, list[RawMessage]]]:
            for chunk in chunks:
                yield chunk.start_ns, self._chunk_messages(chunk, wanted)

        for msg in merge_chunks(loaded()):
            if start is not None and msg.log_time_ns < start:
                continue
            if end is not None and msg.log_time_ns >= end:
                continue
            yield msg


def _with_count(conn: Connection, count: int) -> Connection:
    return replace(conn, message_count=count)
