"""Builders of `query` request bodies (PROTOCOL.md §8.1), as the official SDK's.

`SequenceQuery` and `TopicQuery` filter the catalog, an `Expression` (from
`mosaico_ros.client.where`) filters the content; `CatalogQuery` joins them.
Every condition is ANDed by the server; each field takes one condition.

Example:
    >>> CatalogQuery(
    ...     sequence=SequenceQuery().with_name_match('drive_*').with_metadata('robot', '$eq', 'a'),
    ...     topic=TopicQuery().with_ontology_tag('IMU'),
    ... ).to_dict()['sequence']
    {'name': {'$match': 'drive_*'}, 'user_metadata': {'robot': {'$eq': 'a'}}}

"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mosaico_ros.client.where import Condition, Expression

METADATA_OPERATORS = frozenset(
    {'$eq', '$neq', '$lt', '$leq', '$gt', '$geq', '$between', '$outside', '$in', '$match'}
    | {'$ex', '$nex'},
)
"""Operators the server takes on user metadata."""

GLOB_CHARACTERS = frozenset('*?[#')
"""Characters that make a name a `$match` pattern rather than an exact name."""

_Section = TypeVar('_Section', bound='_CatalogSection')


class QueryBuildError(ValueError):
    """A condition the query cannot carry: a field given twice, an unknown operator."""


class _CatalogSection:
    """Conditions on catalog fields shared by sequences and topics."""

    section = ''

    def __init__(self) -> None:
        self._fields: dict[str, dict[str, Any]] = {}
        self._metadata: dict[str, dict[str, Any]] = {}

    def _set(self: _Section, field: str, op: str, value: Any) -> _Section:
        if self._fields.get(field, {op: value}) != {op: value}:
            raise QueryBuildError(f'{self.section} {field} is filtered twice')
        self._fields[field] = {op: value}
        return self

    def with_name(self: _Section, name: str) -> _Section:
        """Match this exact name."""
        return self._set('name', '$eq', name)

    def with_name_match(self: _Section, pattern: str) -> _Section:
        """Match names fitting a glob: `*` any run, `?` one character, `[...]`, `#` a digit."""
        return self._set('name', '$match', pattern)

    def with_name_like(self: _Section, text: str) -> _Section:
        """Match `text` as a glob if it has glob characters, else exactly."""
        if GLOB_CHARACTERS & set(text):
            return self.with_name_match(text)
        return self.with_name(text)

    def with_names(self: _Section, names: Iterable[str]) -> _Section:
        """Match any of these names."""
        items = list(names)
        if not items:
            raise QueryBuildError(f'{self.section} names: give at least one')
        return self._set('name', '$in', items)

    def with_created(
        self: _Section, start_ns: int | None = None, end_ns: int | None = None
    ) -> _Section:
        """Match what the server created between `start_ns` and `end_ns` (inclusive)."""
        if start_ns is not None and end_ns is not None:
            if start_ns > end_ns:
                raise QueryBuildError(
                    f'{self.section} created: start {start_ns} is after end {end_ns}'
                )
            return self._set('created_at_ns', '$between', [start_ns, end_ns])
        if start_ns is not None:
            return self._set('created_at_ns', '$geq', start_ns)
        if end_ns is not None:
            return self._set('created_at_ns', '$leq', end_ns)
        raise QueryBuildError(f'{self.section} created: give a start, an end or both')

    def with_metadata(self: _Section, key: str, op: str, value: Any = None) -> _Section:
        """Match user metadata: `key` is a dot path from the metadata root (`driver.role`)."""
        if op not in METADATA_OPERATORS:
            raise QueryBuildError(f'metadata {key}: unknown operator {op!r}')
        if key in self._metadata:
            raise QueryBuildError(f'{self.section} metadata {key} is filtered twice')
        self._metadata[key] = {op: value}
        return self

    def with_metadata_condition(self: _Section, condition: Condition) -> _Section:
        """Match user metadata with a parsed `KEY OP VALUE`."""
        return self.with_metadata(condition.path, condition.op, condition.value)

    def to_dict(self) -> dict[str, Any]:
        """Return the section's body."""
        body: dict[str, Any] = dict(self._fields)
        if self._metadata:
            body['user_metadata'] = dict(self._metadata)
        return body


class SequenceQuery(_CatalogSection):
    """Conditions on sequences: name, creation time, user metadata."""

    section = 'sequence'


class TopicQuery(_CatalogSection):
    """Conditions on topics: name (with its leading `/`), ontology tag, creation time, metadata."""

    section = 'topic'

    def with_ontology_tag(self, tag: str) -> TopicQuery:
        """Match topics of this ontology tag."""
        return self._set('ontology_tag', '$eq', tag)


@dataclass(frozen=True)
class CatalogQuery:
    """A whole `query` request: sections left None are not sent."""

    sequence: SequenceQuery | None = None
    topic: TopicQuery | None = None
    ontology: Expression | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the request body."""
        body: dict[str, Any] = {}
        if self.sequence is not None:
            body['sequence'] = self.sequence.to_dict()
        if self.topic is not None:
            body['topic'] = self.topic.to_dict()
        if self.ontology is not None:
            body['ontology'] = self.ontology.to_ontology()
        return body
