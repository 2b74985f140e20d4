"""Benchmark `mosaico-ros inject` against the SDK's RosbagInjector and a plain rosbags read.

Generates one rosbag2 MCAP recording (IMU 400 Hz, joint states, TF, GNSS and
a camera), starts one `mosaico-ros serve` process, then runs each contender
in its own subprocess so that peak RSS is its own:

- ours -> server: `Injector` over Flight to the serve process;
- ours --store: `Injector` with the in-process embedded server (the CLI default);
- SDK -> server: `mosaicolabs.bridges.ros.RosbagInjector` to the same serve process;
- rosbags read+deserialize: `AnyReader` over the same file, every message
  deserialized (the practical limit of any injector built on rosbags).

Run: python bench/inject.py [--messages 200000] [--skip-sdk]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OURS_SERVER = """
import json, resource, sys, time
from pathlib import Path
import mosaico_ros.adapters  # imported before timing, as AnyReader is for the plain read
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.client import MosaicoClient
bag, port, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with MosaicoClient.connect('127.0.0.1', port) as client:
    start = time.perf_counter()
    report = Injector(client, InjectOptions(sequence=name)).inject(bag)
    seconds = time.perf_counter() - start
assert report.clean, report.problems()
print(json.dumps({'messages': report.stored, 'seconds': seconds,
                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS_STORE = """
import json, resource, sys, time
from pathlib import Path
import mosaico_ros.adapters  # imported before timing, as AnyReader is for the plain read
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.connect import Target, open_client
bag, store, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
with open_client(Target(store=store)) as client:
    report = Injector(client, InjectOptions(sequence=name)).inject(bag)
seconds = time.perf_counter() - start
assert report.clean, report.problems()
print(json.dumps({'messages': report.stored, 'seconds': seconds,
                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SDK_SERVER = """
import json, logging, resource, sys, time
from pathlib import Path
logging.disable(logging.CRITICAL)
from mosaicolabs.bridges.ros import ROSInjectionConfig, RosbagInjector
from mosaicolabs import MosaicoClient
bag, port, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
config = ROSInjectionConfig(file_path=bag, sequence_name=name, metadata={}, host='127.0.0.1',
                            port=port, log_level='ERROR')
start = time.perf_counter()
RosbagInjector(config).run()
seconds = time.perf_counter() - start
with MosaicoClient.connect(host='127.0.0.1', port=port) as client:
    topics = len(client.sequence_handler(name).topics)
print(json.dumps({'messages': None, 'seconds': seconds, 'topics': topics,
                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PLAIN_READ = """
import json, resource, sys, time
from pathlib import Path
from rosbags.highlevel import AnyReader
bag = Path(sys.argv[1])
start = time.perf_counter()
count = 0
with AnyReader([bag]) as reader:
    for conn, _, raw in reader.messages():
        reader.deserialize(raw, conn.msgtype)
        count += 1
seconds = time.perf_counter() - start
print(json.dumps({'messages': count, 'seconds': seconds,
                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def run(script: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, '-c', script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f'benchmark child failed:\n{done.stderr[-3000:]}')
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for_port(server: subprocess.Popen[bytes], port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f'mosaico-ros serve exited with status {server.returncode}')
        with socket.socket() as sock:
            if sock.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f'mosaico-ros serve did not listen on {port}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--messages', type=int, default=200_000)
    parser.add_argument('--skip-sdk', action='store_true', help='Leave out the slow SDK run.')
    args = parser.parse_args()

    from mosaico_ros.bags.synthetic import RecordingSpec, write_recording

    with tempfile.TemporaryDirectory(prefix='mosaico-bench-') as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        recording = write_recording(
            root / 'bench_drive', 'mcap', RecordingSpec.for_messages(args.messages)
        )
        # The SDK's injector takes a storage file, not a rosbag2 directory: all use the .mcap.
        bag = next(recording.path.glob('*.mcap'))
        size = bag.stat().st_size
        print(
            f'generated {recording.message_count} messages, {size / 1e6:.1f} MB, '
            f'{len(recording.counts)} topics in {time.perf_counter() - started:.1f} s'
        )
        port = free_port()
        store = root / 'served_store'
        server = subprocess.Popen(
            [
                sys.executable,
                '-c',
                'from mosaico_ros.cli import main; main()',
                'serve',
                '--store',
                str(store),
                '--port',
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(server, port)
            results = {
                'rosbags read+deserialize': run(PLAIN_READ, str(bag)),
                'ours -> serve': run(OURS_SERVER, str(bag), str(port), 'ours'),
                'ours --store (in-process)': run(
                    OURS_STORE, str(bag), str(root / 'own_store'), 'ours'
                ),
            }
            if not args.skip_sdk:
                results['SDK RosbagInjector -> serve'] = run(SDK_SERVER, str(bag), str(port), 'sdk')
        finally:
            server.terminate()
            server.wait(timeout=30)

    total = recording.message_count
    print(f'\n{"contender":32} {"wall s":>8} {"msgs/s":>10} {"peak RSS MB":>12}')
    rates = {}
    for name, result in results.items():
        rates[name] = total / result['seconds']
        print(f'{name:32} {result["seconds"]:8.2f} {rates[name]:10,.0f} {result["rss_mb"]:12.0f}')
    ours = rates['ours -> serve']
    plain = rates['rosbags read+deserialize']
    print(f'\nours / plain read+deserialize: {ours / plain:.2f}x (target >= 0.5x)')
    print(f'ours --store / plain: {rates["ours --store (in-process)"] / plain:.2f}x')
    if 'SDK RosbagInjector -> serve' in rates:
        sdk = rates['SDK RosbagInjector -> serve']
        print(f'ours / SDK RosbagInjector: {ours / sdk:.1f}x (target >= 20x)')


if __name__ == '__main__':
    main()
