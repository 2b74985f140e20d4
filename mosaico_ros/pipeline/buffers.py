"""Per-topic buffers of raw payloads waiting to be cut into a batch."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mosaico_ros.pipeline.conversion import Payloads

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from mosaico_ros.pipeline.envelope import MessageRun, Origin


@dataclass(frozen=True)
class Origins:
    """Where each message of a batch came from, one entry per run of messages sharing it.

    Every message of an MCAP chunk has its chunk's offset: a batch of a
    thousand such messages keeps one or two entries, not a thousand.

    Attributes:
        firsts: Index of the first message of each run, ascending, starting at 0.
        origins: The origin of each run (None where the source has none).

    """

    firsts: list[int] = field(default_factory=list)
    origins: list[Origin | None] = field(default_factory=list)

    def __getitem__(self, index: int) -> Origin | None:
        """Return the origin of message `index`."""
        if not self.firsts:
            return None
        return self.origins[bisect_right(self.firsts, index) - 1]

    def add(self, first: int, origin: Origin | None) -> None:
        """Say that messages from `first` on came from `origin`."""
        if not self.origins or self.origins[-1] != origin:
            self.firsts.append(first)
            self.origins.append(origin)


@dataclass(frozen=True)
class Batch:
    """Messages of one topic cut from its buffer, kept until their conversion is stored.

    Attributes:
        payloads: The serialized messages.
        times: Record time of each message.
        origins: File and offset of each message.
        generation: The topic's converter generation when the batch was cut.

    """

    payloads: Payloads
    times: list[int]
    origins: Origins
    generation: int

    def __len__(self) -> int:
        """Return the number of messages."""
        return len(self.times)

    def describe(self, topic: str) -> str:
        """Name the batch in an error: topic, size and where it starts."""
        first = self.origins[0]
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
    origins: Origins = field(default_factory=Origins)
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
        self.origins.add(len(self.ends), origin)
        self.blob += data
        self.ends.append(len(self.blob))
        self.times.append(time_ns)

    def extend(self, run: MessageRun, first: int, stop: int, sizes: NDArray[np.int64]) -> int:
        """Buffer messages `first` to `stop` (exclusive) of a run; return their payload bytes.

        Args:
            run: The run.
            first: Its first message to buffer.
            stop: One past its last message to buffer.
            sizes: The cumulative payload sizes of the whole run.

        """
        self.origins.add(len(self.ends), run.origin)
        blob, data = self.blob, memoryview(run.data)
        before = len(blob)
        for start, end in zip(
            run.starts[first:stop].tolist(), run.stops[first:stop].tolist(), strict=True
        ):
            blob += data[start:end]
        base = before - (int(sizes[first - 1]) if first else 0)
        self.ends.extend((sizes[first:stop] + base).tolist())
        self.times.extend(run.times[first:stop].tolist())
        return len(blob) - before

    def cut(self, generation: int) -> Batch:
        """Return the buffered messages as a batch and start empty."""
        batch = Batch(Payloads(self.blob, self.ends), self.times, self.origins, generation)
        self.blob, self.ends, self.times, self.origins = bytearray(), [], [], Origins()
        self.since_s = None
        return batch
