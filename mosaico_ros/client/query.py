"""Results of the `query` action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mosaico_ros.protocol import ProtocolError, unpack_topic_locator


@dataclass(frozen=True)
class QueryResultTopic:
    """A matching topic: locator, name (leading `/`) and ontology tag."""

    locator: str
    name: str
    ontology_tag: str


@dataclass(frozen=True)
class QueryResultItem:
    """A matching sequence and its matching topics."""

    sequence: str
    topics: list[QueryResultTopic] = field(default_factory=list)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> QueryResultItem:
        """Parse one element of `items`.

        Raises:
            ProtocolError: The item lacks `sequence` or well-formed `topics`.

        """
        try:
            topics = []
            for topic in document['topics']:
                locator = str(topic['locator'])
                topics.append(
                    QueryResultTopic(
                        locator, unpack_topic_locator(locator)[1], str(topic['ontology_tag'])
                    ),
                )
            return cls(str(document['sequence']), topics)
        except (KeyError, TypeError) as err:
            raise ProtocolError(f'query item is malformed ({err!r}): {document!r}') from err


def parse_query_response(response: Any) -> list[QueryResultItem]:
    """Parse the `response` object of `query`.

    Raises:
        ProtocolError: `items` is missing or malformed.

    """
    if not isinstance(response, dict) or not isinstance(response.get('items'), list):
        raise ProtocolError(f'query response has no items list: {response!r}')
    return [QueryResultItem.from_dict(item) for item in response['items']]
