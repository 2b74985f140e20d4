"""Plans: how one message type lies on the wire, compiled once from its definition.

A plan is a tree of nodes mirroring the definition. Each node carries its
Arrow type (the generic adapter's schema) and what the columnar reader and
writer need to place it without looking at a message:

- ``align``: the alignment its first byte needs (CDR: a primitive's own size,
  4 for the length of a string or sequence; ROS 1: always 1);
- ``max_align``: the largest alignment anywhere inside it;
- ``fixed``: it holds no string and no sequence, so its size and layout
  follow from the phase (position modulo 8) it starts at;
- ``min_size``: the fewest bytes it can take, to reject impossible lengths.

CDR alignment is relative to the payload after the 4-byte encapsulation
header, as rosbags implements XCDR1: each primitive is aligned to its own
size, a string or sequence length to 4, and the elements of an empty
sequence not at all. ROS 1 has no alignment and no string terminator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pyarrow as pa
from rosbags.interfaces import Nodetype

from mosaico_ros.codec.errors import UnsupportedTypeError

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

CDR_HEADER = 4
"""Bytes of the encapsulation header before a CDR payload; alignment counts after it."""

EMPTY_MEMBER = 'structure_needs_at_least_one_member'
"""The member rosbags gives an empty message; CDR carries it, ROS 1 does not."""

# ROS base type -> (little-endian wire dtype, Arrow type of the generic adapter)
_PRIMITIVES: dict[str, tuple[str, pa.DataType]] = {
    'bool': ('u1', pa.bool_()),
    'byte': ('u1', pa.uint8()),
    'char': ('u1', pa.uint8()),
    'octet': ('u1', pa.uint8()),
    'uint8': ('u1', pa.uint8()),
    'int8': ('i1', pa.int8()),
    'uint16': ('<u2', pa.uint16()),
    'int16': ('<i2', pa.int16()),
    'uint32': ('<u4', pa.uint32()),
    'int32': ('<i4', pa.int32()),
    'uint64': ('<u8', pa.uint64()),
    'int64': ('<i8', pa.int64()),
    'float32': ('<f4', pa.float32()),
    'float64': ('<f8', pa.float64()),
}


@dataclass(frozen=True, eq=False)
class Primitive:
    """A number or bool; ``byte`` and ``char`` are their octet (uint8).

    Attributes:
        base: ROS base type.
        dtype: Little-endian wire type; a bool is read as its octet.
        arrow: Arrow type.
        size: Bytes on the wire: 0 for ROS 1's `EMPTY_MEMBER`.
        align: Alignment before it.

    """

    base: str
    dtype: np.dtype[Any]
    arrow: pa.DataType
    size: int
    align: int

    fixed = True

    @property
    def max_align(self) -> int:
        """Equal to `align`."""
        return self.align

    @property
    def min_size(self) -> int:
        """Equal to `size`."""
        return self.size


@dataclass(frozen=True, eq=False)
class String:
    """A UTF-8 string after its uint32 byte length.

    Attributes:
        align: Alignment of the length.
        nul: The length counts a terminating NUL that follows the text (CDR).

    """

    align: int
    nul: bool

    arrow = pa.string()
    fixed = False

    @property
    def max_align(self) -> int:
        """Equal to `align`."""
        return self.align

    @property
    def min_size(self) -> int:
        """The length, and the NUL where there is one."""
        return 4 + self.nul


@dataclass(frozen=True, eq=False)
class Struct:
    """A message: its fields in order.

    Attributes:
        msgtype: ROS type.
        fields: (name, node) per field.
        segments: (start, stop) index ranges of `fields` that are read as one:
            a maximal run of fixed fields, or a single variable field.
        arrow: Arrow struct type.
        align: Alignment of its first field.
        max_align: Largest alignment inside.
        fixed: Every field is fixed.
        min_size: Sum of the fields' minimum sizes.

    """

    msgtype: str
    fields: tuple[tuple[str, Node], ...]
    segments: tuple[tuple[int, int], ...]
    arrow: pa.StructType
    align: int
    max_align: int
    fixed: bool
    min_size: int


@dataclass(frozen=True, eq=False)
class FixedArray:
    """``T[N]``: N elements with no length on the wire."""

    elem: Node
    length: int
    arrow: pa.DataType

    @property
    def align(self) -> int:
        """Alignment of the first element."""
        return self.elem.align

    @property
    def max_align(self) -> int:
        """Largest alignment of an element."""
        return self.elem.max_align

    @property
    def fixed(self) -> bool:
        """Whether the elements are fixed."""
        return self.elem.fixed

    @property
    def min_size(self) -> int:
        """N times the element's minimum size."""
        return self.length * self.elem.min_size


@dataclass(frozen=True, eq=False)
class Sequence:
    """``T[]`` or ``T[<=N]``: a uint32 count, then the elements.

    Attributes:
        elem: Element node.
        arrow: Arrow list type.
        align: Alignment of the count.

    """

    elem: Node
    arrow: pa.DataType
    align: int

    fixed = False

    @property
    def max_align(self) -> int:
        """Largest alignment of the count and the elements."""
        return max(self.align, self.elem.max_align)

    @property
    def min_size(self) -> int:
        """The count."""
        return 4


