"""API-key permissions: levels, and the Flight middleware that reads the key header."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pyarrow import flight

from mosaico_ros.protocol import API_KEY_HEADER


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
    """Rejects calls without a known API key; attaches the key's permission otherwise.

    Args:
        api_keys: Token to permission level name.

    """

    def __init__(self, api_keys: dict[str, str]) -> None:
        super().__init__()
        self._keys = {token: Permission.parse(level) for token, level in api_keys.items()}

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> KeyMiddleware:
        """Resolve the key header of one incoming call."""
        values = headers.get(API_KEY_HEADER) or headers.get(API_KEY_HEADER.lower()) or []
        if not values:
            raise flight.FlightUnauthenticatedError(
                f'missing API key: send it in the {API_KEY_HEADER!r} header',
            )
        token = values[0]
        if isinstance(token, bytes):
            token = token.decode(errors='replace')
        permission = self._keys.get(token)
        if permission is None:
            raise flight.FlightUnauthenticatedError('unknown API key')
        return KeyMiddleware(permission)


MIDDLEWARE_KEY = 'mosaico-api-key'
"""Name under which `KeyMiddlewareFactory` is registered on the Flight server."""
