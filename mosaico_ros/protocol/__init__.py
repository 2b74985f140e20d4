"""The Mosaico Flight protocol as `mosaicolabs` 0.7.0 speaks it.

Shared by the client and the embedded server: action names, locators, the JSON
bodies of descriptors and tickets, the app-metadata documents of FlightInfo,
the notification documents and the answers of `info` and `query`.
"""

from mosaico_ros.protocol.actions import Action
from mosaico_ros.protocol.api_keys import PERMISSIONS, ApiKeyStatus
from mosaico_ros.protocol.commands import PutCommand, ResourceCommand, Ticket
from mosaico_ros.protocol.envelope import decode_results, encode_response
from mosaico_ros.protocol.errors import ProtocolError
from mosaico_ros.protocol.locators import (
    is_topic_locator,
    pack_session_locator,
    pack_topic_locator,
    sanitize_sequence_name,
    sanitize_topic_name,
    split_session_locator,
    unpack_topic_locator,
    validate_sequence_name,
    validate_topic_name,
)
from mosaico_ros.protocol.metadata import (
    DataInfo,
    Interval,
    SequenceAppMetadata,
    SessionInfo,
    TimeWindowInfo,
    TopicAppMetadata,
)
from mosaico_ros.protocol.notifications import (
    NOTIFICATION_TYPE,
    format_created_datetime,
    notification_request,
    parse_created_datetime,
)
from mosaico_ros.protocol.query_result import (
    QueryResultItem,
    QueryResultTopic,
    parse_query_response,
    query_response,
)
from mosaico_ros.protocol.server_info import SemVer, ServerConfig, ServerInfo

DEFAULT_PORT = 6726
"""Port of `mosaicod` and of `mosaico-ros serve` unless told otherwise."""

API_KEY_HEADER = 'mosaico-api-key-token'
"""gRPC metadata header carrying the raw API key on every call."""

TIMESTAMP_COLUMN = 'timestamp_ns'
"""First column of every topic schema: record time in nanoseconds."""

SERIALIZATION_FORMATS = ('default', 'ragged', 'image')
"""Values of `serialization_format` the 0.7.0 SDK accepts."""

__all__ = [
    'API_KEY_HEADER',
    'DEFAULT_PORT',
    'NOTIFICATION_TYPE',
    'PERMISSIONS',
    'SERIALIZATION_FORMATS',
    'TIMESTAMP_COLUMN',
    'Action',
    'ApiKeyStatus',
    'DataInfo',
    'Interval',
    'ProtocolError',
    'PutCommand',
    'QueryResultItem',
    'QueryResultTopic',
    'ResourceCommand',
    'SemVer',
    'SequenceAppMetadata',
    'ServerConfig',
    'ServerInfo',
    'SessionInfo',
    'Ticket',
    'TimeWindowInfo',
    'TopicAppMetadata',
    'decode_results',
    'encode_response',
    'format_created_datetime',
    'is_topic_locator',
    'notification_request',
    'pack_session_locator',
    'pack_topic_locator',
    'parse_created_datetime',
    'parse_query_response',
    'query_response',
    'sanitize_sequence_name',
    'sanitize_topic_name',
    'split_session_locator',
    'unpack_topic_locator',
    'validate_sequence_name',
    'validate_topic_name',
]
