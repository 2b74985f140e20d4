"""Generated definitions: alignment in every arrangement, both serializations, both byte orders."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore
from test_codec_support import (
    FORMATS_CDR,
    FORMATS_ROS1,
    SETTINGS,
    MessageStrategies,
    check_batch,
    definitions,
    planned,
    register,
    serialize,
)


@settings(SETTINGS, max_examples=300)
@given(types=definitions(), data=st.data())
def test_generated_definition(types: list[tuple[str, str]], data: Any) -> None:
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    msgtype = register(typestore, types)
    msgs = data.draw(st.lists(MessageStrategies(typestore).message(msgtype), max_size=5))
    for ros1, formats in ((False, FORMATS_CDR), (True, FORMATS_ROS1)):
        if not planned(typestore, msgtype, ros1):
            continue
        for fmt in formats:
            payloads = [serialize(typestore, msg, msgtype, fmt) for msg in msgs]
            check_batch(typestore, msgtype, payloads, ros1=ros1)


@settings(SETTINGS, max_examples=60)
@given(types=definitions(), data=st.data())
def test_long_sequences(types: list[tuple[str, str]], data: Any) -> None:
    """Few messages with long sequences: element windows and phase maps over many elements."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    msgtype = register(typestore, types)
    strategy = MessageStrategies(typestore, longest=40).message(msgtype)
    msgs = data.draw(st.lists(strategy, min_size=1, max_size=2))
    for ros1, formats in ((False, FORMATS_CDR), (True, FORMATS_ROS1)):
        if planned(typestore, msgtype, ros1):
            for fmt in formats:
                payloads = [serialize(typestore, msg, msgtype, fmt) for msg in msgs]
                check_batch(typestore, msgtype, payloads, ros1=ros1)
