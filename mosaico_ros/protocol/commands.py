"""JSON commands carried by Flight descriptors and tickets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError
from mosaico_ros.protocol.jsonbody import load_object


def _optional_int(document: dict[str, Any], key: str, what: str) -> int | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f'{what}: {key} must be an integer, got {value!r}')
    return value


def _required_str(document: dict[str, Any], key: str, what: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f'{what}: missing string {key!r}')
    return value


@dataclass(frozen=True)
class ResourceCommand:
    """GetFlightInfo / GetSchema command: a locator and an optional window.

    The window is `[timestamp_ns_start, timestamp_ns_end)`; either bound may
    be open.
    """

    resource_locator: str
    timestamp_ns_start: int | None = None
    timestamp_ns_end: int | None = None

    def encode(self) -> bytes:
        """Serialize as the SDK does: bounds present only when given."""
        document: dict[str, Any] = {'resource_locator': self.resource_locator}
        if self.timestamp_ns_start is not None:
            document['timestamp_ns_start'] = self.timestamp_ns_start
        if self.timestamp_ns_end is not None:
            document['timestamp_ns_end'] = self.timestamp_ns_end
        return json.dumps(document).encode()

    @classmethod
    def decode(cls, raw: bytes) -> ResourceCommand:
        """Parse a descriptor command.

        Raises:
            ProtocolError: The command is malformed.

        """
        what = 'descriptor command'
        document = load_object(raw, what)
        return cls(
            _required_str(document, 'resource_locator', what),
            _optional_int(document, 'timestamp_ns_start', what),
            _optional_int(document, 'timestamp_ns_end', what),
        )


@dataclass(frozen=True)
class PutCommand:
    """DoPut command: the topic locator and its write token."""

    resource_locator: str
    topic_uuid: str

    def encode(self) -> bytes:
        """Serialize in the SDK's key order."""
        return json.dumps(
            {'resource_locator': self.resource_locator, 'topic_uuid': self.topic_uuid},
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> PutCommand:
        """Parse a DoPut descriptor command.

        Raises:
            ProtocolError: The command is malformed.

        """
        what = 'DoPut command'
        document = load_object(raw, what)
        return cls(
            _required_str(document, 'resource_locator', what),
            _required_str(document, 'topic_uuid', what),
        )


@dataclass(frozen=True)
class Ticket:
    """DoGet ticket of the embedded server: a topic locator and a window.

    Tickets are opaque to clients; this is simply the form our server issues.
    """

    locator: str
    start_ns: int | None = None
    end_ns: int | None = None

    def encode(self) -> bytes:
        """Serialize to ticket bytes."""
        return json.dumps(
            {'locator': self.locator, 'start_ns': self.start_ns, 'end_ns': self.end_ns},
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Ticket:
        """Parse ticket bytes.

        Raises:
            ProtocolError: The ticket is malformed.

        """
        what = 'ticket'
        document = load_object(raw, what)
        return cls(
            _required_str(document, 'locator', what),
            _optional_int(document, 'start_ns', what),
            _optional_int(document, 'end_ns', what),
        )
