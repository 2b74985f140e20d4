"""Annotated type aliases that pin the Arrow type of a model field."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Annotated, Any

import pyarrow as pa
from annotated_types import Interval, Len


@dataclass(frozen=True)
class ListShape:
    """Marker for a list field whose element Arrow type follows from the element annotation.

    Attributes:
        list_size: Fixed element count (an Arrow `fixed_size_list`), or None for a variable list.

    """

    list_size: int | None = None


def _int(arrow_type: pa.DataType, low: int, high: int) -> Any:
    return Annotated[int, arrow_type, Interval(ge=low, le=high)]


class MosaicoType:
    """Namespace of field types, each an `Annotated[python_type, arrow_type]`.

    Integer aliases also validate their range, so a value that would overflow the Arrow column
    is refused when the model is built instead of when the batch is written.
    """

    uint8 = Annotated[int, pa.uint8(), Interval(ge=0, le=2**8 - 1)]
    uint16 = Annotated[int, pa.uint16(), Interval(ge=0, le=2**16 - 1)]
    uint32 = Annotated[int, pa.uint32(), Interval(ge=0, le=2**32 - 1)]
    uint64 = Annotated[int, pa.uint64(), Interval(ge=0, le=2**64 - 1)]
    int8 = Annotated[int, pa.int8(), Interval(ge=-(2**7), le=2**7 - 1)]
    int16 = Annotated[int, pa.int16(), Interval(ge=-(2**15), le=2**15 - 1)]
    int32 = Annotated[int, pa.int32(), Interval(ge=-(2**31), le=2**31 - 1)]
    int64 = Annotated[int, pa.int64(), Interval(ge=-(2**63), le=2**63 - 1)]
    float16 = Annotated[float, pa.float16()]
    float32 = Annotated[float, pa.float32()]
    float64 = Annotated[float, pa.float64()]
    bool = Annotated[builtins.bool, pa.bool_()]
    string = Annotated[str, pa.string()]
    binary = Annotated[bytes, pa.binary()]
    large_string = Annotated[str, pa.large_string()]
    large_binary = Annotated[bytes, pa.large_binary()]

    @staticmethod
    def list_(item: Any, list_size: int | None = None) -> Any:
        """Return a list type of `item`: an Arrow `list`, or `fixed_size_list` with `list_size`.

        Args:
            item: Element annotation (a `MosaicoType` alias, a Python type or a model class).
            list_size: Fixed number of elements; also enforced when the model is validated.

        Returns:
            The annotation to use for the field.

        """
        if list_size is None:
            return Annotated[list[item], ListShape()]
        return Annotated[
            list[item],
            ListShape(list_size),
            Len(list_size, list_size),
        ]

    @staticmethod
    def matrix(item: Any, rows: int | None = None, cols: int | None = None) -> Any:
        """Return a list of lists of `item`, each level optionally of fixed size.

        Args:
            item: Element annotation.
            rows: Fixed number of rows, or None.
            cols: Fixed number of columns, or None.

        Returns:
            The annotation to use for the field.

        """
        return MosaicoType.list_(MosaicoType.list_(item, cols), rows)
