"""What a playback did, per topic: published, and every message not published with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

RMW_REFUSED = 'the RMW kept refusing to publish (reliable history full)'


@dataclass
class PlayedTopic:
    """One topic being played: its publisher and what happened to its messages.

    Attributes:
        topic: Topic name as stored.
        name: Topic name as published (after ``--remap``).
        msgtype: ROS type.
        latched: Offered transient-local: its state is published first at every start.
        publisher: The rclpy publisher.
        published: Messages published.
        refusals: Publish calls the RMW refused, each then retried.
        dropped: Messages given up after the RMW kept refusing them.
        last_error: The RMW's last refusal text.

    """

    topic: str
    name: str
    msgtype: str
    latched: bool
    publisher: Any = field(default=None, repr=False)
    published: int = 0
    refusals: int = 0
    dropped: int = 0
    last_error: str = ''


@dataclass(frozen=True)
class NotPlayed:
    """A selected topic that is not played at all.

    Attributes:
        msgtype: Its ROS type, '' when unknown.
        reason: Why, in words a person can act on.
        messages: Its stored messages.

    """

    msgtype: str
    reason: str
    messages: int


@dataclass
class PlaybackReport:
    """The closing account of a playback.

    Attributes:
        sequences: What was played.
        topics: The topics played.
        not_played: Topic -> why it was not played at all.
        unrebuilt: Topic -> reason -> stored rows the adapter could not rebuild.
        loops: Times the playback reached the end.
        error: What stopped the playback early, if anything did.
        elapsed_s: Wall time of the playback.

    """

    sequences: tuple[str, ...]
    topics: list[PlayedTopic] = field(default_factory=list)
    not_played: dict[str, NotPlayed] = field(default_factory=dict)
    unrebuilt: dict[str, dict[str, int]] = field(default_factory=dict)
    loops: int = 0
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def published(self) -> int:
        """Messages published over every topic."""
        return sum(topic.published for topic in self.topics)

    def problems(self) -> list[str]:
        """Every message not published, as one line per topic and reason."""
        lines = [
            f'topic {topic}: {item.messages} message(s) not played: {item.reason}'
            for topic, item in self.not_played.items()
        ]
        for topic, reasons in self.unrebuilt.items():
            lines.extend(
                f'topic {topic}: {count} message(s) not played: {reason}'
                for reason, count in reasons.items()
            )
        for played in self.topics:
            if played.dropped:
                lines.append(
                    f'topic {played.name}: {played.dropped} message(s) not played: '
                    f'{RMW_REFUSED} ({played.last_error})'
                )
        if self.error is not None:
            lines.append(self.error)
        return lines

    @property
    def clean(self) -> bool:
        """True when every stored message of every selected topic was published."""
        return not self.problems()

    def table(self) -> Table:
        """Return the per-topic summary table."""
        from rich.table import Table

        title = f'played {", ".join(self.sequences)}'
        table = Table(title=title, title_justify='left')
        for column in ('topic', 'ros type', 'published', 'retried', 'not played'):
            numeric = column in ('published', 'retried')
            table.add_column(column, justify='right' if numeric else 'left', overflow='fold')
        for played in self.topics:
            missing = sum(self.unrebuilt.get(played.topic, {}).values()) + played.dropped
            name = (
                played.name if played.name == played.topic else f'{played.topic} -> {played.name}'
            )
            table.add_row(
                name,
                played.msgtype,
                str(played.published),
                str(played.refusals),
                str(missing) if missing else '-',
            )
        for topic, item in self.not_played.items():
            table.add_row(topic, item.msgtype or '-', '0', '-', str(item.messages))
        loops = f', {self.loops} loop(s)' if self.loops > 1 else ''
        table.caption = f'{self.published} message(s) published in {self.elapsed_s:.2f} s{loops}'
        return table
