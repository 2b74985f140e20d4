"""Peak memory does not grow with the size of the bag.

A recording and one ten times longer are injected in subprocesses (into a
local store, as `mosaico-ros inject --store` does); their peak RSS must not
differ by more than a small constant.
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
from mosaico_ros.connect import Target, open_client
bag, store = Path(sys.argv[1]), Path(sys.argv[2])
with open_client(Target(store=store)) as client:
    report = Injector(client, InjectOptions(sequence='mem')).inject(bag)
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
