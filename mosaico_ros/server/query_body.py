"""The body of a `query` request, parsed once into conditions ready to evaluate.

A request is parsed before any record is read, so a malformed condition is
reported even when no sequence or topic would have reached it.

* The sequence and topic sections become `CatalogSection`s: one
  `CatalogTerm` per record attribute and per user-metadata dot path. One
  `CatalogSection.matches` serves sequences and topics alike.
* A topic-name condition gets its leading `/` here, once, so it compares
  with `TopicRecord.name` as the SDK shows it.
* The ontology section is grouped by tag into `OntologyTerm`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mosaico_ros.server.errors import BadRequestError
from mosaico_ros.server.predicates import Condition, FieldPath, lookup

_SECTION_FIELDS = {
    'sequence': frozenset({'name', 'created_at_ns', 'user_metadata'}),
    'topic': frozenset({'name', 'ontology_tag', 'created_at_ns', 'user_metadata'}),
}
_METADATA = 'user_metadata'


class CatalogRecord(Protocol):
    """What a catalog section reads: a sequence or a topic record."""

    @property
    def user_metadata(self) -> dict[str, Any]:
        """User metadata of the record."""
        ...


@dataclass(frozen=True)
class CatalogTerm:
    """One catalog condition: on a record attribute, or on a user-metadata path."""

    attribute: str
    condition: Condition
    metadata_path: str | None = None

    def test(self, record: CatalogRecord) -> bool:
        """Whether the record meets the condition."""
        if self.metadata_path is None:
            return self.condition.test_value(getattr(record, self.attribute))
        present, value = lookup(record.user_metadata, self.metadata_path)
        return self.condition.test_value(value, present)


@dataclass(frozen=True)
class CatalogSection:
    """The ANDed conditions of the sequence or the topic section."""

    terms: tuple[CatalogTerm, ...] = ()

    @classmethod
    def parse(cls, section: Any, where: str) -> CatalogSection:
        """Parse the `sequence` or `topic` section (`where`) of a query body.

        Raises:
            BadRequestError: The section, one of its fields or conditions is malformed.

        """
        if section is None:
            return cls()
        if not isinstance(section, dict):
            raise BadRequestError(f'query {where} section must be an object')
        allowed = _SECTION_FIELDS[where]
        unknown = set(section) - allowed
        if unknown:
            raise BadRequestError(
                f'query {where} section: unknown field(s) {sorted(unknown)}; '
                f'expected {sorted(allowed)}',
            )
        terms: list[CatalogTerm] = []
        for field, raw in section.items():
            if field == _METADATA:
                terms.extend(_metadata_terms(raw, where))
                continue
            condition = Condition.parse(raw, f'{where}.{field}')
            if (where, field) == ('topic', 'name'):
                condition = _with_leading_slash(condition)
            terms.append(CatalogTerm(field, condition))
        return cls(tuple(terms))

    def matches(self, record: CatalogRecord) -> bool:
        """Whether the record meets every condition of the section."""
        return all(term.test(record) for term in self.terms)


def _metadata_terms(conditions: Any, where: str) -> list[CatalogTerm]:
    if not isinstance(conditions, dict):
        raise BadRequestError(f'query {where}.user_metadata must be an object')
    return [
        CatalogTerm(_METADATA, Condition.parse(raw, f'{where}.user_metadata.{path}'), path)
        for path, raw in conditions.items()
    ]


def _with_leading_slash(condition: Condition) -> Condition:
    def fix(value: Any) -> Any:
        return '/' + value.strip('/') if isinstance(value, str) else value

    if condition.op == '$in':
        return Condition(condition.op, [fix(item) for item in condition.value])
    if condition.op in ('$eq', '$neq'):
        return Condition(condition.op, fix(condition.value))
    if condition.op == '$match' and not condition.value.startswith(('/', '*')):
        return Condition(condition.op, '/' + condition.value)
    return condition


@dataclass(frozen=True)
class OntologyTerm:
    """One ontology condition: where to look and what to test."""

    key: str
    path: FieldPath
    condition: Condition


def parse_ontology(section: Any) -> dict[str, list[OntologyTerm]]:
    """Group an ontology section's conditions by tag.

    Raises:
        BadRequestError: The section or one of its keys is malformed.

    """
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise BadRequestError('query ontology section must be an object')
    by_tag: dict[str, list[OntologyTerm]] = {}
    for key, raw in section.items():
        path = FieldPath.parse(key)
        by_tag.setdefault(path.tag, []).append(OntologyTerm(key, path, Condition.parse(raw, key)))
    return by_tag


@dataclass(frozen=True)
class QueryBody:
    """A parsed `query` body; `narrows_topics` when it has a topic or ontology section."""

    sequence: CatalogSection
    topic: CatalogSection
    ontology: dict[str, list[OntologyTerm]]
    narrows_topics: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> QueryBody:
        """Parse every section of a `query` body.

        Raises:
            BadRequestError: The body or one of its sections is malformed.

        """
        unknown = set(body) - {'sequence', 'topic', 'ontology'}
        if unknown:
            raise BadRequestError(f'query: unknown section(s) {sorted(unknown)}')
        return cls(
            sequence=CatalogSection.parse(body.get('sequence'), 'sequence'),
            topic=CatalogSection.parse(body.get('topic'), 'topic'),
            ontology=parse_ontology(body.get('ontology')),
            narrows_topics='topic' in body or 'ontology' in body,
        )
