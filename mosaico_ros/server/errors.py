"""Errors of the embedded server.

Each maps to one Flight status when it crosses the wire (see `status.py`).
Messages name what was wrong in words a person can act on; a value the client
sent is echoed only through `quote`, which cuts it short.
"""

from __future__ import annotations

from typing import Any

QUOTE_CHARS = 64
"""Characters of a client's value an error message echoes at most."""


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """Return `repr(value)`, cut to about `limit` characters.

    Args:
        value: A value taken from a request.
        limit: Characters kept before the cut.

    Returns:
        The representation, with `...(N chars)` in place of what was cut.

    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f'{text[:limit]}...({len(text)} chars)'


class ServerError(Exception):
    """Base of every error the embedded server raises on purpose."""


class BadRequestError(ServerError, ValueError):
    """A request is malformed or contradicts the stored state."""


class NotFoundError(ServerError, KeyError):
    """A locator or uuid names nothing the server knows (or may show)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class ConflictError(ServerError):
    """A create names something that already exists, or the state forbids the call now."""


class PermissionDeniedError(ServerError):
    """The caller's API key lacks the permission the call needs."""


class UnauthenticatedError(ServerError):
    """The call carries no API key, or one the server does not know."""


class StoreError(ServerError):
    """The store directory or catalog is unusable."""
