"""Identifiers the server issues: write-token uuids and ULID-like session ids."""

from __future__ import annotations

import os
import time
import uuid

_CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'


def new_token() -> str:
    """Return a fresh random uuid string used as a session or topic write token."""
    return str(uuid.uuid4())


def new_session_id(now_ns: int | None = None) -> str:
    """Return a 26-character ULID: 48-bit milliseconds then 80 random bits, Crockford base32.

    Args:
        now_ns: Creation time in ns since the epoch; the current time if None.

    """
    millis = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = ((millis & ((1 << 48) - 1)) << 80) | int.from_bytes(os.urandom(10), 'big')
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return ''.join(reversed(chars))
