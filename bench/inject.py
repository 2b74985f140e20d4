"""Benchmark `mosaico-ros inject` against the SDK's RosbagInjector and plain rosbags reads.

Generates three rosbag2 MCAP recordings (`mosaico_ros.demo.recording`), zstd-chunked but one:

- mixed: the robot of issue 11, IMU 200 Hz, joint states, poses, GPS,
  odometry, TF, barometer, raw 640x480 images (15 Hz), compressed images
  (5 Hz), a log topic and a custom encoder type (100,400 messages in 200 s);
- mixed-64x48: the same robot as the issue's table measured it: its 57 MB
  MCAP and 0.54 s raw read fit only the generator's default 64x48 frames in
  uncompressed chunks (3,000 frames of 640x480 are 2.8 GB of pixels);
- imu: an IMU at 200 Hz and nothing else;

starts one `mosaico-ros serve` process, then runs each contender on each
recording in its own subprocess so that peak RSS is its own:

- rosbags read only: `AnyReader` over the file, every message read and
  nothing decoded (what reading the bag costs);
- rosbags read+deserialize: the same, every message deserialized (the
  practical limit of any injector building a message object per message);
- ours -> serve: `Injector` over Flight to the serve process, with the
  default conversion workers (none on 2 CPUs), and again with two workers;
- ours --store: `Injector` with the in-process embedded server (the CLI default);
- SDK -> serve: `mosaicolabs.bridges.ros.RosbagInjector` to the same serve process.

Wall time is what counts: each contender but the SDK runs `--repeat` times
(3), in turn, and its median run is shown with the spread of its runs, as
this shared machine's speed drifts by 20-30% within minutes. CPU is the
contender's own plus its children's (our conversion workers), and peak RSS
is the largest of the main process and of any one worker. Ours runs with
the garbage-collection schedule the CLI uses (`mosaico_ros.cli.gcpolicy`).

`--before DIR` runs our two main contenders a second time with another
checkout of mosaico_ros (an older commit) on `PYTHONPATH`, in the same run,
so a refactor's cost is measured, not guessed.

Run: python bench/inject.py [--messages 100400] [--recordings mixed,mixed-64x48,imu] [--skip-sdk]
[--repeat 3] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mosaico_ros.demo.recording import IMU_ONLY, MIXED, RecordingSpec, write_recording

# Prepended to every contender's script.
USAGE = """
import contextlib, json, resource
try:  # the CLI's collection schedule; before the pipeline refactor the injector had its own
    from mosaico_ros.cli.gcpolicy import GcSchedule
except ImportError:
    GcSchedule = None


class CliGc:
    \"\"\"Progress sink freezing the setup and thawing it per bag, as the CLI's does.\"\"\"

    def __init__(self, gc):
        self.gc = gc

    def start(self, *args):
        self.gc.freeze()

    def advance(self, *args):
        pass

    def finish(self):
        self.gc.thaw()


def injector_as_the_cli_runs_it(client, options):
    from mosaico_ros.bags.injector import Injector
    if GcSchedule is None:
        return contextlib.nullcontext(), Injector(client, options)
    schedule = GcSchedule()
    return schedule, Injector(client, options, progress=CliGc(schedule), on_stored=schedule.collect)

def usage(seconds, **extra):
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    rss = max(own.ru_maxrss, kids.ru_maxrss) / 1024
    print(json.dumps({'seconds': seconds, 'cpu': cpu, 'rss_mb': rss, **extra}))
"""

OURS_SERVER = """
import json, resource, sys, time
from pathlib import Path
import mosaico_ros.adapters  # imported before timing, as AnyReader is for the plain read
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.client import MosaicoClient
bag, port, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
jobs = None if sys.argv[4] == 'default' else int(sys.argv[4])
with MosaicoClient.connect('127.0.0.1', port) as client:
    start = time.perf_counter()
    options = InjectOptions(sequence=name, jobs=jobs)
    schedule, injector = injector_as_the_cli_runs_it(client, options)
    with schedule:
        report = injector.inject(bag)
    seconds = time.perf_counter() - start
assert report.clean, report.problems()
usage(seconds, messages=report.stored, workers=injector.last_conversion.jobs)
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
    schedule, injector = injector_as_the_cli_runs_it(client, InjectOptions(sequence=name))
    with schedule:
        report = injector.inject(bag)
seconds = time.perf_counter() - start
assert report.clean, report.problems()
usage(seconds, messages=report.stored, workers=injector.last_conversion.jobs)
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
usage(seconds, messages=None, topics=topics)
"""

PLAIN_READ = """
import json, resource, sys, time
from pathlib import Path
from rosbags.highlevel import AnyReader
bag, deserialize = Path(sys.argv[1]), sys.argv[2] == 'deserialize'
start = time.perf_counter()
count = 0
with AnyReader([bag]) as reader:
    for conn, _, raw in reader.messages():
        if deserialize:
            reader.deserialize(raw, conn.msgtype)
        count += 1
