"""Where fixed nodes put their bytes, given the phase they start at.

Offsets here are phase-relative: an offset ``off`` stands for any payload
position congruent to it modulo 8, which is all alignment depends on. A fixed
node's layout is therefore known once the phase of its start is; a node is
*phase-free* when its layout is the same at every start its own alignment
allows, so a sequence of them has one stride.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

from mosaico_ros.codec.plan import FixedArray, Primitive, Struct

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

    from mosaico_ros.codec.plan import Node

PosT = TypeVar('PosT', int, 'NDArray[np.int64]')


def align(pos: PosT, alignment: int) -> PosT:
    """Round `pos` (an int or an array of them) up to a multiple of `alignment`."""
    if alignment == 1:
        return pos
    return (pos + (alignment - 1)) & -alignment


def phase_free(node: Node) -> bool:
    """Whether `node` lies the same at every start its alignment allows."""
    return node.max_align <= node.align


def fixed_end(node: Node, off: int) -> int:
    """Where a fixed node starting at phase-relative offset `off` ends.

    Args:
        node: A fixed node.
        off: Phase-relative offset before alignment.

    Returns:
        The phase-relative offset after its last byte.

    """
    if isinstance(node, Primitive):
        return align(off, node.align) + node.size
    if isinstance(node, Struct):
        return run_end((field for _, field in node.fields), off)
    assert isinstance(node, FixedArray)
    elem = node.elem
    off = align(off, elem.align)
    if isinstance(elem, Primitive):
        return off + node.length * elem.size
    if node.length and phase_free(elem):
        return off + (node.length - 1) * stride(elem) + fixed_end(elem, 0)
    for _ in range(node.length):
        off = fixed_end(elem, align(off, elem.align))
    return off


def run_end(nodes: Iterable[Node], off: int) -> int:
    """Where consecutive fixed nodes starting at `off` end."""
    for node in nodes:
        off = fixed_end(node, off)
    return off


def stride(elem: Node) -> int:
    """Distance between consecutive phase-free fixed elements of an array."""
    return align(fixed_end(elem, 0), elem.align)


def element_starts(off: int, elem: Node, length: int) -> list[int]:
    """Phase-relative starts of the elements of a fixed array starting at `off`."""
    starts = []
    for _ in range(length):
        off = align(off, elem.align)
        starts.append(off)
        off = fixed_end(elem, off)
    return starts
