"""Time windows where an expression holds, from the server's `topic_filter_clusterize`.

The server finds the topics whose records match (`query`), then, per topic,
the clusters of matching records (`topic_filter_clusterize`): runs of
matches whose time gap to the next match is at most `clustering_dt_ns`
(SDK semantics; `clustering_dt_ns = 0` would mean one cluster from the first
match to the last, so a positive gap is always sent). The client merges the
clusters again by the same gap, so the answer does not depend on how a
server splits them. A window is `[start_ns, end_ns]`, both inclusive: the
times of its first and last matching record.

Example:
    >>> where = parse_where('IMU.acceleration.x > 4')
    >>> for window in find_windows(client, where, sequences=['drive'], gap_ns=1_000_000_000):
    ...     print(window.topic, window.start_ns, window.end_ns)

"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mosaico_ros.client.query_builder import CatalogQuery, SequenceQuery, TopicQuery
from mosaico_ros.protocol import Action, ProtocolError

if TYPE_CHECKING:
    from mosaico_ros.client.client import MosaicoClient
    from mosaico_ros.client.where import Expression

DEFAULT_GAP_NS = 1_000_000_000
"""Matches closer than this (1 s) belong to one window unless told otherwise."""

Span = tuple[int, int]
"""`(start_ns, end_ns)`, both inclusive."""


@dataclass(frozen=True, order=True)
class TimeWindow:
    """A stretch of one topic where the expression holds.

    Attributes:
        sequence: Sequence name.
        topic: Topic name (leading `/`).
        start_ns: Time of the first matching record.
        end_ns: Time of the last matching record.
        ontology_tag: The topic's tag.

    """

    sequence: str
    topic: str
    start_ns: int
    end_ns: int
    ontology_tag: str = ''

    @property
    def span(self) -> Span:
        """`(start_ns, end_ns)`."""
        return self.start_ns, self.end_ns


def merge_spans(spans: Iterable[Span], gap_ns: int = 0) -> list[Span]:
    """Union of spans, joining those at most `gap_ns` apart, in time order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= gap_ns:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intersect_spans(left: Iterable[Span], right: Iterable[Span]) -> list[Span]:
    """Return the times in both lists of spans (each list merged first)."""
    a, b = merge_spans(left), merge_spans(right)
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def widen_spans(spans: Iterable[Span], before_ns: int = 0, after_ns: int = 0) -> list[Span]:
    """Spans grown by a pre-roll and a post-roll, merged where they then overlap."""
    return merge_spans((start - before_ns, end + after_ns) for start, end in spans)


def clusterize(
    client: MosaicoClient,
    locator: str,
    ontology: dict[str, Any],
    gap_ns: int,
    time_range: Span | None = None,
) -> list[Span]:
    """Run `topic_filter_clusterize` on one topic.

    Args:
        client: Connected client.
        locator: Topic locator, `sequence/topic`.
        ontology: Conditions on the topic's tag (`Expression.to_ontology(tag)`).
        gap_ns: Largest time between matches of one cluster; must be positive.
        time_range: Only matches within this range, if given.

    Returns:
        The clusters, as the server sends them.

    Raises:
        ValueError: `gap_ns` is not positive.
        ServerError: The server refused.
        ProtocolError: The answer is malformed.

    """
    if gap_ns <= 0:
        raise ValueError(f'the gap between windows must be positive, got {gap_ns} ns')
    body = {
        'locator': locator,
        'clustering_dt_ns': gap_ns,
        'ontology': ontology,
        'timestamp_range': (
            None if time_range is None else {'start_ns': time_range[0], 'end_ns': time_range[1]}
        ),
    }
    pages = client.connection.action(Action.TOPIC_FILTER_CLUSTERIZE, body) or []
    try:
        return [(int(page['ts']['start_ns']), int(page['ts']['end_ns'])) for page in pages]
    except (KeyError, TypeError, ValueError) as err:
        raise ProtocolError(
            f'topic_filter_clusterize {locator}: malformed cluster {err!r}'
        ) from err


def find_windows(
    client: MosaicoClient,
    where: Expression,
    *,
    sequences: Iterable[str] | None = None,
    query: CatalogQuery | None = None,
    gap_ns: int = DEFAULT_GAP_NS,
) -> list[TimeWindow]:
    """Return where `where` holds, per topic, merged by `gap_ns`.

    Args:
        client: Connected client.
        where: The expression; its `topic` restricts the topics searched.
        sequences: Only these sequences (all when None).
        query: Further catalog conditions, not changed (its ontology section
            is replaced by `where`).
        gap_ns: Matches at most this far apart form one window.

    Returns:
        The windows, by sequence, topic and time.

    Raises:
        ValueError: `gap_ns` is not positive.
        ServerError: The server refused.

    """
    return sorted(_windows(client, where, sequences, query, gap_ns))


def _windows(
    client: MosaicoClient,
    where: Expression,
    sequences: Iterable[str] | None,
    query: CatalogQuery | None,
    gap_ns: int,
) -> Iterator[TimeWindow]:
    base = copy.deepcopy(query) if query is not None else CatalogQuery()
    sequence_query = base.sequence
    if sequences is not None:
        names = list(sequences)
        if not names:
            return
        sequence_query = (sequence_query or SequenceQuery()).with_names(names)
    topic_query = base.topic
    if where.topic is not None:
        topic_query = (topic_query or TopicQuery()).with_name_like(where.topic)
    request = CatalogQuery(sequence=sequence_query, topic=topic_query, ontology=where)
    for item in client.query(request):
        for topic in item.topics:
            if topic.ontology_tag not in where.tags:
                continue
            clusters = clusterize(
                client, topic.locator, where.to_ontology(topic.ontology_tag), gap_ns
            )
            for start, end in merge_spans(clusters, gap_ns):
                yield TimeWindow(item.sequence, topic.name, start, end, topic.ontology_tag)


def sequence_spans(windows: Iterable[TimeWindow], where: Expression) -> dict[str, list[Span]]:
    """Per sequence, the times where the whole expression holds.

    Within one tag, windows of its topics are joined (any topic may match);
    across tags they are intersected (every tag's conditions must hold).
    Sequences lacking a window for some tag are left out.
    """
    by_sequence: dict[str, dict[str, list[Span]]] = {}
    for window in windows:
        by_sequence.setdefault(window.sequence, {}).setdefault(window.ontology_tag, []).append(
            window.span
        )
    result: dict[str, list[Span]] = {}
    for sequence, by_tag in by_sequence.items():
        if any(tag not in by_tag for tag in where.tags):
            continue
        spans: list[Span] | None = None
        for tag in where.tags:
            spans = (
                merge_spans(by_tag[tag]) if spans is None else intersect_spans(spans, by_tag[tag])
            )
        if spans:
            result[sequence] = spans
    return result
