"""API keys on the wire: the `api_key_*` actions' documents, shared by client and server.

`mosaicod` manages keys with `api_key_create`, `api_key_status` and
`api_key_revoke`, each needing the `manage` permission; `api_key_list` and
`api_key_purge` complete the set for `mosaico-ros api-key`. Keys are named by
their fingerprint, the last part of a `msco_<payload>_<fingerprint>` token;
the token itself is shown once, in the answer to `api_key_create`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError

PERMISSIONS = ('read', 'write', 'delete', 'manage')
"""Permission levels, each including the ones before it."""

FINGERPRINT = 'api_key_fingerprint'
"""Request key naming the key of `api_key_status` and `api_key_revoke`."""


@dataclass(frozen=True)
class ApiKeyStatus:
    """What the server tells about one key (never its token).

    Attributes:
        fingerprint: The key's name: the token's last part.
        permission: One of `PERMISSIONS`.
        description: Free text given at creation.
        created_at_ns: Creation time, ns since the epoch.
        expires_at_ns: Expiry time, None for a key that never expires.
        revoked_at_ns: Revocation time, None while not revoked.

    """

    fingerprint: str
    permission: str
    description: str
    created_at_ns: int
    expires_at_ns: int | None = None
    revoked_at_ns: int | None = None

    def state(self, now_ns: int) -> str:
        """`revoked`, `expired` or `valid` at `now_ns`."""
        if self.revoked_at_ns is not None:
            return 'revoked'
        if self.expires_at_ns is not None and self.expires_at_ns <= now_ns:
            return 'expired'
        return 'valid'

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            FINGERPRINT: self.fingerprint,
            'permission': self.permission,
            'description': self.description,
            'created_at_ns': self.created_at_ns,
            'expires_at_ns': self.expires_at_ns,
            'revoked_at_ns': self.revoked_at_ns,
        }

    @classmethod
    def from_dict(cls, document: Any) -> ApiKeyStatus:
        """Parse the wire form.

        Raises:
            ProtocolError: A key is missing or has the wrong type.

        """
        try:
            status = cls(
                fingerprint=str(document[FINGERPRINT]),
                permission=str(document['permission']),
                description=str(document.get('description') or ''),
                created_at_ns=int(document['created_at_ns']),
                expires_at_ns=_optional_int(document.get('expires_at_ns')),
                revoked_at_ns=_optional_int(document.get('revoked_at_ns')),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProtocolError(f'API key status is malformed: {err!r}') from err
        if status.permission not in PERMISSIONS:
            raise ProtocolError(f'API key status has unknown permission {status.permission!r}')
        return status


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def create_request(
    permission: str, description: str = '', expires_at_ns: int | None = None
) -> dict[str, Any]:
    """Build the body of `api_key_create`."""
    return {'permission': permission, 'description': description, 'expires_at_ns': expires_at_ns}
