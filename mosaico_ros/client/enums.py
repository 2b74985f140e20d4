"""Error policies and writer states, with the values of `mosaicolabs` 0.7.0."""

from __future__ import annotations

from enum import Enum


class SessionLevelErrorPolicy(str, Enum):
    """What a session writer does when its `with` block fails.

    `Report` keeps what was sent, files notifications and finalizes the
    session; `Delete` removes the session (and the sequence, if the writer
    created it).
    """

    Report = 'report'
    Delete = 'delete'


class TopicLevelErrorPolicy(str, Enum):
    """What a topic writer used as a context manager does with an error.

    `Finalize` reports it and closes the topic, `Ignore` reports it and keeps
    the topic open, `Raise` passes it on to the session policy.
    """

    Finalize = 'finalize'
    Ignore = 'ignore'
    Raise = 'raise'


class TopicWriterStatus(str, Enum):
    """Lifecycle state of a topic writer."""

    Active = 'active'
    Finalized = 'finalized'
    FinalizedWithError = 'finalized_with_error'
    IgnoredLastError = 'ignored_last_error'
    RaisedException = 'raised_exception'
    RecordTooLarge = 'record_too_large'


class SessionStatus(str, Enum):
    """Lifecycle state of an upload session."""

    Null = 'null'
    Pending = 'pending'
    Finalized = 'finalized'
    Error = 'error'
