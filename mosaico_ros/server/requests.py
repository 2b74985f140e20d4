"""What a request may hold: bounded JSON bodies, checked strings and fields.

Every byte a client sends is checked here before anything else reads it:
bodies and commands have a size and nesting bound, every string must encode
as UTF-8 (JSON escapes can smuggle in lone surrogates, which SQLite and
Arrow refuse), names have a length bound, and user-metadata keys follow
`mosaicod`'s rule. Errors name the action and the field that was wrong.
"""

from __future__ import annotations

import re
from typing import Any

from mosaico_ros.protocol import ProtocolError, unpack_topic_locator
from mosaico_ros.protocol.jsonbody import load_object
from mosaico_ros.server.errors import BadRequestError, quote

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest DoAction body."""

MAX_COMMAND_BYTES = 64 * 1024
"""Largest descriptor command or ticket."""

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays in any JSON document."""

MAX_NAME_CHARS = 256
"""Longest sequence name, and longest topic path."""

MAX_TEXT_CHARS = 64 * 1024
"""Longest other string field (a notification message, a description)."""

_METADATA_KEY = re.compile(r'[A-Za-z0-9_-]+')


def load_body(raw: bytes, what: str, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Parse a JSON object body within the size and nesting bounds, every string UTF-8.

    Args:
        raw: The bytes received.
        what: What the body is, for errors (`sequence_create request body`).
        limit: Largest size accepted.

    Raises:
        BadRequestError: The body is too large, not a JSON object, nested too
            deeply or holds a string that is not valid Unicode.

    """
    if len(raw) > limit:
        raise BadRequestError(f'{what} has {len(raw)} bytes; at most {limit} are accepted')
    try:
        document = load_object(raw, what)
    except ProtocolError as err:
        raise BadRequestError(str(err)) from None
    _check_tree(document, what)
    return document


def _check_tree(document: Any, what: str) -> None:
    """Check nesting depth and string encodability without recursion."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_unicode(value, what)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise BadRequestError(f'{what} is nested deeper than {MAX_DEPTH} levels')
        if isinstance(value, dict):
            for key, item in value.items():
                _check_unicode(key, what)
                pending.append((item, depth + 1))
        else:
            pending.extend((item, depth + 1) for item in value)


def _check_unicode(text: str, what: str) -> None:
    if text.isascii():
        return
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        raise BadRequestError(f'{what} holds a string that is not valid Unicode') from None


def checked_text(value: Any, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Return a non-empty string within `limit` characters that encodes as UTF-8.

    Raises:
        BadRequestError: The value is not such a string.

    """
    if not isinstance(value, str) or not value:
        raise BadRequestError(f'{what} must be a non-empty string, got {quote(value)}')
    if len(value) > limit:
        raise BadRequestError(f'{what} has {len(value)} characters; at most {limit}')
    _check_unicode(value, what)
    return value


def str_field(body: dict[str, Any], key: str, action: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Return a required non-empty string field.

    Raises:
        BadRequestError: The field is missing, empty, too long or not a string.

    """
    if key not in body:
        raise BadRequestError(f'{action}: missing string {key!r}')
    return checked_text(body[key], f'{action}: {key!r}', limit)


def int_field(value: Any, what: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    """Return an integer (not a bool, not a float) within `[minimum, maximum]`.

    Raises:
        BadRequestError: The value is not such an integer.

    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequestError(f'{what} must be an integer, got {quote(value)}')
    if not minimum <= value <= maximum:
        raise BadRequestError(f'{what} must be within [{minimum}, {maximum}], got {quote(value)}')
    return value


def metadata_field(body: dict[str, Any], action: str) -> dict[str, Any]:
    """Return the optional `user_metadata` object, `{}` when absent.

    Keys at every level must be letters, digits, `-` and `_`, without `--`,
    as `mosaicod` requires ("invalid json key").

    Raises:
        BadRequestError: The field is present but not an object, or has a bad key.

    """
    value = body.get('user_metadata')
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequestError(f'{action}: user_metadata must be a JSON object')
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not _METADATA_KEY.fullmatch(key) or '--' in key:
                    raise BadRequestError(
                        f'{action}: invalid json key {quote(key)} in user_metadata: use letters, '
                        'digits, "-" and "_" (no "--")',
                    )
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)
    return value


def split_topic(locator: str, action: str) -> tuple[str, str]:
    """Split a topic locator into sequence name and topic path (no leading `/`).

    Raises:
        BadRequestError: The locator has no topic part or a part is too long.

    """
    try:
        sequence, name = unpack_topic_locator(locator)
    except ProtocolError:
        raise BadRequestError(f'{action}: not a topic locator: {quote(locator)}') from None
    path = name.strip('/')
    if len(sequence) > MAX_NAME_CHARS or len(path) > MAX_NAME_CHARS:
        raise BadRequestError(
            f'{action}: sequence names and topic paths have at most {MAX_NAME_CHARS} characters',
        )
    return sequence, path
