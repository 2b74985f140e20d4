"""Shared helpers of the adapter tests: realistic messages of any type, plain comparison."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from rosbags.interfaces import Nodetype

from mosaico_ros.adapters.rows import NUMPY_PRIMITIVES


def plain(obj: Any) -> Any:
    """A rosbags message as plain data, as the vectors' JSON shows it.

    Constants and ``__msgtype__`` are left out and numpy arrays become lists,
    so two messages compare equal exactly when their field values do.
    """
    if hasattr(obj, '__dataclass_fields__'):
        return {
            name: plain(getattr(obj, name))
            for name in obj.__dataclass_fields__
            if name != '__msgtype__' and not name.isupper()
        }
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, list):
        return [plain(item) for item in obj]
    return obj


INT_RANGES = {
    'int8': (-100, 100),
    'uint8': (0, 200),
    'byte': (-100, 100),  # rosbags decodes byte as int8
    'char': (0, 120),
    'int16': (-3000, 3000),
    'uint16': (0, 6000),
    'int32': (-100000, 100000),
    'uint32': (0, 200000),
    'int64': (-(10**12), 10**12),
    'uint64': (0, 10**12),
}


class MessageFactory:
    """Builds realistic messages of any type from the typestore definitions."""

    def __init__(self, typestore: Any, seed: int = 7) -> None:
        self.typestore = typestore
        self.rng = np.random.default_rng(seed)
        self.counter = 0

    def scalar(self, base: str, name: str) -> Any:
        self.counter += 1
        if base == 'string':
            return f'{name}_{self.counter}'
        if base == 'bool':
            return bool(self.counter % 2)
        if base in ('float32', 'float64'):
            # exactly representable in float32, so narrowing is lossless
            return float(self.rng.integers(1, 4000)) / 8.0
        low, high = INT_RANGES[base]
        if name == 'nanosec':
            low, high = 0, 999_999_999
        return int(self.rng.integers(low, high))

    def array(self, sub: Any, size: int, name: str) -> Any:
        if sub[0] == Nodetype.BASE and sub[1][0] != 'string':
            return np.array(
                [self.scalar(sub[1][0], name) for _ in range(size)], NUMPY_PRIMITIVES[sub[1][0]]
            )
        return [self.value(sub, name) for _ in range(size)]

    def value(self, node: Any, name: str) -> Any:
        kind, details = node
        if kind == Nodetype.BASE:
            return self.scalar(details[0], name)
        if kind == Nodetype.NAME:
            return self.make(details)
        sub, size = details
        return self.array(sub, size if kind == Nodetype.ARRAY else 3, name)

    def make(self, msgtype: str, **overrides: Any) -> Any:
        fields = self.typestore.fielddefs[msgtype][1]
        values = {
            name: overrides[name] if name in overrides else self.value(node, name)
            for name, node in fields
        }
        return self.typestore.types[msgtype](**values)


def fix_navsatfix(msg: Any, factory: MessageFactory) -> Any:
    msg.status.status = 0
    return msg


def fix_image(msg: Any, factory: MessageFactory) -> Any:
    msg.height, msg.width, msg.step, msg.encoding = 2, 3, 9, 'rgb8'
    msg.is_bigendian = 0
    msg.data = np.arange(18, dtype=np.uint8) * 7
    return msg


def fix_compressed(msg: Any, factory: MessageFactory) -> Any:
    msg.format = 'jpeg'
    return msg


def fix_camera_info(msg: Any, factory: MessageFactory) -> Any:
    msg.binning_x, msg.binning_y = 2, 4
    msg.roi.do_rectify = True
    return msg


def fix_pointcloud(msg: Any, factory: MessageFactory) -> Any:
    for field in msg.fields:
        field.datatype = 7
    return msg


def fix_sentence(msg: Any, factory: MessageFactory) -> Any:
    msg.sentence = '$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47'
    return msg


def fix_tf_message(msg: Any, factory: MessageFactory) -> Any:
    for stamped in msg.transforms:
        stamped.header.seq = 0  # ROS 1 header seq is not kept inside Transform rows
    return msg


FIXES: dict[str, Callable[[Any, MessageFactory], Any]] = {
    'tf/msg/tfMessage': fix_tf_message,
    'sensor_msgs/msg/NavSatFix': fix_navsatfix,
    'sensor_msgs/msg/Image': fix_image,
    'sensor_msgs/msg/CompressedImage': fix_compressed,
    'sensor_msgs/msg/CameraInfo': fix_camera_info,
    'sensor_msgs/msg/PointCloud2': fix_pointcloud,
    'nmea_msgs/msg/Sentence': fix_sentence,
}

# conversions the SDK convention makes lossy, compared with a tolerance
APPROX = {'sensor_msgs/msg/Temperature'}


def assert_close(got: Any, want: Any, path: str = '') -> None:
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for key in want:
            assert_close(got[key], want[key], f'{path}.{key}')
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_close(a, b, f'{path}[{i}]')
    elif isinstance(want, float):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9), path
    else:
        assert got == want, path


ROS1_ONLY = {'tf/msg/tfMessage': 'geometry_msgs/TransformStamped[] transforms\n'}
"""ROS 1 types mapped too, with their definitions (bags embed them; no stock store has them)."""
