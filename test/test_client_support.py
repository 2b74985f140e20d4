"""Shared data for the client and interop tests: one recording, two libraries.

Values are plain nested dicts; each library builds its own model objects
from them, so both write and compare the very same values.
"""

from __future__ import annotations

import random
from enum import Enum
from pathlib import Path
from typing import Any

T0 = 1_700_000_000_000_000_000
MS = 1_000_000

# topic name -> (tag, period in ns, message count)
TOPICS: dict[str, tuple[str, int, int]] = {
    '/sensors/imu': ('IMU', 10 * MS, 2000),
    '/sensors/gps': ('GPS', 30 * MS, 700),
    '/cam/raw': ('Image', 150 * MS, 140),
    '/cam/jpeg': ('CompressedImage', 150 * MS, 140),
}

SEQUENCE_METADATA: dict[str, Any] = {
    'project': 'Apollo',
    'driver': {'driver_id': 'drv_017', 'role': 'validation'},
    'environment': {'visibility': 40, 'weather': 'fog'},
    'tags': ['night', 'urban'],
}

TOPIC_METADATA: dict[str, dict[str, Any]] = {
    '/sensors/imu': {'vendor': 'inertix-dynamics', 'calibrated': 'false', 'update_rate_hz': 100},
    '/sensors/gps': {'role': 'primary_gps', 'interface': {'type': 'UART', 'baudrate': 115200}},
    '/cam/raw': {'camera': 'front', 'resolution': [4, 3]},
    '/cam/jpeg': {'camera': 'rear', 'quality': 0.9},
}


def _header(stamp: int, frame: str, counter: int) -> dict[str, Any]:
    return {
        'timestamp': {'seconds': stamp // 1_000_000_000, 'nanoseconds': stamp % 1_000_000_000},
        'frame_id': frame,
        'sample_counter': counter,
    }


def imu_values(i: int, stamp: int) -> dict[str, Any]:
    """The i-th IMU sample; every fifth has no orientation, every third a covariance."""
    values: dict[str, Any] = {
        'header': _header(stamp, 'imu_link', i),
        'acceleration': {'x': 0.001 * i, 'y': -0.25 + 1e-7 * i, 'z': 9.81},
        'angular_velocity': {'x': 0.5, 'y': -0.125 * (i % 8), 'z': 1e-3 * (i % 13)},
        'orientation': None if i % 5 == 0 else {'x': 0.0, 'y': 0.0, 'z': 0.38, 'w': 0.92},
    }
    if i % 3 == 0:
        values['acceleration']['covariance'] = [0.01 * k for k in range(9)]
        values['acceleration']['covariance_type'] = 2
    return values


def gps_values(i: int, stamp: int) -> dict[str, Any]:
    """The i-th GPS fix; every fourth lacks a velocity."""
    return {
        'header': _header(stamp, 'gps', i),
        'position': {'x': 45.0 + 1e-6 * i, 'y': 7.6 - 1e-6 * i, 'z': 230.5},
        'velocity': None if i % 4 == 0 else {'x': 1.0, 'y': 0.5, 'z': 0.0},
        'status': {'status': 0, 'service': 1, 'satellites': 9, 'hdop': 0.8, 'vdop': 1.25},
    }


def image_values(i: int, stamp: int) -> dict[str, Any]:
    """A raw 4x3 rgb8 image whose bytes depend on i."""
    return {
        'header': _header(stamp, 'cam_front', i),
        'data': bytes((i + k) % 256 for k in range(36)),
        'format': 'raw',
        'width': 4,
        'height': 3,
        'stride': 12,
        'encoding': 'rgb8',
        'is_bigendian': False,
    }


def compressed_values(i: int, stamp: int) -> dict[str, Any]:
    """An opaque JPEG-tagged payload of varying size."""
    rng = random.Random(i)
    return {
        'header': _header(stamp, 'cam_rear', i),
        'data': rng.randbytes(50 + (i * 37) % 400),
        'format': 'jpeg',
    }


VALUES = {
    'IMU': imu_values,
    'GPS': gps_values,
    'Image': image_values,
    'CompressedImage': compressed_values,
}


def topic_values(topic: str) -> list[tuple[int, dict[str, Any]]]:
    """(record time, values) of every message of one topic of the recording."""
    tag, period, count = TOPICS[topic]
    make = VALUES[tag]
    return [(T0 + i * period, make(i, T0 + i * period)) for i in range(count)]


def build(message_cls: Any, model_cls: Any, stamp: int, values: dict[str, Any]) -> Any:
    """One Message of a library."""
    return message_cls(timestamp_ns=stamp, data=model_cls.model_validate(values))


def plain(value: Any) -> Any:
    """Library-neutral form of a model dump: enums by value, containers recursed."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, 'model_dump'):
        return plain(value.model_dump())
    return value


def message_record(message: Any) -> tuple[int, Any]:
    """(timestamp, plain data) of a Message of either library."""
    return message.timestamp_ns, plain(message.data)


def rebuild_with_sdk(port: int, sequence: str, out: Path) -> Path:
    """Rebuild a stored sequence as a rosbag2 directory with the official SDK; return it."""
    from mosaicolabs.bridges.ros import ROSExtractorConfig, ROSSequenceExtractor
    from rosbags.typesys import Stores

    ROSSequenceExtractor(
        ROSExtractorConfig(
            saving_path=out,
            sequence_name=sequence,
            host='127.0.0.1',
            port=port,
            ros_distro=Stores.ROS2_HUMBLE,
            log_level='ERROR',
        )
    ).run()
    return next(p.parent for p in out.rglob('metadata.yaml'))
