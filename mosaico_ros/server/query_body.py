"""The body of a `query` request, parsed once into checked conditions ready to evaluate.

A request is parsed and checked before any record is read, so a malformed
condition is reported even when no sequence or topic would have reached it.

* The sequence and topic sections become `CatalogSection`s: one
  `CatalogTerm` per record attribute and per user-metadata dot path. Names
  and tags are strings and `created_at_ns` is integer nanoseconds; a
  condition of another type is refused. One `CatalogSection.matches` serves
  sequences and topics alike.
* Topic names carry one leading `/` (`TopicRecord.name`). Equality values get
  it when missing; a `$match` pattern that starts with a literal character
  other than `/` gets it too (`camera/*`), while one that starts with a
  wildcard is matched against the name as it is, so `?camera/left*` matches
  `/camera/left/imu`, as in `mosaicod`.
* The ontology section is grouped by tag into `OntologyTerm`s; keys of a
  built-in ontology model are resolved against its schema here, keys of a
  custom tag against each topic's schema when it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from mosaico_ros.server.errors import BadRequestError, quote
from mosaico_ros.server.field_paths import FieldPath
from mosaico_ros.server.predicates import Condition, lookup
from mosaico_ros.server.schemas import builtin_schema

_SECTION_FIELDS = {
    'sequence': {'name': 'string', 'created_at_ns': 'integer', 'user_metadata': ''},
    'topic': {
        'name': 'string',
        'ontology_tag': 'string',
        'created_at_ns': 'integer',
        'user_metadata': '',
    },
}
_METADATA = 'user_metadata'
MAX_TERMS = 256
"""Most conditions in one query body."""


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
        unknown = set(section) - set(allowed)
        if unknown:
            raise BadRequestError(
                f'query {where} section: unknown field(s) {quote(sorted(unknown))}; '
                f'expected {sorted(allowed)}',
            )
        terms: list[CatalogTerm] = []
        for field, raw in section.items():
            if field == _METADATA:
                terms.extend(_metadata_terms(raw, where))
                continue
            condition = Condition.parse(raw, f'{where}.{field}')
            condition.check_kind(allowed[field], f'{where}.{field}')
            if (where, field) == ('topic', 'name'):
                condition = _topic_name(condition)
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


def _topic_name(condition: Condition) -> Condition:
    """Give topic-name values the leading `/` of `TopicRecord.name` (see the module docstring)."""

    def slashed(value: Any) -> Any:
        return '/' + value.strip('/') if isinstance(value, str) else value

    if condition.op == '$match':
        assert condition.glob is not None
        if condition.glob.starts_with_literal and not condition.value.startswith('/'):
            glob = condition.glob.with_prefix('/')
            return Condition(condition.op, glob.pattern, glob)
        return condition
    if condition.op in ('$in', '$between', '$outside'):
        return replace(condition, value=[slashed(item) for item in condition.value])
    return replace(condition, value=slashed(condition.value))


@dataclass(frozen=True)
class OntologyTerm:
    """One ontology condition: where to look and what to test."""

    path: FieldPath
    condition: Condition

    @property
    def key(self) -> str:
        """The ontology key as the client sent it."""
        return self.path.key


def parse_ontology(section: Any) -> dict[str, list[OntologyTerm]]:
    """Group an ontology section's conditions by tag, checked against built-in models.

    Raises:
        BadRequestError: The section, a key or a condition is malformed, or a
            condition does not fit the built-in model's field.

    """
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise BadRequestError('query ontology section must be an object')
    by_tag: dict[str, list[OntologyTerm]] = {}
    for key, raw in section.items():
        path = FieldPath.parse(key)
        condition = Condition.parse(raw, key)
        schema = builtin_schema(path.tag)
        if schema is not None:
            condition.check_type(path.leaf_type(schema, f'model {path.tag}'), key)
        by_tag.setdefault(path.tag, []).append(OntologyTerm(path, condition))
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
            raise BadRequestError(f'query: unknown section(s) {quote(sorted(unknown))}')
        parsed = cls(
            sequence=CatalogSection.parse(body.get('sequence'), 'sequence'),
            topic=CatalogSection.parse(body.get('topic'), 'topic'),
            ontology=parse_ontology(body.get('ontology')),
            narrows_topics='topic' in body or 'ontology' in body,
        )
        count = len(parsed.sequence.terms) + len(parsed.topic.terms)
        count += sum(len(terms) for terms in parsed.ontology.values())
        if count > MAX_TERMS:
            raise BadRequestError(f'query has {count} conditions; at most {MAX_TERMS}')
        return parsed
