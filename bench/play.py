"""Benchmark the player against a bare rclpy raw publisher, in the same run.

For IMU-size messages (sensor_msgs/Imu) and 640x480 rgb8 images, a sequence
is stored in an embedded store, then played twice over, alternating:

- by ``mosaico-ros play`` (read-ahead child, scheduler, raw publish), and
- by a bare rclpy raw publisher replaying the same CDR bytes from memory
  (read back through the same reverse chain beforehand), with the same QoS,
  sleeping until each message's time.

A bare rclpy raw subscriber process records what arrives. Measured:

- timing at rate 1.0: publish time (the DDS source timestamp the subscriber
  receives) minus scheduled time (the first message's publish time plus the
  recorded offset), p50 and p99 in ms;
- the highest sustained rate as fast as possible (``--rate 0``; the bare
  publisher without sleeping): messages per second from the first publish to
  the last, and how many arrived (a Python subscriber loses what it cannot
  keep up with, for both alike); and ours again with a read-ahead large
  enough to hold the whole sequence before playing starts, which measures
  the scheduler and publisher without the rebuild of messages.

Each figure is the median of ``--repeat`` runs. The goals: p99 under 1 ms at
rate 1.0, and at least 0.8 of the bare publisher's rate. These machines are
shared, so a run next to a busy neighbour shows the neighbour: compare the
columns of one run, not runs.

Run: python bench/play.py [--repeat 2] [--imu-hz 200] [--seconds 5] [--imu-burst 20000]
[--image-burst 250]
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
T0 = 1_700_000_000_000_000_000
QOS = {'reliability': 'reliable', 'durability': 'volatile', 'history': 'keep_last', 'depth': 100}

SUBSCRIBER = textwrap.dedent(
    """
    import pickle, sys, threading, time, rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import Image, Imu
    kind, expect, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rclpy.init()
    node = Node('bench_subscriber')
    got = []
    last = [0.0]
    def received(data, info):
        # header.stamp.sec, after the 4-byte CDR encapsulation, is the message's index
        index = int.from_bytes(data[4:8], 'little')
        got.append((info['received_timestamp'], info['source_timestamp'], index))
        last[0] = time.monotonic()
    node.create_subscription(
        Imu if kind == 'imu' else Image, '/bench', received, QoSProfile(depth=1000), raw=True
    )
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    print('subscribed', flush=True)
    start = time.monotonic()
    while len(got) < expect and time.monotonic() - start < 120:
        if last[0] and time.monotonic() - last[0] > 3.0:
            break
        time.sleep(0.05)
    pickle.dump(got, open(out, 'wb'))
    print('received', flush=True)
    """
)

BARE = textwrap.dedent(
    """
    import pickle, sys, time, rclpy
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, Imu
    kind, source, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    times, payloads = pickle.load(open(source, 'rb'))
    rclpy.init()
    node = Node('bench_bare_publisher')
    publisher = node.create_publisher(
        Imu if kind == 'imu' else Image, '/bench', QoSProfile(depth=100)
    )
    while publisher.get_subscription_count() == 0:
        time.sleep(0.01)
    time.sleep(2.0)
    start, first = time.monotonic_ns(), times[0]
    for stamp, payload in zip(times, payloads):
        if rate:
            due = start + (stamp - first) / rate
            while (left := due - time.monotonic_ns()) > 0:
                time.sleep(left / 1e9)
        while True:
            try:
                publisher.publish(payload)
                break
            except Exception:
                time.sleep(0.0005)
    time.sleep(2.0)
    """
)


def _env(domain: int) -> dict[str, str]:
    return {
        **os.environ,
        'ROS_DOMAIN_ID': str(domain),
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
        'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]),
    }


def _messages(kind: str, count: int, hz: float) -> list[tuple[str, int, Any]]:
    """`count` messages of a kind at `hz`, as rosbags messages."""
    import numpy as np
    from rosbags.typesys import Stores, get_typestore

    types = get_typestore(Stores.ROS2_HUMBLE).types
    step = round(1e9 / hz)
    header = types['std_msgs/msg/Header']
    stamp = types['builtin_interfaces/msg/Time']
    vector = types['geometry_msgs/msg/Vector3']
    out = []
    if kind == 'imu':
        for i in range(count):
            msg = types['sensor_msgs/msg/Imu'](
                header=header(stamp=stamp(sec=i, nanosec=0), frame_id='imu'),
                orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=0.0, z=0.0, w=1.0),
                orientation_covariance=np.full(9, 0.01),
                angular_velocity=vector(x=0.0, y=0.0, z=0.1),
                angular_velocity_covariance=np.full(9, 0.01),
                linear_acceleration=vector(x=float(i), y=0.0, z=9.81),
                linear_acceleration_covariance=np.full(9, 0.01),
            )
            out.append(('/bench', T0 + i * step, msg))
        return out
    pixels = (np.arange(480 * 640 * 3, dtype=np.uint32) % 251).astype(np.uint8)
    for i in range(count):
        msg = types['sensor_msgs/msg/Image'](
            header=header(stamp=stamp(sec=i, nanosec=0), frame_id='camera'),
            height=480,
            width=640,
            encoding='rgb8',
            is_bigendian=0,
            step=1920,
            data=np.roll(pixels, i),
        )
        out.append(('/bench', T0 + i * step, msg))
    return out


def _store(client: Any, name: str, kind: str, count: int, hz: float) -> None:
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
    msgtype = 'sensor_msgs/msg/Imu' if kind == 'imu' else 'sensor_msgs/msg/Image'
    sink = SessionSink(client, name, metadata={'bench': kind})
    report = SequenceReport('bench', name)
    pipeline = Pipeline(
        Router(default_registry.copy(), typestore, TopicSelection()),
        CutPolicy(max_messages=1000, max_bytes=32 << 20),
        report,
        sink,
    )
    with sink:
        pipeline.declare(TopicInfo('/bench', msgtype, 'cdr', qos=(normalize_profile(QOS),)))
        with pipeline:
            for topic, stamp, msg in _messages(kind, count, hz):
                data = typestore.serialize_cdr(msg, msgtype)
                pipeline.push(RawMessage(topic, msgtype, stamp, data))
    assert report.clean, report.problems()


def _payloads(client: Any, name: str, path: Path) -> int:
    """Read a sequence back through the reverse chain into a pickle for the bare publisher."""
    from mosaico_ros.adapters import run_registry
    from mosaico_ros.pipeline.replay import StoredSequences
    from mosaico_ros.pipeline.types import TypeResolver

    store = TypeResolver('latest').typestore
    with StoredSequences(client, [name], registry=run_registry(), typestore=store) as stored:
        messages = list(stored.messages())
    with path.open('wb') as handle:
        pickle.dump(([m.log_time_ns for m in messages], [m.data for m in messages]), handle)
    return len(messages)


class Bench:
    """One store, one ROS domain, runs of ours and of the bare publisher."""

    def __init__(self, root: Path, domain: int) -> None:
        self.root = root
        self.store = root / 'store'
        self.env = _env(domain)
        self.runs = 0

    def _subscribe(self, kind: str, expect: int) -> tuple[subprocess.Popen[str], Path]:
        self.runs += 1
        out = self.root / f'received_{self.runs}.pkl'
        command = [sys.executable, '-c', SUBSCRIBER, kind, str(expect), str(out)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=self.env)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == 'subscribed'
        return process, out

    def _collect(self, subscriber: subprocess.Popen[str], out: Path) -> list[tuple[int, int, int]]:
        subscriber.wait(180)
        with out.open('rb') as handle:
            return list(pickle.load(handle))

    def ours(
        self, kind: str, sequence: str, expect: int, rate: float, prefill: bool = False
    ) -> list[tuple[int, int, int]]:
        """Play with ``mosaico-ros play``; return (receive, publish time, index) of arrivals.

        With `prefill`, the read-ahead holds the whole sequence before playing
        starts: what is measured is the scheduler and publisher alone.
        """
        subscriber, out = self._subscribe(kind, expect)
        command = [
            *(sys.executable, '-m', 'mosaico_ros', 'play', sequence, '--store', str(self.store)),
            *('--rate', str(rate), '--delay', '5' if prefill else '3'),
        ]
        if prefill:
            command += ['--read-ahead-queue-size', str(expect)]
        player = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)
        if player.returncode != 0 or os.environ.get('BENCH_VERBOSE'):
            print(player.stdout[-3000:], player.stderr[-3000:], file=sys.stderr)
        return self._collect(subscriber, out)

    def bare(
        self, kind: str, payloads: Path, expect: int, rate: float
    ) -> list[tuple[int, int, int]]:
        """Replay the same bytes from memory with a bare rclpy publisher."""
        subscriber, out = self._subscribe(kind, expect)
        command = [sys.executable, '-c', BARE, kind, str(payloads), str(rate)]
        subprocess.run(command, env=self.env, check=True, capture_output=True)
        return self._collect(subscriber, out)


def timing_ms(got: list[tuple[int, int, int]], step_ns: int) -> tuple[float, float]:
    """p50 and p99 of publish time minus schedule (anchored at the first arrival), in ms."""
    if not got:
        return math.nan, math.nan
    _, first, start = got[0]
    errors = sorted(
        ((published - first) - (index - start) * step_ns) / 1e6 for _, published, index in got
    )
    return errors[len(errors) // 2], errors[min(len(errors) - 1, int(0.99 * len(errors)))]


def rate_of(got: list[tuple[int, int, int]], total: int) -> float:
    """Messages published per second, from the first publish to the last.

    A reliable keep-last publisher always delivers its first and its newest
    message, so the first and last arrivals carry the first and last publish
    times even when a subscriber that cannot keep up loses some in between.
    """
    span = (got[-1][1] - got[0][1]) / 1e9 if len(got) > 1 else 0.0
    return (total - 1) / span if span > 0 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeat', type=int, default=2)
    parser.add_argument('--imu-hz', type=float, default=200.0)
    parser.add_argument('--image-hz', type=float, default=30.0)
    parser.add_argument('--seconds', type=float, default=5.0)
    parser.add_argument('--imu-burst', type=int, default=20000)
    parser.add_argument('--image-burst', type=int, default=250)
    args = parser.parse_args()

    from mosaico_ros.connect import Target, open_client

    with tempfile.TemporaryDirectory(prefix='bench_play_') as tmp:
        bench = Bench(Path(tmp), 100 + os.getpid() % 100)
        cases = {
            'imu': (args.imu_hz, round(args.imu_hz * args.seconds), args.imu_burst),
            'image': (args.image_hz, round(args.image_hz * args.seconds), args.image_burst),
        }
        payloads: dict[str, Path] = {}
        with open_client(Target(store=bench.store)) as client:
            for kind, (hz, timed, burst) in cases.items():
                _store(client, f'{kind}_timed', kind, timed, hz)
                _store(client, f'{kind}_burst', kind, burst, hz)
                for suffix in ('timed', 'burst'):
                    path = bench.root / f'{kind}_{suffix}.pkl'
                    _payloads(client, f'{kind}_{suffix}', path)
                    payloads[f'{kind}_{suffix}'] = path
        rows = []
        for kind, (hz, timed, burst) in cases.items():
            step = round(1e9 / hz)
            p50: dict[str, list[float]] = {'ours': [], 'bare': []}
            p99: dict[str, list[float]] = {'ours': [], 'bare': []}
            rates: dict[str, list[float]] = {'ours': [], 'bare': [], 'ours prefilled': []}
            arrived: dict[str, list[int]] = {'ours': [], 'bare': []}
            for _ in range(args.repeat):
                runs = {
                    'ours': bench.ours(kind, f'{kind}_timed', timed, 1.0),
                    'bare': bench.bare(kind, payloads[f'{kind}_timed'], timed, 1.0),
                }
                for who, got in runs.items():
                    if len(got) != timed:
                        lost = sorted(set(range(timed)) - {index for _, _, index in got})
                        print(f'{kind} {who} at rate 1: lost {lost}', file=sys.stderr)
                    low, high = timing_ms(got, step)
                    p50[who].append(low)
                    p99[who].append(high)
                runs = {
                    'ours': bench.ours(kind, f'{kind}_burst', burst, 0.0),
                    'bare': bench.bare(kind, payloads[f'{kind}_burst'], burst, 0.0),
                }
                for who, got in runs.items():
                    rates[who].append(rate_of(got, burst))
                    arrived[who].append(len(got))
                prefilled = bench.ours(kind, f'{kind}_burst', burst, 0.0, prefill=True)
                rates['ours prefilled'].append(rate_of(prefilled, burst))
            rows.append((kind, 'timing p50 (ms)', *(statistics.median(p50[w]) for w in p50)))
            rows.append((kind, 'timing p99 (ms)', *(statistics.median(p99[w]) for w in p99)))
            bare_rate = statistics.median(rates['bare'])
            rows.append((kind, 'max rate (msg/s)', statistics.median(rates['ours']), bare_rate))
            rows.append(
                (kind, ' read-ahead full', statistics.median(rates['ours prefilled']), bare_rate)
            )
            rows.append(
                (kind, f'arrived of {burst}', *(statistics.median(arrived[w]) for w in arrived))
            )
        print(f'{"kind":6} {"metric":18} {"ours":>10} {"bare":>10} {"ours/bare":>10}')
        for kind, metric, ours, bare in rows:
            ratio = f'{ours / bare:10.2f}' if bare else f'{"-":>10}'
            print(f'{kind:6} {metric:18} {ours:10.3f} {bare:10.3f} {ratio}')
        print(f'load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')


if __name__ == '__main__':
    main()
