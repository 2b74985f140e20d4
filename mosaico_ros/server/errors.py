"""Errors of the embedded server.

Each maps to one Flight status when it crosses the wire (see `service.py`).
"""


class ServerError(Exception):
    """Base of every error the embedded server raises on purpose."""


class BadRequestError(ServerError, ValueError):
    """A request is malformed or contradicts the stored state."""


class NotFoundError(ServerError, KeyError):
    """A locator or uuid names nothing the server knows (or may show)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class ConflictError(ServerError):
    """A create names something that already exists, or a uuid is reused."""


class PermissionDeniedError(ServerError):
    """The caller's API key lacks the permission the call needs."""


class UnauthenticatedError(ServerError):
    """The call carries no API key, or one the server does not know."""


class StoreError(ServerError):
    """The store directory or catalog is unusable."""
