"""Per-topic buffers of raw payloads waiting to be cut into a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from mosaico_ros.pipeline.conversion import Payloads
from mosaico_ros.pipeline.envelope import Origins

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from mosaico_ros.pipeline.envelope import MessageRun, Origin


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


KEEP_FROM = 64 << 10
"""Smallest payload a run's buffer may keep where the source holds it instead of copying it."""


def append_payloads(
    blob: bytearray,
    data: bytes | bytearray | memoryview,
    starts: NDArray[np.int64],
    stops: NDArray[np.int64],
) -> None:
    """Copy the payloads ``data[starts[i]:stops[i]]`` to the end of `blob`, in order.

    Payloads that lie back to back (a joined run's) are copied in one slice.
    """
    view = memoryview(data)
    if len(starts) and np.array_equal(starts[1:], stops[:-1]):
        blob += view[int(starts[0]) : int(stops[-1])]
        return
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        blob += view[start:stop]


@dataclass
class TopicBuffer:
    """Payloads of one topic received since the last cut.

    Each payload is copied once into one blob: a kept view would pin the
    source's whole buffer (a bag's decompressed chunk, a DDS loan). Except
    large payloads of a run (`KEEP_FROM` bytes or more) that make up at
    least half of the run's buffer: those are kept as views, so a raw image
    is not copied once more before its conversion copies it into Arrow, and
    what they pin is at most twice what they hold. The buffer then keeps
    one part per message until it is cut.

    Attributes:
        since_s: Monotonic time the oldest buffered message arrived; None when empty.

    """

    blob: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    origins: Origins = field(default_factory=Origins)
    parts: list[bytes | memoryview] | None = None
    since_s: float | None = None

    def __len__(self) -> int:
        """Return the number of buffered messages."""
        return len(self.ends)

    @property
    def nbytes(self) -> int:
        """Payload bytes buffered."""
        return self.ends[-1] if self.ends else 0

    def append(
        self, data: bytes | bytearray | memoryview, time_ns: int, origin: Origin | None
    ) -> None:
        """Buffer one message."""
        self.origins.add(len(self.ends), origin)
        if self.parts is not None:
            self.parts.append(bytes(data))
        else:
            self.blob += data
        self.ends.append(self.nbytes + len(data))
        self.times.append(time_ns)

    def extend(self, run: MessageRun, first: int, stop: int) -> int:
        """Buffer messages `first` to `stop` (exclusive) of a run; return their payload bytes."""
        self.origins.add_slice(run.origins, len(self.ends), first, stop)
        starts, stops = run.starts[first:stop], run.stops[first:stop]
        lengths = stops - starts
        large = lengths >= KEEP_FROM
        kept = int(lengths[large].sum())
        keep = kept > 0 and 2 * kept >= len(run.data)
        if keep and self.parts is None:
            self._split()
        data = memoryview(run.data)
        if self.parts is not None:
            pieces = zip(starts.tolist(), stops.tolist(), strict=True)
            for (start, end), view in zip(pieces, large.tolist(), strict=True):
                self.parts.append(data[start:end] if keep and view else bytes(data[start:end]))
        else:
            append_payloads(self.blob, data, starts, stops)
        before = self.nbytes
        self.ends.extend((np.cumsum(lengths) + before).tolist())
        self.times.extend(run.times[first:stop].tolist())
        return self.nbytes - before

    def _split(self) -> None:
        """Keep one part per message from now on (the blob's messages become parts)."""
        view = memoryview(self.blob)
        bounds = [0, *self.ends]
        self.parts = [bytes(view[a:b]) for a, b in pairwise(bounds)]
        self.blob = bytearray()

    def cut(self, generation: int) -> Batch:
        """Return the buffered messages as a batch and start empty."""
        parts = None if self.parts is None else tuple(self.parts)
        payloads = Payloads(self.blob, self.ends, parts)
        batch = Batch(payloads, self.times, self.origins, generation)
        self.blob, self.ends, self.times, self.origins = bytearray(), [], [], Origins()
        self.parts = self.since_s = None
        return batch
