"""The `--where` expression grammar, shared by `mosaico-ros query` and `play`.

One condition is ``PATH OP VALUE``:

* ``PATH`` is ``Model.field.path``: an ontology tag (``IMU``), then fields
  joined by ``.``; list fields take a selector, ``[?]`` any element, ``[!]``
  every element, ``[N]`` element N (``IMU.acceleration_covariance[0]``).
  ``Model.timestamp_ns`` is the record time.
* ``OP`` is one of ``>  >=  <  <=  ==  !=``.
* ``VALUE`` is a number, ``true``/``false``, or a string (quoted with ``'``
  or ``"``, or bare).

Several conditions are joined by ``AND`` (or given as several `--where`);
every one must hold at the same record of a topic. The path is checked
against the model when the tag is one this process knows (built-in and
registered models); other tags (custom models on a remote server, generic
``ros:pkg/msg/Type`` tags) are sent unchecked and listed in
`Expression.unchecked`.

`parse_condition` reads the same ``PATH OP VALUE`` form for other fields
(user metadata, ``KEY=VALUE``), and `parse_duration` reads the durations the
commands take (``2s``, ``500ms``, plain seconds).

Example:
    >>> where = parse_where(['IMU.acceleration.x > 4 AND IMU.acceleration.z <= 9.9'])
    >>> where.to_ontology()
    {'IMU.acceleration.x': {'$gt': 4}, 'IMU.acceleration.z': {'$leq': 9.9}}

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mosaico_ros.ontology.query import ListField, QueryError, QueryExpression

OPERATORS = {
    '>=': '$geq',
    '<=': '$leq',
    '==': '$eq',
    '!=': '$neq',
    '>': '$gt',
    '<': '$lt',
}
"""Comparison operators of the grammar and the query operators they mean."""

_METHODS = {
    '$geq': 'geq',
    '$leq': 'leq',
    '$eq': 'eq',
    '$neq': 'neq',
    '$gt': 'gt',
    '$lt': 'lt',
}

_CONDITION = re.compile(
    r'^\s*(?P<path>(?:[^\s<>=!\[]|\[[^\]]*\])+)\s*(?P<op>>=|<=|==|!=|>|<|=)\s*(?P<value>.*?)\s*$'
)
_AND = re.compile(r'\s+(?:AND|and|&&)\s+')
_SEGMENT = re.compile(r'^(?P<name>[A-Za-z_]\w*)(?P<selectors>(?:\[(?:\?|!|\d+)\])*)$')
_SELECTOR = re.compile(r'\[(\?|!|\d+)\]')
_DURATION = re.compile(r'^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ns|us|ms|s|min|h)?\s*$')
_UNIT_NS = {'ns': 1, 'us': 1_000, 'ms': 1_000_000, 's': 1_000_000_000, 'min': 60_000_000_000}
_UNIT_NS['h'] = 60 * _UNIT_NS['min']


class WhereError(ValueError):
    """An expression does not parse, or names a field or operator its model lacks."""


@dataclass(frozen=True)
class Condition:
    """One ``PATH OP VALUE``, parsed but not checked against any model.

    Attributes:
        path: The dotted path as written.
        op: The query operator (`$gt`, ...).
        value: The value: int, float, bool or str.
        text: The condition as written.

    """

    path: str
    op: str
    value: Any
    text: str


@dataclass(frozen=True)
class Expression:
    """Conditions on ontology fields that must all hold at one record.

    Attributes:
        terms: The conditions, as the query's `ontology` section takes them.
        topic: Only this topic (exact name, or a glob with `*`, `?`, `[...]`).
        unchecked: Tags not known here, whose paths were sent unchecked.
        text: The conditions as written, joined by `AND`.

    """

    terms: tuple[QueryExpression, ...]
    topic: str | None = None
    unchecked: frozenset[str] = frozenset()
    text: str = ''

    @property
    def tags(self) -> tuple[str, ...]:
        """The ontology tags the conditions name, in order of appearance."""
        return tuple(dict.fromkeys(term.tag for term in self.terms))

    def to_ontology(self, tag: str | None = None) -> dict[str, dict[str, Any]]:
        """Return the query's `ontology` section (only the terms of `tag`, if given)."""
        section: dict[str, dict[str, Any]] = {}
        for term in self.terms:
            if tag is None or term.tag == tag:
                section.update(term.to_dict())
        return section

    def __str__(self) -> str:
        return self.text


