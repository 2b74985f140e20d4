"""Shared helpers of the codec tests: random messages and definitions, and the rosbags oracle.

The oracle for a batch of payloads is rosbags decoding each one and the
generic adapter converting the messages; for encoding, rosbags serializing
the messages it decoded. `check_batch` holds the codec to both.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.base import normalize_fieldname

from mosaico_ros.adapters import GenericAdapter
from mosaico_ros.codec import DecodedBatch, UnsupportedTypeError, compile_plan, decode, encode

ROS2_STORES = (Stores.ROS2_HUMBLE, Stores.ROS2_JAZZY, Stores.ROS2_KILTED)
ROS1_STORE = Stores.ROS1_NOETIC

FORMATS_CDR = ('le', 'be')
FORMATS_ROS1 = ('ros1',)

SETTINGS = settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_INTS = {
    'byte': (-(2**7), 2**7 - 1),  # rosbags holds a byte as int8
    'char': (0, 2**8 - 1),
    'int8': (-(2**7), 2**7 - 1),
    'uint8': (0, 2**8 - 1),
    'int16': (-(2**15), 2**15 - 1),
    'uint16': (0, 2**16 - 1),
    'int32': (-(2**31), 2**31 - 1),
    'uint32': (0, 2**32 - 1),
    'int64': (-(2**63), 2**63 - 1),
    'uint64': (0, 2**64 - 1),
}
# one- to four-byte UTF-8, and NUL, which a CDR string may hold before its terminator
_ALPHABET = st.sampled_from('ab/_ \x00\x7fé€𝄞')
_NUMPY = {'bool': np.bool_, 'byte': np.int8, 'char': np.uint8, 'float32': np.float32}


@cache
def stock_typestore(store: Stores) -> Any:
    """One typestore per stock distribution for the whole session."""
    return get_typestore(store)


def base_values(base: str) -> st.SearchStrategy[Any]:
    """Values rosbags accepts for a base type."""
    if base == 'bool':
        return st.booleans()
    if base == 'string':
        return st.text(_ALPHABET, max_size=6)
    if base in {'float32', 'float64'}:
        return st.floats(width=32 if base == 'float32' else 64)
    low, high = _INTS[base]
    return st.integers(low, high)


class MessageStrategies:
    """Hypothesis strategies for rosbags messages of the types of one typestore."""

    def __init__(self, typestore: Any, longest: int = 4) -> None:
        self.typestore = typestore
        self.longest = longest
        self.structs: dict[str, st.SearchStrategy[Any]] = {}

    def message(self, msgtype: str) -> st.SearchStrategy[Any]:
        if msgtype not in self.structs:
            fields = self.typestore.fielddefs[msgtype][1]
            self.structs[msgtype] = st.builds(
                self.typestore.types[msgtype],
                **{normalize_fieldname(name): self.field(desc) for name, desc in fields},
            )
        return self.structs[msgtype]

    def field(self, desc: Any) -> st.SearchStrategy[Any]:
        kind, details = desc
        if kind == Nodetype.BASE:
            return base_values(details[0])
        if kind == Nodetype.NAME:
            return self.message(details)
        sub, size = details
        low, high = (
            (size, size) if kind == Nodetype.ARRAY else (0, min(size or self.longest, self.longest))
        )
        if sub[0] == Nodetype.BASE and sub[1][0] != 'string':
            base = sub[1][0]
            dtype = np.dtype(_NUMPY.get(base, base))
            return arrays(dtype, st.integers(low, high), elements=base_values(base))
        return st.lists(self.field(sub), min_size=low, max_size=high)


@cache
def stock_messages(store: Stores, msgtype: str) -> st.SearchStrategy[Any]:
    """Messages of a stock type."""
    return MessageStrategies(stock_typestore(store)).message(msgtype)


# --- generated definitions ----------------------------------------------------

_FIELD_BASES = (
    'bool',
    'byte',
    'char',
    'int8',
    'uint8',
    'int16',
    'uint16',
    'int32',
    'uint32',
    'int64',
    'uint64',
    'float32',
    'float64',
    'string',
    'string<=5',
)
_STOCK_NESTED = ('std_msgs/Header', 'builtin_interfaces/Time', 'geometry_msgs/Point')


@st.composite
def definitions(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A few message types, each using only the ones before it; the last is the one to test.

    Alignment is what these exercise: small and large numbers mixed in every
    order, strings and sequences that shift what follows, fixed arrays (also
    ``T[0]``) and sequences of messages of every kind, empty messages.
    """
    types: list[tuple[str, str]] = []
    for index in range(draw(st.integers(1, 4))):
        names = [f'gen_msgs/T{k}' for k in range(index)]
        field_type = st.sampled_from((*_FIELD_BASES, *_STOCK_NESTED, *names))
        suffix = st.sampled_from(('', '', '[]', '[<=3]', '[0]', '[1]', '[2]', '[3]'))
        fields = draw(st.lists(st.tuples(field_type, suffix), max_size=6))
        text = ''.join(f'{typ}{tail} f{k}\n' for k, (typ, tail) in enumerate(fields))
        types.append((f'gen_msgs/msg/T{index}', text))
    return types


