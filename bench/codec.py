"""Benchmark the columnar codec against rosbags per message, for common message types.

Decode: the per-message path decodes each CDR payload into a rosbags object
(`pipeline.decoding.payload_decoder`) and the generic adapter builds the
Arrow columns from the batch; the codec builds the same columns from the
batch's bytes. Encode: rosbags serializes each message object; the codec
encodes the Arrow batch. Both start from the same payloads, cut into batches
as the pipeline cuts them (at most `--batch` messages and 32 MiB).

`--converter` measures instead what the pipeline's `BatchConverter` does
with a batch of each size, decode and the type's own adapter, per message
and as columns: the rule `conversion.COLUMNAR_FROM` is read off this table.

`--encoder` measures the reverse chain (replay, export): `TopicEncoder`
serializing stored batches of `--batch` rows (the type's adapter's model
rows) per message (`from_arrow`, then rosbags) and as columns
(`to_ros_columns`, then the codec), for the types whose adapter is
`columnar_reverse`.

Run: python bench/codec.py [--scale 1.0] [--batch 1000] [--repeat 3] [--converter | --encoder]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.adapters import GenericAdapter, default_registry
from mosaico_ros.codec import CodecCache, decode, encode
from mosaico_ros.pipeline.conversion import BatchConverter, Payloads
from mosaico_ros.pipeline.decoding import ROS_DECODE_ERRORS, payload_decoder
from mosaico_ros.pipeline.replay import TopicEncoder
from mosaico_ros.protocol import TIMESTAMP_COLUMN

STORE = get_typestore(Stores.ROS2_HUMBLE)
T = STORE.types
_MAX_BATCH_BYTES = 32 << 20


def _header(index: int, frame: str = 'base_link') -> Any:
    stamp = T['builtin_interfaces/msg/Time'](sec=1_700_000_000 + index // 100, nanosec=index)
    return T['std_msgs/msg/Header'](stamp=stamp, frame_id=frame)


def _vector(x: float, y: float, z: float) -> Any:
    return T['geometry_msgs/msg/Vector3'](x=x, y=y, z=z)


def _quaternion() -> Any:
    return T['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0)


def imu(index: int) -> Any:
    cov = np.eye(3).reshape(-1) * 0.01
    return T['sensor_msgs/msg/Imu'](
        header=_header(index, 'imu_link'),
        orientation=_quaternion(),
        orientation_covariance=cov,
        angular_velocity=_vector(0.01 * index, 0.02, 0.03),
        angular_velocity_covariance=cov,
        linear_acceleration=_vector(0.1, 0.2, 9.81),
        linear_acceleration_covariance=cov,
    )


def joint_state(index: int) -> Any:
    values = np.linspace(0, 1, 6) + index
    return T['sensor_msgs/msg/JointState'](
        header=_header(index),
        name=[f'joint_{k}' for k in range(1, 7)],
        position=values,
        velocity=values * 0.1,
        effort=values * 0.01,
    )


def odometry(index: int) -> Any:
    pose = T['geometry_msgs/msg/Pose'](
        position=T['geometry_msgs/msg/Point'](x=index * 0.1, y=0.0, z=0.0),
        orientation=_quaternion(),
    )
    twist = T['geometry_msgs/msg/Twist'](linear=_vector(1.0, 0, 0), angular=_vector(0, 0, 0.1))
    return T['nav_msgs/msg/Odometry'](
        header=_header(index, 'odom'),
        child_frame_id='base_link',
        pose=T['geometry_msgs/msg/PoseWithCovariance'](pose=pose, covariance=np.eye(6).ravel()),
        twist=T['geometry_msgs/msg/TwistWithCovariance'](twist=twist, covariance=np.eye(6).ravel()),
    )


def tf(index: int) -> Any:
    frames = [('map', 'odom'), ('odom', 'base_link'), ('base_link', 'laser')]
    transforms = [
        T['geometry_msgs/msg/TransformStamped'](
            header=_header(index, parent),
            child_frame_id=child,
            transform=T['geometry_msgs/msg/Transform'](
                translation=_vector(index * 0.01, 0.0, 0.0), rotation=_quaternion()
            ),
        )
        for parent, child in frames
    ]
    return T['tf2_msgs/msg/TFMessage'](transforms=transforms)


def image(index: int) -> Any:
    data = np.full(640 * 480 * 3, index % 256, np.uint8)
    return T['sensor_msgs/msg/Image'](
        header=_header(index, 'camera'),
        height=480,
        width=640,
        encoding='rgb8',
        is_bigendian=0,
        step=640 * 3,
        data=data,
    )


def point_cloud(index: int) -> Any:
    field = T['sensor_msgs/msg/PointField']
    fields = [
        field(name=name, offset=4 * k, datatype=7, count=1)
        for k, name in enumerate(('x', 'y', 'z', 'intensity'))
    ]
    points = 20_000
    return T['sensor_msgs/msg/PointCloud2'](
        header=_header(index, 'lidar'),
        height=1,
        width=points,
        fields=fields,
        is_bigendian=False,
        point_step=16,
        row_step=16 * points,
        data=np.full(16 * points, index % 256, np.uint8),
        is_dense=True,
    )


def log(index: int) -> Any:
    return T['rcl_interfaces/msg/Log'](
        stamp=_header(index).stamp,
        level=20,
        name='planner',
        msg=f'replanning after obstacle {index} at distance {index * 0.37:.2f} m',
        file='/opt/ros/humble/src/nav2_planner/src/planner_server.cpp',
        function='computePlan',
        line=412 + index % 7,
    )


def path(index: int) -> Any:
    pose = T['geometry_msgs/msg/PoseStamped']
    poses = [
        pose(
            header=_header(index, 'map'),
            pose=T['geometry_msgs/msg/Pose'](
                position=T['geometry_msgs/msg/Point'](x=k * 0.1, y=0.0, z=0.0),
                orientation=_quaternion(),
            ),
        )
        for k in range(200)
    ]
    return T['nav_msgs/msg/Path'](header=_header(index, 'map'), poses=poses)


@dataclass(frozen=True)
class Case:
    label: str
    msgtype: str
    make: Callable[[int], Any]
    count: int


CASES = (
    Case('Imu', 'sensor_msgs/msg/Imu', imu, 20_000),
    Case('JointState (6 joints)', 'sensor_msgs/msg/JointState', joint_state, 20_000),
    Case('Odometry', 'nav_msgs/msg/Odometry', odometry, 20_000),
    Case('TFMessage (3 transforms)', 'tf2_msgs/msg/TFMessage', tf, 20_000),
    Case('Image 640x480 rgb8', 'sensor_msgs/msg/Image', image, 300),
    Case('PointCloud2 (20k points)', 'sensor_msgs/msg/PointCloud2', point_cloud, 300),
    Case('Log (strings)', 'rcl_interfaces/msg/Log', log, 20_000),
    Case('Path (200 poses)', 'nav_msgs/msg/Path', path, 1_000),
)


def batches(payloads: list[bytes], limit: int) -> Iterator[tuple[bytes, list[int]]]:
    """Cut payloads as the pipeline does: `limit` messages or 32 MiB, whichever comes first."""
    start = 0
    while start < len(payloads):
        stop, size = start, 0
        while stop < len(payloads) and stop - start < limit and size < _MAX_BATCH_BYTES:
            size += len(payloads[stop])
            stop += 1
        chunk = payloads[start:stop]
        yield b''.join(chunk), np.cumsum([len(p) for p in chunk]).tolist()
        start = stop


def best(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(case: Case, scale: float, limit: int, repeat: int) -> dict[str, float]:
    count = max(1, int(case.count * scale))
    msgs = [case.make(index) for index in range(count)]
    payloads = [bytes(STORE.serialize_cdr(msg, case.msgtype)) for msg in msgs]
    cut = list(batches(payloads, limit))
    plan = CodecCache(STORE).plan(case.msgtype)
    adapter = GenericAdapter(case.msgtype, STORE)
    per_message = payload_decoder(STORE, case.msgtype, ros1=False)
    structs = [decode(plan, blob, ends).struct for blob, ends in cut]
    objects = [[per_message(p) for p in payloads[i : i + limit]] for i in range(0, count, limit)]

    def rosbags_decode() -> None:
        for blob, ends in cut:
            view = memoryview(blob)
            starts = [0, *ends[:-1]]
            adapter.to_arrow(
                [per_message(view[a:b]) for a, b in zip(starts, ends, strict=True)],
                case.msgtype,
            )

    def columnar_decode() -> None:
        for blob, ends in cut:
            decode(plan, blob, ends)

    def rosbags_encode() -> None:
        for batch in objects:
            for msg in batch:
                STORE.serialize_cdr(msg, case.msgtype)

    def columnar_encode() -> None:
        for struct in structs:
            encode(plan, struct)

    return {
        name: count / best(repeat, run)
        for name, run in (
            ('rosbags_decode', rosbags_decode),
            ('columnar_decode', columnar_decode),
            ('rosbags_encode', rosbags_encode),
            ('columnar_encode', columnar_encode),
        )
    }


CONVERTER_SIZES = (1, 8, 32, 64, 96, 128, 256, 1000)
"""Batch sizes of the converter table: a low-rate live topic cut by latency up to a bag's batch."""


