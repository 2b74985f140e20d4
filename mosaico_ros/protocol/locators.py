"""Names and locators of sequences, topics and sessions.

A sequence locator is the bare sequence name; a topic locator is
`<sequence>/<topic path>` with no leading slash; a topic *name* as users see
it carries exactly one leading slash; a session locator is
`<sequence>:<session id>`.
"""

from __future__ import annotations

import re

from mosaico_ros.protocol.errors import ProtocolError

_SEQUENCE_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]*')
_TOPIC_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_/-]*')


def sanitize_sequence_name(name: str) -> str:
    """Strip leading and trailing slashes from a sequence name."""
    return name.strip('/')


def sanitize_topic_name(name: str) -> str:
    """Return the topic name with exactly one leading slash and none trailing."""
    return '/' + name.strip('/')


def validate_sequence_name(name: str) -> str:
    """Check a sequence name the way the 0.7.0 SDK does before sending it.

    Args:
        name: Name as the user typed it.

    Returns:
        The sanitized name.

    Raises:
        ValueError: The name is empty, does not start with a letter or digit,
            or holds characters other than letters, digits, `-` and `_`.

    """
    clean = sanitize_sequence_name(name)
    if not _SEQUENCE_NAME.fullmatch(clean):
        raise ValueError(
            f'invalid sequence name {name!r}: use letters, digits, "-" and "_", '
            'starting with a letter or digit',
        )
    return clean


def validate_topic_name(name: str) -> str:
    """Check a topic name like :func:`validate_sequence_name`, allowing `/`.

    Returns:
        The sanitized name, with one leading slash.

    Raises:
        ValueError: The name is not valid.

    """
    clean = name.strip('/')
    if not _TOPIC_NAME.fullmatch(clean) or '//' in clean:
        raise ValueError(
            f'invalid topic name {name!r}: use letters, digits, "-", "_" and "/", '
            'each segment starting with a letter or digit',
        )
    return '/' + clean


def pack_topic_locator(sequence: str, topic: str) -> str:
    """Join a sequence name and a topic name into a topic locator."""
    return f'{sanitize_sequence_name(sequence)}/{topic.strip("/")}'


def unpack_topic_locator(locator: str) -> tuple[str, str]:
    """Split a topic locator into sequence name and topic name (leading `/`).

    Raises:
        ProtocolError: The locator has no topic part.

    """
    parts = locator.strip('/').split('/', 1)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ProtocolError(f'not a topic locator: {locator!r}')
    return parts[0], '/' + parts[1]


def is_topic_locator(locator: str) -> bool:
    """Tell a topic locator (contains `/` after sanitizing) from a sequence one."""
    return '/' in locator.strip('/')


def pack_session_locator(sequence: str, session_id: str) -> str:
    """Build `<sequence>:<session id>`."""
    return f'{sanitize_sequence_name(sequence)}:{session_id}'


def split_session_locator(locator: str) -> tuple[str, str]:
    """Split a session locator into sequence name and session id.

    Raises:
        ProtocolError: The locator has no `:`.

    """
    sequence, sep, session_id = locator.rpartition(':')
    if not sep or not sequence or not session_id:
        raise ProtocolError(f'not a session locator: {locator!r}')
    return sanitize_sequence_name(sequence), session_id
