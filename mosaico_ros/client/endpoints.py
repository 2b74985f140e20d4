"""Topic endpoints of a FlightInfo: ticket plus app metadata."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyarrow import flight

from mosaico_ros.protocol import (
    SERIALIZATION_FORMATS,
    ProtocolError,
    TopicAppMetadata,
    unpack_topic_locator,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicEndpoint:
    """Where to DoGet one topic, and what the server says about it."""

    name: str
    ticket: flight.Ticket
    metadata: TopicAppMetadata


def topic_endpoints(info: flight.FlightInfo) -> list[TopicEndpoint]:
    """Parse the endpoints of a FlightInfo, skipping (and logging) malformed ones."""
    endpoints = []
    for endpoint in info.endpoints:
        try:
            metadata = TopicAppMetadata.decode(endpoint.app_metadata)
            name = unpack_topic_locator(metadata.resource_locator)[1]
        except ProtocolError as err:
            logger.warning('skipping endpoint: %s', err)
            continue
        if metadata.serialization_format not in SERIALIZATION_FORMATS:
            logger.warning(
                'skipping endpoint %s: unknown serialization_format %r',
                metadata.resource_locator,
                metadata.serialization_format,
            )
            continue
        endpoints.append(TopicEndpoint(name, endpoint.ticket, metadata))
    return endpoints