def converter_rates(case: Case, size: int, repeat: int) -> tuple[float, float] | None:
    """Messages per second through `BatchConverter`, per message and as columns.

    None when `size` messages do not fit one batch (32 MiB).
    """
    one = len(STORE.serialize_cdr(case.make(0), case.msgtype))
    if size * one > _MAX_BATCH_BYTES:
        return None
    count = size * max(1, min(200, (2000 if case.count >= 1000 else 20) // size))
    payloads = [bytes(STORE.serialize_cdr(case.make(i), case.msgtype)) for i in range(count)]
    cut = [Payloads(blob, ends) for blob, ends in batches(payloads, size)]
    adapter = default_registry.resolve(case.msgtype, STORE)
    decoder = payload_decoder(STORE, case.msgtype, ros1=False)
    plan = CodecCache(STORE).plan(case.msgtype)
    name = type(adapter).__name__
    objects = BatchConverter(decoder, adapter, case.msgtype, name, ROS_DECODE_ERRORS)
    columns = BatchConverter(
        decoder, adapter, case.msgtype, name, ROS_DECODE_ERRORS, plan=plan, columnar_from=1
    )
    converted = len(cut) * size
    rates = []
    for converter in (objects, columns):
        converter(cut[0])  # first-use costs out of the timing

        def run(converter: BatchConverter = converter) -> None:
            for payload in cut:
                converter(payload)

        rates.append(converted / best(repeat, run))
    return rates[0], rates[1]


def converter_table(repeat: int) -> None:
    print("BatchConverter, decode + the type's adapter: columns / per message, by batch size")
    print(f'{"message":<26}' + ''.join(f'{size:>8}' for size in CONVERTER_SIZES))
    for case in CASES:
        cells = []
        for size in CONVERTER_SIZES:
            rates = converter_rates(case, size, repeat)
            cells.append(f'{"-":>8}' if rates is None else f'{rates[1] / rates[0]:>7.2f}x')
        print(f'{case.label:<26}' + ''.join(cells))


def encoder_rates(case: Case, size: int, repeat: int) -> tuple[float, float] | None:
    """Rows per second through `TopicEncoder`, per message and as columns (None: not columnar)."""
    adapter = default_registry.resolve(case.msgtype, STORE)
    if not adapter.columnar_reverse:
        return None
    count = size * max(1, 10_000 // size)
    stored = []
    for start in range(0, count, size):
        struct = adapter.to_arrow([case.make(i) for i in range(start, start + size)], case.msgtype)
        rows = pa.RecordBatch.from_struct_array(struct)
        times = pa.array(np.arange(start, start + size, dtype=np.int64))
        stored.append(rows.add_column(0, TIMESTAMP_COLUMN, times))
    plans = CodecCache(STORE)
    objects = TopicEncoder('bench', case.msgtype, adapter, STORE, None)
    columns = TopicEncoder('bench', case.msgtype, adapter, STORE, None, plans=plans)
    assert objects.encode(stored[0]) == columns.encode(stored[0])
    rates = []
    for encoder in (objects, columns):

        def run(encoder: TopicEncoder = encoder) -> None:
            for rows in stored:
                encoder.encode(rows)

        rates.append(count / best(repeat, run))
    assert columns.columnar_rows == size * (1 + repeat * len(stored))
    return rates[0], rates[1]


def encoder_table(size: int, repeat: int) -> None:
    print(f'TopicEncoder, stored batches of {size} rows to CDR payloads')
    print(f'{"message":<26} {"per message msg/s":>18} {"columnar msg/s":>15} {"ratio":>7}')
    for case in CASES:
        rates = encoder_rates(case, size, repeat)
        if rates is not None:
            print(
                f'{case.label:<26} {rates[0]:>18,.0f} {rates[1]:>15,.0f}'
                f' {rates[1] / rates[0]:>6.1f}x'
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--scale', type=float, default=1.0, help='multiply message counts')
    parser.add_argument('--batch', type=int, default=1000, help='messages per batch')
    parser.add_argument('--repeat', type=int, default=3, help='runs; the best counts')
    parser.add_argument(
        '--converter', action='store_true', help='the per-batch-size table of BatchConverter'
    )
    parser.add_argument(
        '--encoder', action='store_true', help="the reverse chain's TopicEncoder, both paths"
    )
    args = parser.parse_args()
    if args.encoder:
        encoder_table(args.batch, args.repeat)
        return
    if args.converter:
        converter_table(args.repeat)
        return
    print(
        f'{"message":<26} {"decode msg/s: rosbags":>22} {"columnar":>10} {"ratio":>7}'
        f' {"encode msg/s: rosbags":>22} {"columnar":>10} {"ratio":>7}'
    )
    for case in CASES:
        rates = measure(case, args.scale, args.batch, args.repeat)
        print(
            f'{case.label:<26} {rates["rosbags_decode"]:>22,.0f} {rates["columnar_decode"]:>10,.0f}'
            f' {rates["columnar_decode"] / rates["rosbags_decode"]:>6.1f}x'
            f' {rates["rosbags_encode"]:>22,.0f} {rates["columnar_encode"]:>10,.0f}'
            f' {rates["columnar_encode"] / rates["rosbags_encode"]:>6.1f}x'
        )


if __name__ == '__main__':
    main()
