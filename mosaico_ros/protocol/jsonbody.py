"""Parsing of JSON object bodies."""

from __future__ import annotations

import json
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError


def load_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """Parse a JSON object.

    Args:
        raw: The JSON text.
        what: What the body is, for the error message.

    Returns:
        The parsed object.

    Raises:
        ProtocolError: The body is not JSON, is nested too deeply to parse,
            or is not an object.

    """
    try:
        document = json.loads(raw)
    except RecursionError:
        raise ProtocolError(f'{what} is nested too deeply') from None
    except ValueError as err:
        raise ProtocolError(f'{what} is not valid JSON: {err}') from err
    if not isinstance(document, dict):
        raise ProtocolError(f'{what} is not a JSON object')
    return document
