"""Query conditions `{"$op": value}`: checked when parsed, run on JSON values or Arrow arrays.

A condition is checked twice before it runs: its value against the operator
when the request is parsed (a `$between` needs `[low, high]` with
`low <= high`, a `$eq` a non-null scalar, numbers must be finite), and
against the type of the field it tests as soon as that type is known
(`check_type` for Arrow columns, `check_kind` for catalog fields): a string
compared with a float column, or a number beyond an integer column's range,
is an invalid argument, never a silent non-match or an overflow.

Catalog fields (names, creation times, user metadata) are small and matched
in Python; ontology conditions run on whole Arrow arrays with
`pyarrow.compute`, which releases the GIL. `$match` never runs a regular
expression in Python (see `glob.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.server.errors import BadRequestError, quote
from mosaico_ros.server.glob import Glob

ORDER_OPS = frozenset({'$lt', '$leq', '$gt', '$geq'})
RANGE_OPS = frozenset({'$between', '$outside'})
EQUALITY_OPS = frozenset({'$eq', '$neq'})
PRESENCE_OPS = frozenset({'$ex', '$nex'})
OPERATORS = ORDER_OPS | RANGE_OPS | EQUALITY_OPS | PRESENCE_OPS | {'$in', '$match'}

MAX_IN_VALUES = 10_000
"""Most values of one `$in` list."""

_BOOL_OPS = EQUALITY_OPS | PRESENCE_OPS | {'$in'}


def _kind(value: Any) -> str:
    """`bool`, `number` or `string` for a JSON scalar; `other` for anything else."""
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    return 'other'


def _scalar(value: Any, where: str, what: str = 'value') -> Any:
    kind = _kind(value)
    if kind == 'other':
        raise BadRequestError(
            f'{where}: {what} must be a number, string or bool, got {quote(value)}'
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequestError(f'{where}: {what} must be a finite number, got {value}')
    return value


@dataclass(frozen=True)
class Condition:
    """One checked `{"$op": value}` condition; `glob` is set for `$match`."""

    op: str
    value: Any
    glob: Glob | None = None

    @classmethod
    def parse(cls, document: Any, where: str) -> Condition:
        """Parse a condition object and check its value against its operator.

        Raises:
            BadRequestError: Not one `{"$op": value}`, unknown operator, or a
                value the operator cannot take.

        """
        if not isinstance(document, dict) or len(document) != 1:
            raise BadRequestError(
                f'query field {quote(where)}: expected one {{"$op": value}} object'
            )
        ((op, value),) = document.items()
        where = f'query field {quote(where)}'
        if op not in OPERATORS:
            raise BadRequestError(f'{where}: unknown operator {quote(op)}')
        if op in PRESENCE_OPS:
            if value is not None:
                raise BadRequestError(f'{where}: {op} takes null, got {quote(value)}')
            return cls(op, None)
        if op == '$match':
            if not isinstance(value, str):
                raise BadRequestError(f'{where}: $match needs a string pattern')
            return cls(op, value, Glob.parse(value))
        if op in RANGE_OPS:
            return cls(op, _bounds(value, op, where))
        if op == '$in':
            return cls(op, _choices(value, where))
        value = _scalar(value, where)
        if op in ORDER_OPS and _kind(value) == 'bool':
            raise BadRequestError(f'{where}: {op} compares numbers or strings, not booleans')
        return cls(op, value)

    @property
    def values(self) -> list[Any]:
        """The scalars the condition compares with."""
        if self.op in PRESENCE_OPS or self.op == '$match':
            return []
        return list(self.value) if isinstance(self.value, list) else [self.value]

    # ------------------------------------------------------------ type checks

    def check_kind(self, kind: str, where: str) -> None:
        """Check the condition against a catalog field of JSON kind `string` or `integer`.

        Raises:
            BadRequestError: The operator or a value does not fit the field.

        """
        if self.op in PRESENCE_OPS:
            raise BadRequestError(f'query field {quote(where)}: {self.op} applies to user_metadata')
        if kind == 'integer':
            if self.op == '$match':
                raise BadRequestError(f'query field {quote(where)}: $match needs a string field')
            for value in self.values:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise BadRequestError(
                        f'query field {quote(where)}: {self.op} needs integer nanoseconds, '
                        f'got {quote(value)}',
                    )
        elif any(not isinstance(value, str) for value in self.values):
            raise BadRequestError(f'query field {quote(where)}: {self.op} needs strings here')

    def check_type(self, kind: pa.DataType, key: str) -> None:
        """Check the condition against an Arrow column type.

        Raises:
            BadRequestError: The operator or a value does not fit the column.

        """
        if self.op in PRESENCE_OPS:
            return
        where = f'ontology key {quote(key)}'
        if self.op == '$match':
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                raise BadRequestError(f'{where}: $match needs a string field, not {kind}')
            return
        for value in self.values:
            self._arrow_value(value, kind, where)

    def _arrow_value(self, value: Any, kind: pa.DataType, where: str) -> pa.Scalar:
        """Return the scalar to compare the column with; refuse a value that does not fit."""
        kind_of_value = _kind(value)
        if pa.types.is_boolean(kind):
            if kind_of_value != 'bool' or self.op not in _BOOL_OPS:
                raise BadRequestError(f'{where}: a bool field takes $eq, $neq or $in with booleans')
            return pa.scalar(value)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            if kind_of_value != 'number':
                raise BadRequestError(f'{where}: {kind} field compared with {quote(value)}')
            if pa.types.is_integer(kind) and isinstance(value, int):
                info = np.iinfo(kind.to_pandas_dtype())
                if not info.min <= value <= info.max:
                    raise BadRequestError(f'{where}: {value} is outside the range of {kind}')
                return pa.scalar(value, kind)
            return pa.scalar(float(value), pa.float64())
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if kind_of_value != 'string':
                raise BadRequestError(f'{where}: string field compared with {quote(value)}')
            return pa.scalar(value, kind)
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
            try:
                if kind_of_value == 'string' and value.lstrip('-').isdigit():
                    return pa.scalar(int(value), pa.int64()).cast(kind)
                if kind_of_value in ('string', 'number') and not isinstance(value, float):
                    return pa.scalar(value).cast(kind)
            except (pa.ArrowException, OverflowError, ValueError):
                pass
            raise BadRequestError(f'{where}: {quote(value)} is not a time of type {kind}')
        raise BadRequestError(f'{where}: a {kind} field cannot be compared; pick a leaf field')

    # ------------------------------------------------------------ JSON values

    def test_value(self, value: Any, present: bool = True) -> bool:
        """Evaluate on one JSON value; a list value matches when any element does."""
        if self.op == '$ex':
            return present
        if self.op == '$nex':
            return not present
        if not present or value is None:
            return False
        if isinstance(value, list):
            return any(self._test_scalar(item) for item in value)
        return self._test_scalar(value)

    def _test_scalar(self, value: Any) -> bool:
        op, ref = self.op, self.value
        if op == '$match':
            assert self.glob is not None
            return isinstance(value, str) and self.glob.matches(value)
        kind = _kind(value)
        if op == '$in':
            return any(kind == _kind(item) and value == item for item in ref)
        if op in RANGE_OPS:
            low, high = ref
            if kind != _kind(low):
                return False
            inside = bool(low <= value <= high)
            return inside if op == '$between' else not inside
        if kind != _kind(ref):
            return op == '$neq'
        result: bool = {
            '$eq': lambda: value == ref,
            '$neq': lambda: value != ref,
            '$lt': lambda: value < ref,
            '$leq': lambda: value <= ref,
            '$gt': lambda: value > ref,
            '$geq': lambda: value >= ref,
        }[op]()
        return result

    # ---------------------------------------------------------- Arrow columns

    def mask(self, array: pa.Array, key: str) -> np.ndarray:
        """Evaluate on an Arrow array of scalars; nulls never match."""
        if self.op == '$ex':
            return np.asarray(pc.is_valid(array), dtype=bool)
        if self.op == '$nex':
            return np.asarray(pc.is_null(array), dtype=bool)
        self.check_type(array.type, key)
        result = self._arrow(array, f'ontology key {quote(key)}')
        return np.asarray(pc.fill_null(result, False), dtype=bool)

    def _arrow(self, array: pa.Array, where: str) -> pa.Array:
        op = self.op
        if op == '$match':
            assert self.glob is not None
            return pc.match_substring_regex(array, self.glob.regex)
        scalars = [self._arrow_value(value, array.type, where) for value in self.values]
        if op == '$in':
            if any(scalar.type != array.type for scalar in scalars):
                # Floats against an integer column: compare as floats.
                array = array.cast(pa.float64())
            values = pa.array([scalar.as_py() for scalar in scalars], type=array.type)
            return pc.is_in(array, value_set=values)
        if op in RANGE_OPS:
            low, high = scalars
            if op == '$between':
                return pc.and_(pc.greater_equal(array, low), pc.less_equal(array, high))
            return pc.or_(pc.less(array, low), pc.greater(array, high))
        function = {
            '$eq': pc.equal,
            '$neq': pc.not_equal,
            '$lt': pc.less,
            '$leq': pc.less_equal,
            '$gt': pc.greater,
            '$geq': pc.greater_equal,
        }[op]
        return function(array, scalars[0])

    def may_match(self, low: Any, high: Any) -> bool:
        """Whether a column whose values span `[low, high]` may hold a match."""
        op, ref = self.op, self.value
        if {_kind(low), _kind(high)} != {_kind(item) for item in self.values} or not self.values:
            return True
        if op == '$eq':
            return bool(low <= ref <= high)
        if op == '$lt':
            return bool(low < ref)
        if op == '$leq':
            return bool(low <= ref)
        if op == '$gt':
            return bool(high > ref)
        if op == '$geq':
            return bool(high >= ref)
        if op == '$between':
            return bool(ref[0] <= high and low <= ref[1])
        if op == '$in':
            return any(low <= item <= high for item in ref)
        return True


def _bounds(value: Any, op: str, where: str) -> list[Any]:
    if not (isinstance(value, list) and len(value) == 2):
        raise BadRequestError(f'{where}: {op} needs [low, high]')
    low, high = (_scalar(item, where, 'bound') for item in value)
    if _kind(low) != _kind(high) or _kind(low) == 'bool':
        raise BadRequestError(f'{where}: {op} bounds must be two numbers or two strings')
    if low > high:
        raise BadRequestError(f'{where}: {op} needs low <= high, got [{quote(low)}, {quote(high)}]')
    return [low, high]


def _choices(value: Any, where: str) -> list[Any]:
    if not (isinstance(value, list) and value):
        raise BadRequestError(f'{where}: $in needs a non-empty list')
    if len(value) > MAX_IN_VALUES:
        raise BadRequestError(f'{where}: $in takes at most {MAX_IN_VALUES} values')
    items = [_scalar(item, where, '$in value') for item in value]
    if len({_kind(item) for item in items}) != 1:
        raise BadRequestError(f'{where}: $in values must all be of one type')
    return items


def lookup(document: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """Follow a dot path into nested JSON objects; returns `(present, value)`."""
    current: Any = document
    for part in dotted.split('.'):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current
