"""Peak memory does not grow with the size of the bag.

A recording and one ten times longer are injected in subprocesses (into a
store served in the same process, as `mosaico-ros inject --store` does);
their peak RSS must not differ by more than a small constant.

Memory is bounded by constants: the pipeline's buffer budget, the batches in
flight, and the server's rows buffered per topic until it writes a chunk
(64 MiB by default). The short recording must fill them all, or the long
one shows them filling up as growth: the child sets them small (8 MiB of
buffered payloads, 4 MiB chunks), which raw 160x120 frames fill within the
short recording. Conversion runs in-process: only this process's RSS is
measured, so what workers held would not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mosaico_ros.demo.recording import RecordingSpec, write_recording

CHILD = """
import json, resource, sys
from pathlib import Path
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.client import MosaicoClient
from mosaico_ros.server import EmbeddedServer
bag, store = Path(sys.argv[1]), Path(sys.argv[2])
options = InjectOptions(sequence='mem', jobs=0, buffer_budget=8 << 20, batch_bytes=2 << 20)
with (
    EmbeddedServer(store, chunk_max_bytes=4 << 20) as server,
    MosaicoClient.connect('127.0.0.1', server.port) as client,
):
    report = Injector(client, options).inject(bag)
print(json.dumps({'stored': report.stored, 'clean': report.clean,
                  'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Camera frames of 160x120 rgb8 make the long bag about 100 MB on disk.
SPEC = {'imu_hz': 400.0, 'camera_hz': 30.0, 'image_width': 160, 'image_height': 120}
ALLOWED_GROWTH_MB = 50


def peak_rss(bag: Path, store: Path) -> tuple[int, float]:
    done = subprocess.run(
        [sys.executable, '-c', CHILD, str(bag), str(store)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result['clean']
    return result['stored'], result['rss_mb']


@pytest.mark.timeout(600)
def test_ten_times_the_bag_costs_no_more_memory(tmp_path: Path) -> None:
    small = write_recording(tmp_path / 'small', 'mcap', RecordingSpec(duration_s=6, **SPEC))
    large = write_recording(tmp_path / 'large', 'mcap', RecordingSpec(duration_s=60, **SPEC))
    large_bytes = sum(f.stat().st_size for f in large.path.iterdir())
    assert large_bytes > 80e6

    small_stored, small_rss = peak_rss(small.path, tmp_path / 'store_small')
    large_stored, large_rss = peak_rss(large.path, tmp_path / 'store_large')
    assert small_stored == small.message_count
    assert large_stored == large.message_count == 10 * small.message_count
    growth = large_rss - small_rss
    print(
        f'peak RSS: {small_rss:.0f} MB ({small.message_count} msgs) -> '
        f'{large_rss:.0f} MB ({large.message_count} msgs, {large_bytes / 1e6:.0f} MB)'
    )
    assert growth < ALLOWED_GROWTH_MB, f'peak RSS grew by {growth:.0f} MB'
