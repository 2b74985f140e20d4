"""`$match` patterns: glob syntax, parsed once, matched without backtracking.

Syntax, as the 0.7.0 SDK documents it: `*` any run of characters, `?` one
character, `#` one digit, `[abc]` or `[a-z]` one character of a set, `[!...]`
one character outside it; anything else stands for itself, and the whole value
must match. A `[` without its `]`, an empty set and a reversed range are errors.

Matching splits the pattern at its stars into segments of one-character
tokens. The first segment must sit at the start of the value, the last at its
end, and each one between them is taken at its leftmost place: with only stars
in between, leftmost is always a safe choice, so no alternative is ever
revisited. The work is at most `len(value) * len(pattern)` token tests,
literal segments are plain substring searches, and no regular expression of
the user's ever runs in Python's backtracking engine.

For Arrow string columns the same tokens are written as an RE2 expression
(`regex`), which pyarrow evaluates in linear time without holding the GIL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mosaico_ros.server.errors import BadRequestError, quote

MAX_PATTERN_CHARS = 1024
"""Longest `$match` pattern accepted."""


@dataclass(frozen=True)
class CharSet:
    """One character out of inclusive ranges (or, negated, outside them); no ranges is any."""

    ranges: tuple[tuple[str, str], ...] = ()
    negated: bool = False

    def __contains__(self, char: str) -> bool:
        inside = any(low <= char <= high for low, high in self.ranges) if self.ranges else True
        return inside != self.negated

    @property
    def regex(self) -> str:
        """The set as an RE2 character class."""
        if not self.ranges:
            return '(?s:.)'
        body = ''.join(
            re.escape(low) if low == high else f'{re.escape(low)}-{re.escape(high)}'
            for low, high in self.ranges
        )
        return f'[{"^" if self.negated else ""}{body}]'


Token = str | CharSet
"""A literal character, or a set of characters."""

_ANY = CharSet()
_DIGIT = CharSet((('0', '9'),))


def _char_set(pattern: str, start: int) -> tuple[CharSet, int]:
    """Parse the `[...]` opening at `start`; return it and the index after its `]`."""
    close = pattern.find(']', start + 1)
    if close == -1:
        raise BadRequestError(f'$match pattern {quote(pattern)}: "[" at {start} is never closed')
    body = pattern[start + 1 : close]
    negated = body.startswith('!')
    if negated:
        body = body[1:]
    if not body:
        raise BadRequestError(f'$match pattern {quote(pattern)}: empty set at {start}')
    ranges: list[tuple[str, str]] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == '-':
            low, high = body[index], body[index + 2]
            if low > high:
                raise BadRequestError(
                    f'$match pattern {quote(pattern)}: range {low}-{high} is reversed',
                )
            ranges.append((low, high))
            index += 3
        else:
            ranges.append((body[index], body[index]))
            index += 1
    return CharSet(tuple(ranges), negated), close + 1


def _segment_at(segment: tuple[Token, ...], text: str, position: int) -> bool:
    """Whether the segment matches `text` starting exactly at `position`."""
    for offset, token in enumerate(segment):
        char = text[position + offset]
        if char != token if isinstance(token, str) else char not in token:
            return False
    return True


@dataclass(frozen=True)
class Glob:
    """A parsed `$match` pattern: segments of one-character tokens between stars."""

    pattern: str
    segments: tuple[tuple[Token, ...], ...]

    @classmethod
    def parse(cls, pattern: str) -> Glob:
        """Parse and check a pattern.

        Raises:
            BadRequestError: The pattern is too long, or a set is unclosed, empty or reversed.

        """
        if len(pattern) > MAX_PATTERN_CHARS:
            raise BadRequestError(
                f'$match pattern of {len(pattern)} characters; at most {MAX_PATTERN_CHARS}',
            )
        segments: list[tuple[Token, ...]] = []
        current: list[Token] = []
        index = 0
        while index < len(pattern):
            char = pattern[index]
            if char == '[':
                token, index = _char_set(pattern, index)
                current.append(token)
                continue
            if char == '*':
                segments.append(tuple(current))
                current = []
            else:
                current.append(_ANY if char == '?' else _DIGIT if char == '#' else char)
            index += 1
        segments.append(tuple(current))
        return cls(pattern, tuple(segments))

    def with_prefix(self, char: str) -> Glob:
        """Return the same pattern with a literal character in front."""
        first, *rest = self.segments
        return Glob(char + self.pattern, ((char, *first), *rest))

    @property
    def starts_with_literal(self) -> bool:
        """Whether the first token is a literal character (no star, no set before it)."""
        first = self.segments[0]
        return bool(first) and isinstance(first[0], str)

    def matches(self, text: str) -> bool:
        """Whether the whole of `text` matches."""
        first, *middle_and_last = self.segments
        if not middle_and_last:
            return len(text) == len(first) and _segment_at(first, text, 0)
        *middle, last = middle_and_last
        if len(first) + len(last) > len(text):
            return False
        if not _segment_at(first, text, 0) or not _segment_at(last, text, len(text) - len(last)):
            return False
        position, end = len(first), len(text) - len(last)
        for segment in middle:
            found = self._find(segment, text, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True

    @staticmethod
    def _find(segment: tuple[Token, ...], text: str, start: int, end: int) -> int:
        """Leftmost place of a segment in `text[start:end]`, or -1."""
        if all(isinstance(token, str) for token in segment):
            return text.find(''.join(segment), start, end)  # type: ignore[arg-type]
        for position in range(start, end - len(segment) + 1):
            if _segment_at(segment, text, position):
                return position
        return -1

    @property
    def regex(self) -> str:
        """An anchored RE2 expression matching the same values."""
        parts = [
            ''.join(re.escape(token) if isinstance(token, str) else token.regex for token in seg)
            for seg in self.segments
        ]
        return '^' + '(?s:.*)'.join(parts) + '$'
