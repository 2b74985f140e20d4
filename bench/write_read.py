"""Write and read N IMU messages with our client and with mosaicolabs 0.7.0.

Starts one embedded server in-process on a temporary store, pushes the same
IMU values with each client into its own sequence, streams both back, and
prints messages/s and the ratios ours/peer. Messages are built before the
clocks start, each with its own library's model classes.

    python bench/write_read.py --n 200000
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

T0 = 1_700_000_000_000_000_000
PERIOD_NS = 1_000_000


def imu_values(index: int) -> dict[str, Any]:
    """Plain values of the i-th IMU sample, shared by both libraries."""
    stamp = T0 + index * PERIOD_NS
    return {
        'header': {
            'timestamp': {'seconds': stamp // 1_000_000_000, 'nanoseconds': stamp % 1_000_000_000},
            'frame_id': 'imu_link',
        },
        'acceleration': {'x': 0.01 * (index % 100), 'y': -0.5, 'z': 9.81},
        'angular_velocity': {'x': 0.001 * (index % 7), 'y': 0.0, 'z': 0.02},
        'orientation': {'x': 0.0, 'y': 0.0, 'z': 0.0, 'w': 1.0},
    }


def build_messages(n: int, message_cls: Any, imu_cls: Any) -> list[Any]:
    """Build n Messages of one library."""
    return [
        message_cls(timestamp_ns=T0 + i * PERIOD_NS, data=imu_cls.model_validate(imu_values(i)))
        for i in range(n)
    ]


def timed(run: Callable[[], int]) -> tuple[int, float]:
    """Run and return (count, seconds)."""
    start = time.perf_counter()
    count = run()
    return count, time.perf_counter() - start


def bench_ours(port: int, messages: list[Any], imu_cls: Any) -> tuple[float, float]:
    """Messages/s written and read with mosaico_ros.client."""
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', port) as client:

        def write() -> int:
            with client.sequence_create('bench_ours', {'client': 'mosaico_ros'}) as writer:
                topic = writer.topic_create('imu', {}, imu_cls)
                assert topic is not None
                for message in messages:
                    topic.push(message)
            return len(messages)

        def read() -> int:
            handler = client.sequence_handler('bench_ours')
            assert handler is not None
            return sum(1 for _ in handler.get_data_streamer())

        written, write_s = timed(write)
        read_count, read_s = timed(read)
        assert read_count == written, (read_count, written)
    return written / write_s, read_count / read_s


def bench_peer(port: int, messages: list[Any], imu_cls: Any) -> tuple[float, float]:
    """Messages/s written and read with mosaicolabs."""
    from mosaicolabs import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', port) as client:

        def write() -> int:
            with client.sequence_create('bench_peer', {'client': 'mosaicolabs'}) as writer:
                topic = writer.topic_create('imu', {}, imu_cls)
                assert topic is not None
                for message in messages:
                    topic.push(message=message)
            return len(messages)

        def read() -> int:
            handler = client.sequence_handler('bench_peer')
            assert handler is not None
            return sum(1 for _ in handler.get_data_streamer())

        written, write_s = timed(write)
        read_count, read_s = timed(read)
        assert read_count == written, (read_count, written)
    return written / write_s, read_count / read_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--n', type=int, default=200_000, help='IMU messages per client')
    args = parser.parse_args()
    logging.getLogger('mosaicolabs').setLevel(logging.WARNING)

    import mosaicolabs

    from mosaico_ros import ontology
    from mosaico_ros.server import EmbeddedServer

    ours_messages = build_messages(args.n, ontology.Message, ontology.IMU)
    peer_messages = build_messages(args.n, mosaicolabs.Message, mosaicolabs.IMU)

    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(Path(tmp), port=0) as server:
        ours_write, ours_read = bench_ours(server.port, ours_messages, ontology.IMU)
        peer_write, peer_read = bench_peer(server.port, peer_messages, mosaicolabs.IMU)

    print(f'IMU messages per client: {args.n}')
    print(f'{"":8}{"write msg/s":>14}{"read msg/s":>14}')
    print(f'{"ours":8}{ours_write:14,.0f}{ours_read:14,.0f}')
    print(f'{"peer":8}{peer_write:14,.0f}{peer_read:14,.0f}')
    print(f'{"ratio":8}{ours_write / peer_write:13.1f}x{ours_read / peer_read:13.1f}x')


if __name__ == '__main__':
    main()
