"""Damaged payloads fail alone, exactly where rosbags rejects them; the rest still decode."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore
from test_codec_support import (
    ROS1_STORE,
    SETTINGS,
    MessageStrategies,
    check_batch,
    definitions,
    planned,
    register,
    serialize,
    stock_messages,
    stock_typestore,
)

from mosaico_ros.codec import CodecError, compile_plan, decode


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """The payload cut short, grown, or with bytes or a whole length word overwritten."""
    size = len(data)
    how = draw(st.sampled_from(('keep', 'cut', 'grow', 'byte', 'word')))
    if how == 'cut' and size:
        return data[: draw(st.integers(0, size - 1))]
    if how == 'grow':
        return data + draw(st.binary(min_size=1, max_size=9))
    if how == 'byte' and size:
        at = draw(st.integers(0, size - 1))
        return data[:at] + draw(st.binary(min_size=1, max_size=1)) + data[at + 1 :]
    if how == 'word' and size >= 8:
        at = draw(st.integers(0, size // 4 - 1)) * 4
        word = draw(st.sampled_from((0, 1, 2, 7, 2**31, 2**32 - 1)) | st.integers(0, 2**32 - 1))
        return data[:at] + int(word).to_bytes(4, 'little') + data[at + 4 :]
    return data


def _check_damaged(typestore: Any, msgtype: str, msgs: list[Any], fmt: str, data: Any) -> None:
    payloads = [data.draw(damaged(serialize(typestore, msg, msgtype, fmt))) for msg in msgs]
    # rosbags keeps a damaged bool's octet (2 stays 2) where Arrow holds True: compare decoding only
    check_batch(typestore, msgtype, payloads, ros1=fmt == 'ros1', encode_back=False)


@settings(SETTINGS, max_examples=300)
@given(types=definitions(), fmt=st.sampled_from(('le', 'be', 'ros1')), data=st.data())
def test_damaged_generated(types: list[tuple[str, str]], fmt: str, data: Any) -> None:
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    msgtype = register(typestore, types)
    if not planned(typestore, msgtype, fmt == 'ros1'):
        return
    msgs = data.draw(st.lists(MessageStrategies(typestore).message(msgtype), max_size=5))
    _check_damaged(typestore, msgtype, msgs, fmt, data)


STOCK = (
    'sensor_msgs/msg/Imu',
    'sensor_msgs/msg/JointState',
    'sensor_msgs/msg/PointCloud2',
    'nav_msgs/msg/Path',
    'diagnostic_msgs/msg/DiagnosticArray',
    'visualization_msgs/msg/MarkerArray',
)


@pytest.mark.parametrize('store', [Stores.ROS2_JAZZY, ROS1_STORE], ids=lambda s: s.value)
@pytest.mark.parametrize('msgtype', STOCK)
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_damaged_stock(store: Stores, msgtype: str, data: Any) -> None:
    typestore = stock_typestore(store)
    fmts = ('ros1',) if store == ROS1_STORE else ('le', 'be')
    msgs = data.draw(st.lists(stock_messages(store, msgtype), min_size=1, max_size=4))
    _check_damaged(typestore, msgtype, msgs, data.draw(st.sampled_from(fmts)), data)


def test_mixed_byte_orders_keep_batch_order() -> None:
    typestore = stock_typestore(Stores.ROS2_HUMBLE)
    msgtype = 'sensor_msgs/msg/JointState'
    msgs = [
        typestore.types[msgtype](
            header=typestore.types['std_msgs/msg/Header'](
                stamp=typestore.types['builtin_interfaces/msg/Time'](sec=index, nanosec=0),
                frame_id='j' * index,
            ),
            name=['a'] * index,
            position=np.arange(index, dtype=np.float64),
            velocity=np.zeros(0),
            effort=np.ones(1),
        )
        for index in range(6)
    ]
    payloads = [
        serialize(typestore, msg, msgtype, 'le' if i % 3 else 'be') for i, msg in enumerate(msgs)
    ]
    payloads[4] = b'\x00\x02' + payloads[4][2:]
    decoded = check_batch(typestore, msgtype, payloads, ros1=False)
    assert decoded.kept.tolist() == [0, 1, 2, 3, 5]
    assert [(f.index, f.reason) for f in decoded.failures] == [
        (4, 'invalid CDR encapsulation header')
    ]


def test_reasons_name_the_field() -> None:
    typestore = stock_typestore(Stores.ROS2_HUMBLE)
    msgtype = 'std_msgs/msg/String'
    good = serialize(typestore, typestore.types[msgtype](data='hi'), msgtype, 'le')
    plan = compile_plan(typestore, msgtype)
    cases = {
        good[:6]: 'payload too short at data',
        good[:4] + b'\x09\x00\x00\x00hi\x00': 'invalid string length at data',
        good[:4] + b'\x03\x00\x00\x00hi!': 'missing string terminator at data',
        good[:4] + b'\x03\x00\x00\x00\xff\xfe\x00': 'invalid UTF-8 at data',
        good + b'\x00' * 4: 'trailing bytes after the message',
        b'\x01\x00': 'invalid CDR encapsulation header',
    }
    payloads = [good, *cases]
    decoded = decode(plan, b''.join(payloads), np.cumsum([len(p) for p in payloads]))
    assert decoded.struct.to_pylist() == [{'data': 'hi'}]
    assert [f.reason for f in decoded.failures] == list(cases.values())


def test_ends_must_rise_within_the_blob() -> None:
    plan = compile_plan(stock_typestore(Stores.ROS2_HUMBLE), 'std_msgs/msg/String')
    with pytest.raises(CodecError, match='rise'):
        decode(plan, b'\x00' * 8, [4, 2])
    with pytest.raises(CodecError, match='rise'):
        decode(plan, b'\x00' * 8, [9])