def register(typestore: Any, types: list[tuple[str, str]]) -> str:
    """Register generated definitions; return the type to test."""
    parsed: dict[str, Any] = {}
    for name, text in types:
        parsed.update(get_types_from_msg(text, name))
    typestore.register(parsed)
    return types[-1][0]


def planned(typestore: Any, msgtype: str, ros1: bool) -> bool:
    """Whether a plan compiles for a generated type.

    Two constructs are left to rosbags: a sequence of elements that take no
    bytes (ROS 1 empty messages, messages of ``T[0]`` only), as nothing bounds
    how many of them a count announces; and in CDR an empty array of messages
    whose last field aligns further than their first, after which rosbags
    does not align the next field as CDR does.
    """
    try:
        compile_plan(typestore, msgtype, ros1=ros1)
    except UnsupportedTypeError as err:
        reason = str(err)
        assert 'take no bytes' in reason or 'empty array of messages' in reason
        return False
    return True


# --- the oracle -----------------------------------------------------------------


def batch(payloads: list[bytes]) -> tuple[bytes, list[int]]:
    """One blob and the end of each payload in it."""
    return b''.join(payloads), np.cumsum([len(p) for p in payloads], dtype=np.int64).tolist()


def split(blob: bytes | bytearray, ends: Any) -> list[bytes]:
    """The payloads of a blob."""
    ends = list(ends)
    starts = [0, *ends[:-1]][: len(ends)]
    return [bytes(blob[start:end]) for start, end in zip(starts, ends, strict=True)]


def serialize(typestore: Any, msg: Any, msgtype: str, fmt: str) -> bytes:
    """A message as rosbags serializes it: 'le' or 'be' CDR, or 'ros1'."""
    if fmt == 'ros1':
        return bytes(typestore.serialize_ros1(msg, msgtype))
    return bytes(typestore.serialize_cdr(msg, msgtype, little_endian=fmt == 'le'))


def deserialize(typestore: Any, data: bytes, msgtype: str, ros1: bool) -> Any:
    if ros1:
        return typestore.deserialize_ros1(data, msgtype)
    return typestore.deserialize_cdr(data, msgtype)


def plain(value: Any) -> Any:
    """Python values of an Arrow array with NaN made comparable."""
    if isinstance(value, float) and math.isnan(value):
        return 'NaN'
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def assert_same_columns(got: pa.Array, want: pa.Array) -> None:
    assert got.type == want.type
    assert len(got) == len(want)
    if not got.equals(want):  # NaN is never equal to itself in Arrow
        assert plain(got.to_pylist()) == plain(want.to_pylist())


def check_batch(
    typestore: Any,
    msgtype: str,
    payloads: list[bytes],
    *,
    ros1: bool,
    encode_back: bool = True,
) -> DecodedBatch:
    """Hold decode and encode to the oracle on one batch; return what decode made of it.

    Payloads rosbags rejects must fail alone; the others must decode to the
    generic adapter's columns of rosbags' messages, and encode back to what
    rosbags serializes for those messages (CDR in both byte orders).
    """
    plan = compile_plan(typestore, msgtype, ros1=ros1)
    decoded = decode(plan, *batch(payloads))
    msgs, good = [], []
    for index, data in enumerate(payloads):
        try:
            msgs.append(deserialize(typestore, data, msgtype, ros1))
        except Exception:
            continue
        good.append(index)
    assert decoded.kept.tolist() == good, [f.reason for f in decoded.failures]
    assert [f.index for f in decoded.failures] == sorted(set(range(len(payloads))) - set(good))
    adapter = GenericAdapter(msgtype, typestore)
    assert_same_columns(decoded.struct, adapter.to_arrow(msgs, msgtype))
    if encode_back:
        for fmt in FORMATS_ROS1 if ros1 else FORMATS_CDR:
            blob, ends = encode(plan, decoded.struct, little_endian=fmt != 'be')
            assert split(blob, ends) == [serialize(typestore, m, msgtype, fmt) for m in msgs]
    return decoded
