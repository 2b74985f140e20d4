"""Rows of the catalog, as plain frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mosaico_ros.protocol import pack_session_locator


@dataclass(frozen=True)
class SequenceRecord:
    """One sequence."""

    id: int
    name: str
    created_at_ns: int
    user_metadata: dict[str, Any]


@dataclass(frozen=True)
class SessionRecord:
    """One upload session of a sequence."""

    id: int
    sequence_id: int
    sequence_name: str
    uuid: str
    ident: str
    created_at_ns: int
    completed_at_ns: int | None
    finalized: bool
    locked: bool

    @property
    def locator(self) -> str:
        """`<sequence>:<session id>`."""
        return pack_session_locator(self.sequence_name, self.ident)


@dataclass(frozen=True)
class TopicRecord:
    """One topic; `path` is the topic name without its leading slash."""

    id: int
    session_id: int
    sequence_id: int
    sequence_name: str
    uuid: str
    path: str
    ontology_tag: str
    serialization_format: str
    user_metadata: dict[str, Any]
    created_at_ns: int
    schema_ipc: bytes | None
    put_state: str
    session_finalized: bool
    session_locked: bool
    session_completed_at_ns: int | None

    @property
    def locator(self) -> str:
        """`<sequence>/<topic path>`."""
        return f'{self.sequence_name}/{self.path}'

    @property
    def name(self) -> str:
        """Topic name with one leading slash, as the SDK shows it."""
        return f'/{self.path}'


@dataclass(frozen=True)
class ChunkRecord:
    """One Parquet chunk file of a topic, sorted by timestamp.

    `column_stats` maps dotted leaf column paths to `[min, max]`.
    """

    file: str
    row_count: int
    bytes: int
    min_ts: int
    max_ts: int
    column_stats: dict[str, list[Any]]

    def stats_json(self) -> str:
        """Serialize the column statistics for the catalog."""
        return json.dumps(self.column_stats)


@dataclass(frozen=True)
class NotificationRecord:
    """One error notification of a sequence (`topic_path` None) or of a topic."""

    sequence_name: str
    topic_path: str | None
    notification_type: str
    msg: str
    created_at_ns: int

    @property
    def name(self) -> str:
        """Sequence name, or topic locator for a topic notification."""
        if self.topic_path is None:
            return self.sequence_name
        return f'{self.sequence_name}/{self.topic_path}'
