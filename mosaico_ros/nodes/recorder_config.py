"""Everything the recorder node can be told: one setting per flag and ROS parameter."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from mosaico_ros.nodes.target_settings import TargetSettings

if TYPE_CHECKING:
    from mosaico_ros.pipeline.selection import TopicSelection

DEFAULT_NODE_NAME = 'mosaico_recorder'
GIB = 1 << 30


def _help(text: str, param: str | None = None) -> dict[str, str]:
    return {'help': text, **({'param': param} if param else {})}


@dataclass(frozen=True)
class RecorderConfig(TargetSettings):
    """The recorder's settings (see `mosaico_ros.nodes.params` for how they become parameters).

    Sizes are bytes, durations seconds; 0 turns a bound off.
    """

    topics: tuple[str, ...] = field(default=(), metadata=_help('Topics to record (exact names).'))
    all_topics: bool = field(default=False, metadata=_help('Record every topic.', 'all'))
    regex: str = field(default='', metadata=_help('Record topics matching this regex.'))
    exclude_regex: str = field(default='', metadata=_help('Never record topics matching this.'))
    exclude_topics: tuple[str, ...] = field(default=(), metadata=_help('Never these topics.'))
    topic_types: tuple[str, ...] = field(default=(), metadata=_help('Only topics of these types.'))
    exclude_topic_types: tuple[str, ...] = field(
        default=(), metadata=_help('Never topics of these types.')
    )
    include_hidden_topics: bool = field(
        default=False, metadata=_help('Also record hidden topics (a name part starting with _).')
    )
    include_unpublished_topics: bool = field(
        default=False, metadata=_help('Also subscribe to topics that have no publisher yet.')
    )
    polling_interval: int = field(
        default=100, metadata=_help('Milliseconds between looks for new topics.')
    )
    no_discovery: bool = field(
        default=False, metadata=_help('Subscribe only to topics present at start.')
    )
    subscription_depth: int = field(
        default=500, metadata=_help('History depth of every subscription (messages).')
    )
    qos_profile_overrides_path: str = field(
        default='', metadata=_help('YAML of QoS profiles by topic (rosbag2 format).')
    )
    output: str = field(
        default='', metadata=_help('Sequence name; _0, _1 ... are added per split.')
    )
    metadata: str = field(default='', metadata=_help('Sequence metadata: a JSON object.'))
    max_bag_duration: float = field(
        default=0.0, metadata=_help('Start the next sequence after this many seconds.')
    )
    max_bag_size: int = field(
        default=0, metadata=_help('Start the next sequence after this many payload bytes.')
    )
    start_paused: bool = field(default=False, metadata=_help('Start paused (~/resume starts).'))
    use_sim_time: bool = field(default=False, metadata=_help('Take row times from /clock.'))
    snapshot_mode: bool = field(
        default=False, metadata=_help('Keep a ring buffer; ~/snapshot stores it as a sequence.')
    )
    max_cache_size: int = field(
        default=100 << 20, metadata=_help('Snapshot ring buffer bound in bytes.')
    )
    max_cache_duration: float = field(
        default=0.0, metadata=_help('Snapshot ring buffer bound in seconds.')
    )
    spool_dir: str = field(
        default='', metadata=_help('Where messages are spooled before upload (MCAP files).')
    )
    max_spool_size: int = field(
        default=4 * GIB, metadata=_help('Bytes the spool may hold; beyond, messages are lost.')
    )
    spool_flush_period: float = field(
        default=0.5, metadata=_help('Seconds between spool syncs: what a power cut can lose.')
    )
    max_latency: float = field(
        default=1.0, metadata=_help('Seconds a message may wait before it is uploaded.')
    )

    def selection(self) -> TopicSelection:
        """Return the topic filters, in rosbag2's meaning."""
        from mosaico_ros.pipeline.selection import TopicSelection

        return TopicSelection(
            topics=self.topics,
            regex=(self.regex,) if self.regex else (),
            exclude_topics=self.exclude_topics,
            exclude_regex=(self.exclude_regex,) if self.exclude_regex else (),
            topic_types=self.topic_types,
            exclude_topic_types=self.exclude_topic_types,
            all_topics=self.all_topics,
            names={'regex': '--regex', 'exclude_regex': '--exclude-regex'},
        )

    def check(self) -> None:
        """Check what cannot work, with a message a person can act on.

        Raises:
            ValueError: No topic is chosen, or a bound is negative.

        """
        if not (self.topics or self.all_topics or self.regex):
            raise ValueError('choose what to record: TOPIC..., --all or --regex')
        for name in ('max_bag_duration', 'max_bag_size', 'max_cache_size', 'max_spool_size'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must not be negative')
        if self.spool_flush_period <= 0 or self.max_latency <= 0:
            raise ValueError('spool_flush_period and max_latency must be positive')
        self.selection()

    def sequence_base(self) -> str:
        """Return the sequence name without split suffix: --output, or a date-time name."""
        if self.output:
            return self.output
        return datetime.now(tz=timezone.utc).strftime('rosbag2_%Y_%m_%d-%H_%M_%S')

    def spool_path(self, node_name: str) -> Path:
        """Return the spool directory: --spool-dir, else one per node in the XDG state dir."""
        if self.spool_dir:
            return Path(self.spool_dir).expanduser()
        state = Path(os.environ.get('XDG_STATE_HOME', Path.home() / '.local' / 'state'))
        return state / 'mosaico_ros' / 'spool' / node_name
