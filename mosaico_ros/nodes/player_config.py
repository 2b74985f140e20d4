"""Everything the player node can be told: one setting per flag and ROS parameter.

The flags are ``ros2 bag play``'s, with the same meanings; a parameter is
the long flag with ``-`` written ``_`` (``--start-offset`` is
``start_offset``). This module imports nothing heavy: the command line
builds its options from `PlayerConfig` before any command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mosaico_ros.nodes.target_settings import TargetSettings

if TYPE_CHECKING:
    from mosaico_ros.pipeline.selection import TopicSelection

DEFAULT_NODE_NAME = 'mosaico_player'
DEFAULT_CLOCK_HZ = 40.0
"""``--clock`` without a value: rosbag2's default frequency."""
NS = 1_000_000_000


def _help(text: str, **more: Any) -> dict[str, Any]:
    return {'help': text, **more}


def seconds(text: str) -> float:
    """Read a duration given on the command line (``2s``, ``500ms``, ``1.5``) as seconds.

    Raises:
        ValueError: It is not a duration.

    """
    from mosaico_ros.client.where import parse_duration

    return parse_duration(text) / NS


@dataclass(frozen=True)
class PlayerConfig(TargetSettings):
    """The player's settings (see `mosaico_ros.nodes.params` for how they become parameters).

    Durations are seconds; -1 turns a bound off, as in rosbag2.
    """

    sequences: tuple[str, ...] = field(
        default=(), metadata=_help('Sequences to play, merged on one timeline.')
    )
    rate: float = field(
        default=1.0,
        metadata=_help('Playback speed factor; 0 publishes as fast as possible.'),
    )
    loop: bool = field(default=False, metadata=_help('Play again from the start when done.'))
    delay: float = field(default=0.0, metadata=_help('Seconds to wait before playing.'))
    start_offset: float = field(
        default=0.0, metadata=_help('Start this many seconds after the beginning.')
    )
    playback_duration: float = field(
        default=-1.0, metadata=_help('Play only this many seconds (of recorded time).')
    )
    playback_until_sec: float = field(
        default=-1.0, metadata=_help('Stop at this recorded time (seconds since the epoch).')
    )
    playback_until_nsec: int = field(
        default=-1, metadata=_help('Stop at this recorded time (nanoseconds since the epoch).')
    )
    clock: float = field(
        default=0.0,
        metadata=_help(
            f'Publish /clock at this rate in Hz ({DEFAULT_CLOCK_HZ:g} when no value is given).',
            flag_value=DEFAULT_CLOCK_HZ,
            metavar='[HZ]',
        ),
    )
    remap: tuple[str, ...] = field(
        default=(), metadata=_help('Publish topic OLD as NEW: OLD:=NEW.')
    )
    topics: tuple[str, ...] = field(default=(), metadata=_help('Play only these topics.'))
    regex: str = field(default='', metadata=_help('Play only topics matching this regex.'))
    exclude_regex: str = field(default='', metadata=_help('Never play topics matching this regex.'))
    exclude_topics: tuple[str, ...] = field(default=(), metadata=_help('Never these topics.'))
    start_paused: bool = field(
        default=False, metadata=_help('Start paused (space, ~/resume or ~/toggle_paused plays).')
    )
    read_ahead_queue_size: int = field(
        default=1000, metadata=_help('Messages read ahead of playback.')
    )
    qos_profile_overrides_path: str = field(
        default='', metadata=_help('YAML of QoS profiles by topic (rosbag2 format).')
    )
    wait_for_all_acked: int = field(
        default=-1,
        metadata=_help(
            'Before exiting, wait this many ms for subscribers to acknowledge every '
            'reliable message (0: forever, -1: do not wait).'
        ),
    )
    where: tuple[str, ...] = field(
        default=(),
        metadata=_help(
            "Play only where this holds: 'Model.field.path OP value' (OP one of > >= < <= == !=), "
            "e.g. 'IMU.acceleration.x > 4'; several are joined by AND."
        ),
    )
    where_topic: str = field(
        default='',
        metadata=_help(
            'Look for --where only on this topic (exact name or glob).', aliases=('--topic',)
        ),
    )
    pre_roll: float = field(
        default=0.0,
        metadata=_help(
            'Also play this long before each --where window (2s, 500ms, seconds).',
            parse=seconds,
            metavar='DURATION',
        ),
    )
    post_roll: float = field(
        default=0.0,
        metadata=_help(
            'Also play this long after each --where window (2s, 500ms, seconds).',
            parse=seconds,
            metavar='DURATION',
        ),
    )
    disable_keyboard_controls: bool = field(
        default=False, metadata=_help('Ignore the keyboard (space pauses, right arrow steps).')
    )
    progress_bar: float = field(
        default=3.0,
        metadata=_help('Update the progress line on a terminal this often, in Hz (0: never).'),
    )

    def selection(self) -> TopicSelection:
        """Return the topic filters, in rosbag2's meaning."""
        from mosaico_ros.pipeline.selection import TopicSelection

        return TopicSelection(
            topics=self.topics,
            regex=(self.regex,) if self.regex else (),
            exclude_topics=self.exclude_topics,
            exclude_regex=(self.exclude_regex,) if self.exclude_regex else (),
            names={'regex': '--regex', 'exclude_regex': '--exclude-regex'},
        )

    def remappings(self) -> dict[str, str]:
        """Return `remap` as old name -> new name.

        Raises:
            ValueError: An entry is not OLD:=NEW.

        """
        mapping: dict[str, str] = {}
        for rule in self.remap:
            old, sep, new = rule.partition(':=')
            if not sep or not old.strip() or not new.strip():
                raise ValueError(f'--remap {rule!r} is not OLD:=NEW')
            mapping[old.strip()] = new.strip()
        return mapping

    def until_ns(self) -> int | None:
        """Return the absolute stop time the `playback_until_*` settings give, if any."""
        if self.playback_until_nsec >= 0:
            return self.playback_until_nsec
        if self.playback_until_sec >= 0:
            return round(self.playback_until_sec * NS)
        return None

    def check(self) -> None:
        """Check what cannot work, with a message a person can act on.

        Raises:
            ValueError: No sequence, a negative setting, or a bad filter or remap.

        """
        if not self.sequences:
            raise ValueError('name the sequence(s) to play: SEQUENCE... (parameter sequences)')
        if self.rate < 0:
            raise ValueError('rate must not be negative (0 plays as fast as possible)')
        for name in ('delay', 'start_offset', 'clock', 'progress_bar', 'pre_roll', 'post_roll'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must not be negative')
        if self.read_ahead_queue_size < 1:
            raise ValueError('read_ahead_queue_size must be at least 1')
        if self.wait_for_all_acked < -1:
            raise ValueError('wait_for_all_acked is -1 (off), 0 (forever) or milliseconds')
        self.selection()
        self.remappings()
        if self.where:
            from mosaico_ros.client.where import parse_where

            parse_where(self.where, topic=self.where_topic or None)
        elif self.where_topic or self.pre_roll or self.post_roll:
            raise ValueError('where_topic, pre_roll and post_roll go with where')
