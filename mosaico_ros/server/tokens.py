"""API-key tokens: `msco_<payload>_<fingerprint>`, and the hash the server keeps of them.

The payload is 32 random lowercase letters and digits (about 165 bits), so
one SHA-256 of the whole token is all the store needs to keep: the token
cannot be recovered from it, and a stolen catalog of hashes grants nothing.
The fingerprint is the first 8 hex digits of the payload's SHA-256: it names
the key in `status` and `revoke`, and catches a token mistyped by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

PREFIX = 'msco'
PAYLOAD_CHARS = 32
FINGERPRINT_CHARS = 8
_ALPHABET = string.ascii_lowercase + string.digits


def fingerprint_of(payload: str) -> str:
    """Return the fingerprint belonging to a payload."""
    return hashlib.sha256(payload.encode()).hexdigest()[:FINGERPRINT_CHARS]


def new_token() -> str:
    """Return a fresh random token."""
    payload = ''.join(secrets.choice(_ALPHABET) for _ in range(PAYLOAD_CHARS))
    return f'{PREFIX}_{payload}_{fingerprint_of(payload)}'


def split_token(token: str) -> tuple[str, str]:
    """Return `(payload, fingerprint)` of a token as a client presents it.

    Only the shape is checked here (three `_`-separated parts, `msco` first):
    the store decides whether the token is one of its keys.

    Raises:
        ValueError: The token does not have the `msco_<payload>_<fingerprint>` shape.

    """
    prefix, _, rest = token.partition('_')
    payload, _, fingerprint = rest.rpartition('_')
    if prefix != PREFIX or not payload or not fingerprint:
        raise ValueError('an API key looks like msco_<payload>_<fingerprint>')
    return payload, fingerprint


def token_hash(token: str) -> str:
    """Return the hex SHA-256 the store keeps in place of a token."""
    return hashlib.sha256(token.encode(errors='surrogatepass')).hexdigest()


def same_hash(token: str, stored_hash: str) -> bool:
    """Whether a presented token has the stored hash, compared in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)
