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
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from struct import Struct
from typing import TYPE_CHECKING, BinaryIO

import lz4.frame

from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.model import BagMessage, Connection
from mosaico_ros.bags.ordering import clip, merge_chunks, select_chunks, sort_chunk
from mosaico_ros.bags.reader import BagReader, known_total

if TYPE_CHECKING:
    from collections.abc import Iterator, KeysView

MAGIC = b'#ROSBAG V2.0\n'

# Values of the one-byte `op` header field.
OP_MSG_DATA = b'\x02'
OP_BAG_HEADER = b'\x03'
OP_INDEX_DATA = b'\x04'
OP_CHUNK = b'\x05'
OP_CHUNK_INFO = b'\x06'
OP_CONNECTION = b'\x07'

U32 = Struct('<I')
U64 = Struct('<Q')
TIME = Struct('<II')

# Errors of a header or record that does not parse.
_UNPARSABLE = (ValueError, KeyError, struct.error)


class _CutError(Exception):
    """A record runs past the end of the file.

    Attributes:
        declared: Bytes the record declares for the part that is cut.
        present: Bytes of it present in the file.
        data: Data bytes present, when the header is whole.
        fields: Header fields, when the header is whole.
        data_pos: File offset of the data, when the header is whole.

    """

    def __init__(
        self,
        declared: int,
        present: int,
        data: bytes = b'',
        fields: dict[bytes, bytes] | None = None,
        data_pos: int = 0,
    ) -> None:
        super().__init__(f'{declared} bytes declared, {present} present')
        self.declared = declared
        self.present = present
        self.data = data
        self.fields = fields or {}
        self.data_pos = data_pos


class _ChunkDamageError(Exception):
    """A record inside a decompressed chunk is unreadable.

    Attributes:
        pos: Offset of the record within the decompressed chunk data.
        reason: What is wrong with it.

    """

    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos = pos
        self.reason = reason


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


def _chunk_records(raw: bytes) -> Iterator[tuple[int, dict[bytes, bytes], int, int]]:
    """Yield (offset, header fields, data start, data end) of each record in chunk data.

    Raises:
        _ChunkDamageError: A record header does not parse or its data runs past
            the chunk end; the records before it have been yielded.

    """
    pos = 0
    end = len(raw)
    while pos < end:
        try:
            (hlen,) = U32.unpack_from(raw, pos)
            fields = _parse_header(raw, pos + 4, pos + 4 + hlen)
            (dlen,) = U32.unpack_from(raw, pos + 4 + hlen)
        except (ValueError, struct.error) as exc:
            raise _ChunkDamageError(pos, f'unreadable record header: {exc!r}') from exc
        dstart = pos + 8 + hlen
        dend = dstart + dlen
        if dend > end:
            raise _ChunkDamageError(pos, f'record runs past the chunk end ({dlen} bytes declared)')
        yield pos, fields, dstart, dend
        pos = dend


def _decompress(fields: dict[bytes, bytes], data: bytes, *, complete: bool) -> bytes:
    """Return a chunk's records; an incomplete chunk yields what decompresses."""
    compression = fields.get(b'compression', b'none')
    if compression == b'none':
        return data
    if compression == b'bz2':
        return bz2.decompress(data) if complete else bz2.BZ2Decompressor().decompress(data)
    if compression == b'lz4':
        if complete:
            return bytes(lz4.frame.decompress(data))
        return bytes(lz4.frame.LZ4FrameDecompressor().decompress(data))
    msg = f'unknown chunk compression {compression.decode(errors="replace")!r}'
    raise ValueError(msg)


# Errors of chunk data that does not decompress.
_UNDECOMPRESSABLE = (OSError, ValueError, RuntimeError)


