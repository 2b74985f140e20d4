"""The `{"action": ..., "response": ...}` envelope of DoAction results."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError
from mosaico_ros.protocol.jsonbody import load_object


def encode_response(action: str, response: dict[str, Any] | None) -> bytes:
    """Encode one DoAction result body.

    Args:
        action: Name of the action answered.
        response: Response object, or None for actions with nothing to return.

    Returns:
        UTF-8 JSON of the envelope.

    """
    if response is None:
        return b'{"action": "empty"}'
    return json.dumps({'action': action, 'response': response}).encode()


def decode_results(action: str, bodies: Iterable[bytes], *, paged: bool = False) -> Any:
    """Decode the Result bodies of one DoAction call.

    Non-paged actions may split one JSON document across several Results, so
    their bodies are concatenated; paged actions carry one envelope per Result.

    Args:
        action: Name of the action that was called.
        bodies: Result bodies in arrival order.
        paged: Whether the action is paged.

    Returns:
        The `response` object (non-paged; None when there is none), or the
        list of `response` objects (paged).

    Raises:
        ProtocolError: A body is not JSON, or a paged Result is not an
            envelope of this action.

    """
    if paged:
        responses = []
        for body in bodies:
            envelope = load_object(body, f'{action} result')
            if envelope.get('action') != action or 'response' not in envelope:
                raise ProtocolError(f'{action}: paged result is not an envelope of this action')
            responses.append(envelope['response'])
        return responses
    joined = b''.join(bodies)
    if not joined.strip():
        return None
    envelope = load_object(joined, f'{action} result')
    if envelope.get('action') != action:
        return None
    return envelope.get('response')
