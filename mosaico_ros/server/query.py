"""The `query` and `topic_filter_*` actions, over the catalog and the stored data.

Semantics chosen where PROTOCOL.md §8 is open:

* Every condition is ANDed. Sequence and topic sections filter catalog
  fields; a user-metadata value that is a list matches when any element does.
* An ontology key `<Tag>.<path>` only concerns topics of that tag. A topic
  matches its tag's conditions when at least one of its rows meets all of
  them at once. A sequence matches when every tag named in the ontology
  section has at least one matching topic; it then lists those topics.
* A sequence-only query lists each matching sequence with all its topics;
  with a topic or ontology section, sequences left with no topic drop out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from mosaico_ros.protocol import (
    TIMESTAMP_COLUMN,
    QueryResultItem,
    QueryResultTopic,
    query_response,
)
from mosaico_ros.server.catalog import Catalog
from mosaico_ros.server.chunks import ChunkFiles
from mosaico_ros.server.clusters import Clusterer, Span, intersect_all
from mosaico_ros.server.errors import BadRequestError
from mosaico_ros.server.query_body import OntologyTerm, QueryBody, parse_ontology
from mosaico_ros.server.reader import Window, read_topic
from mosaico_ros.server.records import ChunkRecord, TopicRecord
from mosaico_ros.server.requests import MAX_NAME_CHARS, int_field, split_topic, str_field
from mosaico_ros.server.schemas import deserialize_schema

_MAX_NS = 2**63 - 1

MAX_INTERSECT_TOPICS = 64
"""Most topics one `topic_filter_intersect` request may name."""


class QueryEngine:
    """Answers queries from one catalog and its chunk files."""

    def __init__(self, catalog: Catalog, files: ChunkFiles) -> None:
        self._catalog = catalog
        self._files = files

    # ------------------------------------------------------------------ query

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run a `query` request and return its `{"items": [...]}` response.

        Raises:
            BadRequestError: The request is malformed.

        """
        request = QueryBody.parse(body)
        items: list[QueryResultItem] = []
        for sequence in self._catalog.visible_sequences():
            if not request.sequence.matches(sequence):
                continue
            topics = [
                topic
                for topic in self._catalog.visible_topics(sequence.id)
                if request.topic.matches(topic)
            ]
            if request.ontology:
                topics = self._ontology_topics(topics, request.ontology)
            if request.narrows_topics and not topics:
                continue
            items.append(
                QueryResultItem(
                    sequence.name,
                    [
                        QueryResultTopic(topic.locator, topic.name, topic.ontology_tag)
                        for topic in topics
                    ],
                ),
            )
        return query_response(items)

    def _ontology_topics(
        self,
        topics: list[TopicRecord],
        ontology: dict[str, list[OntologyTerm]],
    ) -> list[TopicRecord]:
        matched: list[TopicRecord] = []
        tags_found: set[str] = set()
        for topic in topics:
            terms = ontology.get(topic.ontology_tag)
            if terms and self._any_row(topic, terms):
                matched.append(topic)
                tags_found.add(topic.ontology_tag)
        if tags_found != set(ontology):
            return []
        return matched

    def _any_row(self, topic: TopicRecord, terms: list[OntologyTerm]) -> bool:
        return any(bool(mask.any()) for _, mask in self._row_masks(topic, terms, Window()))

    # --------------------------------------------------------- row evaluation

    def _row_masks(
        self,
        topic: TopicRecord,
        terms: list[OntologyTerm],
        window: Window,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield `(timestamps, mask)` per batch of the topic, in time order."""
        if topic.schema_ipc is None:
            return
        schema = deserialize_schema(topic.schema_ipc)
        columns = [TIMESTAMP_COLUMN]
        for term in terms:
            term.condition.check_type(
                term.path.leaf_type(schema, f'topic {topic.locator}'), term.key
            )
            if term.path.column not in columns:
                columns.append(term.path.column)
        projection = pa.schema([schema.field(name) for name in columns])
        chunks = [chunk for chunk in self._catalog.chunks(topic.id) if _may_hold(chunk, terms)]
        for batch in read_topic(self._files, chunks, projection, window):
            mask = np.ones(batch.num_rows, dtype=bool)
            for term in terms:
                mask &= term.path.mask(batch.column(term.path.column), term.condition)
            yield batch.column(TIMESTAMP_COLUMN).to_numpy(), mask

    # --------------------------------------------------------------- clusters

    def _clusters(self, spec: dict[str, Any], window: Window, where: str) -> list[Span]:
        locator = str_field(spec, 'locator', where, 2 * MAX_NAME_CHARS + 1)
        topic = self._catalog.visible_topic(*split_topic(locator, where))
        dt = _optional_int(spec, 'clustering_dt_ns', where) or 0
        terms = parse_ontology(spec.get('ontology') or {}).get(topic.ontology_tag, [])
        clusterer = Clusterer(dt)
        for stamps, mask in self._row_masks(topic, terms, window):
            clusterer.feed(stamps[mask])
        return clusterer.finish()

    def clusterize(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Answer `topic_filter_clusterize`: one response object per cluster.

        `timestamp_range` (`{"start_ns", "end_ns"}`) limits the rows
        considered to `[start_ns, end_ns]`, both inclusive.

        Raises:
            BadRequestError: The request is malformed.
            NotFoundError: The topic is unknown or not visible.

        """
        where = 'topic_filter_clusterize'
        window = Window()
        bounds = body.get('timestamp_range')
        if bounds is not None:
            if not isinstance(bounds, dict):
                raise BadRequestError(f'{where}: timestamp_range must be an object or null')
            start = _optional_int(bounds, 'start_ns', f'{where}: timestamp_range', -(2**63))
            end = _optional_int(bounds, 'end_ns', f'{where}: timestamp_range', -(2**63))
            if start is not None and end is not None and start > end:
                raise BadRequestError(f'{where}: timestamp_range starts after it ends')
            # Inclusive end; the largest one leaves the window open.
            window = Window(start, None if end is None or end == _MAX_NS else end + 1)
        return _responses(self._clusters(body, window, where))

    def intersect(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Answer `topic_filter_intersect`: one response object per common span.

        Raises:
            BadRequestError: The request is malformed.
            NotFoundError: A topic is unknown or not visible.

        """
        where = 'topic_filter_intersect'
        specs = body.get('topics')
        if not isinstance(specs, list) or not specs:
            raise BadRequestError(f'{where}: topics must be a non-empty list')
        if len(specs) > MAX_INTERSECT_TOPICS:
            raise BadRequestError(f'{where}: at most {MAX_INTERSECT_TOPICS} topics')
        dt = _optional_int(body, 'intersect_dt_ns', where) or 0
        per_topic = []
        for spec in specs:
            if not isinstance(spec, dict):
                raise BadRequestError(f'{where}: each topic must be an object')
            per_topic.append(self._clusters(spec, Window(), where))
        return _responses(intersect_all(per_topic, dt))


def _optional_int(document: dict[str, Any], key: str, where: str, minimum: int = 0) -> int | None:
    value = document.get(key)
    return None if value is None else int_field(value, f'{where}: {key}', minimum=minimum)


def _responses(spans: list[Span]) -> list[dict[str, Any]]:
    return [
        {'id': index, 'ts': {'start_ns': start, 'end_ns': end}}
        for index, (start, end) in enumerate(spans)
    ]


def _may_hold(chunk: ChunkRecord, terms: list[OntologyTerm]) -> bool:
    for term in terms:
        key = term.path.stats_key
        if key is None:
            continue
        extremes = chunk.column_stats.get(key)
        if extremes is not None and not term.condition.may_match(*extremes):
            return False
    return True
