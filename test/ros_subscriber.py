"""A real ROS 2 subscriber process for the player tests.

Run: ``python ros_subscriber.py SPEC.json OUT.pkl``. The spec lists topics:

    {"topics": [{"topic": "/imu", "type": "sensor_msgs/msg/Imu",
                 "qos": {"reliability": "reliable", "durability": "volatile", "depth": 1000},
                 "start_s": 0.0}],
     "expect": {"/imu": 800}, "idle_s": 3.0, "max_s": 60.0}

Each topic is subscribed raw `start_s` after the process starts (a late
subscriber of a latched topic). Every message is kept with its receive time
and its publish time (both from the RMW, ns since the epoch) and its CDR
bytes. The process prints ``subscribed`` once every topic has a
subscription, and ends when every topic reached its `expect`ed count, when
nothing arrived for `idle_s` after the first message, after `max_s`, or on
SIGTERM/SIGINT; it then writes ``{topic: [(received_ns, published_ns, bytes)]}``
to OUT.pkl and prints ``received``.
"""

from __future__ import annotations

import importlib
import json
import pickle
import signal
import sys
import threading
import time
from typing import Any


def message_class(msgtype: str) -> Any:
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def qos(profile: dict[str, Any]) -> Any:
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=int(profile.get('depth', 1000)),
        reliability=ReliabilityPolicy[profile.get('reliability', 'reliable').upper()],
        durability=DurabilityPolicy[profile.get('durability', 'volatile').upper()],
    )


def main() -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    spec = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    out = sys.argv[2]
    rclpy.init()
    node = Node('test_subscriber')
    got: dict[str, list[tuple[int, int, bytes]]] = {t['topic']: [] for t in spec['topics']}
    last = [0.0]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def callback(topic: str) -> Any:
        kept = got[topic]

        def received(data: bytes, info: Any) -> None:
            kept.append((info['received_timestamp'], info['source_timestamp'], bytes(data)))
            last[0] = time.monotonic()

        return received

    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    start = time.monotonic()
    pending = list(spec['topics'])
    expect = spec.get('expect', {})
    idle, limit = spec.get('idle_s', 3.0), spec.get('max_s', 60.0)
    while not stop.wait(0.01):
        now = time.monotonic()
        for topic in list(pending):
            if now - start >= topic.get('start_s', 0.0):
                node.create_subscription(
                    message_class(topic['type']),
                    topic['topic'],
                    callback(topic['topic']),
                    qos(topic.get('qos', {})),
                    raw=True,
                )
                pending.remove(topic)
                if not pending:
                    print('subscribed', flush=True)
        done = expect and all(len(got[t]) >= n for t, n in expect.items())
        quiet = last[0] and now - last[0] >= idle
        if done or quiet or now - start >= limit:
            break
    executor.shutdown(timeout_sec=2)
    with open(out, 'wb') as handle:
        pickle.dump(got, handle)
    print('received', flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == '__main__':
    main()
