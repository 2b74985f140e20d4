"""Generate realistic robot recordings for demos, tests and benchmarks.

The recording looks like a small wheeled robot: an IMU at 400 Hz, joint
states, TF, a GNSS fix and a camera (raw `Image` and/or `CompressedImage`).
Off by default, it can also carry a pose, odometry, a barometer, a log
topic and a custom wheel-encoder type (`MIXED` turns them all on, as the
benchmarks' mixed recording). It is written with the `rosbags` writers as a
rosbag2 directory (MCAP or sqlite3 storage) or as a ROS 1 bag, message by
message in time order, so memory stays flat whatever the duration.

Values are deterministic functions of the message index, so a test can
recompute what any message must contain (`expected_imu`).
"""

from __future__ import annotations

import heapq
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rosbags.typesys import Stores, get_typestore

BagFormat = Literal['mcap', 'db3', 'bag']

IMU_TOPIC = '/imu/data'
JOINTS_TOPIC = '/joint_states'
TF_TOPIC = '/tf'
GPS_TOPIC = '/gps/fix'
IMAGE_TOPIC = '/camera/image_raw'
COMPRESSED_TOPIC = '/camera/image_raw/compressed'
POSE_TOPIC = '/pose'
ODOM_TOPIC = '/odom'
BARO_TOPIC = '/baro'
LOG_TOPIC = '/rosout'
ENCODER_TOPIC = '/wheel_encoders'

ENCODER_TYPE = 'mosaico_demo/msg/WheelEncoders'
ENCODER_MSGDEF = 'std_msgs/Header header\nint32[4] ticks\nfloat64[4] speeds\nuint8 status\n'
"""A custom type no adapter knows (the generic path), defined by the recording itself."""

JOINT_NAMES = ('wheel_left', 'wheel_right', 'arm_shoulder', 'arm_elbow', 'arm_wrist', 'gripper')


@dataclass(frozen=True)
class RecordingSpec:
    """What to generate.

    Attributes:
        duration_s: Length of the recording in seconds.
        start_ns: Record time of the first message.
        imu_hz: IMU rate.
        joints_hz: Joint state rate.
        tf_hz: TF rate (two transforms per message).
        gps_hz: GNSS fix rate.
        camera_hz: Camera rate; 0 disables the camera.
        image_width: Camera width in pixels.
        image_height: Camera height in pixels.
        raw_image: Whether to write `sensor_msgs/msg/Image` frames.
        compressed_image: Whether to write PNG `sensor_msgs/msg/CompressedImage` frames.
        compressed_hz: Rate of the compressed frames; None is `camera_hz`.
        pose_hz: `PoseStamped` rate.
        odom_hz: `Odometry` rate.
        baro_hz: `FluidPressure` rate.
        log_hz: Log rate (``rcl_interfaces/msg/Log``, ROS 1 ``rosgraph_msgs/msg/Log``).
        encoder_hz: Rate of the custom `ENCODER_TYPE`.
        compress: zstd chunks in MCAP storage, as ``ros2 bag record`` writes by
            default (ROS 1 bags are always LZ4-chunked, sqlite3 never compressed).

    """

    duration_s: float = 10.0
    start_ns: int = 1_700_000_000_000_000_000
    imu_hz: float = 400.0
    joints_hz: float = 100.0
    tf_hz: float = 50.0
    gps_hz: float = 10.0
    camera_hz: float = 10.0
    image_width: int = 64
    image_height: int = 48
    raw_image: bool = True
    compressed_image: bool = True
    compressed_hz: float | None = None
    pose_hz: float = 0.0
    odom_hz: float = 0.0
    baro_hz: float = 0.0
    log_hz: float = 0.0
    encoder_hz: float = 0.0
    compress: bool = False

    def rates(self) -> dict[str, float]:
        """Return the rate of every topic this spec writes, in Hz."""
        rates = {
            IMU_TOPIC: self.imu_hz,
            JOINTS_TOPIC: self.joints_hz,
            TF_TOPIC: self.tf_hz,
            GPS_TOPIC: self.gps_hz,
        }
        if self.camera_hz > 0 and self.raw_image:
            rates[IMAGE_TOPIC] = self.camera_hz
        if self.camera_hz > 0 and self.compressed_image:
            rates[COMPRESSED_TOPIC] = (
                self.camera_hz if self.compressed_hz is None else self.compressed_hz
            )
        rates.update(
            {
                POSE_TOPIC: self.pose_hz,
                ODOM_TOPIC: self.odom_hz,
                BARO_TOPIC: self.baro_hz,
                LOG_TOPIC: self.log_hz,
                ENCODER_TOPIC: self.encoder_hz,
            }
        )
        return {topic: hz for topic, hz in rates.items() if hz > 0}

    def counts(self) -> dict[str, int]:
        """Return how many messages each topic gets."""
        return {topic: math.ceil(self.duration_s * hz - 1e-9) for topic, hz in self.rates().items()}

    @classmethod
    def for_messages(cls, total: int, **overrides: Any) -> RecordingSpec:
        """Return a spec whose duration yields at least `total` messages."""
        probe = cls(duration_s=1.0, **overrides)
        per_second = sum(probe.rates().values())
        return cls(duration_s=math.ceil(total / per_second), **overrides)


