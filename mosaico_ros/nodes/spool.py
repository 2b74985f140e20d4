"""The recorder's spool: every received message on disk before it is uploaded.

One segment (one future sequence) is one MCAP file, ROS 2 profile, without
chunks, so records reach the file as they are written and ordinary tools
(``mcap``, rosbags, ``ros2 bag``) open it; a segment whose writer died
lacks only its summary (``mcap recover`` rebuilds it). The recorder writes
(`SpoolWriter`), the uploader reads while it grows (`SpoolReader`):

- a ``mosaico_sequence`` metadata record first: the sequence name and its
  metadata;
- one channel per topic, with the type's definition as schema and the
  publishers' offered QoS in rosbag2's ``offered_qos_profiles`` metadata;
- the messages, each with the receive time as log time and the publisher's
  sequence number;
- at the end of the segment, a ``mosaico_accounting`` metadata record (what
  the recorder counted per topic: received, lost in DDS, lost to a full
  spool, ignored while paused), then the MCAP summary and footer. A segment
  is complete exactly when its footer is there.

The file is flushed and synced every `flush_period` seconds: a power cut
loses at most the messages received in the last period.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mcap.data_stream import ReadDataStream
from mcap.opcode import Opcode
from mcap.records import Channel, Message, Metadata, Schema
from mcap.writer import CompressionType, Writer

SEGMENT_SUFFIX = '.mcap'
SEQUENCE_RECORD = 'mosaico_sequence'
ACCOUNTING_RECORD = 'mosaico_accounting'
_MAGIC = b'\x89MCAP0\r\n'
_FRAME = struct.Struct('<BQ')


def segment_paths(spool: Path) -> list[Path]:
    """Segments in the spool, oldest first."""
    if not spool.is_dir():
        return []
    return sorted(spool.glob(f'*{SEGMENT_SUFFIX}'), key=lambda p: (p.stat().st_mtime_ns, p.name))


class SpoolWriter:
    """Writes one segment; used by the recorder from one thread.

    Args:
        path: The segment file (created; it must not exist).
        sequence: Name of the sequence it becomes.
        metadata: Metadata of that sequence.
        flush_period: Seconds between syncs to disk.

    """

    def __init__(
        self, path: Path, sequence: str, metadata: Mapping[str, Any], flush_period: float
    ) -> None:
        """Create the file and write the sequence record."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sequence = sequence
        self.flush_period = flush_period
        self._file: BinaryIO = path.open('xb')
        self._writer = Writer(
            self._file, use_chunking=False, compression=CompressionType.NONE, enable_crcs=False
        )
        self._writer.start(profile='ros2', library='mosaico_ros')
        self._writer.add_metadata(
            SEQUENCE_RECORD, {'sequence': sequence, 'metadata': json.dumps(dict(metadata))}
        )
        self._schemas: dict[tuple[str, str], int] = {}
        self._last_sync = time.monotonic()
        self.bytes_written = 0
        self.messages = 0
        self.flush()

    def add_topic(self, topic: str, msgtype: str, msgdef: str, qos_yaml: str) -> int:
        """Declare a topic; return its channel id."""
        key = (msgtype, msgdef)
        schema = self._schemas.get(key)
        if schema is None:
            schema = self._writer.register_schema(msgtype, 'ros2msg', msgdef.encode())
            self._schemas[key] = schema
        return self._writer.register_channel(
            topic, 'cdr', schema, {'offered_qos_profiles': qos_yaml}
        )

    def write(self, channel: int, time_ns: int, data: bytes, sequence: int = 0) -> None:
        """Append one message."""
        self._writer.add_message(channel, time_ns, data, time_ns, sequence & 0xFFFFFFFF)
        self.bytes_written += len(data)
        self.messages += 1

    def flush(self, sync: bool = True) -> None:
        """Hand what is written to the OS, and to the disk when `sync`."""
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def flush_if_due(self) -> None:
        """Flush and sync when the flush period has passed."""
        if time.monotonic() - self._last_sync >= self.flush_period:
            self.flush()

    def close(self, accounting: Mapping[str, Any]) -> None:
        """End the segment: the recorder's counts, then the MCAP summary and footer."""
        self._writer.add_metadata(ACCOUNTING_RECORD, {'topics': json.dumps(dict(accounting))})
        self._writer.finish()
        self.flush()
        self._file.close()


@dataclass(frozen=True)
class SpooledTopic:
    """A channel of a segment."""

    topic: str
    msgtype: str
    msgdef: str
    qos_yaml: str


@dataclass(frozen=True)
class SpooledMessage:
    """A message of a segment."""

    topic: str
    msgtype: str
    time_ns: int
    data: bytes


@dataclass(frozen=True)
class SpooledMetadata:
    """A metadata record of a segment."""

    name: str
    values: dict[str, str]


SpoolRecord = SpooledTopic | SpooledMessage | SpooledMetadata


class SpoolReader:
    """Reads a segment while it grows, record by complete record.

    `records` yields what was appended since the last call and stops at the
    first incomplete record; `complete` turns true once the footer was read.
    """

    def __init__(self, path: Path) -> None:
        """Open the segment; nothing is read yet."""
        self.path = path
        self._file = path.open('rb')
        self._pos = 0
        self._schemas: dict[int, Schema] = {}
        self._channels: dict[int, SpooledTopic] = {}
        self.complete = False

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def records(self, limit: int = 4096) -> Iterator[SpoolRecord]:
        """Yield up to `limit` complete records appended since the last call."""
        handle = self._file
        handle.seek(self._pos)
        if self._pos == 0:
            magic = handle.read(len(_MAGIC))
            if len(magic) < len(_MAGIC):
                return
            if magic != _MAGIC:
                raise ValueError(f'{self.path} is not an MCAP file')
            self._pos = len(_MAGIC)
        for _ in range(limit):
            frame = handle.read(_FRAME.size)
            if len(frame) < _FRAME.size:
                return
            opcode, length = _FRAME.unpack(frame)
            body = handle.read(length)
            if len(body) < length:
                return
            self._pos += _FRAME.size + length
            if opcode == Opcode.FOOTER:
                self.complete = True
                return
            record = self._record(opcode, body)
            if record is not None:
                yield record

    def _record(self, opcode: int, body: bytes) -> SpoolRecord | None:
        stream = ReadDataStream(io.BytesIO(body))
        if opcode == Opcode.MESSAGE:
            message = Message.read(stream, len(body))
            channel = self._channels[message.channel_id]
            return SpooledMessage(channel.topic, channel.msgtype, message.log_time, message.data)
        if opcode == Opcode.SCHEMA:
            schema = Schema.read(stream)
            self._schemas[schema.id] = schema
            return None
        if opcode == Opcode.CHANNEL:
            channel = Channel.read(stream)
            if channel.id in self._channels:
                return None  # repeated in the summary
            schema = self._schemas[channel.schema_id]
            topic = SpooledTopic(
                channel.topic,
                schema.name,
                schema.data.decode(),
                channel.metadata.get('offered_qos_profiles', ''),
            )
            self._channels[channel.id] = topic
            return topic
        if opcode == Opcode.METADATA:
            meta = Metadata.read(stream)
            return SpooledMetadata(meta.name, dict(meta.metadata))
        return None
