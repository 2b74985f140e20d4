"""Shared helpers of the player and export tests: what a replayed message must equal.

A message that went bag -> Mosaico -> ROS must equal the bag's, field by
field, except for the fields an adapter's documented convention does not
keep (`LOSSY`, found on the shared bags and the generated messages). Fields
that only a newer distro's definition has (``Range.variance``) are not
compared: the bag never had them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from test_adapters_support import plain

LOSSY: dict[str, dict[str, str]] = {
    'sensor_msgs/msg/NavSatFix': {
        'position_covariance': 'kept only when an element is > 0 (NaN or zeros come back as 0)',
        'position_covariance_type': 'kept with the covariance only',
    },
    'sensor_msgs/msg/CompressedImage': {
        'format': 'reduced to its codec: "rgb8; jpeg compressed bgr8" comes back as "jpeg"',
    },
    'sensor_msgs/msg/CameraInfo': {
        'binning_x': 'binning is kept only when both factors are > 1 (1 comes back as 0)',
        'binning_y': 'binning is kept only when both factors are > 1 (1 comes back as 0)',
    },
}
"""ROS type -> field -> why the adapter does not bring it back as it was."""


def differing(have: Any, want: Any, path: str = '') -> set[str]:
    """Dotted paths of the fields of `want` whose values `have` does not equal.

    List elements share their list's path; keys only `have` has are ignored.
    """
    if have == want:
        return set()
    if isinstance(want, dict) and isinstance(have, dict):
        out: set[str] = set()
        for key in want:
            out |= differing(have.get(key), want[key], f'{path}.{key}' if path else key)
        return out
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        return set().union(*(differing(h, w, path) for h, w in zip(have, want, strict=True)))
    if isinstance(want, float) and isinstance(have, float) and want != want and have != have:
        return set()  # NaN is NaN
    return set() if have == want else {path}


def assert_equal_messages(msgtype: str, have: list[Any], want: list[Any], where: str) -> None:
    """Messages (as `plain` data) equal field by field, but for the type's `LOSSY` fields."""
    assert len(have) == len(want), f'{where}: {len(have)} messages, want {len(want)}'
    fields = set().union(*(differing(h, w) for h, w in zip(have, want, strict=True)))
    unexpected = fields - set(LOSSY.get(msgtype, {}))
    assert not unexpected, f'{where} ({msgtype}): {sorted(unexpected)} differ'