Node: TypeAlias = 'Primitive | String | Struct | FixedArray | Sequence'


@dataclass(frozen=True, eq=False)
class Plan:
    """How a message type is decoded and encoded, for one serialization.

    Attributes:
        msgtype: ROS type, ``pkg/msg/Name``.
        ros1: ROS 1 serialization, else CDR.
        root: The message's node.
        max_sequence_length: Longest sequence accepted, as the typestore's.

    """

    msgtype: str
    ros1: bool
    root: Struct
    max_sequence_length: int

    @property
    def arrow_type(self) -> pa.StructType:
        """Arrow type of a decoded batch."""
        return self.root.arrow


def compile_plan(typestore: Typestore, msgtype: str, *, ros1: bool = False) -> Plan:
    """Compile the plan of a message type.

    Args:
        typestore: Holds the definition of `msgtype` and of the types it uses.
        msgtype: ROS type, ``pkg/msg/Name``.
        ros1: Plan ROS 1 serialization, else CDR.

    Returns:
        The plan.

    Raises:
        UnsupportedTypeError: A definition is missing, uses ``wstring`` or
            ``float128``, or has a sequence of elements that take no bytes.

    """
    root = _Compiler(typestore, ros1).struct(msgtype, msgtype)
    return Plan(msgtype, ros1, root, typestore.max_sequence_length)


class _Compiler:
    def __init__(self, typestore: Typestore, ros1: bool) -> None:
        self.fielddefs = typestore.fielddefs
        self.ros1 = ros1
        self.structs: dict[str, Struct] = {}

    def alignment(self, size: int) -> int:
        return 1 if self.ros1 else size

    def struct(self, msgtype: str, where: str) -> Struct:
        if msgtype in self.structs:
            return self.structs[msgtype]
        if msgtype not in self.fielddefs:
            raise UnsupportedTypeError(f'{where}: no definition of {msgtype} in the typestore')
        fields = tuple(
            (name, self.field(desc, name, f'{where}.{name}'))
            for name, desc in self.fielddefs[msgtype][1]
        )
        nodes = [node for _, node in fields]
        segments: list[tuple[int, int]] = []
        for index, node in enumerate(nodes):
            if node.fixed and segments and nodes[segments[-1][0]].fixed:
                segments[-1] = (segments[-1][0], index + 1)
            else:
                segments.append((index, index + 1))
        struct = Struct(
            msgtype=msgtype,
            fields=fields,
            segments=tuple(segments),
            arrow=pa.struct([pa.field(name, node.arrow) for name, node in fields]),
            align=nodes[0].align if nodes else 1,
            max_align=max((node.max_align for node in nodes), default=1),
            fixed=all(node.fixed for node in nodes),
            min_size=sum(node.min_size for node in nodes),
        )
        self.structs[msgtype] = struct
        return struct

    def field(self, desc: Any, name: str, where: str) -> Node:
        if self.ros1 and name == EMPTY_MEMBER:
            return self.primitive(desc[1][0], where, on_wire=False)
        return self.node(desc, name, where)

    def node(self, desc: Any, name: str, where: str) -> Node:
        kind, details = desc
        if kind == Nodetype.BASE:
            if details[0] == 'string':
                return String(align=self.alignment(4), nul=not self.ros1)
            return self.primitive(details[0], where)
        if kind == Nodetype.NAME:
            return self.struct(details, where)
        elem = self.node(details[0], name, where)
        item = pa.field(name if isinstance(elem, Struct) else 'item', elem.arrow)
        if kind == Nodetype.ARRAY:
            if not details[1] and isinstance(elem, Struct) and _align_after(elem) > elem.align:
                raise UnsupportedTypeError(
                    f'{where}: an empty array of messages, after which rosbags lays the next '
                    'field out as if its elements had been written (aligned to their last field)'
                )
            return FixedArray(elem, details[1], pa.list_(item, details[1]))
        if not elem.min_size:
            raise UnsupportedTypeError(
                f'{where}: its elements take no bytes (empty messages in ROS 1, T[0] only), '
                'so the payload size cannot bound their count'
            )
        return Sequence(elem, pa.list_(item), self.alignment(4))

    def primitive(self, base: str, where: str, *, on_wire: bool = True) -> Primitive:
        if base not in _PRIMITIVES:
            raise UnsupportedTypeError(f'{where}: ROS type {base!r} is not supported')
        code, arrow = _PRIMITIVES[base]
        dtype = np.dtype(code)
        size = dtype.itemsize if on_wire else 0
        return Primitive(base, dtype, arrow, size, self.alignment(dtype.itemsize))


def _align_after(node: Node) -> int:
    """Return the alignment rosbags assumes after a node (`rosbags.serde.utils.align_after`).

    It skips aligning a field that needs no more than this. The assumption
    holds wherever bytes were written; after an empty array of messages it
    can exceed the true alignment, which rosbags' payloads then follow.
    """
    if isinstance(node, Struct):
        return _align_after(node.fields[-1][1]) if node.fields else 1
    if isinstance(node, FixedArray):
        return _align_after(node.elem)
    if isinstance(node, Sequence):
        return min(4, _align_after(node.elem))
    if isinstance(node, String):
        return 1
    return node.align
