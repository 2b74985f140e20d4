"""The codec's API: plan cache, unsupported definitions, and what encode accepts."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from test_codec_support import (
    SETTINGS,
    MessageStrategies,
    batch,
    definitions,
    planned,
    register,
    serialize,
    split,
)

from mosaico_ros.adapters import GenericAdapter
from mosaico_ros.codec import (
    CodecCache,
    CodecError,
    UnsupportedTypeError,
    compile_plan,
    decode,
    encode,
)

STRING = 'std_msgs/msg/String'


def _store(**types: str) -> Any:
    store = get_typestore(Stores.ROS2_HUMBLE)
    for name, text in types.items():
        store.register(get_types_from_msg(text, f'custom_msgs/msg/{name}'))
    return store


def test_cache_compiles_once_per_type_and_serialization() -> None:
    cache = CodecCache(_store())
    plan = cache.plan(STRING)
    assert cache.plan(STRING) is plan
    assert cache.plan(STRING, ros1=True) is not plan
    assert cache.plan(STRING, ros1=True).ros1
    assert len(cache) == 2


def test_cache_drops_the_least_recently_used() -> None:
    cache = CodecCache(_store(), maxsize=2)
    first = cache.plan(STRING)
    cache.plan('std_msgs/msg/Int32')
    cache.plan(STRING)
    cache.plan('std_msgs/msg/Bool')
    assert len(cache) == 2
    assert cache.plan(STRING) is first


def test_cache_remembers_unsupported_types() -> None:
    cache = CodecCache(_store(Wide='wstring text\n'))
    with pytest.raises(UnsupportedTypeError, match=r'custom_msgs/msg/Wide\.text'):
        cache.plan('custom_msgs/msg/Wide')
    with pytest.raises(UnsupportedTypeError):
        cache.plan('custom_msgs/msg/Wide')
    assert len(cache) == 1


def test_unsupported_definitions_name_the_field() -> None:
    store = _store(Uses='custom_msgs/Missing other\n')
    with pytest.raises(UnsupportedTypeError, match='no definition of custom_msgs/msg/Missing'):
        compile_plan(store, 'custom_msgs/msg/Uses')
    with pytest.raises(UnsupportedTypeError, match='no definition of nope/msg/Nope'):
        compile_plan(store, 'nope/msg/Nope')
    store.register({'custom_msgs/msg/Long': ([], [('x', (Nodetype.BASE, ('float128', 0)))])})
    with pytest.raises(UnsupportedTypeError, match=r"Long\.x: ROS type 'float128'"):
        compile_plan(store, 'custom_msgs/msg/Long')


def test_empty_batches() -> None:
    plan = compile_plan(_store(), STRING)
    decoded = decode(plan, b'', [])
    assert len(decoded.struct) == 0
    assert decoded.struct.type == plan.arrow_type
    blob, ends = encode(plan, decoded.struct)
    assert (len(blob), len(ends)) == (0, 0)


def test_encode_casts_columns_and_takes_chunked_arrays() -> None:
    store = _store(Pair='int32 a\nstring b\nfloat64[2] c\n')
    msgtype = 'custom_msgs/msg/Pair'
    plan = compile_plan(store, msgtype)
    loose = pa.chunked_array(
        [
            pa.array([{'a': 1, 'b': 'x', 'c': [0.5, 1.5]}], _loose_type()),
            pa.array([{'a': -2, 'b': 'é', 'c': [2.0, 3.0]}], _loose_type()),
        ]
    )
    blob, ends = encode(plan, loose)
    pair = store.types[msgtype]
    want = [
        pair(a=1, b='x', c=np.array([0.5, 1.5])),
        pair(a=-2, b='é', c=np.array([2.0, 3.0])),
    ]
    assert split(blob, ends) == [serialize(store, msg, msgtype, 'le') for msg in want]
    with pytest.raises(CodecError, match='cannot encode'):
        encode(plan, pa.array([{'a': 2**40, 'b': '', 'c': [0.0, 0.0]}], _loose_type()))


def _loose_type() -> pa.DataType:
    return pa.struct([('a', pa.int64()), ('b', pa.large_string()), ('c', pa.list_(pa.float32()))])


@settings(SETTINGS, max_examples=150)
@given(types=definitions(), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_nulls_and_missing_fields_encode_as_ros_defaults(
    types: list[tuple[str, str]], data: Any, seed: int
) -> None:
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    msgtype = register(typestore, types)
    if not planned(typestore, msgtype, False):
        return
    msgs = data.draw(
        st.lists(MessageStrategies(typestore).message(msgtype), min_size=1, max_size=4)
    )
    plan = compile_plan(typestore, msgtype)
    struct = decode(plan, *batch([serialize(typestore, m, msgtype, 'le') for m in msgs])).struct
    holed = _punch_holes(struct, random.Random(seed))
    adapter = GenericAdapter(msgtype, typestore)
    want = [
        serialize(typestore, m, msgtype, 'le')
        for m in adapter.from_arrow(holed, msgtype, typestore)
    ]
    assert split(*encode(plan, holed)) == want


def _punch_holes(struct: pa.StructArray, rng: random.Random) -> pa.StructArray:
    """Null out values at every depth, and drop a top-level field now and then."""

    def punch(value: Any) -> Any:
        if rng.random() < 0.2:
            return None
        if isinstance(value, dict):
            return {key: punch(item) for key, item in value.items()}
        if isinstance(value, list):
            return [punch(item) for item in value]
        return value

    rows = [punch(row) for row in struct.to_pylist()]
    fields = [field for field in struct.type if rng.random() > 0.2]
    kept = pa.struct(fields)
    return pa.array(
        [None if row is None else {f.name: row[f.name] for f in fields} for row in rows],
        kept,
    )


def test_an_empty_array_of_messages_follows_rosbags_or_is_left_to_it() -> None:
    """After ``T[0]`` of messages rosbags aligns the next field as if elements were written.

    When the messages' last field aligns further than their first, its
    payloads put the next field where CDR would not: the plan is refused
    (the type is decoded per message); otherwise, and in ROS 1, it is planned.
    """
    store = _store(
        Wide='bool a\nint16 b\n',
        Narrow='int16 a\nbool b\n',
        AfterWide='bool f0\ncustom_msgs/Wide[0] f1\nint16 f2\n',
        AfterNarrow='bool f0\ncustom_msgs/Narrow[0] f1\nint16 f2\n',
    )
    with pytest.raises(UnsupportedTypeError, match='f1: an empty array of messages'):
        compile_plan(store, 'custom_msgs/msg/AfterWide')
    for msgtype, ros1 in (
        ('custom_msgs/msg/AfterWide', True),
        ('custom_msgs/msg/AfterNarrow', False),
        ('custom_msgs/msg/AfterNarrow', True),
    ):
        msg = store.types[msgtype](f0=True, f1=[], f2=7)
        payload = serialize(store, msg, msgtype, 'ros1' if ros1 else 'le')
        decoded = decode(compile_plan(store, msgtype, ros1=ros1), *batch([payload]))
        assert decoded.struct.to_pylist() == [{'f0': True, 'f1': [], 'f2': 7}]
