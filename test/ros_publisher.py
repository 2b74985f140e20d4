"""A real ROS 2 publisher process for the recorder and player tests.

Run: ``python ros_publisher.py SPEC.json OUT.pkl``. The spec lists topics:

    {"topics": [{"topic": "/imu", "type": "sensor_msgs/msg/Imu", "hz": 400, "count": 800,
                 "start_s": 0.0, "latched": false, "wait_for_subscriber": true}],
     "hold_s": 1.0}

Each topic publishes `count` messages at `hz` (a latched topic publishes its
messages once, transient-local), starting `start_s` after the process starts,
after its publisher has matched a subscription when `wait_for_subscriber`
(so that no message goes out before a recorder listens). Message fields are
deterministic functions of the index. Everything published is serialized
with rclpy and written to OUT.pkl as ``{topic: [cdr bytes, ...]}``, so a test
compares stored rows with exactly what went out, and ``published`` is printed.
The process then stays `hold_s` seconds (latched topics stay available) and
prints ``done``.
"""

from __future__ import annotations

import importlib
import json
import pickle
import sys
import time
from typing import Any

SETTLE_S = 0.5
"""Wait after a subscription matched: DDS matches the two sides one after the other."""


def message_class(msgtype: str) -> Any:
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def build(msgtype: str, index: int, stamp: Any) -> Any:
    """A message of a few known types whose values depend on the index."""
    cls = message_class(msgtype)
    msg = cls()
    if hasattr(msg, 'header'):
        msg.header.stamp = stamp
        msg.header.frame_id = f'frame_{index}'
    if msgtype == 'sensor_msgs/msg/Imu':
        msg.linear_acceleration.x = float(index)
        msg.linear_acceleration.z = 9.81
        msg.angular_velocity.z = index / 100.0
        msg.orientation.w = 1.0
        msg.orientation_covariance[0] = 0.01
    elif msgtype == 'sensor_msgs/msg/Image':
        msg.height, msg.width, msg.encoding, msg.step = 48, 64, 'rgb8', 64 * 3
        msg.data = bytes((index + i) % 256 for i in range(48 * 64 * 3))
    elif msgtype == 'std_msgs/msg/String':
        msg.data = f'<robot name="r{index}"/>'
    elif msgtype == 'visualization_msgs/msg/MarkerArray':
        marker_cls = message_class('visualization_msgs/msg/Marker')
        for k in range(2):
            marker = marker_cls()
            marker.header.stamp = stamp
            marker.header.frame_id = 'map'
            marker.ns, marker.id, marker.type = 'test', index * 10 + k, 1
            marker.pose.position.x = float(index)
            marker.scale.x = marker.scale.y = marker.scale.z = 0.5
            marker.color.r, marker.color.a = 1.0, 1.0
            marker.text = f'marker {index}.{k}'
            msg.markers.append(marker)
    elif msgtype == 'rosgraph_msgs/msg/Clock':
        msg.clock.sec, msg.clock.nanosec = 1000 + index // 100, (index % 100) * 10_000_000
    elif msgtype == 'sensor_msgs/msg/NavSatFix':
        msg.latitude, msg.longitude, msg.altitude = 45.0 + index * 1e-5, 9.0, 100.0 + index
        msg.status.status = 0
    return msg


def main() -> None:
    import rclpy
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.serialization import serialize_message

    spec = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    out = sys.argv[2]
    rclpy.init()
    node = Node('test_publisher')
    start = time.monotonic()
    published: dict[str, list[bytes]] = {}
    plans = []
    for topic in spec['topics']:
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=max(1000, topic['count']) if not topic.get('latched') else 1,
            reliability=ReliabilityPolicy.RELIABLE,
            durability=(
                DurabilityPolicy.TRANSIENT_LOCAL
                if topic.get('latched')
                else DurabilityPolicy.VOLATILE
            ),
        )
        plans.append({**topic, 'qos': qos, 'publisher': None, 'sent': 0})
        published[topic['topic']] = []

    def stamp() -> Any:
        return node.get_clock().now().to_msg()

    pending = list(plans)
    while pending:
        now = time.monotonic() - start
        for plan in list(pending):
            if now < plan.get('start_s', 0.0):
                continue
            if plan['publisher'] is None:
                plan['publisher'] = node.create_publisher(
                    message_class(plan['type']), plan['topic'], plan['qos']
                )
                plan['began'] = time.monotonic()
            publisher = plan['publisher']
            if plan.get('wait_for_subscriber', True) and not plan.get('latched'):
                if publisher.get_subscription_count() == 0:
                    plan['began'] = time.monotonic() + SETTLE_S
                    continue
                if time.monotonic() < plan['began']:
                    continue  # matched on our side; let the subscriber's side match too
            due = int((time.monotonic() - plan['began']) * plan.get('hz', 1.0)) + 1
            while plan['sent'] < min(due, plan['count']):
                if plan['sent'] == 0:
                    print(f'started {plan["topic"]}', flush=True)
                msg = build(plan['type'], plan['sent'], stamp())
                publisher.publish(msg)
                published[plan['topic']].append(bytes(serialize_message(msg)))
                plan['sent'] += 1
            if plan['sent'] >= plan['count']:
                pending.remove(plan)
        time.sleep(0.001)
    with open(out, 'wb') as handle:
        pickle.dump(published, handle)
    print('published', flush=True)
    end = time.monotonic() + spec.get('hold_s', 1.0)
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    print('done', flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
