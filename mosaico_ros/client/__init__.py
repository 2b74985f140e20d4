"""Mosaico client: the Flight protocol as `mosaicolabs` 0.7.0 speaks it.

Writers, handlers and streamers mirroring the SDK's public API, plus
columnar fast paths (`TopicWriter.push_batch`, `TopicHandler.iter_batches`)
for bag injection, recording and replay.
"""

from mosaico_ros.client.client import MosaicoClient
from mosaico_ros.client.config import WriterConfig
from mosaico_ros.client.enums import (
    SessionLevelErrorPolicy,
    SessionStatus,
    TopicLevelErrorPolicy,
    TopicWriterStatus,
)
from mosaico_ros.client.errors import (
    ClientError,
    NoResponseError,
    PermissionDeniedError,
    ServerError,
    SessionError,
    StreamerClosedError,
)
from mosaico_ros.client.notifications import Notification
from mosaico_ros.client.query import QueryResultItem, QueryResultTopic
from mosaico_ros.client.query_builder import (
    CatalogQuery,
    QueryBuildError,
    SequenceQuery,
    TopicQuery,
)
from mosaico_ros.client.sequence_handler import SequenceHandler
from mosaico_ros.client.sequence_streamer import SequenceDataStreamer
from mosaico_ros.client.session import Session
from mosaico_ros.client.session_writer import SequenceUpdater, SequenceWriter
from mosaico_ros.client.topic_handler import TopicHandler
from mosaico_ros.client.topic_reader import TopicDataStreamer
from mosaico_ros.client.topic_writer import TopicWriter
from mosaico_ros.client.where import (
    Condition,
    Expression,
    WhereError,
    parse_condition,
    parse_duration,
    parse_where,
)
from mosaico_ros.client.windows import TimeWindow, find_windows, merge_spans, sequence_spans
from mosaico_ros.protocol import ServerInfo

__all__ = [
    'CatalogQuery',
    'ClientError',
    'Condition',
    'Expression',
    'MosaicoClient',
    'NoResponseError',
    'Notification',
    'PermissionDeniedError',
    'QueryBuildError',
    'QueryResultItem',
    'QueryResultTopic',
    'SequenceDataStreamer',
    'SequenceHandler',
    'SequenceQuery',
    'SequenceUpdater',
    'SequenceWriter',
    'ServerError',
    'ServerInfo',
    'Session',
    'SessionError',
    'SessionLevelErrorPolicy',
    'SessionStatus',
    'StreamerClosedError',
    'TimeWindow',
    'TopicDataStreamer',
    'TopicHandler',
    'TopicLevelErrorPolicy',
    'TopicQuery',
    'TopicWriter',
    'TopicWriterStatus',
    'WhereError',
    'WriterConfig',
    'find_windows',
    'merge_spans',
    'parse_condition',
    'parse_duration',
    'parse_where',
    'sequence_spans',
]
