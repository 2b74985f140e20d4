"""Fallback adapter for any ROS type whose definition the typestore knows.

The Arrow schema follows the SDK's "Unmodeled" conversion, so a topic we write
decodes in the SDK exactly like one it writes from the same bag:

- ROS field names verbatim, declaration order, every field nullable;
- ``bool`` -> bool; ``byte``/``char``/``uint8`` -> uint8; ``intN``/``uintN`` -> same
  width; ``float32`` -> float; ``float64``/``float128`` -> double; ``string`` -> string;
- nested messages -> structs of their ROS fields (Time/Duration stay
  ``struct<sec: int32, nanosec: uint32>``);
- ``T[]`` -> ``list<item: T>``, ``T[N]`` -> ``fixed_size_list<item: T>[N]``; a list of
  *messages* names its element after the field (``status: list<status: struct<...>>``);
- ``uint8[]`` stays ``list<uint8>`` (not binary), constants are not data;
- rosbags decodes ``byte`` as int8 (-1 for the octet 0xFF); its uint8 column holds
  the octet itself (255), and reading back restores rosbags' int8;
- ``wstring`` is rejected.

Tag: the SDK tags such topics with the bare type name (``Range``), which collides
with model tags and across packages. We use ``ros:<pkg>/msg/<Name>``: a colon can
never appear in a Python class name, so it cannot equal a model tag, the package
makes it unique, and it contains no ``.``, which query keys (``<tag>.<path>``) use
as separator. The SDK reads such a topic through its dynamic class path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from rosbags.interfaces import Nodetype
from rosbags.typesys import get_types_from_msg

from mosaico_ros.adapters import columns, rows
from mosaico_ros.adapters.errors import UnsupportedDefinitionError
from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.adapters.registry import RosAdapter
from mosaico_ros.ontology import resolve_model

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray
    from rosbags.typesys.store import Typestore

    from mosaico_ros.ontology import Message

GENERIC_TAG_PREFIX = 'ros:'
"""Prefix of the ontology tag of generically converted ROS types."""

_ARROW_PRIMITIVES: dict[str, pa.DataType] = {
    'bool': pa.bool_(),
    'byte': pa.uint8(),
    'char': pa.uint8(),
    'octet': pa.uint8(),
    'uint8': pa.uint8(),
    'int8': pa.int8(),
    'uint16': pa.uint16(),
    'int16': pa.int16(),
    'uint32': pa.uint32(),
    'int32': pa.int32(),
    'uint64': pa.uint64(),
    'int64': pa.int64(),
    'float32': pa.float32(),
    'float64': pa.float64(),
    'float128': pa.float64(),
    'string': pa.string(),
}


Node = tuple[Nodetype, Any]


def generic_tag(msgtype: str) -> str:
    """Ontology tag of a generically converted ROS type."""
    return GENERIC_TAG_PREFIX + normalize_msgtype(msgtype)


def register_msgdef(typestore: Typestore, msgtype: str, msgdef: str) -> None:
    """Register a (concatenated ``.msg``) definition in `typestore` when missing.

    Raises:
        UnsupportedDefinitionError: The text does not parse.

    """
    if msgtype in typestore.fielddefs:
        return
    try:
        typestore.register(get_types_from_msg(msgdef, msgtype))
    except Exception as err:
        raise UnsupportedDefinitionError(
            f'cannot parse the definition of {msgtype}: {err}'
        ) from err


def arrow_struct(msgtype: str, typestore: Typestore) -> pa.StructType:
    """Arrow struct of a ROS type, as the SDK's Unmodeled conversion builds it.

    Raises:
        UnsupportedDefinitionError: The definition is unknown or uses ``wstring``.

    """
    return _message_type(normalize_msgtype(msgtype), typestore, msgtype)


def _message_type(msgtype: str, typestore: Typestore, where: str) -> pa.StructType:
    if msgtype not in typestore.fielddefs:
        raise UnsupportedDefinitionError(f'{where}: no definition of {msgtype} in the typestore')
    return pa.struct(
        [
            pa.field(name, _node_type(node, name, typestore, f'{where}.{name}'))
            for name, node in typestore.fielddefs[msgtype][1]
        ]
    )


def _node_type(node: Node, name: str, typestore: Typestore, where: str) -> pa.DataType:
    kind, details = node
    if kind == Nodetype.BASE:
        base = details[0]
        if base not in _ARROW_PRIMITIVES:
            raise UnsupportedDefinitionError(f'{where}: ROS type {base!r} has no Arrow mapping')
        return _ARROW_PRIMITIVES[base]
    if kind == Nodetype.NAME:
        return _message_type(details, typestore, where)
    sub, size = details
    item_name = name if sub[0] == Nodetype.NAME else 'item'
    item = pa.field(item_name, _node_type(sub, name, typestore, where))
    if kind == Nodetype.ARRAY:
        return pa.list_(item, size)
    return pa.list_(item)


def octets(values: Any) -> NDArray[np.uint8]:
    """ROS ``byte`` values as the octets they serialize to.

    rosbags decodes ``byte`` as int8, while callers building messages by hand
    may use 0..255; both denote the same octet.

    Args:
        values: A sequence or numpy array of ints in -128..255.

    Returns:
        The octets as uint8.

    Raises:
        ValueError: A value fits in no octet.

    """
    array = np.asarray(values)
    if array.dtype in (np.int8, np.uint8):
        return array.view(np.uint8)
    wide = array.astype(np.int64)
    if wide.size and (wide.min() < -128 or wide.max() > 255):
        bad = wide[(wide < -128) | (wide > 255)][0]
        raise ValueError(f'byte value {bad} is outside -128..255')
    return (wide & 0xFF).astype(np.uint8)


class GenericAdapter(RosAdapter):
    """Converts any ROS type with a known definition, field for field.

    Args:
        msgtype: ROS type, ``pkg/msg/Name``.
        typestore: Typestore holding its definition.

    Raises:
        UnsupportedDefinitionError: The definition cannot be mapped.

    """

    default = False
    columnar = True

    def __init__(self, msgtype: str, typestore: Typestore) -> None:
        self.msgtype = normalize_msgtype(msgtype)
        self.ros_types = (self.msgtype,)  # type: ignore[misc, unused-ignore]
        self.typestore = typestore
        self._struct = arrow_struct(self.msgtype, typestore)
        self.model = resolve_model(self.tag, self._struct)  # type: ignore[misc]

    @property
    def tag(self) -> str:
        """``ros:<pkg>/msg/<Name>``."""
        return generic_tag(self.msgtype)

    @property
    def serialization_format(self) -> str:
        """Always ``default``, as the SDK writes Unmodeled topics unless configured."""
        return 'default'

    @property
    def struct_type(self) -> pa.StructType:
        """Arrow struct derived from the ROS definition."""
        return self._struct

    def to_message(self, msg: Any, msgtype: str, timestamp_ns: int) -> Message:
        """Convert one message into an ``Unmodeled`` record (row in ``raw_data``)."""
        from mosaico_ros.ontology import Message

        row = self.to_arrow([msg], msgtype).to_pylist()[0]
        return Message(timestamp_ns=timestamp_ns, data=self.model(raw_data=row))

    def to_arrow(self, msgs: Sequence[Any] | pa.StructArray, msgtype: str) -> pa.StructArray:
        """Convert decoded messages field by field, one Arrow array per leaf.

        Columns are this adapter's own layout already and are returned as they are.
        """
        if isinstance(msgs, pa.Array):
            return msgs if msgs.type == self._struct else msgs.cast(self._struct)
        return self._build_message(list(msgs), self.msgtype, self._struct)

    def _build_message(self, objs: list[Any], msgtype: str, stype: pa.StructType) -> pa.Array:
        children = {
            name: self._build(columns.pluck(objs, name), node, stype.field(name).type)
            for name, node in self.typestore.fielddefs[msgtype][1]
        }
        return columns.struct_array(stype, len(objs), children)

    def _build(self, values: list[Any], node: Node, dtype: pa.DataType) -> pa.Array:
        kind, details = node
        if kind == Nodetype.BASE:
            if details[0] == 'float128':
                return columns.as_array(np.asarray(values, np.float64), dtype)
            if details[0] == 'byte':
                return columns.as_array(octets(values), dtype)
            return columns.as_array(values, dtype)
        if kind == Nodetype.NAME:
            return self._build_message(values, details, dtype)
        sub = details[0]
        if sub[0] == Nodetype.NAME:
            built = columns.nested_list_array(
                values,
                pa.list_(dtype.value_field),
                lambda elems, stype: self._build_message(elems, sub[1], stype),
            )
            if kind == Nodetype.ARRAY:
                return columns.fixed_lists(built.values, dtype, len(values))
            return built
        if sub[1][0] == 'float128':
            values = [np.asarray(v, np.float64) for v in values]
        elif sub[1][0] == 'byte':
            values = list(map(octets, values))
        if kind == Nodetype.ARRAY:
            return columns.fixed_list_array(values, dtype)
        return columns.list_array(values, dtype)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild ROS messages; nulls become ROS defaults."""
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        return self._unbuild_message(arr, self.msgtype, factory, None)

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """Return the rows as they are: stored in this adapter's layout, the codec's own.

        Nulls and fields the rows lack (another flavour of the definition,
        such as ROS 1's ``Header.seq``) are serialized as the ROS defaults
        `from_arrow` fills in; ``byte`` columns hold the octets.
        """
        return rows.as_struct(data)

    def _unbuild_message(
        self,
        arr: pa.Array,
        msgtype: str,
        factory: rows.RosFactory,
        mask: NDArray[np.bool_] | None,
    ) -> list[Any]:
        ok = rows.valid(arr, mask)
        names = arr.type.names if isinstance(arr.type, pa.StructType) else []
        cols = {}
        for name, node in factory.typestore.fielddefs[msgtype][1]:
            if name in names:
                cols[name] = self._unbuild(arr.field(name), node, factory, ok)
            else:
                cols[name] = self._unbuild(pa.nulls(len(arr)), node, factory, ok & False)
        return factory.build(msgtype, cols, len(arr))

    def _unbuild(
        self,
        arr: pa.Array,
        node: Node,
        factory: rows.RosFactory,
        mask: NDArray[np.bool_],
    ) -> list[Any]:
        kind, details = node
        if kind == Nodetype.BASE:
            base = details[0]
            if base == 'string':
                return rows.strings(arr, mask)
            fill: Any = False if base == 'bool' else 0
            if pa.types.is_null(arr.type):
                return [fill] * len(arr)
            values = rows.numbers(arr, fill, mask)
            if base == 'byte':
                return np.asarray(values, np.uint8).view(np.int8).tolist()
            return values
        if kind == Nodetype.NAME:
            if pa.types.is_null(arr.type):
                arr = pa.nulls(len(arr), _message_type(details, factory.typestore, details))
            return self._unbuild_message(arr, details, factory, mask)
        sub, size = details
        if pa.types.is_null(arr.type):
            arr = pa.nulls(len(arr), _node_type(node, 'item', factory.typestore, 'null'))
        if sub[0] == Nodetype.BASE and sub[1][0] != 'string':
            dtype = rows.NUMPY_PRIMITIVES[sub[1][0]]
            return rows.arrays(arr, dtype, size if kind == Nodetype.ARRAY else 0, 0, mask)
        parts = rows.list_parts(arr, mask)
        elements = self._unbuild(
            parts.values, sub, factory, np.repeat(parts.valid, np.diff(parts.offsets))
        )
        # a fixed-size array always has its N elements, defaults where the row is null
        return parts.split(elements, keep_null=kind == Nodetype.ARRAY)
