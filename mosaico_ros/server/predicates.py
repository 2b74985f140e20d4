"""Query conditions: `{"$op": value}` on JSON values and on Arrow columns.

Catalog fields (names, creation times, user metadata) are small and matched
in Python; ontology conditions run on whole Arrow arrays with
`pyarrow.compute`, including nested struct paths and the list selectors
`[?]` (any element), `[!]` (every element, and at least one) and `[N]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.server.errors import BadRequestError

OPERATORS = frozenset(
    {
        '$eq',
        '$neq',
        '$lt',
        '$leq',
        '$gt',
        '$geq',
        '$between',
        '$outside',
        '$in',
        '$match',
        '$ex',
        '$nex',
    },
)

_SELECTOR = re.compile(r'\[(\?|!|\d+)\]')


def glob_to_regex(pattern: str) -> str:
    """Translate a `$match` glob (`*`, `?`, `[...]`, `#` = one digit) to an anchored regex."""
    out = ['^']
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '*':
            out.append('.*')
        elif char == '?':
            out.append('.')
        elif char == '#':
            out.append('[0-9]')
        elif char == '[':
            close = pattern.find(']', index + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : close]
                if body.startswith('!'):
                    body = '^' + body[1:]
                out.append('[' + body.replace('\\', '\\\\') + ']')
                index = close
        else:
            out.append(re.escape(char))
        index += 1
    out.append('$')
    return ''.join(out)


@dataclass(frozen=True)
class Condition:
    """One `{"$op": value}` condition."""

    op: str
    value: Any

    @classmethod
    def parse(cls, document: Any, where: str) -> Condition:
        """Parse a condition object.

        Args:
            document: The `{"$op": value}` object.
            where: Field the condition applies to, for error messages.

        Raises:
            BadRequestError: Not exactly one known operator, or a bad value.

        """
        if not isinstance(document, dict) or len(document) != 1:
            raise BadRequestError(f'query field {where!r}: expected one {{"$op": value}} object')
        ((op, value),) = document.items()
        if op not in OPERATORS:
            raise BadRequestError(f'query field {where!r}: unknown operator {op!r}')
        if op in ('$between', '$outside') and not (isinstance(value, list) and len(value) == 2):
            raise BadRequestError(f'query field {where!r}: {op} needs [low, high]')
        if op == '$in' and not (isinstance(value, list) and value):
            raise BadRequestError(f'query field {where!r}: $in needs a non-empty list')
        if op == '$match' and not isinstance(value, str):
            raise BadRequestError(f'query field {where!r}: $match needs a string pattern')
        return cls(op, value)

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
        try:
            return self._compare(value)
        except TypeError:
            return False

    def _compare(self, value: Any) -> bool:
        op, ref = self.op, self.value
        if op == '$match':
            return isinstance(value, str) and re.match(glob_to_regex(ref), value) is not None
        if op == '$in':
            return any(_same_kind(value, item) and value == item for item in ref)
        if op in ('$between', '$outside'):
            low, high = ref
            if not (_same_kind(value, low) and _same_kind(value, high)):
                return False
            inside = low <= value <= high
            return inside if op == '$between' else value < low or value > high
        if not _same_kind(value, ref):
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

    def mask(self, array: pa.Array) -> np.ndarray:
        """Evaluate on an Arrow array of scalars; nulls never match."""
        if self.op == '$ex':
            return np.asarray(pc.is_valid(array), dtype=bool)
        if self.op == '$nex':
            return np.asarray(pc.is_null(array), dtype=bool)
        result = self._arrow(array)
        return np.asarray(pc.fill_null(result, False), dtype=bool)

    def _scalar(self, value: Any, kind: pa.DataType) -> pa.Scalar:
        try:
            if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
                if isinstance(value, str) and value.lstrip('-').isdigit():
                    return pa.scalar(int(value), pa.int64()).cast(kind)
                return pa.scalar(value).cast(kind)
            if pa.types.is_boolean(kind):
                return pa.scalar(bool(value))
            if pa.types.is_integer(kind) and isinstance(value, float):
                return pa.scalar(value, pa.float64())
            return (
                pa.scalar(value).cast(kind) if not pa.types.is_integer(kind) else pa.scalar(value)
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as err:
            raise BadRequestError(f'value {value!r} does not fit a column of type {kind}') from err

    def _arrow(self, array: pa.Array) -> pa.Array:
        op, ref, kind = self.op, self.value, array.type
        if op == '$match':
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                raise BadRequestError(f'$match needs a string column, not {kind}')
            return pc.match_substring_regex(array, glob_to_regex(ref))
        if op == '$in':
            values = pa.array([self._scalar(item, kind).as_py() for item in ref])
            return pc.is_in(array, value_set=values.cast(kind) if values.type != kind else values)
        if op in ('$between', '$outside'):
            low, high = (self._scalar(item, kind) for item in ref)
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
        return function(array, self._scalar(ref, kind))

    def may_match(self, low: Any, high: Any) -> bool:
        """Whether a column whose values span `[low, high]` may hold a match."""
        op, ref = self.op, self.value
        try:
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
        except TypeError:
            return True
        return True


def _same_kind(value: Any, ref: Any) -> bool:
    if isinstance(value, bool) or isinstance(ref, bool):
        return isinstance(value, bool) and isinstance(ref, bool)
    if isinstance(value, (int, float)):
        return isinstance(ref, (int, float))
    return type(value) is type(ref)


def lookup(document: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    """Follow a dot path into nested JSON objects; returns `(present, value)`."""
    current: Any = document
    for part in dotted.split('.'):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


# ---------------------------------------------------------------- column paths


@dataclass(frozen=True)
class FieldPath:
    """A parsed ontology key: tag, then struct fields and list selectors.

    Selector steps are `('any',)`, `('all',)` or `('at', N)`; field steps are
    `('field', name)`.
    """

    tag: str
    steps: tuple[tuple[Any, ...], ...]

    @classmethod
    def parse(cls, key: str) -> FieldPath:
        """Parse `Tag.field.sub[?].leaf`.

        Raises:
            BadRequestError: The key has no field part or a bad selector.

        """
        tag, dot, rest = key.partition('.')
        if not dot or not tag or not rest:
            raise BadRequestError(f'ontology key {key!r}: expected "<Tag>.<field path>"')
        steps: list[tuple[Any, ...]] = []
        for part in rest.split('.'):
            name_end = part.find('[')
            name = part if name_end == -1 else part[:name_end]
            selectors = '' if name_end == -1 else part[name_end:]
            if not name:
                raise BadRequestError(f'ontology key {key!r}: empty field name')
            steps.append(('field', name))
            position = 0
            for found in _SELECTOR.finditer(selectors):
                if found.start() != position:
                    raise BadRequestError(f'ontology key {key!r}: bad list selector {selectors!r}')
                token = found.group(1)
                steps.append(
                    ('any',) if token == '?' else ('all',) if token == '!' else ('at', int(token))
                )
                position = found.end()
            if position != len(selectors):
                raise BadRequestError(f'ontology key {key!r}: bad list selector {selectors!r}')
        return cls(tag, tuple(steps))

    @property
    def column(self) -> str:
        """The top-level column the path starts in."""
        return str(self.steps[0][1])

    @property
    def stats_key(self) -> str | None:
        """Dotted leaf path for chunk statistics, or None when a list step is involved."""
        if any(step[0] != 'field' for step in self.steps):
            return None
        return '.'.join(str(step[1]) for step in self.steps)


def _field(array: pa.Array, name: str, key: str) -> pa.Array:
    if not pa.types.is_struct(array.type) or array.type.get_field_index(name) < 0:
        raise BadRequestError(f'ontology key {key!r}: no field {name!r} in {array.type}')
    return pc.struct_field(array, name)


def _list_parts(array: pa.Array, key: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    kind = array.type
    if not (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ):
        raise BadRequestError(f'ontology key {key!r}: list selector on non-list type {kind}')
    values = pc.list_flatten(array)
    parents = np.asarray(pc.list_parent_indices(array), dtype=np.int64)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(array), 0), dtype=np.int64)
    return values, parents, lengths


def path_mask(
    array: pa.Array, steps: tuple[tuple[Any, ...], ...], condition: Condition, key: str
) -> np.ndarray:
    """Evaluate a condition at the end of a path, one boolean per row of `array`.

    `array` is the top-level column; `steps[0]` names it and is skipped.
    """
    return _descend(array, steps[1:], condition, key)


def _descend(
    array: pa.Array, steps: tuple[tuple[Any, ...], ...], condition: Condition, key: str
) -> np.ndarray:
    if not steps:
        return condition.mask(array)
    step, rest = steps[0], steps[1:]
    if step[0] == 'field':
        return _descend(_field(array, step[1], key), rest, condition, key)
    values, parents, lengths = _list_parts(array, key)
    inner = _descend(values, rest, condition, key) if len(values) else np.zeros(0, dtype=bool)
    rows = len(array)
    if step[0] == 'any':
        return np.bincount(parents[inner], minlength=rows)[:rows] > 0
    if step[0] == 'all':
        failures = np.bincount(parents[~inner], minlength=rows)[:rows]
        return (failures == 0) & (lengths > 0)
    starts = np.zeros(rows, dtype=np.int64)
    if rows:
        starts[1:] = np.cumsum(lengths)[:-1]
    position = np.arange(len(values), dtype=np.int64) - starts[parents] if len(values) else parents
    chosen = inner & (position == step[1])
    return np.bincount(parents[chosen], minlength=rows)[:rows] > 0
