"""When a topic's buffer is cut into a batch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CutPolicy:
    """Bounds that cut buffers into batches.

    A topic's buffer is cut when it holds `max_messages` messages or
    `max_bytes` payload bytes, or when its oldest message has waited
    `max_latency_s` (so a 1 Hz topic on a live robot reaches the server
    within seconds, not after a thousand messages). When all topics together
    buffer `budget_bytes`, every buffer is cut; the same budget bounds the
    payload bytes in flight to the conversion workers.

    Attributes:
        max_messages: Messages per batch.
        max_bytes: Payload bytes per batch.
        budget_bytes: Payload bytes buffered over all topics.
        max_latency_s: Longest a message waits in a buffer; None for no limit
            (bags: reading is faster than any deadline).

    """

    max_messages: int = 1000
    max_bytes: int = 8 << 20
    budget_bytes: int = 64 << 20
    max_latency_s: float | None = None

    def __post_init__(self) -> None:
        """Check the bounds.

        Raises:
            ValueError: A bound is not positive.

        """
        if self.max_messages < 1 or self.max_bytes < 1 or self.budget_bytes < 1:
            raise ValueError('batch bounds must be positive')
        if self.max_latency_s is not None and self.max_latency_s <= 0:
            raise ValueError('max_latency_s must be positive')