MIXED: dict[str, Any] = {
    'imu_hz': 200.0,
    'joints_hz': 100.0,
    'tf_hz': 50.0,
    'gps_hz': 10.0,
    'camera_hz': 15.0,
    'compressed_hz': 5.0,
    'image_width': 640,
    'image_height': 480,
    'pose_hz': 50.0,
    'odom_hz': 50.0,
    'baro_hz': 10.0,
    'log_hz': 1.0,
    'encoder_hz': 11.0,
    'compress': True,
}
"""The mixed robot of the benchmarks: 502 messages a second, 100,400 in 200 s with 3,000
raw 640x480 images and 1,000 compressed ones (`RecordingSpec(duration_s=200, **MIXED)`)."""

IMU_ONLY: dict[str, Any] = {
    'imu_hz': 200.0,
    'joints_hz': 0.0,
    'tf_hz': 0.0,
    'gps_hz': 0.0,
    'camera_hz': 0.0,
    'compress': True,
}
"""An IMU at 200 Hz and nothing else."""


@dataclass(frozen=True)
class Recording:
    """A generated recording.

    Attributes:
        path: The bag: a rosbag2 directory, or a ROS 1 `.bag` file.
        fmt: Storage format it was written in.
        spec: What was generated.
        counts: Messages per topic.
        msgtypes: ROS type per topic.

    """

    path: Path
    fmt: BagFormat
    spec: RecordingSpec
    counts: dict[str, int] = field(default_factory=dict)
    msgtypes: dict[str, str] = field(default_factory=dict)

    @property
    def message_count(self) -> int:
        """Total number of messages."""
        return sum(self.counts.values())


MSGTYPES = {
    IMU_TOPIC: 'sensor_msgs/msg/Imu',
    JOINTS_TOPIC: 'sensor_msgs/msg/JointState',
    TF_TOPIC: 'tf2_msgs/msg/TFMessage',
    GPS_TOPIC: 'sensor_msgs/msg/NavSatFix',
    IMAGE_TOPIC: 'sensor_msgs/msg/Image',
    COMPRESSED_TOPIC: 'sensor_msgs/msg/CompressedImage',
    POSE_TOPIC: 'geometry_msgs/msg/PoseStamped',
    ODOM_TOPIC: 'nav_msgs/msg/Odometry',
    BARO_TOPIC: 'sensor_msgs/msg/FluidPressure',
    LOG_TOPIC: 'rcl_interfaces/msg/Log',
    ENCODER_TOPIC: ENCODER_TYPE,
}
ROS1_MSGTYPES = {LOG_TOPIC: 'rosgraph_msgs/msg/Log'}
"""Topics whose type differs in a ROS 1 bag."""


