"""Benchmark the recorder against a bare rclpy raw subscriber, in the same run.

For IMU-size messages and 640x480 rgb8 images, a publisher process sends at
increasing rates (reliable, pre-serialized bytes, paced) for a few seconds,
once to a bare rclpy raw subscriber (an executor spinning in a thread,
counting messages) and once to `mosaico-ros record` (spool, uploader, embedded
store). A rate passes when every published message was received (bare) or
stored (recorder). Printed: the highest passing rate of each, their ratio
(the goal: >= 0.9), and the recorder's CPU time and peak memory (with its
uploader) at that rate.

Run: python bench/record.py [--seconds 3] [--imu-rates 500,1000,...] [--image-rates 50,...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

PUBLISHER = textwrap.dedent(
    """
    import sys, time, rclpy
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image, Imu
    kind, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    rclpy.init()
    node = Node('bench_publisher')
    if kind == 'imu':
        cls, msg = Imu, Imu()
    else:
        cls, msg = Image, Image(height=480, width=640, encoding='rgb8', step=1920)
        msg.data = bytes(640 * 480 * 3)
    publisher = node.create_publisher(cls, '/bench', QoSProfile(depth=100))
    while publisher.get_subscription_count() == 0:
        time.sleep(0.01)
    time.sleep(1.0)
    payload = serialize_message(msg)
    total = int(rate * seconds)
    start = time.perf_counter()
    refused = 0
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        while True:
            try:
                publisher.publish(payload)
                break
            except Exception:
                refused += 1
                time.sleep(0.0005)
    elapsed = time.perf_counter() - start
    time.sleep(1.0)
    print(f'published {total} {total / elapsed:.1f} {refused}', flush=True)
    time.sleep(2.0)
    """
)

BARE = textwrap.dedent(
    """
    import threading, time, rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import Image, Imu
    import sys
    kind = sys.argv[1]
    rclpy.init()
    node = Node('bench_bare')
    count = [0]
    def received(data):
        count[0] += 1
    node.create_subscription(Imu if kind == 'imu' else Image, '/bench', received,
                             QoSProfile(depth=500), raw=True)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    print('ready', flush=True)
    last, idle = -1, 0.0
    while idle < 3.0 or count[0] == 0:
        time.sleep(0.25)
        idle = idle + 0.25 if count[0] == last else 0.0
        last = count[0]
    print(f'received {count[0]}', flush=True)
    """
)


def _env(domain: int) -> dict[str, str]:
    return {
        **os.environ,
        'ROS_DOMAIN_ID': str(domain),
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
    }


def _publish(kind: str, rate: float, seconds: float, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, '-c', PUBLISHER, kind, str(rate), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _published(process: subprocess.Popen[str]) -> tuple[int, float, int]:
    out, _ = process.communicate(timeout=300)
    line = next(line for line in out.splitlines() if line.startswith('published'))
    _, total, achieved, refused = line.split()
    return int(total), float(achieved), int(refused)


def bare(kind: str, rate: float, seconds: float, domain: int) -> dict[str, float]:
    env = _env(domain)
    subscriber = subprocess.Popen(
        [sys.executable, '-c', BARE, kind], stdout=subprocess.PIPE, text=True, env=env
    )
    assert subscriber.stdout is not None
    subscriber.stdout.readline()  # ready
    total, achieved, refused = _published(_publish(kind, rate, seconds, env))
    out, _ = subscriber.communicate(timeout=300)
    received = int(out.split()[-1])
    return {'published': total, 'achieved': achieved, 'refused': refused, 'got': received}


def recorder(kind: str, rate: float, seconds: float, domain: int, root: Path) -> dict[str, float]:
    env = _env(domain)
    folder = root / f'{kind}_{int(rate)}'
    command = [
        sys.executable,
        '-m',
        'mosaico_ros',
        'record',
        '/bench',
        '-o',
        'bench',
        '--store',
        str(folder / 'store'),
        '--spool-dir',
        str(folder / 'spool'),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    seen = []
    while 'recording into sequence' not in (line := process.stdout.readline()):
        seen.append(line)
        if not line:
            raise RuntimeError('the recorder did not start:\n' + ''.join(seen))
    watched = psutil.Process(process.pid)
    peak = [0]

    def sample() -> None:
        try:
            family = [watched, *watched.children(recursive=True)]
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in family))
        except psutil.Error:
            pass

    publisher = _publish(kind, rate, seconds, env)
    while publisher.poll() is None:
        sample()
        time.sleep(0.2)
    total, achieved, refused = _published(publisher)
    cpu = sum(sum(p.cpu_times()[:2]) for p in [watched, *watched.children(recursive=True)])
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=600)
    stored = stored_rows(folder / 'store', out)
    return {
        'published': total,
        'achieved': achieved,
        'refused': refused,
        'got': stored,
        'cpu_s': cpu,
        'peak_mb': peak[0] / 1e6,
    }


def stored_rows(store: Path, output: str) -> int:
    """Rows the recorder stored on /bench, read back from its store."""
    from mosaico_ros.connect import Target, open_client

    with open_client(Target(store=store)) as client:
        names = [n for n in client.list_sequences() if n.startswith('bench_')]
        if not names:
            sys.stderr.write(f'the recorder stored nothing:\n{output[-2000:]}\n')
        return sum(
            handler.msg_count
            for name in names
            if (handler := client.topic_handler(name, '/bench')) is not None
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--imu-rates', default='500,1000,2000,3000,4000')
    parser.add_argument('--image-rates', default='30,100,200,400,700,1000')
    args = parser.parse_args()
    domain = 150 + os.getpid() % 50
    with tempfile.TemporaryDirectory(prefix='mosaico-bench-record-') as tmp:
        for kind, rates in (('imu', args.imu_rates), ('image', args.image_rates)):
            best = {'bare': 0.0, 'recorder': 0.0}
            at_best: dict[str, float] = {}
            print(f'\n{kind}: rate  bare got/published  recorder stored/published  (achieved rate)')
            for rate in [float(r) for r in rates.split(',')]:
                b = bare(kind, rate, args.seconds, domain)
                r = recorder(kind, rate, args.seconds, domain, Path(tmp))
                print(
                    f'  {rate:7.0f}/s  bare {b["got"]:.0f}/{b["published"]:.0f} '
                    f'({b["achieved"]:.0f}/s)   recorder {r["got"]:.0f}/{r["published"]:.0f} '
                    f'({r["achieved"]:.0f}/s, CPU {r["cpu_s"]:.1f} s, peak {r["peak_mb"]:.0f} MB)'
                )
                for name, result in (('bare', b), ('recorder', r)):
                    lossless = result['got'] == result['published']
                    if lossless and result['achieved'] >= 0.95 * rate:
                        best[name] = max(best[name], rate)
                        if name == 'recorder':
                            at_best = r
            ratio = best['recorder'] / best['bare'] if best['bare'] else float('nan')
            cpu, peak = at_best.get('cpu_s', 0.0), at_best.get('peak_mb', 0.0)
            print(
                f'{kind}: highest zero-loss rate: bare {best["bare"]:.0f}/s, recorder '
                f'{best["recorder"]:.0f}/s, ratio {ratio:.2f} (goal >= 0.9); recorder at that '
                f'rate: CPU {cpu:.1f} s, peak {peak:.0f} MB'
            )
    print(json.dumps({'done': True}))


if __name__ == '__main__':
    main()
