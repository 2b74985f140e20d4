"""Bag writers for export: a bare MCAP file, a rosbag2 directory, a ROS 1 bag.

Each writer takes topics (type, definition text, offered QoS) and serialized
messages, and leaves the container to the libraries we depend on: the
`mcap` writer for a bare ``.mcap`` (the ``ros2`` profile, or ``ros1``),
rosbags' rosbag2 writer for a directory with its ``metadata.yaml`` (storage
``mcap`` or ``sqlite3``), rosbags' rosbag1 writer for a ``.bag``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mosaico_ros.pipeline.qos import dump_offered_qos, is_latched, normalize_profile

if TYPE_CHECKING:
    from types import TracebackType

    from rosbags.typesys.store import Typestore
ROSBAG2_VERSION = {'humble': 8, 'iron': 8, 'jazzy': 8}
"""rosbag2 metadata version written for a distro (rosbags writes 8 or 9); others get 9."""


class BagWriter(ABC):
    """A container being written; use as a context manager (closing finishes the file).

    Args:
        path: Where the container goes (a file, or a rosbag2 directory).
        typestore: Types of the messages (ROS 1 or ROS 2), for definitions and digests.

    """

    def __init__(self, path: Path, typestore: Typestore) -> None:
        """Keep where and what."""
        self.path = path
        self.typestore = typestore

    @abstractmethod
    def add_topic(
        self, topic: str, msgtype: str, msgdef: str, qos: Sequence[Mapping[str, Any]] | None
    ) -> Any:
        """Declare a topic with its definition text; return the handle `write` takes.

        Raises:
            Exception: The container cannot describe the type (the library's own error).

        """

    @abstractmethod
    def write(self, handle: Any, time_ns: int, data: bytes | memoryview) -> None:
        """Write one serialized message at a log time."""

    @abstractmethod
    def close(self) -> None:
        """Finish the container."""

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class McapFileWriter(BagWriter):
    """A bare ``.mcap`` as ``ros2 bag record`` writes it (or the ``ros1`` profile).

    Args:
        path: The file.
        typestore: Types of the messages.
        ros1: Write ROS 1 messages (``ros1msg`` schemas, ``ros1`` encoding).

    """

    def __init__(self, path: Path, typestore: Typestore, *, ros1: bool = False) -> None:
        """Open the file and start the MCAP."""
        from mcap.writer import Writer

        super().__init__(path, typestore)
        self.ros1 = ros1
        self._file: IO[bytes] = path.open('wb')
        try:
            self._writer = Writer(self._file)
            self._writer.start(profile='ros1' if ros1 else 'ros2', library='mosaico_ros export')
        except BaseException:
            self._file.close()
            raise
        self._schemas: dict[str, int] = {}
        self._sequence = 0

    def add_topic(
        self, topic: str, msgtype: str, msgdef: str, qos: Sequence[Mapping[str, Any]] | None
    ) -> int:
        """Register the schema (once per type) and the channel."""
        schema = self._schemas.get(msgtype)
        if schema is None:
            name = msgtype.replace('/msg/', '/') if self.ros1 else msgtype
            encoding = 'ros1msg' if self.ros1 else 'ros2msg'
            schema = self._writer.register_schema(name, encoding, msgdef.encode())
            self._schemas[msgtype] = schema
        metadata = {} if self.ros1 or not qos else {'offered_qos_profiles': dump_offered_qos(qos)}
        return int(
            self._writer.register_channel(
                topic, 'ros1' if self.ros1 else 'cdr', schema, metadata=metadata
            )
        )

    def write(self, handle: Any, time_ns: int, data: bytes | memoryview) -> None:
        """Append a message (log and publish time alike)."""
        self._writer.add_message(handle, time_ns, bytes(data), time_ns, self._sequence)
        self._sequence += 1

    def close(self) -> None:
        """Write the summary and close the file."""
        if not self._file.closed:
            self._writer.finish()
            self._file.close()


class Rosbag2Writer(BagWriter):
    """A rosbag2 directory with its ``metadata.yaml``, storage ``mcap`` or ``sqlite3``.

    Args:
        path: The directory (must not exist).
        typestore: ROS 2 types of the messages.
        storage: 'mcap' or 'sqlite3'.
        distro: Target distro; chooses the metadata version.

    """

    def __init__(
        self, path: Path, typestore: Typestore, *, storage: str = 'mcap', distro: str = ''
    ) -> None:
        """Open the bag."""
        from rosbags.rosbag2 import StoragePlugin, Writer

        super().__init__(path, typestore)
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        version = ROSBAG2_VERSION.get(distro, 9)
        self._writer = Writer(path, version=version, storage_plugin=plugin)  # type: ignore[arg-type]
        self._writer.open()

    def add_topic(
        self, topic: str, msgtype: str, msgdef: str, qos: Sequence[Mapping[str, Any]] | None
    ) -> Any:
        """Add the connection with its definition, type hash and offered QoS."""
        return self._writer.add_connection(
            topic,
            msgtype,
            msgdef=msgdef,
            rihs01=self.typestore.hash_rihs01(msgtype),
            offered_qos_profiles=[_rosbags_qos(profile) for profile in qos or ()],
        )

    def write(self, handle: Any, time_ns: int, data: bytes | memoryview) -> None:
        """Append a message."""
        self._writer.write(handle, time_ns, data)

    def close(self) -> None:
        """Close the storage and write ``metadata.yaml``."""
        if self._writer.storage is not None:
            self._writer.close()


class Ros1BagWriter(BagWriter):
    """A ROS 1 ``.bag``; transient-local topics are written latched.

    Args:
        path: The file (must not exist).
        typestore: ROS 1 types of the messages (definitions and md5 sums).

    """

    def __init__(self, path: Path, typestore: Typestore) -> None:
        """Open the bag."""
        from rosbags.rosbag1 import Writer

        super().__init__(path, typestore)
        self._writer = Writer(path)
        self._writer.open()
        self._open = True

    def add_topic(
        self, topic: str, msgtype: str, msgdef: str, qos: Sequence[Mapping[str, Any]] | None
    ) -> Any:
        """Add the connection with its definition; the md5 sum comes from the typestore."""
        latched = is_latched(qos)
        _, md5sum = self.typestore.generate_msgdef(msgtype, ros_version=1)
        return self._writer.add_connection(
            topic, msgtype, msgdef=msgdef, md5sum=md5sum, latching=1 if latched else None
        )

    def write(self, handle: Any, time_ns: int, data: bytes | memoryview) -> None:
        """Append a message."""
        self._writer.write(handle, time_ns, data)

    def close(self) -> None:
        """Write the index and close."""
        if self._open:
            self._open = False
            self._writer.close()


def _rosbags_qos(profile: Mapping[str, Any]) -> Any:
    """Return a plain profile as rosbags' `Qos`."""
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    plain = normalize_profile(profile)

    def time(key: str) -> QosTime:
        return QosTime(plain[key]['sec'], plain[key]['nsec'])

    return Qos(
        history=QosHistory[plain['history'].upper()],
        depth=int(plain['depth']),
        reliability=QosReliability[plain['reliability'].upper()],
        durability=QosDurability[plain['durability'].upper()],
        deadline=time('deadline'),
        lifespan=time('lifespan'),
        liveliness=QosLiveliness[plain['liveliness'].upper()],
        liveliness_lease_duration=time('liveliness_lease_duration'),
        avoid_ros_namespace_conventions=bool(plain['avoid_ros_namespace_conventions']),
    )
