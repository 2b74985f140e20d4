"""Fields of JSON request bodies, each error naming the action that was wrong."""

from __future__ import annotations

from typing import Any

from mosaico_ros.protocol import ProtocolError, unpack_topic_locator
from mosaico_ros.server.errors import BadRequestError


def str_field(body: dict[str, Any], key: str, action: str) -> str:
    """Return a required non-empty string field.

    Raises:
        BadRequestError: The field is missing, empty or not a string.

    """
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f'{action}: missing string {key!r}')
    return value


def metadata_field(body: dict[str, Any], action: str) -> dict[str, Any]:
    """Return the optional `user_metadata` object, `{}` when absent.

    Raises:
        BadRequestError: The field is present but not an object.

    """
    value = body.get('user_metadata')
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequestError(f'{action}: user_metadata must be a JSON object')
    return value


def split_topic(locator: str, action: str) -> tuple[str, str]:
    """Split a topic locator into sequence name and topic path (no leading `/`).

    Raises:
        BadRequestError: The locator has no topic part.

    """
    try:
        sequence, name = unpack_topic_locator(locator)
    except ProtocolError as err:
        raise BadRequestError(f'{action}: {err}') from err
    return sequence, name.strip('/')
