"""The answer of the `query` action: matching sequences and their topics.

The server builds it with `QueryResultItem.to_dict` and the client reads it
with `parse_query_response`, so both sides share one shape:
`{"items": [{"sequence": name, "topics": [{"locator", "ontology_tag"}]}]}`.
A topic's name is not on the wire; it is taken from its locator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError
from mosaico_ros.protocol.locators import unpack_topic_locator


@dataclass(frozen=True)
class QueryResultTopic:
    """A matching topic: locator, name (leading `/`) and ontology tag."""

    locator: str
    name: str
    ontology_tag: str

    def to_dict(self) -> dict[str, str]:
        """Return the wire form."""
        return {'locator': self.locator, 'ontology_tag': self.ontology_tag}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> QueryResultTopic:
        """Parse one element of an item's `topics`.

        Raises:
            KeyError: A mandatory key is missing.
            TypeError: The document is not an object.

        """
        locator = str(document['locator'])
        return cls(locator, unpack_topic_locator(locator)[1], str(document['ontology_tag']))


@dataclass(frozen=True)
class QueryResultItem:
    """A matching sequence and its matching topics."""

    sequence: str
    topics: list[QueryResultTopic] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form of one element of `items`."""
        return {'sequence': self.sequence, 'topics': [topic.to_dict() for topic in self.topics]}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> QueryResultItem:
        """Parse one element of `items`.

        Raises:
            ProtocolError: The item lacks `sequence` or well-formed `topics`.

        """
        try:
            topics = [QueryResultTopic.from_dict(topic) for topic in document['topics']]
            return cls(str(document['sequence']), topics)
        except (KeyError, TypeError) as err:
            raise ProtocolError(f'query item is malformed ({err!r}): {document!r}') from err


def query_response(items: Iterable[QueryResultItem]) -> dict[str, Any]:
    """Return the `response` object of `query`."""
    return {'items': [item.to_dict() for item in items]}


def parse_query_response(response: Any) -> list[QueryResultItem]:
    """Parse the `response` object of `query`.

    Raises:
        ProtocolError: `items` is missing or malformed.

    """
    if not isinstance(response, dict) or not isinstance(response.get('items'), list):
        raise ProtocolError(f'query response has no items list: {response!r}')
    return [QueryResultItem.from_dict(item) for item in response['items']]
