"""`mosaico-ros watch`: a long-lived service ingesting the bags that appear in a folder."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, parse_json_object, target_options
from mosaico_ros.target import Target

if TYPE_CHECKING:
    from mosaico_ros.watch import Watcher, WatchEvent, WatchState
    from mosaico_ros.watch.watcher import OnFailure

_STYLES = {
    'waiting': 'dim',
    'ingesting': 'cyan',
    'ingested': 'green',
    'already stored': 'green',
    'failed': 'yellow',
    'quarantined': 'red',
    'abandoned': 'yellow',
    'cleaned up': 'yellow',
}


@main.command()
@click.argument('folder', type=click.Path(exists=True, file_okay=False, path_type=Path))
@target_options
@click.option('--once', is_flag=True, help='Scan once, ingest what is ready, and exit.')
@click.option(
    '--glob',
    'globs',
    multiple=True,
    metavar='PATTERN',
    help='Only bags whose path in FOLDER matches (e.g. "*.mcap", "runs/*"); repeatable.',
)
@click.option(
    '--min-age',
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    metavar='S',
    help='Seconds a bag must be left unchanged before it is ingested.',
)
@click.option(
    '--interval',
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    metavar='S',
    help='Seconds between scans.',
)
@click.option(
    '--on-error',
    type=click.Choice(['quarantine', 'skip', 'retry']),
    default='quarantine',
    show_default=True,
    help='A bag that fails: remember it and leave it until its content changes; leave it '
    'until the next start; or try again later, less and less often.',
)
@click.option(
    '--retry-quarantined', is_flag=True, help='Forget the quarantine list and try those bags again.'
)
@click.option(
    '--state',
    'state_path',
    type=click.Path(dir_okay=False, path_type=Path),
    help='State file [default: one per folder and target in $XDG_STATE_HOME/mosaico_ros/watch].',
)
@click.option(
    '--stop-grace',
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar='S',
    help='On SIGTERM/SIGINT, seconds the bag in progress may take to finish before it is '
    'abandoned (a second signal abandons it at once).',
)
@click.option('--metadata', metavar='JSON|@FILE', help='Metadata added to every sequence.')
@click.option(
    '--msg-path',
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help='Directory of <pkg>/msg/<Name>.msg definitions; repeatable.',
)
@click.option('--distro', help='ROS distro of the stock types (humble, jazzy, noetic, ...).')
def watch(
    *,
    target: Target,
    folder: Path,
    once: bool,
    globs: tuple[str, ...],
    min_age: float,
    interval: float,
    on_error: str,
    retry_quarantined: bool,
    state_path: Path | None,
    stop_grace: float,
    metadata: str | None,
    msg_path: tuple[Path, ...],
    distro: str | None,
) -> None:
    """Ingest every bag that appears in FOLDER, each once, into its own sequence.

    Bags are .mcap, .db3 and .bag files and rosbag2 directories, at any depth;
    a file is taken once it stopped changing for --min-age seconds, a rosbag2
    directory once its metadata.yaml is complete too. Each becomes the
    sequence named after its path in FOLDER (runs/drive.mcap -> runs_drive),
    stored whole or not at all. What was ingested is remembered by content,
    across restarts, so a renamed or copied bag is not ingested again; bags
    that fail are quarantined with their reason (see --on-error).

    Runs until SIGTERM or Ctrl-C, which let the bag in progress finish (see
    --stop-grace) or abandon it so it is redone at the next start. With
    --once, exits with status 1 if a bag failed.
    """
    from mosaico_ros.bags.injector import InjectOptions
    from mosaico_ros.connect import open_client
    from mosaico_ros.watch import (
        EventKind,
        StopSignals,
        Watcher,
        WatchOptions,
        WatchState,
        default_state_path,
    )

    folder = folder.resolve()
    options = WatchOptions(
        folder=folder,
        globs=globs,
        min_age_s=min_age,
        interval_s=interval,
        on_error=cast('OnFailure', on_error),
        inject=InjectOptions(
            metadata=parse_json_object(metadata, '--metadata') if metadata else {},
            msg_paths=msg_path,
            distro=distro,
        ),
    )
    with ExitStack() as resources:
        try:
            state = WatchState(state_path or default_state_path(folder, target.describe()))
            resources.enter_context(state.exclusive())
        except ValueError as err:
            raise click.ClickException(str(err)) from None
        if retry_quarantined:
            released = state.release_quarantine()
            console.print(f'{len(released)} quarantined bag(s) will be tried again')
        signals = resources.enter_context(StopSignals(stop_grace))
        client = resources.enter_context(open_client(target))
        _print_start(folder, target, state)
        watcher = Watcher(client, options, state, _print_event)
        watcher.run(signals, once=once)
    _print_summary(watcher, stopped=signals.stopping)
    if once and (watcher.counts[EventKind.FAILED] or watcher.counts[EventKind.QUARANTINED]):
        raise SystemExit(1)


def _print_start(folder: Path, target: Target, state: WatchState) -> None:
    console.print(
        f'Watching [bold]{folder}[/] into {target.describe()}; state {state.path}: '
        f'{len(state.ingested)} bag(s) ingested before, {len(state.quarantined)} quarantined',
        highlight=False,
        soft_wrap=True,
    )
    for entry in state.quarantined.values():
        console.print(
            f'  [red]quarantined[/] {entry.path} ({entry.at}): {entry.reason}',
            highlight=False,
            soft_wrap=True,
        )


def _print_event(event: WatchEvent) -> None:
    stamp = datetime.now().strftime('%H:%M:%S')
    style = _STYLES.get(event.kind.value, '')
    console.print(
        f'{stamp} [{style}]{event.kind.value}[/] {event.path}: {event.detail}',
        highlight=False,
        soft_wrap=True,
    )


def _print_summary(watcher: Watcher, *, stopped: bool) -> None:
    counts = {kind.value: count for kind, count in watcher.counts.items() if count}
    parts = [
        f'{counts.get(name, 0)} {name}'
        for name in ('ingested', 'already stored', 'failed', 'quarantined', 'abandoned')
    ]
    ending = 'stopped' if stopped else 'done'
    console.print(f'{ending}: {", ".join(parts)} in this run', highlight=False, soft_wrap=True)
