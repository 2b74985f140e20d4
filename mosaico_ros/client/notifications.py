"""Error notifications attached to sequences and topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mosaico_ros.protocol import (
    NOTIFICATION_TYPE,
    ProtocolError,
    is_topic_locator,
    parse_created_datetime,
    unpack_topic_locator,
)


@dataclass(frozen=True)
class Notification:
    """One error notification.

    Attributes:
        sequence_name: Sequence it belongs to.
        type: Notification type; `error` is the only one in 0.7.0.
        message: The text filed.
        created_datetime: When the server recorded it (UTC).
        topic_name: Topic name (leading `/`) for topic notifications.

    """

    sequence_name: str
    type: str
    message: str
    created_datetime: datetime
    topic_name: str | None = None

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Notification:
        """Parse one item of a `*_notification_list` answer.

        Raises:
            ProtocolError: A key is missing or malformed.

        """
        try:
            name = str(document['name'])
            kind = str(document['notification_type'])
            message = str(document['msg'])
            created = parse_created_datetime(str(document['created_datetime']))
        except KeyError as err:
            raise ProtocolError(f'notification without {err}: {document!r}') from err
        if kind != NOTIFICATION_TYPE:
            raise ProtocolError(f'unknown notification_type {kind!r} in {document!r}')
        if is_topic_locator(name):
            sequence, topic = unpack_topic_locator(name)
            return cls(sequence, kind, message, created, topic)
        return cls(name.strip('/'), kind, message, created)
