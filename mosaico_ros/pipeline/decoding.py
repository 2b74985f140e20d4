"""The one function that decodes a raw ROS payload with a typestore.

For little-endian CDR (all but exotic recordings) the decoder calls the
generated deserializer directly: `Typestore.deserialize_cdr` looks the
definition up and slices the payload for every message, which costs a tenth
of the decode. Anything else takes the checked path. The deserializer is
generated on the first message: most topics are decoded columnar and never
need it.
"""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING, Any

from rosbags.serde import SerdeError

if TYPE_CHECKING:
    from collections.abc import Callable

    from rosbags.typesys.store import Typestore


ROS_DECODE_ERRORS: tuple[type[Exception], ...] = (
    SerdeError,
    struct.error,
    UnicodeDecodeError,
    ValueError,
    IndexError,
)
"""What decoding a payload that does not fit its definition raises (rosbags' generated code)."""


def payload_decoder(typestore: Typestore, msgtype: str, ros1: bool) -> Callable[[Any], Any]:
    """Return a function decoding one payload of `msgtype`.

    Args:
        typestore: Holds the definition of `msgtype`.
        msgtype: The message type.
        ros1: The payloads are ROS 1 serialized, else CDR.

    Returns:
        The decoder; it raises on a payload that does not match the definition.

    """
    if ros1:
        return lambda data: typestore.deserialize_ros1(data, msgtype)
    checked = typestore.deserialize_cdr

    def decode(data: Any) -> Any:
        if data[:2] != b'\x00\x01':
            return checked(data, msgtype)
        little, cls = generated()
        message, pos = little(memoryview(data)[4:], 0, cls, typestore)
        if pos + 7 < len(data):
            raise ValueError(f'CDR message size mismatch for {msgtype!r}')
        return message

    @functools.cache
    def generated() -> tuple[Callable[..., Any], type]:
        msgdef = typestore.get_msgdef(msgtype)
        return msgdef.deserialize_cdr_le, msgdef.cls

    return decode
