"""The values every bag reader hands out: connections, raw messages and runs, problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from mosaico_ros.bags.errors import describe_place

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class Connection:
    """One stream of messages of one type on one topic.

    A topic published by several ROS 1 publishers has several connections.

    Attributes:
        id: Identifier unique within one reader.
        topic: Topic name exactly as stored (leading slash or not).
        msgtype: Normalized type name, `pkg/msg/Name` for ROS types; non-ROS
            schema names (`foxglove.Log`) are kept as stored.
        encoding: Serialization of the payloads: 'cdr', 'ros1', 'json',
            'protobuf' or whatever other string the container declares.
        msgdef: Definition text of the type as embedded in the bag, or ''.
        msgdef_encoding: 'ros2msg', 'ros2idl', 'ros1msg', 'jsonschema',
            'protobuf', another declared string, or ''.
        md5sum: ROS 1 md5sum of the definition, '' elsewhere.
        message_count: Messages on this connection if an index says so, else None.
        qos: Raw offered_qos_profiles text, if the bag records one.
        schema_name: Type name exactly as the container spells it.
        source_file: File (or rosbag2 directory) the connection was read from.
        schema_data: Raw schema bytes when they are not text (protobuf), else b''.

    """

    id: int
    topic: str
    msgtype: str
    encoding: str
    msgdef: str
    msgdef_encoding: str
    md5sum: str
    message_count: int | None
    qos: str | None
    schema_name: str
    source_file: Path
    schema_data: bytes = b''


class BagMessage(NamedTuple):
    """One serialized message as stored.

    Attributes:
        connection: Connection the message belongs to.
        log_time_ns: Record (log) time in nanoseconds since the epoch.
        data: Serialized payload, decompressed if the container compressed it.
        offset: Byte offset in `file` of the message record, or of the chunk
            holding it; SQLite row id for `.db3` files.
        file: Storage file the message was read from.

    """

    connection: Connection
    log_time_ns: int
    data: bytes | memoryview
    offset: int
    file: Path


@dataclass(frozen=True, slots=True)
class BagRun:
    """Messages of one connection from one chunk, in log-time order.

    Payload i is ``data[starts[i]:stops[i]]``; `data` may be the whole
    decompressed chunk: a view kept of one payload keeps all of it.

    Attributes:
        connection: Connection the messages belong to.
        times: Log time of each message (ns).
        data: Bytes holding the payloads.
        starts: Where each payload starts in `data`.
        stops: Where each payload ends in `data`.
        offset: Byte offset in `file` of the chunk holding them.
        file: Storage file the messages were read from.

    """

    connection: Connection
    times: npt.NDArray[np.int64]
    data: bytes | memoryview
    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    offset: int
    file: Path

    def __len__(self) -> int:
        """Return the number of messages."""
        return len(self.times)


@dataclass(frozen=True)
class Problem:
    """Something a reader could not read, or a disagreement worth a person's look.

    Attributes:
        file: File holding the problem.
        offset: Byte offset (row id for SQLite) where it starts, if known.
        topic: Topic affected, if known.
        kind: Short tag: 'truncated', 'corrupt', 'missing-file', 'mismatch',
            'unordered', 'unknown-connection'.
        reason: Human readable explanation.
        lost: Messages lost; None when unknown, 0 when nothing was lost.

    """

    file: Path
    offset: int | None
    topic: str | None
    kind: str
    reason: str
    lost: int | None = None

    def __str__(self) -> str:
        where = describe_place(self.file, self.offset, self.topic)
        lost = 'unknown' if self.lost is None else str(self.lost)
        return f'{where}: {self.kind}: {self.reason}; messages lost: {lost}'
