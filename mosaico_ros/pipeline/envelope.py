"""What sources hand to the pipeline: topic descriptions, raw messages and runs of them.

Every source speaks this envelope: the bag readers (through `BagSource`),
the live recorder's subscriptions and the replay chain. Nothing here knows
files, connections or DDS. A source that holds many messages of one topic
together (an MCAP chunk with its message index) hands them over as one
`MessageRun`, without an object per message.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ROS_ENCODINGS = frozenset({'cdr', 'ros1'})
"""Payload encodings decoded with a ROS typestore."""


class Origin(NamedTuple):
    """Where a message came from, when it came from a file.

    Attributes:
        file: Storage file holding the message.
        offset: Byte offset of the message (or of its chunk); row id for SQLite.

    """

    file: Path
    offset: int


class RawMessage(NamedTuple):
    """One serialized message.

    Attributes:
        topic: Topic name exactly as the source spells it.
        msgtype: Normalized type (`pkg/msg/Name`; non-ROS schema names as given).
        log_time_ns: Record time: a bag's log time, a recorder's receive time,
            a stored row's timestamp.
        data: Serialized payload.
        origin: File and offset, for sources that have them.

    """

    topic: str
    msgtype: str
    log_time_ns: int
    data: bytes | bytearray | memoryview
    origin: Origin | None = None


@dataclass(frozen=True)
class Origins:
    """Where each of a sequence of messages came from, one entry per run of messages sharing it.

    Every message of an MCAP chunk has its chunk's offset: a thousand such
    messages keep one entry (or a few, where they span chunks), not a thousand.

    Attributes:
        firsts: Index of the first message of each run, ascending, starting at 0.
        origins: The origin of each run (None where the source has none).

    """

    firsts: list[int] = field(default_factory=list)
    origins: list[Origin | None] = field(default_factory=list)

    @classmethod
    def of(cls, origin: Origin | None) -> Origins:
        """Return the origins of messages that all came from `origin`."""
        return cls([0], [origin])

    def __getitem__(self, index: int) -> Origin | None:
        """Return the origin of message `index`."""
        if not self.firsts:
            return None
        return self.origins[bisect_right(self.firsts, index) - 1]

    def add(self, first: int, origin: Origin | None) -> None:
        """Say that messages from `first` on came from `origin`."""
        if not self.origins or self.origins[-1] != origin:
            self.firsts.append(first)
            self.origins.append(origin)

    def add_slice(self, other: Origins, at: int, first: int, stop: int) -> None:
        """Say that messages from `at` on came from where `other`'s `first` to `stop` came from."""
        if not other.firsts:
            self.add(at, None)
            return
        run = bisect_right(other.firsts, first) - 1
        for start, origin in zip(other.firsts[run:], other.origins[run:], strict=True):
            if start >= stop:
                break
            self.add(at + max(start - first, 0), origin)


@dataclass(frozen=True, slots=True)
class MessageRun:
    """Serialized messages of one topic, in record-time order.

    Payload i is ``data[starts[i]:stops[i]]``. `data` may be a source's
    whole buffer (a decompressed chunk): the pipeline copies the payloads
    out, except large ones that make up most of it, which it keeps as views
    until their batch is converted (`buffers.TopicBuffer`).

    Attributes:
        topic: Topic name exactly as the source spells it.
        msgtype: Normalized type, as in `RawMessage`.
        times: Record time of each message (ns).
        data: Bytes holding the payloads.
        starts: Where each payload starts in `data`.
        stops: Where each payload ends in `data`.
        origins: File and offset of the messages (every message of an MCAP
            chunk has its chunk's offset), for sources that have them.

    """

    topic: str
    msgtype: str
    times: npt.NDArray[np.int64]
    data: bytes | bytearray | memoryview
    starts: npt.NDArray[np.int64]
    stops: npt.NDArray[np.int64]
    origins: Origins = field(default_factory=Origins)

    def __len__(self) -> int:
        """Return the number of messages."""
        return len(self.times)


@dataclass(frozen=True)
class TopicInfo:
    """What a source knows of one topic (one type on one topic).

    Attributes:
        topic: Topic name exactly as the source spells it.
        msgtype: Normalized type name.
        encoding: Payload encoding: 'cdr', 'ros1', 'json', 'protobuf' or
            whatever the container declares.
        msgdef: Definition text as the source carries it, or ''.
        msgdef_encoding: 'ros2msg', 'ros2idl', 'ros1msg', 'jsonschema',
            'protobuf', another declared string, or ''.
        schema_name: Type name exactly as the container spells it.
        schema_data: Raw schema bytes when they are not text (protobuf), else b''.
        qos: Offered QoS profiles of the publishers (see `pipeline.qos`), if known.
        distro: ROS distribution the data was recorded with, if known.
        expected: Messages the source announces for this topic, if known.
        source: Metadata naming the source (``source_file``), stored with the topic.
        definition_origin: Where the definition came from, for notes (a file name).

    """

    topic: str
    msgtype: str
    encoding: str
    msgdef: str = ''
    msgdef_encoding: str = ''
    schema_name: str = ''
    schema_data: bytes = b''
    qos: tuple[dict[str, Any], ...] | None = None
    distro: str | None = None
    expected: int | None = None
    source: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    definition_origin: str = ''

    @property
    def ros_version(self) -> int | None:
        """1 or 2 for ROS payloads, None for other encodings."""
        if self.encoding == 'ros1':
            return 1
        if self.encoding == 'cdr':
            return 2
        return None
