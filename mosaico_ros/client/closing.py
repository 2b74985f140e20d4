"""Context-manager behaviour for every read-side handle: leaving the block closes it."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_SelfT = TypeVar('_SelfT', bound='ClosesOnExit')


class ClosesOnExit:
    """Mixin: ``with handle:`` returns the handle and calls its `close` on the way out."""

    def close(self) -> None:
        """Release what the handle holds."""
        raise NotImplementedError

    def __enter__(self: _SelfT) -> _SelfT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
