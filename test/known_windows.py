"""A generated sequence whose query windows are known, for query, windows and replay tests.

`/imu` (IMU, 100 Hz, 30 s) has `acceleration.x = 5` in three stretches and 0
elsewhere; `/speed` (Floating64, 10 Hz) is above 1 from 6 s to 21 s. The
stretches are separated by gaps that a 1 s gap merges and a 0.2 s gap does
not, with every matching row contiguous, so the windows are the same under
any clustering that joins matches closer than the gap.
"""

from __future__ import annotations

from typing import Any

T0 = 1_700_000_000_000_000_000
"""Time of the first row."""

SECOND = 1_000_000_000
IMU_PERIOD = SECOND // 100
SPEED_PERIOD = SECOND // 10

IMU_ROWS = 3000
IMU_HIGH = ((500, 700), (750, 800), (2000, 2200))
"""Inclusive row ranges of `/imu` where acceleration.x is 5."""

SPEED_ROWS = 300
SPEED_HIGH = (60, 210)
"""Inclusive row range of `/speed` where data is 3 (else 0)."""


def imu_time(row: int) -> int:
    """Timestamp of an `/imu` row."""
    return T0 + row * IMU_PERIOD


def speed_time(row: int) -> int:
    """Timestamp of a `/speed` row."""
    return T0 + row * SPEED_PERIOD


IMU_WINDOWS_SMALL_GAP = [(imu_time(a), imu_time(b)) for a, b in IMU_HIGH]
"""Windows of `IMU.acceleration.x > 4` with a gap below 0.5 s."""

IMU_WINDOWS_1S = [(imu_time(500), imu_time(800)), (imu_time(2000), imu_time(2200))]
"""Windows of `IMU.acceleration.x > 4` with a 1 s gap."""

SPEED_WINDOW = (speed_time(SPEED_HIGH[0]), speed_time(SPEED_HIGH[1]))
"""The window of `Floating64.data > 1`."""


def write_known_windows(client: Any, name: str, metadata: dict[str, Any] | None = None) -> None:
    """Write the sequence with our client or the official SDK's (same API)."""
    from mosaico_ros import IMU, Floating64, Message, Vector3d

    with client.sequence_create(name, metadata or {}) as writer:
        imu = writer.topic_create('/imu', {'mount': 'base'}, IMU)
        speed = writer.topic_create('/speed', {}, Floating64)
        for row in range(IMU_ROWS):
            high = any(a <= row <= b for a, b in IMU_HIGH)
            data = IMU(
                acceleration=Vector3d(x=5.0 if high else 0.0, y=0.0, z=9.81),
                angular_velocity=Vector3d(x=0.0, y=0.0, z=0.0),
            )
            imu.push(Message(timestamp_ns=imu_time(row), data=data))
            if row % 10 == 0:
                index = row // 10
                value = 3.0 if SPEED_HIGH[0] <= index <= SPEED_HIGH[1] else 0.0
                speed.push(Message(timestamp_ns=speed_time(index), data=Floating64(data=value)))
