"""Benchmark ROS -> ontology conversion of IMU messages: our batch adapter vs the SDK's.

Both start from the same pre-decoded rosbags `sensor_msgs/msg/Imu` objects:

- ours: `default_registry` IMU adapter, `to_arrow` over the whole list (columns built at once);
- peer: what `mosaicolabs`' ROS bridge does per message: the loader's message-to-dict
  conversion, then `IMUAdapter.translate` into a pydantic `Message`.

Run: python bench/adapters.py [--n 100000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_typestore

IMU = 'sensor_msgs/msg/Imu'


def imu_messages(count: int) -> list[Any]:
    types = get_typestore(Stores.ROS2_HUMBLE).types
    imu, header, stamp = (
        types[IMU],
        types['std_msgs/msg/Header'],
        types['builtin_interfaces/msg/Time'],
    )
    vector, quaternion = types['geometry_msgs/msg/Vector3'], types['geometry_msgs/msg/Quaternion']
    cov = np.eye(3).reshape(-1) * 0.01
    return [
        imu(
            header=header(
                stamp=stamp(sec=1_700_000_000 + i // 1000, nanosec=(i % 1000) * 10**6),
                frame_id='imu_link',
            ),
            orientation=quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
            orientation_covariance=cov,
            angular_velocity=vector(x=0.01 * i, y=0.02, z=0.03),
            angular_velocity_covariance=np.zeros(9),
            linear_acceleration=vector(x=0.1, y=0.2, z=9.81),
            linear_acceleration_covariance=cov,
        )
        for i in range(count)
    ]


def ours(messages: list[Any]) -> float:
    from mosaico_ros.adapters import default_registry

    adapter = default_registry.for_msgtype(IMU)
    assert adapter is not None
    start = time.perf_counter()
    for index in range(0, len(messages), 1000):
        adapter.to_arrow(messages[index : index + 1000], IMU)
    return time.perf_counter() - start


def peer(messages: list[Any]) -> float:
    from mosaicolabs.bridges.ros.adapters.sensor_msgs import IMUAdapter
    from mosaicolabs.bridges.ros.helpers import _to_dict
    from mosaicolabs.bridges.ros.ros_message import ROSMessage

    start = time.perf_counter()
    for index, message in enumerate(messages):
        data, constants = _to_dict(message)
        IMUAdapter.translate(ROSMessage(index, '/imu', IMU, data, constants))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=100_000, help='IMU messages')
    count = parser.parse_args().n
    messages = imu_messages(count)
    ours(messages[:1000])
    peer_count = min(count, 20_000)
    ours_s, peer_s = ours(messages), peer(messages[:peer_count])
    ours_rate, peer_rate = count / ours_s, peer_count / peer_s
    print(f'IMU messages: {count} (peer timed on {peer_count})')
    print(f'ours to_arrow      {ours_rate:12,.0f} msg/s')
    print(f'peer translate     {peer_rate:12,.0f} msg/s')
    print(f'ratio              {ours_rate / peer_rate:11.1f}x')


if __name__ == '__main__':
    main()