def expected_imu(index: int) -> tuple[float, float, float]:
    """Return the (accel x, gyro z, orientation w) the IMU message `index` carries."""
    phase = index / 400.0
    return (0.1 * math.sin(phase), 0.05 * math.cos(phase), math.cos(0.01 * phase))


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """Return a valid 8-bit grayscale PNG with a moving gradient."""
    rows = b''.join(
        b'\x00' + bytes((x + y + seed) & 0xFF for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', crc)

    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', header)
        + chunk(b'IDAT', zlib.compress(rows, 1))
        + chunk(b'IEND', b'')
    )


class _MessageFactory:
    """Builds the messages of every topic with one typestore's classes."""

    def __init__(self, store: Stores, spec: RecordingSpec) -> None:
        from rosbags.typesys import get_types_from_msg

        self.typestore = get_typestore(store)
        self.ros1 = store == Stores.ROS1_NOETIC
        if 'tf2_msgs/msg/TFMessage' not in self.typestore.types:
            # The noetic store lacks tf2_msgs although every ROS 1 robot publishes it.
            self.typestore.register(
                get_types_from_msg(
                    'geometry_msgs/TransformStamped[] transforms', 'tf2_msgs/msg/TFMessage'
                )
            )
        self.typestore.register(get_types_from_msg(ENCODER_MSGDEF, ENCODER_TYPE))
        self.spec = spec
        self.types = self.typestore.types
        frame = spec.image_width * spec.image_height * 3
        self._pixels = [
            bytes(((i * 7 + k) & 0xFF) for i in range(256)) * (frame // 256 + 1) for k in range(4)
        ]

    def header(self, stamp_ns: int, frame_id: str, seq: int) -> Any:
        time = self.types['builtin_interfaces/msg/Time'](
            sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000
        )
        header_cls = self.types['std_msgs/msg/Header']
        if self.ros1:
            return header_cls(seq=seq, stamp=time, frame_id=frame_id)
        return header_cls(stamp=time, frame_id=frame_id)

    def vector3(self, x: float, y: float, z: float) -> Any:
        return self.types['geometry_msgs/msg/Vector3'](x=x, y=y, z=z)

    def quaternion(self, x: float, y: float, z: float, w: float) -> Any:
        return self.types['geometry_msgs/msg/Quaternion'](x=x, y=y, z=z, w=w)

    def imu(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        accel_x, gyro_z, quat_w = expected_imu(index)
        quat_z = math.sqrt(max(0.0, 1.0 - quat_w * quat_w))
        cov = np.array([0.01, 0, 0, 0, 0.01, 0, 0, 0, 0.01], dtype=np.float64)
        return self.types['sensor_msgs/msg/Imu'](
            header=self.header(stamp_ns, 'imu_link', index),
            orientation=self.quaternion(0.0, 0.0, quat_z, quat_w),
            orientation_covariance=cov,
            angular_velocity=self.vector3(0.001, -0.002, gyro_z),
            angular_velocity_covariance=cov,
            linear_acceleration=self.vector3(accel_x, 0.02, 9.81),
            linear_acceleration_covariance=cov,
        )

    def joints(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        phase = index / 100.0
        base = np.arange(len(JOINT_NAMES), dtype=np.float64)
        return self.types['sensor_msgs/msg/JointState'](
            header=self.header(stamp_ns, '', index),
            name=list(JOINT_NAMES),
            position=np.sin(base + phase),
            velocity=np.cos(base + phase),
            effort=0.5 * base,
        )

    def tf(self, index: int, stamp_ns: int) -> Any:
        phase = index / 50.0
        transforms = [
            self.types['geometry_msgs/msg/TransformStamped'](
                header=self.header(stamp_ns, 'odom', index),
                child_frame_id='base_link',
                transform=self.types['geometry_msgs/msg/Transform'](
                    translation=self.vector3(0.5 * phase, 0.1 * math.sin(phase), 0.0),
                    rotation=self.quaternion(0.0, 0.0, math.sin(phase / 20), math.cos(phase / 20)),
                ),
            ),
            self.types['geometry_msgs/msg/TransformStamped'](
                header=self.header(stamp_ns, 'base_link', index),
                child_frame_id='camera_link',
                transform=self.types['geometry_msgs/msg/Transform'](
                    translation=self.vector3(0.2, 0.0, 0.3),
                    rotation=self.quaternion(0.0, 0.0, 0.0, 1.0),
                ),
            ),
        ]
        return self.types['tf2_msgs/msg/TFMessage'](transforms=transforms)

    def gps(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        status = self.types['sensor_msgs/msg/NavSatStatus'](status=0, service=1)
        return self.types['sensor_msgs/msg/NavSatFix'](
            header=self.header(stamp_ns, 'gps', index),
            status=status,
            latitude=45.0 + index * 1e-6,
            longitude=9.0 + index * 2e-6,
            altitude=120.0 + 0.01 * index,
            position_covariance=np.array([1.5, 0, 0, 0, 1.5, 0, 0, 0, 4.0], dtype=np.float64),
            position_covariance_type=2,
        )

    def image(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        spec = self.spec
        step = spec.image_width * 3
        pixels = self._pixels[index % len(self._pixels)][: step * spec.image_height]
        return self.types['sensor_msgs/msg/Image'](
            header=self.header(stamp_ns, 'camera_optical', index),
            height=spec.image_height,
            width=spec.image_width,
            encoding='rgb8',
            is_bigendian=0,
            step=step,
            data=np.frombuffer(pixels, dtype=np.uint8),
        )

    def compressed(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        spec = self.spec
        data = png_bytes(spec.image_width, spec.image_height, index)
        return self.types['sensor_msgs/msg/CompressedImage'](
            header=self.header(stamp_ns, 'camera_optical', index),
            format='mono8; png compressed',
            data=np.frombuffer(data, dtype=np.uint8),
        )

    def pose(self, index: int, stamp_ns: int) -> Any:
        phase = index / 50.0
        return self.types['geometry_msgs/msg/PoseStamped'](
            header=self.header(stamp_ns, 'map', index),
            pose=self.types['geometry_msgs/msg/Pose'](
                position=self.types['geometry_msgs/msg/Point'](
                    x=0.5 * phase, y=0.1 * math.sin(phase), z=0.0
                ),
                orientation=self.quaternion(0.0, 0.0, math.sin(phase / 20), math.cos(phase / 20)),
            ),
        )

    def odometry(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        types = self.types
        covariance = np.diag([0.01, 0.01, 0.0, 0.0, 0.0, 0.02]).reshape(-1)
        return types['nav_msgs/msg/Odometry'](
            header=self.header(stamp_ns, 'odom', index),
            child_frame_id='base_link',
            pose=types['geometry_msgs/msg/PoseWithCovariance'](
                pose=self.pose(index, stamp_ns).pose, covariance=covariance
            ),
            twist=types['geometry_msgs/msg/TwistWithCovariance'](
                twist=types['geometry_msgs/msg/Twist'](
                    linear=self.vector3(0.5, 0.0, 0.0), angular=self.vector3(0.0, 0.0, 0.05)
                ),
                covariance=covariance,
            ),
        )

    def barometer(self, index: int, stamp_ns: int) -> Any:
        return self.types['sensor_msgs/msg/FluidPressure'](
            header=self.header(stamp_ns, 'baro', index),
            fluid_pressure=101_325.0 - 0.12 * index,
            variance=0.5,
        )

    def log(self, index: int, stamp_ns: int) -> Any:
        stamp = self.header(stamp_ns, '', index).stamp
        text = f'replanning after obstacle {index} at {0.37 * index:.2f} m'
        if self.ros1:
            return self.types['rosgraph_msgs/msg/Log'](
                header=self.header(stamp_ns, '', index),
                level=2,
                name='/planner',
                msg=text,
                file='planner.cpp',
                function='computePlan',
                line=412,
                topics=['/rosout'],
            )
        return self.types['rcl_interfaces/msg/Log'](
            stamp=stamp,
            level=20,
            name='planner',
            msg=text,
            file='planner.cpp',
            function='computePlan',
            line=412,
        )

    def encoders(self, index: int, stamp_ns: int) -> Any:
        import numpy as np

        ticks = np.arange(4, dtype=np.int32) * 1000 + index
        return self.types[ENCODER_TYPE](
            header=self.header(stamp_ns, 'base_link', index),
            ticks=ticks,
            speeds=ticks.astype(np.float64) * 1e-3,
            status=index % 3,
        )

    def builders(self) -> dict[str, Callable[[int, int], Any]]:
        return {
            IMU_TOPIC: self.imu,
            JOINTS_TOPIC: self.joints,
            TF_TOPIC: self.tf,
            GPS_TOPIC: self.gps,
            IMAGE_TOPIC: self.image,
            COMPRESSED_TOPIC: self.compressed,
            POSE_TOPIC: self.pose,
            ODOM_TOPIC: self.odometry,
            BARO_TOPIC: self.barometer,
            LOG_TOPIC: self.log,
            ENCODER_TOPIC: self.encoders,
        }

    def serialize(self, msg: Any, msgtype: str) -> bytes:
        if self.ros1:
            return bytes(self.typestore.serialize_ros1(msg, msgtype))
        return bytes(self.typestore.serialize_cdr(msg, msgtype))


def _schedule(spec: RecordingSpec) -> Iterator[tuple[int, str, int]]:
    """Yield (record time, topic, index) for every message, in time order."""
    counts = spec.counts()
    periods = {topic: 1e9 / hz for topic, hz in spec.rates().items()}
    order = list(counts)
    heap = [(spec.start_ns, order.index(topic), topic, 0) for topic in order if counts[topic]]
    heapq.heapify(heap)
    while heap:
        stamp, rank, topic, index = heapq.heappop(heap)
        yield stamp, topic, index
        if index + 1 < counts[topic]:
            next_stamp = spec.start_ns + round((index + 1) * periods[topic])
            heapq.heappush(heap, (next_stamp, rank, topic, index + 1))


def write_recording(
    path: Path,
    fmt: BagFormat = 'mcap',
    spec: RecordingSpec | None = None,
) -> Recording:
    """Write a synthetic recording.

    Args:
        path: Output path: a directory to create for rosbag2 (`mcap`, `db3`),
            a file for ROS 1 (`bag`). It must not exist.
        fmt: `mcap` or `db3` (rosbag2, humble types) or `bag` (ROS 1, noetic types).
        spec: What to generate; a 10 s recording by default.

    Returns:
        What was written.

    Raises:
        FileExistsError: The output exists already.

    """
    spec = spec or RecordingSpec()
    if path.exists():
        raise FileExistsError(f'{path}: exists already; synthetic recordings never overwrite')
    store = Stores.ROS1_NOETIC if fmt == 'bag' else Stores.ROS2_HUMBLE
    factory = _MessageFactory(store, spec)
    builders = factory.builders()
    counts = spec.counts()
    ros1_types = ROS1_MSGTYPES if fmt == 'bag' else {}
    msgtypes = {topic: ros1_types.get(topic, MSGTYPES[topic]) for topic in counts}

    if fmt == 'bag':
        from rosbags.rosbag1 import Writer as Ros1Writer

        writer1 = Ros1Writer(path)
        writer1.set_compression(Ros1Writer.CompressionFormat.LZ4)
        with writer1:
            conns1 = {
                topic: writer1.add_connection(topic, msgtype, typestore=factory.typestore)
                for topic, msgtype in msgtypes.items()
            }
            for stamp, topic, index in _schedule(spec):
                msg = builders[topic](index, stamp)
                writer1.write(conns1[topic], stamp, factory.serialize(msg, msgtypes[topic]))
    else:
        from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin
        from rosbags.rosbag2 import Writer as Ros2Writer

        plugin = StoragePlugin.MCAP if fmt == 'mcap' else StoragePlugin.SQLITE3
        writer2 = Ros2Writer(path, version=9, storage_plugin=plugin)
        if spec.compress and fmt == 'mcap':
            writer2.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        with writer2:
            conns2 = {
                topic: writer2.add_connection(topic, msgtype, typestore=factory.typestore)
                for topic, msgtype in msgtypes.items()
            }
            for stamp, topic, index in _schedule(spec):
                msg = builders[topic](index, stamp)
                writer2.write(conns2[topic], stamp, factory.serialize(msg, msgtypes[topic]))
    return Recording(path=path, fmt=fmt, spec=spec, counts=counts, msgtypes=msgtypes)
