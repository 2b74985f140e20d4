"""API-key permissions: levels, and the Flight middleware that reads the key header."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

from pyarrow import flight

from mosaico_ros.protocol import API_KEY_HEADER
from mosaico_ros.server.status import to_status


class Permission(IntEnum):
    """Hierarchical permission levels; each includes the ones below it."""

    READ = 1
    WRITE = 2
    DELETE = 3
    MANAGE = 4

    @classmethod
    def parse(cls, name: str) -> Permission:
        """Parse `read`, `write`, `delete` or `manage`.

        Raises:
            ValueError: The name is none of those.

        """
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(
                f'unknown permission {name!r}: expected read, write, delete or manage',
            ) from None


class KeyMiddleware(flight.ServerMiddleware):
    """Carries the permission of the caller's key for the handlers of one call."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission


class KeyMiddlewareFactory(flight.ServerMiddlewareFactory):
    """Rejects calls without a valid API key; attaches the key's permission otherwise.

    Args:
        permission_of: Returns the permission of a token (None when the call
            has none), raising `UnauthenticatedError` for a token that grants
            nothing.

    """

    def __init__(self, permission_of: Callable[[str | None], Permission]) -> None:
        super().__init__()
        self._permission_of = permission_of

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> KeyMiddleware:
        """Resolve the key header of one incoming call."""
        values = headers.get(API_KEY_HEADER) or headers.get(API_KEY_HEADER.lower()) or []
        token = values[0] if values else None
        if isinstance(token, bytes):
            token = token.decode(errors='replace')
        try:
            return KeyMiddleware(self._permission_of(token))
        except Exception as err:
            raise to_status(err, 'authentication') from None


MIDDLEWARE_KEY = 'mosaico-api-key'
"""Name under which `KeyMiddlewareFactory` is registered on the Flight server."""
