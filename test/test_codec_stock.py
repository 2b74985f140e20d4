"""Every type of rosbags' stock typestores, on random messages, against the rosbags oracle."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores
from test_codec_support import (
    FORMATS_CDR,
    FORMATS_ROS1,
    ROS1_STORE,
    ROS2_STORES,
    SETTINGS,
    check_batch,
    serialize,
    stock_messages,
    stock_typestore,
)

from mosaico_ros.adapters import UnsupportedDefinitionError, arrow_struct


def _cases() -> list[tuple[Stores, str]]:
    cases = []
    for store in (*ROS2_STORES, ROS1_STORE):
        typestore = stock_typestore(store)
        for msgtype in sorted(typestore.fielddefs):
            try:
                arrow_struct(msgtype, typestore)
            except UnsupportedDefinitionError:  # not a generic schema type: nothing to compare
                continue
            cases.append((store, msgtype))
    return cases


CASES = _cases()


def test_every_stock_type_is_covered() -> None:
    counts = {
        store: sum(case[0] == store for case in CASES) for store in (*ROS2_STORES, ROS1_STORE)
    }
    assert all(count > 140 for count in counts.values()), counts


@pytest.mark.parametrize(
    ('store', 'msgtype'), CASES, ids=[f'{store.value}:{msgtype}' for store, msgtype in CASES]
)
@SETTINGS
@given(data=st.data())
def test_stock_type(store: Stores, msgtype: str, data: Any) -> None:
    typestore = stock_typestore(store)
    msgs = data.draw(st.lists(stock_messages(store, msgtype), min_size=1, max_size=4))
    ros1 = store == ROS1_STORE
    for fmt in FORMATS_ROS1 if ros1 else FORMATS_CDR:
        payloads = [serialize(typestore, msg, msgtype, fmt) for msg in msgs]
        check_batch(typestore, msgtype, payloads, ros1=ros1)
