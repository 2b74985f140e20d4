"""Settings of a session writer."""

from __future__ import annotations

from dataclasses import dataclass

from mosaico_ros.client.enums import SessionLevelErrorPolicy

BUDGET_FRACTION = 0.9
"""Share of the server's decode limit one DoPut batch may fill."""

DEFAULT_QUEUE_DEPTH = 16
"""Encoded-or-pending chunks a session holds before `push` blocks."""

DEFAULT_QUEUE_BYTES = 64 << 20
"""Bytes of pushed batches a session holds before `push_batch` blocks."""


@dataclass(frozen=True)
class WriterConfig:
    """How a session writer batches and what it does on failure.

    Attributes:
        max_batch_size_bytes: Upper bound of one DoPut batch in bytes; the
            effective bound is the smaller of this and 90 % of the server's
            decode limit. None leaves only the server bound.
        max_batch_size_records: Upper bound of rows per DoPut batch; None
            sizes batches by bytes alone.
        on_error: Session-level error policy.
        queue_depth: Chunks waiting for the background encoder before a
            producer blocks; bounds the writer's memory.
        queue_bytes: Bytes of pushed batches waiting before a producer
            blocks (one batch is always let through); bounds it when
            batches are large (images).

    """

    max_batch_size_bytes: int | None = None
    max_batch_size_records: int | None = None
    on_error: SessionLevelErrorPolicy = SessionLevelErrorPolicy.Report
    queue_depth: int = DEFAULT_QUEUE_DEPTH
    queue_bytes: int = DEFAULT_QUEUE_BYTES

    def __post_init__(self) -> None:
        if self.max_batch_size_bytes is not None and self.max_batch_size_bytes <= 0:
            raise ValueError(
                f'max_batch_size_bytes must be positive, got {self.max_batch_size_bytes}'
            )
        if self.max_batch_size_records is not None and self.max_batch_size_records <= 0:
            raise ValueError(
                f'max_batch_size_records must be positive, got {self.max_batch_size_records}',
            )
        if self.queue_depth <= 0:
            raise ValueError(f'queue_depth must be positive, got {self.queue_depth}')
        if self.queue_bytes <= 0:
            raise ValueError(f'queue_bytes must be positive, got {self.queue_bytes}')

    def byte_budget(self, server_decode_limit: int) -> int:
        """Return the largest batch, in bytes, a DoPut may carry."""
        budget = int(BUDGET_FRACTION * server_decode_limit)
        if self.max_batch_size_bytes is not None:
            budget = min(budget, self.max_batch_size_bytes)
        return max(budget, 1)