def bag_messages(path: Path, *, ros1: bool = False) -> dict[str, list[tuple[int, str, Any]]]:
    """Every message of a bag, decoded by rosbags: topic -> (log time, type, plain message)."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    out: dict[str, list[tuple[int, str, Any]]] = {}
    with AnyReader([path], default_typestore=store) as reader:
        for conn, stamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append(
                (stamp, conn.msgtype, plain(reader.deserialize(raw, conn.msgtype)))
            )
    return out


def store_every_mapped_type(
    client: Any, sequence: str, t0: int, step_ns: int, count: int = 3
) -> dict[str, tuple[str, list[int], list[Any]]]:
    """Store `count` messages of every mapped ROS 2 type, one topic each, interleaved in time.

    Messages are built within the adapters' conventions (`FIXES`), so they
    come back equal; the types' topics are `/tNN/<name>`.

    Returns:
        Topic -> (type, times, plain messages).

    """
    from rosbags.typesys import Stores, get_typestore
    from test_adapters_support import FIXES, ROS1_ONLY, MessageFactory

    from mosaico_ros.adapters import SENTENCE_MSGDEF, default_registry, register_msgdef
    from mosaico_ros.pipeline import (
        CutPolicy,
        Pipeline,
        RawMessage,
        Router,
        SequenceReport,
        SessionSink,
        TopicInfo,
        TopicSelection,
    )

    typestore = get_typestore(Stores.ROS2_HUMBLE)
    register_msgdef(typestore, 'nmea_msgs/msg/Sentence', SENTENCE_MSGDEF)
    factory = MessageFactory(typestore)
    router = Router(default_registry.copy(), typestore, TopicSelection())
    sink = SessionSink(client, sequence, metadata={'generated': True})
    pipeline = Pipeline(router, CutPolicy(max_messages=100), SequenceReport('test', sequence), sink)
    made: dict[str, tuple[str, list[int], list[Any]]] = {}
    messages: list[RawMessage] = []
    msgtypes = sorted(set(default_registry.msgtypes) - set(ROS1_ONLY))
    with sink:
        for index, msgtype in enumerate(msgtypes):
            topic = f'/t{index:02d}/{msgtype.rsplit("/", 1)[-1].lower()}'
            pipeline.declare(TopicInfo(topic, msgtype, 'cdr'))
            fix = FIXES.get(msgtype, lambda msg, _: msg)
            built = [fix(factory.make(msgtype), factory) for _ in range(count)]
            times = [t0 + k * step_ns * len(msgtypes) + index * step_ns for k in range(count)]
            made[topic] = (msgtype, times, [plain(msg) for msg in built])
            for stamp, msg in zip(times, built, strict=True):
                data = typestore.serialize_cdr(msg, msgtype)
                messages.append(RawMessage(topic, msgtype, stamp, data))
        with pipeline:
            for message in sorted(messages, key=lambda m: m.log_time_ns):
                pipeline.push(message)
    assert pipeline.report.clean, pipeline.report.problems()
    return made


def store_sequence(
    client: Any,
    sequence: str,
    topics: dict[str, tuple[str, dict[str, Any] | None]],
    messages: Iterable[tuple[str, int, Any]],
) -> None:
    """Store messages through the pipeline as inject does (batches of 500 or 8 MB).

    Args:
        client: Connected client.
        sequence: New sequence name.
        topics: Topic -> (ROS type, recorded QoS profile or None).
        messages: (topic, time, rosbags message) in time order (a generator keeps few).

    """
    from rosbags.typesys import Stores, get_typestore

    from mosaico_ros.adapters import default_registry
    from mosaico_ros.pipeline import (
        CutPolicy,
        Pipeline,
        RawMessage,
        Router,
        SequenceReport,
        SessionSink,
        TopicInfo,
        TopicSelection,
    )
    from mosaico_ros.pipeline.qos import normalize_profile

    typestore = get_typestore(Stores.ROS2_HUMBLE)
    router = Router(default_registry.copy(), typestore, TopicSelection())
    sink = SessionSink(client, sequence, metadata={'generated': True})
    report = SequenceReport('test', sequence)
    pipeline = Pipeline(router, CutPolicy(max_messages=500, max_bytes=8 << 20), report, sink)
    with sink:
        for topic, (msgtype, qos) in topics.items():
            profiles = None if qos is None else (normalize_profile(qos),)
            pipeline.declare(TopicInfo(topic, msgtype, 'cdr', qos=profiles))
        with pipeline:
            for topic, stamp, msg in messages:
                msgtype = topics[topic][0]
                data = typestore.serialize_cdr(msg, msgtype)
                pipeline.push(RawMessage(topic, msgtype, stamp, data))
    assert report.clean, report.problems()


@functools.cache
def humble() -> Any:
    """The ROS 2 Humble stock typestore, made once."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_HUMBLE)


def imu(index: int) -> Any:
    """An IMU message whose linear acceleration x is its index."""
    types = humble().types
    return types['sensor_msgs/msg/Imu'](
        header=types['std_msgs/msg/Header'](
            stamp=types['builtin_interfaces/msg/Time'](sec=index, nanosec=0), frame_id='imu'
        ),
        orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=np.full(9, 0.01),
        angular_velocity=types['geometry_msgs/msg/Vector3'](x=0.0, y=0.0, z=0.1),
        angular_velocity_covariance=np.full(9, 0.01),
        linear_acceleration=types['geometry_msgs/msg/Vector3'](x=float(index), y=0.0, z=9.81),
        linear_acceleration_covariance=np.full(9, 0.01),
    )


def imu_index(payload: bytes) -> int:
    """The index of an `imu` message from its CDR bytes."""
    return int(humble().deserialize_cdr(payload, 'sensor_msgs/msg/Imu').linear_acceleration.x)
