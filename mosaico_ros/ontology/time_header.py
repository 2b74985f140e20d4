"""Time, Duration and the measurement Header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .field_types import MosaicoType
from .fields import MosaicoField
from .serializable import Serializable

if TYPE_CHECKING:
    from typing_extensions import Self

NS_PER_S = 1_000_000_000


class _SecondsNanoseconds:
    """Conversions shared by Time and Duration (a plain class so it adds no fields)."""

    seconds: int
    nanoseconds: int

    @classmethod
    def from_ns(cls, total_ns: int) -> Self:
        """Split a nanosecond count into seconds and nanoseconds in [0, 1e9).

        Args:
            total_ns: Nanoseconds.

        Returns:
            The value.

        """
        seconds, nanoseconds = divmod(int(total_ns), NS_PER_S)
        return cls(seconds=seconds, nanoseconds=nanoseconds)  # type: ignore[call-arg]

    def to_ns(self) -> int:
        """Return the value as a nanosecond count.

        Returns:
            Nanoseconds.

        """
        return self.seconds * NS_PER_S + self.nanoseconds

    def to_float(self) -> float:
        """Return the value in seconds.

        Returns:
            Seconds.

        """
        return self.seconds + self.nanoseconds / NS_PER_S


class Time(_SecondsNanoseconds, Serializable):
    """A point in time as seconds and nanoseconds (ROS convention, int32 seconds)."""

    seconds: MosaicoType.int32 = MosaicoField(description='Time in seconds.')
    nanoseconds: MosaicoType.uint32 = MosaicoField(
        description='Time in nanoseconds.',
        lt=NS_PER_S,
    )


class Duration(_SecondsNanoseconds, Serializable):
    """A time span as seconds and nanoseconds."""

    seconds: MosaicoType.int32 = MosaicoField(description='Time in seconds.')
    nanoseconds: MosaicoType.uint32 = MosaicoField(
        description='Time in nanoseconds.',
        lt=NS_PER_S,
    )


class Header(Serializable):
    """Measurement metadata: sensor time, reference frame and sample counter."""

    timestamp: Time | None = MosaicoField(
        None,
        description='Timestamp representing when the data has been measured',
    )
    frame_id: MosaicoType.string | None = MosaicoField(
        None,
        description='String representing the acquired data reference system name',
    )
    sample_counter: MosaicoType.uint64 | None = MosaicoField(
        None,
        description=(
            'An optional counter used to track how many samples have been processed. It needs to '
            'be monotonically increasing'
        ),
    )
