"""The `api_key_*` actions of a running server, for a client holding a `manage` key."""

from __future__ import annotations

from typing import Any

from mosaico_ros.client.connection import Connection
from mosaico_ros.client.errors import NoResponseError
from mosaico_ros.protocol import Action, ApiKeyStatus, ProtocolError
from mosaico_ros.protocol.api_keys import FINGERPRINT, create_request


class ApiKeys:
    """Create, inspect, revoke and purge a server's API keys.

    Every call needs the `manage` permission on the server; revocation and
    expiry take effect there at once.

    Args:
        connection: A connection to the server (`MosaicoClient.connection`).

    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _call(self, action: Action, body: dict[str, Any], key: str) -> Any:
        response = self._connection.action(action, body)
        if not isinstance(response, dict) or key not in response:
            raise NoResponseError(f'{action.value} answered without {key!r}')
        return response[key]

    def create(
        self, permission: str, description: str = '', expires_at_ns: int | None = None
    ) -> tuple[str, ApiKeyStatus]:
        """Make a key.

        Args:
            permission: `read`, `write`, `delete` or `manage`.
            description: What the key is for.
            expires_at_ns: When it stops working; None for never.

        Returns:
            The token (shown this once) and the key's status.

        Raises:
            ServerError: The server refused (no manage permission, bad value).

        """
        body = create_request(permission, description, expires_at_ns)
        response = self._connection.action(Action.API_KEY_CREATE, body)
        if not isinstance(response, dict) or not isinstance(response.get('api_key_token'), str):
            raise NoResponseError('api_key_create answered without a token')
        return response['api_key_token'], _status(response.get('api_key'))

    def status(self, fingerprint: str) -> ApiKeyStatus:
        """Return the status of the key with that fingerprint."""
        return _status(self._call(Action.API_KEY_STATUS, {FINGERPRINT: fingerprint}, 'api_key'))

    def revoke(self, fingerprint: str) -> ApiKeyStatus:
        """Revoke the key with that fingerprint; return its status."""
        return _status(self._call(Action.API_KEY_REVOKE, {FINGERPRINT: fingerprint}, 'api_key'))

    def all_keys(self) -> list[ApiKeyStatus]:
        """Every key of the server, oldest first."""
        return [_status(item) for item in self._call(Action.API_KEY_LIST, {}, 'api_keys')]

    def purge(self, everything: bool = False) -> list[ApiKeyStatus]:
        """Delete expired and revoked keys (every key with `everything`); return them."""
        removed = self._call(Action.API_KEY_PURGE, {'all': everything}, 'api_keys')
        return [_status(item) for item in removed]


def _status(document: Any) -> ApiKeyStatus:
    try:
        return ApiKeyStatus.from_dict(document)
    except ProtocolError as err:
        raise NoResponseError(str(err)) from err
