"""The `.Q` proxy: typed field paths that build ontology query expressions.

`IMU.Q.acceleration.x.gt(9.8).to_dict()` gives `{'IMU.acceleration.x': {'$gt': 9.8}}`. The key
is `<tag>.<dotted path>`; list fields need a selector first: `.any()` (`[?]`), `.all()` (`[!]`)
or `[i]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.types as pat

from mosaico_ros.protocol import TIMESTAMP_COLUMN

from .errors import OntologyError

TIMESTAMP_FIELD = pa.field(TIMESTAMP_COLUMN, pa.int64(), nullable=False)


class QueryError(OntologyError, ValueError):
    """An operator got a value it cannot send, or the path has no such field."""


@dataclass(frozen=True)
class QueryExpression:
    """One condition on one ontology field.

    Attributes:
        key: `<tag>.<path>` as the server expects it.
        op: Operator with its `$`, e.g. `$gt`.
        value: JSON-ready operand.

    """

    key: str
    op: str
    value: Any

    @property
    def tag(self) -> str:
        """The ontology tag the key starts with."""
        return self.key.split('.', 1)[0]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return the expression as the server's `{key: {op: value}}`.

        Returns:
            The JSON-ready mapping.

        """
        return {self.key: {self.op: self.value}}


class _Leaf:
    """A field that is a scalar; subclasses add the operators its type supports."""

    queryable = 'Unsupported'

    def __init__(self, key: str, arrow_type: pa.DataType) -> None:
        self.key = key
        self.arrow_type = arrow_type

    def __repr__(self) -> str:
        return f'<{self.queryable} field {self.key} ({self.arrow_type})>'

    def _expr(self, op: str, value: Any) -> QueryExpression:
        return QueryExpression(self.key, op, value)

    def _pair(self, op: str, low: Any, high: Any) -> QueryExpression:
        if low > high:
            raise QueryError(f'{self.key}: {op} needs low <= high, got [{low}, {high}]')
        return self._expr(op, [low, high])

    def _values(self, values: Sequence[Any]) -> QueryExpression:
        items = list(values)
        if not items:
            raise QueryError(f'{self.key}: $in needs at least one value')
        return self._expr('$in', items)


class UnsupportedField(_Leaf):
    """A field the query engine cannot filter on (binary, maps, nested lists)."""


class BoolField(_Leaf):
    """A boolean field: equality only."""

    queryable = 'Bool'

    def eq(self, value: bool) -> QueryExpression:
        """Match rows where the field equals `value`."""
        return self._expr('$eq', bool(value))


class _Ordered(_Leaf):
    """Comparison operators shared by numeric and string fields."""

    def eq(self, value: Any) -> QueryExpression:
        """Match rows where the field equals `value`."""
        return self._expr('$eq', value)

    def lt(self, value: Any) -> QueryExpression:
        """Match rows where the field is below `value`."""
        return self._expr('$lt', value)

    def leq(self, value: Any) -> QueryExpression:
        """Match rows where the field is at most `value`."""
        return self._expr('$leq', value)

    def gt(self, value: Any) -> QueryExpression:
        """Match rows where the field is above `value`."""
        return self._expr('$gt', value)

    def geq(self, value: Any) -> QueryExpression:
        """Match rows where the field is at least `value`."""
        return self._expr('$geq', value)

    def in_(self, values: Sequence[Any]) -> QueryExpression:
        """Match rows where the field is one of `values`."""
        return self._values(values)

    def between(self, low: Any, high: Any) -> QueryExpression:
        """Match rows where `low <= field <= high`."""
        return self._pair('$between', low, high)

    def outside(self, low: Any, high: Any) -> QueryExpression:
        """Match rows where `field < low` or `field > high`."""
        return self._pair('$outside', low, high)


class NumericField(_Ordered):
    """An integer or floating-point field."""

    queryable = 'Numeric'

    def neq(self, value: float) -> QueryExpression:
        """Match rows where the field differs from `value`."""
        return self._expr('$neq', value)


