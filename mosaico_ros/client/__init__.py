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
from mosaico_ros.client.sequence_handler import SequenceHandler
from mosaico_ros.client.sequence_streamer import SequenceDataStreamer
from mosaico_ros.client.session import Session
from mosaico_ros.client.session_writer import SequenceUpdater, SequenceWriter
from mosaico_ros.client.topic_handler import TopicHandler
from mosaico_ros.client.topic_reader import TopicDataStreamer
from mosaico_ros.client.topic_writer import TopicWriter
from mosaico_ros.protocol import ServerInfo

__all__ = [
    'ClientError',
    'MosaicoClient',
    'NoResponseError',
    'Notification',
    'PermissionDeniedError',
    'QueryResultItem',
    'QueryResultTopic',
    'SequenceDataStreamer',
    'SequenceHandler',
    'SequenceUpdater',
    'SequenceWriter',
    'ServerError',
    'ServerInfo',
    'Session',
    'SessionError',
    'SessionLevelErrorPolicy',
    'SessionStatus',
    'StreamerClosedError',
    'TopicDataStreamer',
    'TopicHandler',
    'TopicLevelErrorPolicy',
    'TopicWriter',
    'TopicWriterStatus',
    'WriterConfig',
]
