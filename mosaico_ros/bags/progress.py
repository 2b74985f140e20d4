"""Progress of an injection, as the injector reports it to its caller.

The injector calls `start` once per bag, `advance` about every thousand
messages read, and `finish` when the bag is read to its end; a sink that
draws a bar (the CLI's) or shows nothing (`NullProgress`) implements it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path


class InjectProgress(Protocol):
    """Receives progress while bags are injected."""

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        """Begin a bag with `messages` to read (None when unknown) of `size_bytes` on disk."""

    def advance(self, messages: int, payload_bytes: int) -> None:
        """Count messages and payload bytes read since the previous call."""

    def finish(self) -> None:
        """End the current bag."""


class NullProgress:
    """Progress sink that shows nothing."""

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        """Ignore the start of a bag."""

    def advance(self, messages: int, payload_bytes: int) -> None:
        """Ignore progress."""

    def finish(self) -> None:
        """Ignore the end of a bag."""
