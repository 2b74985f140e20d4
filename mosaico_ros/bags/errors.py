"""Errors raised by the bag readers.

Every message names the file and, where it applies, the byte offset and topic,
so that a person can find the damage with a hex viewer or the bag's own tools.
"""

from __future__ import annotations

from pathlib import Path


def describe_place(file: Path, offset: int | None = None, topic: str | None = None) -> str:
    """Return `file at offset N (topic 'T')`, leaving out what is unknown.

    Args:
        file: File holding the damage.
        offset: Byte offset (row id for SQLite), if known.
        topic: Topic, if known.

    Returns:
        The place, as it starts every error and problem message.

    """
    place = str(file)
    if offset is not None:
        place += f' at offset {offset}'
    if topic is not None:
        place += f' (topic {topic!r})'
    return place


class BagError(Exception):
    """Base of every bag reader error."""


class BagFormatError(BagError):
    """A path is not a bag in any format we read, or its structure is invalid."""


class BagMissingFileError(BagError):
    """A storage file that a bag's metadata lists is absent."""


class BagCorruptError(BagError):
    """Bytes inside a bag are damaged: truncated, bad checksum or undecodable record.

    Attributes:
        file: File holding the damage.
        offset: Byte offset of the damaged record (row id for SQLite), if known.
        topic: Topic the damaged data belongs to, if known.

    """

    def __init__(
        self,
        reason: str,
        *,
        file: Path,
        offset: int | None = None,
        topic: str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.offset = offset
        self.topic = topic
        super().__init__(f'{describe_place(file, offset, topic)}: {reason}')
