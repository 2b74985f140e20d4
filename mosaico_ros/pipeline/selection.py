"""Which topics a run takes, in rosbag2's vocabulary, for inject, record, play and export.

A topic is taken when some positive filter takes it (or no positive filter
is given, or `all_topics` is set) and no exclusion drops it:

- positive: `topics` (exact names), `regex` (Python regular expressions
  searched anywhere in the name, like ``ros2 bag record -e``), and on the
  type: `topic_types` (exact) and `type_regex`;
- exclusions: `exclude_topics` (exact), `exclude_regex`, `exclude_topic_types`.

Topic and type filters combine with AND: a topic must pass both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mosaico_ros.adapters.msgtype import normalize_msgtype


def _compile(patterns: Sequence[str], option: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise ValueError(f'{option} {pattern!r} is not a regular expression: {err}') from None
    return tuple(compiled)


@dataclass(frozen=True)
class TopicSelection:
    """Topic and type filters, compiled once.

    Attributes:
        topics: Exact topic names to take.
        regex: Regular expressions of topic names to take.
        exclude_topics: Exact topic names to drop.
        exclude_regex: Regular expressions of topic names to drop.
        topic_types: Exact types to take (any spelling: `pkg/Name` or `pkg/msg/Name`).
        type_regex: Regular expressions of types to take.
        exclude_topic_types: Exact types to drop.
        all_topics: Take every topic the other filters do not drop.
        names: How the options are called on the command line, for the reasons.

    Raises:
        ValueError: A pattern is not a regular expression.

    """

    topics: Sequence[str] = ()
    regex: Sequence[str] = ()
    exclude_topics: Sequence[str] = ()
    exclude_regex: Sequence[str] = ()
    topic_types: Sequence[str] = ()
    type_regex: Sequence[str] = ()
    exclude_topic_types: Sequence[str] = ()
    all_topics: bool = False
    names: dict[str, str] = field(default_factory=dict, compare=False)
    _regex: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _exclude_regex: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _type_regex: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile the patterns."""
        set_ = object.__setattr__
        set_(self, '_regex', _compile(self.regex, self._name('regex')))
        set_(self, '_exclude_regex', _compile(self.exclude_regex, self._name('exclude_regex')))
        set_(self, '_type_regex', _compile(self.type_regex, self._name('type_regex')))

    def _name(self, option: str) -> str:
        default = '--' + option.replace('_', '-')
        return self.names.get(option, default)

    @property
    def filters_topics(self) -> bool:
        """Whether a positive topic filter is given."""
        return bool(self.topics or self.regex)

    def why_not(self, topic: str, msgtype: str) -> str | None:
        """Return why a topic is left out, or None when it is taken."""
        if not self.all_topics and self.filters_topics:
            exact = topic in self.topics
            if not exact and not any(p.search(topic) for p in self._regex):
                option = self._name('topics' if self.topics else 'regex')
                return f'not matched by {option}'
        if topic in self.exclude_topics:
            return f'matched by {self._name("exclude_topics")}'
        if any(p.search(topic) for p in self._exclude_regex):
            return f'matched by {self._name("exclude_regex")}'
        normalized = normalize_msgtype(msgtype)
        if self.topic_types or self._type_regex:
            exact = normalized in {normalize_msgtype(t) for t in self.topic_types}
            if not exact and not any(p.search(msgtype) for p in self._type_regex):
                option = self._name('topic_types' if self.topic_types else 'type_regex')
                return f'type not matched by {option}'
        if normalized in {normalize_msgtype(t) for t in self.exclude_topic_types}:
            return f'type matched by {self._name("exclude_topic_types")}'
        return None