@dataclass
class _Chunk:
    """Where a chunk is and what its index (or a scan) says about it."""

    pos: int
    start_ns: int
    end_ns: int
    conn_counts: dict[int, int] = field(default_factory=dict)

    @property
    def conn_ids(self) -> KeysView[int]:
        """Connections with messages in the chunk."""
        return self.conn_counts.keys()


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
        super().__init__(display_path or path, strict=strict)
        self._file_size = self.size_bytes = os.path.getsize(path)
        self._fh: BinaryIO = path.open('rb')
        self.on_close(self._fh.close)
        self._conns: dict[int, Connection] = {}
        self._chunks: list[_Chunk] = []
        try:
            self.indexed = self._open()
        except BaseException:
            self.close()
            raise
        totals: Counter[int] = Counter()
        for chunk in self._chunks:
            totals.update(chunk.conn_counts)
        self.connections = [
            replace(conn, message_count=totals[cid]) for cid, conn in self._conns.items()
        ]
        self._conns = {conn.id: conn for conn in self.connections}
        self.message_count = known_total(c.message_count for c in self.connections)
        self.start_ns = min((c.start_ns for c in self._chunks), default=None)
        self.end_ns = max((c.end_ns for c in self._chunks), default=None)

    # -- opening -------------------------------------------------------------------

    def _read_record(self, pos: int) -> tuple[dict[bytes, bytes], bytes, int]:
        """Read the record at pos.

        Returns:
            Header fields, data and the file offset of the data.

        Raises:
            _CutError: The record is incomplete.
            ValueError: The header length is implausible or the header does not parse.

        """
        self._fh.seek(pos)
        head = self._fh.read(4)
        if len(head) < 4:
            raise _CutError(4, len(head))
        (hlen,) = U32.unpack(head)
        if hlen > 1 << 26:
            msg = f'header length {hlen} is implausible'
            raise ValueError(msg)
        hdr = self._fh.read(hlen + 4)
        if len(hdr) < hlen + 4:
            raise _CutError(hlen + 4, len(hdr))
        fields = _parse_header(hdr, 0, hlen)
        (dlen,) = U32.unpack_from(hdr, hlen)
        data = self._fh.read(dlen)
        if len(data) < dlen:
            raise _CutError(dlen, len(data), data, fields, pos + 8 + hlen)
        return fields, data, pos + 8 + hlen

    def _open(self) -> bool:
        """Read the bag header and the index, or scan; return whether the index was used."""
        self._fh.seek(0)
        magic = self._fh.read(len(MAGIC))
        if magic != MAGIC:
            msg = f'{self.path}: not a ROS 1 bag (starts with {magic[:16]!r})'
            raise BagFormatError(msg)
        try:
            try:
                fields, data, data_pos = self._read_record(len(MAGIC))
            except _CutError as cut:
                if not cut.fields or cut.fields.get(b'op') != OP_BAG_HEADER:
                    raise
                # Only the header's padding is cut: nothing follows it.
                self.report_at(
                    len(MAGIC),
                    'truncated',
                    f'the file ends at byte {self._file_size}, inside the padding of the bag '
                    'header; no record follows it',
                )
                return False
            if fields.get(b'op') != OP_BAG_HEADER:
                msg = 'first record is not a bag header'
                raise ValueError(msg)
            (index_pos,) = U64.unpack(fields[b'index_pos'])
        except (_CutError, *_UNPARSABLE) as exc:
            msg = f'{self.path}: bag header at offset {len(MAGIC)} is unreadable: {exc!r}'
            raise BagFormatError(msg) from exc
        if 0 < index_pos <= self._file_size and self._read_index(index_pos):
            return True
        self._conns.clear()
        self._chunks.clear()
        self._scan(data_pos + len(data), index_pos)
        return False

    def _add_connection(self, fields: dict[bytes, bytes], data: bytes) -> None:
        """Declare the connection of a connection record, unless already known."""
        (conn_id,) = U32.unpack(fields[b'conn'])
        if conn_id in self._conns:
            return
        info = _parse_header(data, 0, len(data))
        topic = fields[b'topic']
        schema_name = info.get(b'type', b'').decode()
        self._conns[conn_id] = Connection(
            id=conn_id,
            topic=(info.get(b'topic') or topic).decode(),
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
                fields, data, data_pos = self._read_record(pos)
                pos = data_pos + len(data)
                op = fields[b'op']
                if op == OP_CONNECTION:
                    self._add_connection(fields, data)
                elif op == OP_CHUNK_INFO:
                    (chunk_pos,) = U64.unpack(fields[b'chunk_pos'])
                    chunk = _Chunk(
                        chunk_pos, _time_ns(fields[b'start_time']), _time_ns(fields[b'end_time'])
                    )
                    for i in range(0, len(data) - 7, 8):
                        cid, cnt = TIME.unpack_from(data, i)
                        chunk.conn_counts[cid] = cnt
                    self._chunks.append(chunk)
        except (_CutError, *_UNPARSABLE) as exc:
            self.report_at(
                pos,
                'corrupt',
                f'index section unreadable ({exc!r}); rebuilding it by a linear scan',
                lost=0,
            )
            return False
        return True

    def _scan(self, pos: int, index_pos: int) -> None:
        """Rebuild connections and chunk list by walking every record from pos.

        A file that ends before the index its header announces was cut
        short: the cut is reported at the record it splits, or at the end of
        the file when it falls between two records.
        """
        if index_pos > self._file_size:
            self._scan_until_cut(pos, f'; the index was due at byte {index_pos}')
            return
        self._scan_until_cut(pos, '')

    def _scan_until_cut(self, pos: int, expected: str) -> None:
        while pos < self._file_size:
            try:
                fields, data, data_pos = self._read_record(pos)
            except _CutError as cut:
                recovered = 0
                if cut.fields.get(b'op') == OP_CHUNK and cut.data:
                    recovered = self._scan_chunk(pos, cut.fields, cut.data, complete=False)
                self.report_at(
                    pos,
                    'truncated',
                    f'record at offset {pos} is cut off ({cut.declared} bytes declared,'
                    f' {cut.present} present);'
                    f' {recovered} complete messages recovered before the cut{expected}',
                )
                return
            except _UNPARSABLE as exc:
                self.report_at(pos, 'corrupt', f'unreadable record: {exc!r}')
                return
            op = fields.get(b'op')
            if op == OP_CHUNK:
                self._scan_chunk(pos, fields, data, complete=True)
            elif op == OP_CONNECTION:
                self._add_connection(fields, data)
            pos = data_pos + len(data)
        if expected:
            self.report_at(
                self._file_size,
                'truncated',
                f'the file ends at byte {self._file_size}, between two records{expected}',
            )

    def _scan_chunk(
        self, pos: int, fields: dict[bytes, bytes], data: bytes, *, complete: bool
    ) -> int:
        """Register a chunk's connections and time range; return its message count."""
        try:
            raw = _decompress(fields, data, complete=complete)
        except _UNDECOMPRESSABLE as exc:
            self.report_at(pos, 'corrupt', f'chunk does not decompress: {exc}')
            return 0
        chunk = _Chunk(pos, 0, 0)
        times: list[int] = []
        try:
            for _, hdr, dstart, dend in _chunk_records(raw):
                op = hdr.get(b'op')
                if op == OP_CONNECTION:
                    self._add_connection(hdr, raw[dstart:dend])
                elif op == OP_MSG_DATA:
                    (cid,) = U32.unpack(hdr[b'conn'])
                    chunk.conn_counts[cid] = chunk.conn_counts.get(cid, 0) + 1
                    times.append(_time_ns(hdr[b'time']))
        except _ChunkDamageError:
            # The scan keeps the records before the damage; reading the chunk reports it.
            pass
        if times:
            chunk.start_ns, chunk.end_ns = min(times), max(times)
            self._chunks.append(chunk)
        return len(times)

    # -- reading -------------------------------------------------------------------

    def _chunk_messages(self, chunk: _Chunk, wanted: set[int] | None) -> list[BagMessage]:
        """Read, decompress and parse one chunk; damage is reported, not raised."""
        lost = sum(chunk.conn_counts.values()) or None
        complete = True
        try:
            fields, data, data_pos = self._read_record(chunk.pos)
        except _CutError as cut:
            if cut.fields.get(b'op') != OP_CHUNK:
                self.report_at(
                    chunk.pos,
                    'truncated',
                    f'the index lists a chunk at offset {chunk.pos}, but the file ends at byte '
                    f'{self._file_size}',
                    lost=lost,
                )
                return []
            fields, data, data_pos, complete = cut.fields, cut.data, cut.data_pos, False
        except _UNPARSABLE as exc:
            self.report_at(chunk.pos, 'corrupt', f'unreadable chunk: {exc!r}', lost=lost)
            return []
        try:
            raw = _decompress(fields, data, complete=complete)
        except _UNDECOMPRESSABLE as exc:
            self.report_at(chunk.pos, 'corrupt', f'chunk does not decompress: {exc}', lost=lost)
            return []
        # Records inside a compressed chunk have no file offset of their own.
        compressed = fields.get(b'compression', b'none') != b'none'
        record_base = None if compressed else data_pos
        conns = self._conns
        file = self.path
        out: list[BagMessage] = []
        append = out.append
        try:
            for ipos, hdr, dstart, dend in _chunk_records(raw):
                if hdr.get(b'op') != OP_MSG_DATA:
                    continue
                cid = U32.unpack(hdr[b'conn'])[0]
                conn = conns.get(cid)
                if conn is None:
                    self.report_at(
                        chunk.pos,
                        'unknown-connection',
                        f'message on undeclared connection {cid}',
                        lost=1,
                    )
                elif wanted is None or cid in wanted:
                    sec, nsec = TIME.unpack(hdr[b'time'])
                    offset = chunk.pos if record_base is None else record_base + ipos
                    append(
                        BagMessage(conn, sec * 1_000_000_000 + nsec, raw[dstart:dend], offset, file)
                    )
        except _ChunkDamageError as damage:
            # A cut chunk ends mid-record by nature; the cut itself is reported at open.
            if complete:
                offset = chunk.pos if record_base is None else record_base + damage.pos
                self.report_at(
                    offset, 'corrupt', f'in the chunk at offset {chunk.pos}: {damage.reason}'
                )
        return sort_chunk(out)

    def _messages(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagMessage]:
        """Merge the chunks that may hold wanted messages in log-time order."""
        chunks = select_chunks(self._chunks, wanted, start, end)
        loaded = ((chunk.start_ns, self._chunk_messages(chunk, wanted)) for chunk in chunks)
        return clip(merge_chunks(loaded), start, end)
