"""Ontology keys: `<Tag>.<field path>` with struct steps and list selectors, on Arrow columns.

A key such as `IMU.acceleration.covariance[?]` names a top-level column,
then struct fields, then list selectors: `[?]` (any element), `[!]` (every
element, and at least one) and `[N]` (element N). `leaf_type` resolves a key
against a schema, so a condition can be checked before any row is read;
`mask` evaluates it on a batch, one boolean per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mosaico_ros.server.errors import BadRequestError, quote
from mosaico_ros.server.predicates import Condition

_SELECTOR = re.compile(r'\[(\?|!|\d{1,9})\]')

Step = tuple[Any, ...]
"""`('field', name)`, `('any',)`, `('all',)` or `('at', N)`."""


def _is_list(kind: pa.DataType) -> bool:
    return (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


@dataclass(frozen=True)
class FieldPath:
    """A parsed ontology key: its tag, then struct fields and list selectors."""

    key: str
    tag: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, key: str) -> FieldPath:
        """Parse `Tag.field.sub[?].leaf`.

        Raises:
            BadRequestError: The key has no field part, an empty field or a bad selector.

        """
        tag, dot, rest = key.partition('.')
        if not dot or not tag or not rest:
            raise BadRequestError(f'ontology key {quote(key)}: expected "<Tag>.<field path>"')
        steps: list[Step] = []
        for part in rest.split('.'):
            name_end = part.find('[')
            name = part if name_end == -1 else part[:name_end]
            selectors = '' if name_end == -1 else part[name_end:]
            if not name:
                raise BadRequestError(f'ontology key {quote(key)}: empty field name')
            steps.append(('field', name))
            position = 0
            for found in _SELECTOR.finditer(selectors):
                if found.start() != position:
                    break
                token = found.group(1)
                steps.append(
                    ('any',) if token == '?' else ('all',) if token == '!' else ('at', int(token))
                )
                position = found.end()
            if position != len(selectors):
                raise BadRequestError(
                    f'ontology key {quote(key)}: bad list selector {quote(selectors)}'
                )
        return cls(key, tag, tuple(steps))

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

    def leaf_type(self, schema: pa.Schema, where: str) -> pa.DataType:
        """Return the type the path ends on in `schema`.

        Raises:
            BadRequestError: A field is missing, or a selector meets a non-list.

        """
        index = schema.get_field_index(self.column)
        if index < 0:
            raise BadRequestError(
                f'ontology key {quote(self.key)}: {where} has no field {quote(self.column)}'
            )
        kind = schema.field(index).type
        walked = self.column
        for step in self.steps[1:]:
            if step[0] == 'field':
                if not pa.types.is_struct(kind) or kind.get_field_index(step[1]) < 0:
                    raise BadRequestError(
                        f'ontology key {quote(self.key)}: no field {quote(step[1])} '
                        f'in {quote(walked)}'
                    )
                kind = kind.field(step[1]).type
                walked += f'.{step[1]}'
            else:
                if not _is_list(kind):
                    raise BadRequestError(
                        f'ontology key {quote(self.key)}: {quote(walked)} is not a list'
                    )
                kind = kind.value_type
        return kind

    def mask(self, column: pa.Array, condition: Condition) -> np.ndarray:
        """Evaluate the condition at the end of the path, one boolean per row of `column`."""
        return _descend(column, self.steps[1:], condition, self.key)


def _descend(
    array: pa.Array, steps: tuple[Step, ...], condition: Condition, key: str
) -> np.ndarray:
    if not steps:
        return condition.mask(array, key)
    step, rest = steps[0], steps[1:]
    if step[0] == 'field':
        return _descend(pc.struct_field(array, step[1]), rest, condition, key)
    values = pc.list_flatten(array)
    parents = np.asarray(pc.list_parent_indices(array), dtype=np.int64)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(array), 0), dtype=np.int64)
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
