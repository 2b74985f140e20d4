"""API keys: the store's key table, and the check every call's token goes through.

Keys live in `<store>/keys.sqlite`, one row per key: fingerprint,
permission, description, creation, expiry and revocation times, and the
SHA-256 of the token (see `tokens.py`); the token itself is never stored.
A revoked key keeps its row (so `status` can say so) until `purge`.

`Authenticator.permission` takes the token of a call, finds the keys with its
fingerprint and compares hashes in constant time; only the holder of the
right token learns that a key expired or was revoked. Keys handed to
`EmbeddedServer` in code are kept the same way, hashed in memory.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaico_ros.protocol.api_keys import ApiKeyStatus
from mosaico_ros.server.database import Database
from mosaico_ros.server.errors import BadRequestError, NotFoundError, UnauthenticatedError, quote
from mosaico_ros.server.permissions import Permission
from mosaico_ros.server.tokens import new_token, same_hash, split_token, token_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    fingerprint TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    permission TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL,
    expires_at_ns INTEGER,
    revoked_at_ns INTEGER
);
"""

_COLUMNS = 'fingerprint, permission, description, created_at_ns, expires_at_ns, revoked_at_ns'

MAX_DESCRIPTION_CHARS = 1024
"""Longest key description."""

KEYS_FILE = 'keys.sqlite'
"""Name of the key table's file inside a store directory."""


@dataclass(frozen=True)
class KeyRecord:
    """A key as the authenticator sees it: its status and its token's hash."""

    status: ApiKeyStatus
    token_hash: str


def _status(row: Any) -> ApiKeyStatus:
    return ApiKeyStatus(row[0], row[1], row[2], row[3], row[4], row[5])


class KeyStore:
    """The API keys of one store directory.

    Args:
        store: The store directory; its key file is created when absent.

    """

    def __init__(self, store: Path) -> None:
        self._db = Database(store / KEYS_FILE, _SCHEMA)

    def close(self) -> None:
        """Close the key file."""
        self._db.close()

    def create(
        self,
        permission: str,
        description: str = '',
        expires_at_ns: int | None = None,
        now_ns: int | None = None,
    ) -> tuple[str, ApiKeyStatus]:
        """Make a key.

        Args:
            permission: `read`, `write`, `delete` or `manage`.
            description: What the key is for.
            expires_at_ns: When it stops working; None for never.
            now_ns: Creation time; the current time when None.

        Returns:
            The token, shown this once, and the key's status.

        Raises:
            BadRequestError: Unknown permission or description too long.

        """
        level = _permission(permission)
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise BadRequestError(f'description has more than {MAX_DESCRIPTION_CHARS} characters')
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._db.transaction() as conn:
            while True:
                token = new_token()
                fingerprint = split_token(token)[1]
                taken = conn.execute(
                    'SELECT 1 FROM api_keys WHERE fingerprint = ?', (fingerprint,)
                ).fetchone()
                if not taken:
                    break
            status = ApiKeyStatus(fingerprint, level, description, now_ns, expires_at_ns)
            conn.execute(
                f'INSERT INTO api_keys ({_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
                (fingerprint, level, description, now_ns, expires_at_ns, None, token_hash(token)),
            )
        return token, status

    def status(self, fingerprint: str) -> ApiKeyStatus:
        """Return a key's status.

        Raises:
            NotFoundError: No key has that fingerprint.

        """
        rows = self._db.read(
            f'SELECT {_COLUMNS} FROM api_keys WHERE fingerprint = ?', (fingerprint,)
        )
        if not rows:
            raise NotFoundError(f'no API key has fingerprint {quote(fingerprint)}')
        return _status(rows[0])

    def all_keys(self) -> list[ApiKeyStatus]:
        """Every key, oldest first."""
        rows = self._db.read(f'SELECT {_COLUMNS} FROM api_keys ORDER BY created_at_ns, fingerprint')
        return [_status(row) for row in rows]

    def revoke(self, fingerprint: str, now_ns: int | None = None) -> ApiKeyStatus:
        """Revoke a key at once; revoking twice keeps the first time.

        Raises:
            NotFoundError: No key has that fingerprint.

        """
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._db.transaction() as conn:
            conn.execute(
                'UPDATE api_keys SET revoked_at_ns = ? '
                'WHERE fingerprint = ? AND revoked_at_ns IS NULL',
                (now_ns, fingerprint),
            )
        return self.status(fingerprint)

    def purge(self, everything: bool = False, now_ns: int | None = None) -> list[ApiKeyStatus]:
        """Delete expired and revoked keys, or every key.

        Returns:
            The keys deleted.

        """
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._db.transaction() as conn:
            rows = conn.execute(f'SELECT {_COLUMNS} FROM api_keys').fetchall()
            gone = [s for s in map(_status, rows) if everything or s.state(now_ns) != 'valid']
            conn.executemany(
                'DELETE FROM api_keys WHERE fingerprint = ?', [(s.fingerprint,) for s in gone]
            )
        return gone

    def records(self, fingerprint: str) -> list[KeyRecord]:
        """Return the keys with a fingerprint, with their token hashes (for `Authenticator`)."""
        rows = self._db.read(
            f'SELECT {_COLUMNS}, token_hash FROM api_keys WHERE fingerprint = ?', (fingerprint,)
        )
        return [KeyRecord(_status(row), row[6]) for row in rows]


def _permission(name: str) -> str:
    try:
        return Permission.parse(name).name.lower()
    except ValueError as err:
        raise BadRequestError(str(err)) from None


class Authenticator:
    """Tells the permission of the token a call presents.

    Args:
        store: The store's keys.
        static_keys: Token to permission of keys given in code, hashed here.

    """

    def __init__(self, store: KeyStore, static_keys: Mapping[str, str] | None = None) -> None:
        self._store = store
        self._static: dict[str, list[KeyRecord]] = {}
        for token, level in (static_keys or {}).items():
            fingerprint = token.rpartition('_')[2]
            status = ApiKeyStatus(fingerprint, _permission(level), 'given in code', 0)
            self._static.setdefault(fingerprint, []).append(KeyRecord(status, token_hash(token)))

    def permission(self, token: str | None, now_ns: int | None = None) -> Permission:
        """Return the permission of a valid token.

        Raises:
            UnauthenticatedError: No token, or one that is malformed, unknown,
                expired or revoked.

        """
        if not token:
            raise UnauthenticatedError(
                'missing API key: send it in the mosaico-api-key-token header (--api-key)'
            )
        try:
            fingerprint = split_token(token)[1]
        except ValueError as err:
            raise UnauthenticatedError(f'malformed API key: {err}') from None
        candidates = self._static.get(fingerprint, []) + self._store.records(fingerprint)
        for record in candidates:
            if same_hash(token, record.token_hash):
                state = record.status.state(time.time_ns() if now_ns is None else now_ns)
                if state != 'valid':
                    raise UnauthenticatedError(f'API key {fingerprint} is {state}')
                return Permission.parse(record.status.permission)
        raise UnauthenticatedError('unknown API key')
