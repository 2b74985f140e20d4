"""The app-metadata JSON documents of sequence and topic FlightInfos."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError
from mosaico_ros.protocol.jsonbody import load_object


@dataclass(frozen=True)
class Interval:
    """Both-inclusive `[start_ns, end_ns]` of record timestamps."""

    start_ns: int
    end_ns: int

    def to_dict(self) -> dict[str, int]:
        """Return the wire form."""
        return {'start_ns': self.start_ns, 'end_ns': self.end_ns}

    @classmethod
    def from_dict(cls, document: dict[str, Any] | None) -> Interval | None:
        """Parse the wire form; None stays None."""
        if document is None:
            return None
        return cls(int(document['start_ns']), int(document['end_ns']))


@dataclass(frozen=True)
class DataInfo:
    """Size and extent of a topic's whole data."""

    total_bytes: int
    total_chunks_count: int
    total_row_count: int
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            'total_bytes': self.total_bytes,
            'total_chunks_count': self.total_chunks_count,
            'total_row_count': self.total_row_count,
            'interval': self.interval.to_dict() if self.interval else None,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> DataInfo:
        """Parse the wire form."""
        return cls(
            int(document['total_bytes']),
            int(document['total_chunks_count']),
            int(document.get('total_row_count') or 0),
            Interval.from_dict(document.get('interval')),
        )


@dataclass(frozen=True)
class TimeWindowInfo:
    """Row count and observed extent of a topic's rows inside a requested window."""

    row_count: int
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            'interval': self.interval.to_dict() if self.interval else None,
            'row_count': self.row_count,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any] | None) -> TimeWindowInfo | None:
        """Parse the wire form; None stays None."""
        if document is None:
            return None
        return cls(int(document['row_count']), Interval.from_dict(document.get('interval')))


@dataclass(frozen=True)
class TopicAppMetadata:
    """`app_metadata` of a topic endpoint (PROTOCOL.md §7.5)."""

    resource_locator: str
    created_at_ns: int
    locked: bool
    ontology_tag: str
    serialization_format: str
    user_metadata: dict[str, Any]
    data_info: DataInfo
    completed_at_ns: int | None = None
    time_window_info: TimeWindowInfo | None = None

    def encode(self) -> bytes:
        """Serialize; `time_window_info` only appears for windowed requests."""
        document: dict[str, Any] = {
            'resource_locator': self.resource_locator,
            'created_at_ns': self.created_at_ns,
            'completed_at_ns': self.completed_at_ns,
            'locked': self.locked,
            'ontology_tag': self.ontology_tag,
            'serialization_format': self.serialization_format,
            'user_metadata': self.user_metadata,
            'data_info': self.data_info.to_dict(),
        }
        if self.time_window_info is not None:
            document['time_window_info'] = self.time_window_info.to_dict()
        return json.dumps(document).encode()

    @classmethod
    def decode(cls, raw: bytes) -> TopicAppMetadata:
        """Parse endpoint app metadata.

        Raises:
            ProtocolError: A required key is missing or malformed.

        """
        document = load_object(raw, 'topic app_metadata')
        try:
            return cls(
                resource_locator=str(document['resource_locator']),
                created_at_ns=int(document['created_at_ns']),
                locked=bool(document['locked']),
                ontology_tag=str(document['ontology_tag']),
                serialization_format=str(document['serialization_format']),
                user_metadata=dict(document['user_metadata']),
                data_info=DataInfo.from_dict(document['data_info']),
                completed_at_ns=document.get('completed_at_ns'),
                time_window_info=TimeWindowInfo.from_dict(document.get('time_window_info')),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProtocolError(f'topic app_metadata is malformed: {err!r}') from err

    @property
    def interval(self) -> Interval | None:
        """Extent of the rows the request covers (window if any, else whole topic)."""
        if self.time_window_info is not None:
            return self.time_window_info.interval
        return self.data_info.interval

    @property
    def row_count(self) -> int:
        """Rows the request covers (window if any, else whole topic)."""
        if self.time_window_info is not None:
            return self.time_window_info.row_count
        return self.data_info.total_row_count


@dataclass(frozen=True)
class SessionInfo:
    """One session entry of a sequence's app metadata."""

    locator: str
    created_at_ns: int
    locked: bool
    completed_at_ns: int | None = None
    topics: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            'locator': self.locator,
            'created_at_ns': self.created_at_ns,
            'completed_at_ns': self.completed_at_ns,
            'locked': self.locked,
            'topics': list(self.topics),
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> SessionInfo:
        """Parse the wire form."""
        return cls(
            locator=str(document['locator']),
            created_at_ns=int(document['created_at_ns']),
            locked=bool(document['locked']),
            completed_at_ns=document.get('completed_at_ns'),
            topics=list(document.get('topics') or []),
        )


@dataclass(frozen=True)
class SequenceAppMetadata:
    """`app_metadata` of a sequence FlightInfo (PROTOCOL.md §7.3)."""

    resource_locator: str
    created_at_ns: int
    user_metadata: dict[str, Any]
    sessions: list[SessionInfo] = field(default_factory=list)

    def encode(self) -> bytes:
        """Serialize to JSON bytes."""
        return json.dumps(
            {
                'resource_locator': self.resource_locator,
                'created_at_ns': self.created_at_ns,
                'user_metadata': self.user_metadata,
                'sessions': [session.to_dict() for session in self.sessions],
            },
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> SequenceAppMetadata:
        """Parse sequence app metadata.

        Raises:
            ProtocolError: A required key is missing or malformed.

        """
        document = load_object(raw, 'sequence app_metadata')
        try:
            return cls(
                resource_locator=str(document['resource_locator']),
                created_at_ns=int(document['created_at_ns']),
                user_metadata=dict(document['user_metadata']),
                sessions=[SessionInfo.from_dict(s) for s in document.get('sessions') or []],
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProtocolError(f'sequence app_metadata is malformed: {err!r}') from err
