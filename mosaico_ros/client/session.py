"""A session as a sequence handler reports it."""

from __future__ import annotations

from dataclasses import dataclass, field

from mosaico_ros.protocol import SessionInfo, unpack_topic_locator


@dataclass(frozen=True)
class Session:
    """One upload layer of a sequence.

    Attributes:
        locator: `<sequence>:<session id>`.
        created_timestamp: Creation time, ns since the epoch.
        locked: Whether the session was finalized and is immutable.
        completed_timestamp: Finalization time, if finalized.
        topics: Names (leading `/`) of the topics the session added.

    """

    locator: str
    created_timestamp: int
    locked: bool
    completed_timestamp: int | None = None
    topics: list[str] = field(default_factory=list)

    @classmethod
    def from_info(cls, info: SessionInfo) -> Session:
        """Build from the protocol's session entry."""
        return cls(
            info.locator,
            info.created_at_ns,
            info.locked,
            info.completed_at_ns,
            [unpack_topic_locator(locator)[1] for locator in info.topics],
        )
