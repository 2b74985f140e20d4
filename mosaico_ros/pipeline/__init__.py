"""The transport-neutral pipeline shared by `inject`, the recorder and the player.

Forward (a source into a sequence): `TopicInfo` and `RawMessage` in
(`envelope`), per-topic `TopicBuffer`s cut by a `CutPolicy` (`buffers`,
`policy`), each topic's `Route` chosen by the `Router` (`routing`),
conversion in-process or in workers (`conversion`, `decoding`), batches
written by the `SessionSink` (`sink`), counted in a `SequenceReport`
(`report`); `Pipeline` (`driver`) runs them.

Reverse (a sequence back into ROS messages): `StoredSequences` and
`merge_by_time` (`replay`).

Shared vocabulary: `TopicSelection` (`selection`), QoS profiles (`qos`),
the typestore augmentation (`types`).
"""

from mosaico_ros.pipeline.driver import Pipeline
from mosaico_ros.pipeline.envelope import Origin, RawMessage, TopicInfo
from mosaico_ros.pipeline.errors import ConversionError, PipelineError, SinkError
from mosaico_ros.pipeline.policy import CutPolicy
from mosaico_ros.pipeline.replay import StoredSequences, TopicEncoder, merge_by_time
from mosaico_ros.pipeline.report import (
    Failure,
    SequenceReport,
    SequenceStatus,
    TopicReport,
    exit_code,
)
from mosaico_ros.pipeline.routing import Refused, Route, Router
from mosaico_ros.pipeline.selection import TopicSelection
from mosaico_ros.pipeline.sink import SessionSink
from mosaico_ros.pipeline.types import TypeResolution, TypeResolver, resolve_types

__all__ = [
    'ConversionError',
    'CutPolicy',
    'Failure',
    'Origin',
    'Pipeline',
    'PipelineError',
    'RawMessage',
    'Refused',
    'Route',
    'Router',
    'SequenceReport',
    'SequenceStatus',
    'SessionSink',
    'SinkError',
    'StoredSequences',
    'TopicEncoder',
    'TopicInfo',
    'TopicReport',
    'TopicSelection',
    'TypeResolution',
    'TypeResolver',
    'exit_code',
    'merge_by_time',
    'resolve_types',
]
