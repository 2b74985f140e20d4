"""Errors of the Mosaico client."""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error the client raises on its own account."""


class ServerError(ClientError):
    """The server answered a call with an error status.

    Attributes:
        call: What was called, e.g. `DoAction sequence_create` or
            `DoPut drive/imu`.
        server_message: The error text as the server sent it.

    """

    def __init__(self, call: str, server_message: str) -> None:
        super().__init__(f'{call} failed: {server_message}')
        self.call = call
        self.server_message = server_message


class PermissionDeniedError(ServerError):
    """The API key in use lacks the permission level a call needs."""


class NoResponseError(ClientError):
    """An action that must answer with a document answered with none."""


class SessionError(ClientError):
    """A session could not be finalized cleanly (one or more topics failed)."""


class StreamerClosedError(ValueError):
    """A data streamer was used after it was closed or replaced by a newer one."""
