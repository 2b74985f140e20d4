"""`mosaico-ros inject`: bags into sequences, with a progress bar and a closing summary."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mosaico_ros.cli.gcpolicy import GcSchedule
from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import (
    console,
    parse_adapter_overrides,
    parse_json_object,
    parse_time_bound,
    parse_topic_metadata,
    target_options,
)
from mosaico_ros.cli.selection import selection_options
from mosaico_ros.connect import Target, open_client

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.pipeline.report import SequenceReport
    from mosaico_ros.pipeline.selection import TopicSelection


class _RichInjectProgress:
    """One rich progress bar per bag (messages, MB/s of payload, ETA); freezes setup for the GC."""

    def __init__(self, progress: Progress, gc: GcSchedule) -> None:
        self._progress = progress
        self._gc = gc
        self._task: TaskID | None = None

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        del size_bytes
        self._gc.freeze()
        self._task = self._progress.add_task(path.name, total=messages, payload=0)

    def advance(self, messages: int, payload_bytes: int) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            payload = int(task.fields.get('payload', 0)) + payload_bytes
            self._progress.update(self._task, advance=messages, payload=payload)

    def finish(self) -> None:
        self._gc.thaw()
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, total=task.completed)
            self._task = None


class _PayloadRateColumn(ProgressColumn):
    """Payload megabytes per second of the running bag."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        payload = float(task.fields.get('payload', 0))
        rate = payload / elapsed / 1e6 if elapsed > 0 else 0.0
        return Text(f'{rate:6.1f} MB/s', style='progress.data.speed')


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Make SIGTERM stop the command as Ctrl-C does (the inject applies its error policy)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def inject_with_progress(
    client: MosaicoClient, paths: Sequence[Path], options: InjectOptions
) -> list[SequenceReport]:
    """Inject bags showing a progress bar, with the garbage collector on a schedule."""
    from mosaico_ros.bags.injector import inject_paths

    bar = Progress(
        TextColumn('[bold]{task.description}'),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn('msgs'),
        _PayloadRateColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with GcSchedule() as gc, bar:
        progress = _RichInjectProgress(bar, gc)
        return inject_paths(client, paths, options, progress, on_stored=gc.collect)


@main.command()
@click.argument(
    'paths',
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    metavar='PATH...',
)
@target_options
@click.option('--sequence', help='Sequence name (one PATH only) [default: from the file name].')
@click.option('--metadata', metavar='JSON|@FILE', help='Sequence metadata: a JSON object.')
@click.option(
    '--topic-metadata',
    multiple=True,
    metavar='TOPIC=JSON',
    help='Metadata of one topic (JSON object or @file.json); repeatable.',
)
@selection_options(legacy_regex=True)
@click.option('--start', metavar='T', help='From log time T (ns integer, seconds float, ISO-8601).')
@click.option('--end', metavar='T', help='Until log time T, exclusive (same forms as --start).')
@click.option('--dry-run', is_flag=True, help='Print what would be ingested; write nothing.')
@click.option(
    '--on-error',
    type=click.Choice(['report', 'delete']),
    default='report',
    show_default=True,
    help='On damage or a failure: keep what was stored, or remove the sequence.',
)
@click.option('--update', is_flag=True, help='Add a session of new topics to a sequence.')
@click.option(
    '--resume',
    is_flag=True,
    help='Complete an interrupted inject: store only the topics the sequence lacks.',
)
@click.option(
    '--adapters', multiple=True, metavar='MODULE', help='Import a module of adapters; repeatable.'
)
@click.option(
    '--adapter',
    'adapter_specs',
    multiple=True,
    metavar='TOPIC=ADAPTER',
    help='Adapter (class name or ontology tag) for one topic, e.g. /points=Lidar; repeatable.',
)
@click.option(
    '--msg-path',
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help='Directory of <pkg>/msg/<Name>.msg definitions; repeatable.',
)
@click.option('--distro', help='ROS distro of the stock types (humble, jazzy, noetic, ...).')
@click.option(
    '--image-format',
    type=click.Choice(['raw', 'png']),
    default='raw',
    show_default=True,
    help='Store raw Images as they are (the chunk compresses them) or PNG-packed (as the SDK).',
)
@click.option(
    '--jobs',
    type=click.IntRange(min=0),
    help='Worker processes decoding and converting messages [default: CPUs but two, at most 4]; '
    '0 does it all in this process.',
)
def inject(
    *,
    target: Target,
    paths: tuple[Path, ...],
    sequence: str | None,
    metadata: str | None,
    topic_metadata: tuple[str, ...],
    selection: TopicSelection,
    start: str | None,
    end: str | None,
    dry_run: bool,
    on_error: str,
    update: bool,
    resume: bool,
    adapters: tuple[str, ...],
    adapter_specs: tuple[str, ...],
    msg_path: tuple[Path, ...],
    distro: str | None,
    image_format: str,
    jobs: int | None,
) -> None:
    """Store bags as sequences: one sequence per PATH.

    PATH is an .mcap, a ROS 1 .bag, a .db3 or a rosbag2 directory (found by
    its metadata.yaml, whatever its name). Topics are chosen with rosbag2's
    options (--topics exact names, -e/-x regular expressions searched in the
    name). Exits with status 1 when any message was skipped or any part of a
    bag was damaged, 130 when interrupted: Ctrl-C and SIGTERM apply --on-error
    as a failure does. A bag with no message (in the window) creates no
    sequence; that is a warning, not a failure.
    """
    from mosaico_ros.bags.injector import InjectError, inject_paths
    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.pipeline.report import exit_code, print_reports

    if sequence is not None and len(paths) > 1:
        raise click.UsageError('--sequence names one sequence; give a single PATH with it')
    options = InjectOptions(
        sequence=sequence,
        metadata=parse_json_object(metadata, '--metadata') if metadata else {},
        topic_metadata=parse_topic_metadata(topic_metadata),
        selection=selection,
        start_ns=parse_time_bound(start, '--start'),
        end_ns=parse_time_bound(end, '--end'),
        dry_run=dry_run,
        on_error='delete' if on_error == 'delete' else 'report',
        update=update,
        resume=resume,
        adapters=adapters,
        adapter_overrides=parse_adapter_overrides(adapter_specs),
        msg_paths=msg_path,
        distro=distro,
        jobs=jobs,
        image_format='png' if image_format == 'png' else 'raw',
    )
    try:
        if dry_run:
            reports = inject_paths(None, paths, options)
        else:
            with open_client(target) as client, sigterm_as_interrupt():
                reports = inject_with_progress(client, paths, options)
    except (InjectError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    print_reports(console, reports, plan=dry_run)
    status = exit_code(reports)
    if status:
        raise SystemExit(status)