class StringField(_Ordered):
    """A string field."""

    queryable = 'String'

    def match(self, pattern: str) -> QueryExpression:
        """Match rows whose whole value fits a glob (`*`, `?`, `[...]`, `#` one digit)."""
        return self._expr('$match', pattern)


class DateTimeField(NumericField):
    """A date/time field; the server takes its operands as strings."""

    queryable = 'DateTime'

    def _expr(self, op: str, value: Any) -> QueryExpression:
        if isinstance(value, list):
            return QueryExpression(self.key, op, [str(item) for item in value])
        return QueryExpression(self.key, op, str(value))


class ListField:
    """A list field: pick which elements a condition applies to."""

    def __init__(self, key: str, arrow_type: pa.DataType) -> None:
        self.key = key
        self.arrow_type = arrow_type

    def __repr__(self) -> str:
        return f'<list field {self.key} ({self.arrow_type})>'

    def any(self) -> Any:
        """Select rows where at least one element matches (`[?]`)."""
        return self._element(f'{self.key}[?]')

    def all(self) -> Any:
        """Select rows where every element matches (`[!]`)."""
        return self._element(f'{self.key}[!]')

    def __getitem__(self, index: int) -> Any:
        if not isinstance(index, int) or isinstance(index, bool):
            raise QueryError(f'{self.key}: a list index must be an int, got {index!r}')
        return self._element(f'{self.key}[{index}]')

    def _element(self, key: str) -> Any:
        element = self.arrow_type.value_type
        if _is_list(element):
            # The query engine selects one list level only.
            return UnsupportedField(key, element)
        return node_for(key, element)


class StructField:
    """A struct field: its children are attributes."""

    def __init__(self, key: str, fields: Sequence[pa.Field]) -> None:
        self._key = key
        self._fields = {field.name: field for field in fields}

    def __repr__(self) -> str:
        return f'<struct field {self._key}: {", ".join(self._fields)}>'

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._fields]

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        field = self._fields.get(name)
        if field is None:
            raise AttributeError(
                f'{self._key} has no field {name!r}; fields: {", ".join(self._fields)}',
            )
        node = node_for(f'{self._key}.{name}', field.type)
        # Cached as an attribute so later lookups skip __getattr__.
        object.__setattr__(self, name, node)
        return node


class QueryProxy(StructField):
    """`Model.Q`: the envelope's `timestamp_ns` and every data field of one ontology tag."""

    def __init__(self, tag: str, struct: pa.StructType) -> None:
        super().__init__(tag, [TIMESTAMP_FIELD, *struct])


def node_for(key: str, arrow_type: pa.DataType) -> Any:
    """Return the proxy node for a field of `arrow_type` reachable by `key`.

    Args:
        key: `<tag>.<path>` so far.
        arrow_type: The field's Arrow type.

    Returns:
        A struct, list or typed leaf node.

    """
    if pat.is_struct(arrow_type):
        return StructField(key, list(arrow_type))
    if _is_list(arrow_type):
        return ListField(key, arrow_type)
    return leaf_class(arrow_type)(key, arrow_type)


def leaf_class(arrow_type: pa.DataType) -> type[_Leaf]:
    """Return the leaf class for a scalar Arrow type.

    Args:
        arrow_type: The type.

    Returns:
        The node class that knows its operators.

    """
    if pat.is_boolean(arrow_type):
        return BoolField
    if pat.is_integer(arrow_type) or pat.is_floating(arrow_type) or pat.is_decimal(arrow_type):
        return NumericField
    if (
        pat.is_string(arrow_type)
        or pat.is_large_string(arrow_type)
        or pat.is_string_view(
            arrow_type,
        )
    ):
        return StringField
    if pat.is_temporal(arrow_type):
        return DateTimeField
    return UnsupportedField


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(
        pat.is_list(arrow_type)
        or pat.is_large_list(arrow_type)
        or pat.is_fixed_size_list(arrow_type),
    )