seconds = time.perf_counter() - start
usage(seconds, messages=count)
"""

RECORDINGS = {
    'mixed': MIXED,
    'mixed-64x48': {**MIXED, 'image_width': 64, 'image_height': 48, 'compress': False},
    'imu': IMU_ONLY,
}
"""The recordings, by name: overrides of `RecordingSpec`."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def run(script: str, *args: str, tree: str | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if tree is not None:
        env['PYTHONPATH'] = os.pathsep.join([tree, env.get('PYTHONPATH', '')])
    done = subprocess.run(
        [sys.executable, '-c', USAGE + script, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
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


def contenders(
    bag: Path, port: int, root: Path, name: str, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Run every contender on one bag; return their usage by label.

    The fast contenders run `args.repeat` times, in turn (so a drift of the
    machine's speed reaches them all alike); each keeps its median run by
    wall time, with the spread of its runs. The SDK runs once.
    """
    fast: dict[str, Any] = {
        'rosbags read only': lambda i: run(PLAIN_READ, str(bag), 'read'),
        'rosbags read+deserialize': lambda i: run(PLAIN_READ, str(bag), 'deserialize'),
        'ours -> serve': lambda i: run(
            OURS_SERVER, str(bag), str(port), f'{name}_ours{i}', 'default'
        ),
        'ours -> serve, 2 workers': lambda i: run(
            OURS_SERVER, str(bag), str(port), f'{name}_ours2_{i}', '2'
        ),
        'ours --store (in-process)': lambda i: run(
            OURS_STORE, str(bag), str(root / f'{name}_store{i}'), f'{name}_ours{i}'
        ),
    }
    if args.before:
        fast['before: ours -> serve'] = lambda i: run(
            OURS_SERVER, str(bag), str(port), f'{name}_before{i}', 'default', tree=args.before
        )
        fast['before: ours --store'] = lambda i: run(
            OURS_STORE,
            str(bag),
            str(root / f'{name}_before_store{i}'),
            f'{name}_before{i}',
            tree=args.before,
        )
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in fast}
    for i in range(args.repeat):
        for label, contender in fast.items():
            runs[label].append(contender(i))
    results = {}
    for label, done in runs.items():
        ordered = sorted(done, key=lambda result: result['seconds'])
        median = dict(ordered[len(ordered) // 2])
        median['low'], median['high'] = ordered[0]['seconds'], ordered[-1]['seconds']
        results[label] = median
    if not args.skip_sdk:
        results['SDK RosbagInjector -> serve'] = run(SDK_SERVER, str(bag), str(port), f'{name}_sdk')
    return results


def print_table(name: str, total: int, results: dict[str, dict[str, float]]) -> None:
    """Print one recording's contenders, then how ours compares."""
    print(f'\n{name}: {total} messages')
    print(
        f'{"contender":32} {"wall s":>8} {"(runs: low-high)":>17} {"msgs/s":>10} {"CPU s":>7} '
        f'{"peak RSS MB":>12}'
    )
    rates = {}
    for label, result in results.items():
        rates[label] = total / result['seconds']
        spread = f'{result["low"]:.2f}-{result["high"]:.2f}' if 'low' in result else 'one run'
        print(
            f'{label:32} {result["seconds"]:8.2f} {spread:>17} {rates[label]:10,.0f} '
            f'{result["cpu"]:7.1f} {result["rss_mb"]:12.0f}'
        )
    ours = rates['ours -> serve']
    workers = results['ours -> serve'].get('workers')
    read, plain = rates['rosbags read only'], rates['rosbags read+deserialize']
    print(f'ours ({workers} workers) / raw read: {ours / read:.2f}x (target >= 0.5x)')
    print(f'ours, 2 workers / raw read: {rates["ours -> serve, 2 workers"] / read:.2f}x')
    print(f'ours --store / raw read: {rates["ours --store (in-process)"] / read:.2f}x')
    print(f'ours / read+deserialize: {ours / plain:.2f}x')
    if 'before: ours -> serve' in rates:
        print(f'ours -> serve, after / before: {ours / rates["before: ours -> serve"]:.2f}x')
        after, before = rates['ours --store (in-process)'], rates['before: ours --store']
        print(f'ours --store, after / before: {after / before:.2f}x')
    if 'SDK RosbagInjector -> serve' in rates:
        sdk = rates['SDK RosbagInjector -> serve']
        print(f'ours / SDK RosbagInjector: {ours / sdk:.1f}x (target >= 50x)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--messages', type=int, default=100_400, help='Messages per recording.')
    parser.add_argument(
        '--recordings',
        default=','.join(RECORDINGS),
        help=f'Comma-separated, of {", ".join(RECORDINGS)}.',
    )
    parser.add_argument('--skip-sdk', action='store_true', help='Leave out the slow SDK run.')
    parser.add_argument(
        '--repeat', type=int, default=3, help='Runs of each fast contender (the median counts).'
    )
    parser.add_argument('--before', metavar='DIR', help='Another mosaico_ros checkout to compare.')
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix='mosaico-bench-') as tmp:
        root = Path(tmp)
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
            for name in args.recordings.split(','):
                started = time.perf_counter()
                spec = RecordingSpec.for_messages(args.messages, **RECORDINGS[name])
                recording = write_recording(root / name, 'mcap', spec)
                # The SDK's injector takes a storage file, not a rosbag2 directory.
                bag = next(recording.path.glob('*.mcap'))
                print(
                    f'{name}: generated {recording.message_count} messages, '
                    f'{bag.stat().st_size / 1e6:.1f} MB, {len(recording.counts)} topics '
                    f'in {time.perf_counter() - started:.1f} s',
                    flush=True,
                )
                results = contenders(bag, port, root, name, args)
                print_table(name, recording.message_count, results)
                shutil.rmtree(recording.path)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == '__main__':
    main()
