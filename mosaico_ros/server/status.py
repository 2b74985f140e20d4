"""How a failed call reaches the client: one Flight status per kind of error, a short message.

| server error             | gRPC status       | pyarrow client raises          |
| ------------------------ | ----------------- | ------------------------------ |
| `BadRequestError`        | INVALID_ARGUMENT  | `ArrowInvalid`                 |
| `NotFoundError`          | NOT_FOUND         | `ArrowKeyError`                |
| `ConflictError`          | UNKNOWN           | `FlightServerError`            |
| `UnauthenticatedError`   | UNAUTHENTICATED   | `FlightUnauthenticatedError`   |
| `PermissionDeniedError`  | PERMISSION_DENIED | `FlightUnauthorizedError`      |
| anything else            | INTERNAL          | `FlightInternalError`          |

`mosaicod` answers a conflict with ALREADY_EXISTS or FAILED_PRECONDITION; a
Python Flight server has no way to send either (pyarrow maps no Python
exception to them), so conflicts go out as the generic Flight failure. The
0.7.0 SDK inspects no status but PERMISSION_DENIED.

pyarrow sends the Flight exceptions as they are, but for any other exception
it appends the formatted Python traceback to the message, server paths
included. `InvalidArgument` and `NotFound` carry a note that cannot be
encoded as UTF-8: pyarrow's traceback formatting then fails and it falls back
to naming the exception class, so the client reads
`<message>. Detail: Python exception: InvalidArgument` and nothing more.
`test_server_requests.py` checks every status for a traceback, so a pyarrow
that changes this is noticed.

An unexpected exception is logged here with its traceback and reaches the
client as an internal error without any of its text.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from pyarrow import flight

from mosaico_ros.protocol import ProtocolError
from mosaico_ros.server.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 1000
"""Longest error message sent; gRPC refuses trailers beyond a few KiB."""

_UNENCODABLE = '\udc80'


def _short(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 20] + f'...({len(message)} chars)'


class InvalidArgument(ValueError):  # noqa: N818 -- the class name is what the client reads
    """Sent as INVALID_ARGUMENT with only its message (see the module docstring)."""

    def __init__(self, message: str) -> None:
        super().__init__(_short(message))
        self.__notes__ = [_UNENCODABLE]


class NotFound(KeyError):  # noqa: N818 -- the class name is what the client reads
    """Sent as NOT_FOUND with only its message (see the module docstring)."""

    def __init__(self, message: str) -> None:
        super().__init__(_short(message))
        self.__notes__ = [_UNENCODABLE]

    def __str__(self) -> str:
        return str(self.args[0])


def to_status(err: BaseException, call: str) -> BaseException:
    """Return the exception that carries `err` to the client.

    Args:
        err: What a handler raised.
        call: The RPC, for the server log.

    """
    message = _short(str(err))
    if isinstance(err, (BadRequestError, ProtocolError)):
        return InvalidArgument(message)
    if isinstance(err, NotFoundError):
        return NotFound(message)
    if isinstance(err, ConflictError):
        return flight.FlightServerError(message)
    if isinstance(err, PermissionDeniedError):
        return flight.FlightUnauthorizedError(message)
    if isinstance(err, UnauthenticatedError):
        return flight.FlightUnauthenticatedError(message)
    if isinstance(err, (InvalidArgument, NotFound, flight.FlightError)):
        return err
    logger.error('unexpected failure in %s', call, exc_info=err)
    return flight.FlightInternalError(f'{call} failed inside the server; its log has the details')


_T = TypeVar('_T')


def translated(handler: Callable[..., _T]) -> Callable[..., _T]:
    """Decorate an RPC handler so that whatever it raises reaches the client as `to_status` says."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> _T:
        try:
            return handler(*args, **kwargs)
        except Exception as err:
            raise to_status(err, handler.__name__) from None

    return wrapped


def translated_stream(items: Iterable[_T], call: str) -> Iterator[_T]:
    """Yield from `items`, translating what the iteration raises (streams run after the handler)."""
    try:
        yield from items
    except Exception as err:
        raise to_status(err, call) from None