def parse_value(text: str) -> Any:
    """Read a value: an int, a float, `true`/`false`, a quoted or a bare string."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in '\'"':
        return stripped[1:-1]
    lowered = stripped.lower()
    if lowered in ('true', 'false'):
        return lowered == 'true'
    for kind in (int, float):
        try:
            return kind(stripped)
        except ValueError:
            pass
    return stripped


def parse_condition(text: str, *, allow_single_equals: bool = False) -> Condition:
    """Parse one ``PATH OP VALUE``.

    Args:
        text: The condition.
        allow_single_equals: Also accept `=` for `==` (``KEY=VALUE`` options).

    Returns:
        The condition.

    Raises:
        WhereError: It is not ``PATH OP VALUE``.

    """
    match = _CONDITION.match(text)
    op_text = match['op'] if match else ''
    if match is None or not match['value'] or (op_text == '=' and not allow_single_equals):
        ops = ' '.join(OPERATORS) + (' =' if allow_single_equals else '')
        raise WhereError(
            f'{text!r} is not PATH OP VALUE (OP one of {ops}), e.g. IMU.acceleration.x > 4',
        )
    return Condition(
        match['path'], OPERATORS.get(op_text, '$eq'), parse_value(match['value']), text
    )


def parse_where(texts: str | Iterable[str], *, topic: str | None = None) -> Expression:
    """Parse `--where` expressions into one `Expression` (all conditions ANDed).

    Args:
        texts: One expression or several; each may join conditions with `AND`.
        topic: Restrict matching to one topic (exact name or glob).

    Returns:
        The expression.

    Raises:
        WhereError: A condition does not parse, names a field its model
            lacks, or uses an operator the field's type cannot take.

    """
    from mosaico_ros.ontology import get_model

    parts = [
        part for text in ([texts] if isinstance(texts, str) else texts) for part in _AND.split(text)
    ]
    if not any(part.strip() for part in parts):
        raise WhereError('an empty expression: give at least one PATH OP VALUE')
    terms: list[QueryExpression] = []
    unchecked: set[str] = set()
    for part in parts:
        condition = parse_condition(part)
        tag, _, path = condition.path.partition('.')
        if not path:
            raise WhereError(
                f'{part!r}: the path needs a model and a field, e.g. IMU.acceleration.x'
            )
        model = get_model(tag)
        if model is None:
            unchecked.add(tag)
            terms.append(QueryExpression(condition.path, condition.op, condition.value))
        else:
            terms.append(_checked(model.Q, tag, path, condition))
    return Expression(
        tuple(_one_per_field(terms)),
        topic,
        frozenset(unchecked),
        ' AND '.join(p.strip() for p in parts),
    )


def _checked(node: Any, tag: str, path: str, condition: Condition) -> QueryExpression:
    """Walk the model's query proxy along `path` and apply the operator."""
    for segment in path.split('.'):
        match = _SEGMENT.match(segment)
        if match is None:
            raise WhereError(f'{condition.text!r}: {segment!r} is not a field name')
        try:
            node = getattr(node, match['name'])
        except AttributeError as err:
            raise WhereError(f'{condition.text!r}: {err}') from None
        for selector in _SELECTOR.findall(match['selectors']):
            if not isinstance(node, ListField):
                raise WhereError(f'{condition.text!r}: {match["name"]} is not a list')
            node = (
                node.any()
                if selector == '?'
                else node.all()
                if selector == '!'
                else node[int(selector)]
            )
    method = getattr(node, _METHODS[condition.op], None)
    if method is None:
        if isinstance(node, ListField):
            raise WhereError(
                f'{condition.text!r}: {tag}.{path} is a list; choose elements with [?] (any), '
                '[!] (all) or [N]',
            )
        kind = getattr(node, 'queryable', None)
        if kind is None:
            raise WhereError(
                f'{condition.text!r}: {tag}.{path} is not a single value; name one of its fields'
            )
        raise WhereError(
            f'{condition.text!r}: {tag}.{path} is a {kind} field; it cannot take that operator'
        )
    try:
        expression: QueryExpression = method(condition.value)
    except (QueryError, TypeError, ValueError) as err:
        raise WhereError(f'{condition.text!r}: {err}') from None
    return expression


def _one_per_field(terms: list[QueryExpression]) -> list[QueryExpression]:
    """Join `>= LOW` and `<= HIGH` on one field into `$between`: the query takes one per field."""
    by_key: dict[str, list[QueryExpression]] = {}
    for term in terms:
        by_key.setdefault(term.key, []).append(term)
    joined: list[QueryExpression] = []
    for key, same in by_key.items():
        ops = {term.op: term.value for term in same}
        if len(same) == 1:
            joined.append(same[0])
        elif len(same) == 2 and set(ops) == {'$geq', '$leq'}:
            if ops['$geq'] > ops['$leq']:
                raise WhereError(f'{key} >= {ops["$geq"]} AND <= {ops["$leq"]} can never hold')
            joined.append(QueryExpression(key, '$between', [ops['$geq'], ops['$leq']]))
        else:
            raise WhereError(
                f'{key} has {len(same)} conditions; the query takes one per field, or a '
                'range written as >= LOW AND <= HIGH',
            )
    return joined


def parse_duration(text: str) -> int:
    """Read a duration in nanoseconds: `2s`, `500ms`, `1.5` (seconds), `100us`, `2min`, `1h`.

    Raises:
        WhereError: It is not a non-negative number with an optional unit.

    """
    match = _DURATION.match(text)
    if match is None:
        raise WhereError(f'{text!r} is not a duration such as 2s, 500ms or 1.5 (seconds)')
    return round(float(match['number']) * _UNIT_NS[match['unit'] or 's'])
