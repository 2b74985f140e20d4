"""Results of the `query` action, as the client returns them.

The shape is shared with the server and defined in
`mosaico_ros.protocol.query_result`; this module keeps the client's names.
"""

from __future__ import annotations

from mosaico_ros.protocol import QueryResultItem, QueryResultTopic, parse_query_response

__all__ = ['QueryResultItem', 'QueryResultTopic', 'parse_query_response']
