"""`mosaico-ros demo`: generate a recording, inject it, list the store."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from mosaico_ros.cli.catalog import _sequences_table
from mosaico_ros.cli.group import main
from mosaico_ros.cli.inject import inject_with_progress
from mosaico_ros.cli.options import console, target_options
from mosaico_ros.connect import Target, open_client


@main.command()
@target_options
@click.option(
    '--duration', type=float, default=10.0, show_default=True, help='Seconds to generate.'
)
@click.option(
    '--format',
    'fmt',
    type=click.Choice(['mcap', 'db3', 'bag']),
    default='mcap',
    show_default=True,
    help='Storage of the generated recording.',
)
def demo(*, target: Target, duration: float, fmt: str) -> None:
    """Generate a small robot recording, inject it, and list the result.

    The recording (IMU at 400 Hz, joint states, TF, GNSS, a camera) is
    written to a temporary directory and removed afterwards; the sequence
    stays in the store.
    """
    import tempfile

    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.demo.recording import BagFormat, RecordingSpec, write_recording
    from mosaico_ros.pipeline.report import exit_code, print_reports

    stamp = datetime.now(tz=timezone.utc).strftime('%Y%m%d_%H%M%S_%f')
    name = f'demo_{stamp}'
    with tempfile.TemporaryDirectory(prefix='mosaico-demo-') as tmp:
        path = Path(tmp) / (f'{name}.bag' if fmt == 'bag' else name)
        storage: BagFormat = 'bag' if fmt == 'bag' else ('db3' if fmt == 'db3' else 'mcap')
        recording = write_recording(path, storage, RecordingSpec(duration_s=duration))
        console.print(
            f'Generated {recording.message_count} messages on {len(recording.counts)} topics '
            f'({duration:g} s) in {path}'
        )
        options = InjectOptions(sequence=name, metadata={'demo': True})
        with open_client(target) as client:
            reports = inject_with_progress(client, [path], options)
            print_reports(console, reports)
            console.print(_sequences_table(client, target))
    status = exit_code(reports)
    if status:
        raise SystemExit(status)
