"""Per-topic buffers of raw payloads waiting to be cut into a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mosaico_ros.pipeline.conversion import Payloads

if TYPE_CHECKING:
    from mosaico_ros.pipeline.envelope import Origin


@dataclass(frozen=True)
class Batch:
    """Messages of one topic cut from its buffer, kept until their conversion is stored.

    Attributes:
        payloads: The serialized messages.
        times: Record time of each message.
        origins: File and offset of each message (None where the source has none).
        generation: The topic's converter generation when the batch was cut.

    """

    payloads: Payloads
    times: list[int]
    origins: list[Origin | None]
    generation: int

    def __len__(self) -> int:
        """Return the number of messages."""
        return len(self.times)

    def describe(self, topic: str) -> str:
        """Name the batch in an error: topic, size and where it starts."""
        first = self.origins[0] if self.origins else None
        where = f' from offset {first.offset} of {first.file}' if first is not None else ''
        return f'topic {topic} ({len(self)} messages{where})'


@dataclass
class TopicBuffer:
    """Payloads of one topic received since the last cut.

    Each payload is copied once into one blob: a kept view would pin the
    source's whole chunk (a bag's decompressed chunk, a DDS loan).

    Attributes:
        since_s: Monotonic time the oldest buffered message arrived; None when empty.

    """

    blob: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    origins: list[Origin | None] = field(default_factory=list)
    since_s: float | None = None

    def __len__(self) -> int:
        """Return the number of buffered messages."""
        return len(self.ends)

    @property
    def nbytes(self) -> int:
        """Payload bytes buffered."""
        return len(self.blob)

    def append(
        self, data: bytes | bytearray | memoryview, time_ns: int, origin: Origin | None
    ) -> None:
        """Buffer one message."""
        self.blob += data
        self.ends.append(len(self.blob))
        self.times.append(time_ns)
        self.origins.append(origin)

    def cut(self, generation: int) -> Batch:
        """Return the buffered messages as a batch and start empty."""
        batch = Batch(Payloads(self.blob, self.ends), self.times, self.origins, generation)
        self.blob, self.ends, self.times, self.origins = bytearray(), [], [], []
        self.since_s = None
        return batch
