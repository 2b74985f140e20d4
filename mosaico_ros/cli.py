"""The `mosaico-ros` command line."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
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
from rich.table import Table
from rich.text import Text

from mosaico_ros.bags.report import human_size
from mosaico_ros.connect import Target, default_store, open_client
from mosaico_ros.protocol import DEFAULT_PORT
from mosaico_ros.server.errors import StoreError

F = TypeVar('F', bound=Callable[..., Any])

console = Console()


def target_options(func: F) -> F:
    """Add the options that choose a server, and pass the result as `target`.

    Without `--host` the command works on a local store directory through an
    in-process server; with `--host` it talks to a running `mosaicod` or
    `mosaico-ros serve`.
    """

    @click.option(
        '--store',
        type=click.Path(file_okay=False, path_type=Path),
        help='Local store directory, served in-process '
        f'[default: $MOSAICO_STORE or {default_store()}].',
    )
    @click.option('--host', help='Host of a running Mosaico server; overrides --store.')
    @click.option('--port', type=int, default=DEFAULT_PORT, show_default=True, help='Server port.')
    @click.option('--api-key', envvar='MOSAICO_API_KEY', help='API key [env: MOSAICO_API_KEY].')
    @click.option(
        '--tls-cert',
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        envvar='MOSAICO_TLS_CERT_FILE',
        help='PEM root certificate; turns TLS on [env: MOSAICO_TLS_CERT_FILE].',
    )
    @functools.wraps(func)
    def wrapper(
        store: Path | None,
        host: str | None,
        port: int,
        api_key: str | None,
        tls_cert: Path | None,
        **kwargs: Any,
    ) -> Any:
        if store is not None and host is not None:
            raise click.UsageError('give either --store or --host, not both')
        target = Target(store=store, host=host, port=port, api_key=api_key, tls_cert=tls_cert)
        try:
            return func(target=target, **kwargs)
        except (StoreError, ConnectionError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(package_name='mosaico_ros')
def main() -> None:
    """Move ROS data into and out of Mosaico.

    Every command works on a local store by default (no server to run), or
    on a running Mosaico server with --host/--port.
    """


@main.command()
@click.option(
    '--store',
    type=click.Path(file_okay=False, path_type=Path),
    default=default_store,
    show_default='$MOSAICO_STORE or the XDG data directory',
    help='Directory holding the catalog and the data chunks; created if missing.',
)
@click.option('--host', default='127.0.0.1', show_default=True, help='Address to listen on.')
@click.option(
    '--port', type=int, default=DEFAULT_PORT, show_default=True, help='Port to listen on.'
)
def serve(store: Path, host: str, port: int) -> None:
    """Run an embedded Mosaico server on a store directory.

    Speaks the same Arrow Flight protocol as mosaicod, so the official
    mosaicolabs SDK and every mosaico-ros command (with --host) can use it.
    Stop it with Ctrl-C; the store stays consistent even if it is killed.
    """
    from mosaico_ros.server import EmbeddedServer

    store.mkdir(parents=True, exist_ok=True)
    server = EmbeddedServer(store, host=host, port=port)
    console.print(f'Serving [bold]{store}[/] on grpc://{host}:{port} (Ctrl-C to stop)')
    server.serve_forever()


@main.command(name='list')
@click.argument('sequence', required=False)
@target_options
def list_command(target: Target, sequence: str | None) -> None:
    """List the sequences of a store or server, or the topics of SEQUENCE."""
    with open_client(target) as client:
        if sequence is None:
            console.print(_sequences_table(client, target))
            return
        handler = client.sequence_handler(sequence)
        if handler is None:
            raise click.ClickException(f'no sequence {sequence!r} in {target.describe()}')
        console.print(_topics_table(client, sequence, handler.topics))


def _sequences_table(client: Any, target: Target) -> Table:
    names = client.list_sequences()
    table = Table(title=f'{len(names)} sequence(s) in {target.describe()}')
    for column in ('sequence', 'topics', 'sessions', 'size', 'start', 'duration'):
        numeric = column in ('topics', 'sessions', 'size')
        table.add_column(column, justify='right' if numeric else 'left')
    for name in sorted(names):
        handler = client.sequence_handler(name)
        if handler is None:
            continue
        table.add_row(
            name,
            str(len(handler.topics)),
            str(len(handler.sessions)),
            human_size(handler.total_size_bytes),
            _time(handler.timestamp_ns_min),
            _duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table


def _topics_table(client: Any, sequence: str, topics: list[str]) -> Table:
    table = Table(title=f'sequence {sequence}')
    for column in ('topic', 'ontology', 'rows', 'size', 'start', 'duration'):
        table.add_column(column, justify='right' if column in ('rows', 'size') else 'left')
    for topic in topics:
        handler = client.topic_handler(sequence, topic)
        if handler is None:
            continue
        table.add_row(
            topic,
            handler.ontology_tag,
            str(handler.msg_count),
            human_size(handler.total_size_bytes),
            _time(handler.timestamp_ns_min),
            _duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table


def _time(timestamp_ns: int | None) -> str:
    if timestamp_ns is None:
        return '-'
    return datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc).strftime('%Y-%m-%d %H:%M:%S')


def _duration(start_ns: int | None, end_ns: int | None) -> str:
    if start_ns is None or end_ns is None:
        return '-'
    return f'{(end_ns - start_ns) / 1e9:.1f} s'


class _RichInjectProgress:
    """One rich progress bar per bag: messages, MB/s of payload, ETA."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, path: Path, messages: int | None, size_bytes: int) -> None:
        del size_bytes
        self._task = self._progress.add_task(path.name, total=messages, payload=0)

    def advance(self, messages: int, payload_bytes: int) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            payload = int(task.fields.get('payload', 0)) + payload_bytes
            self._progress.update(self._task, advance=messages, payload=payload)

    def finish(self) -> None:
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


def _inject_progress_bar() -> Progress:
    return Progress(
        TextColumn('[bold]{task.description}'),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn('msgs'),
        _PayloadRateColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _json_object(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object given inline or as `@file.json`."""
    source = text
    if text.startswith('@'):
        try:
            source = Path(text[1:]).read_text(encoding='utf-8')
        except OSError as err:
            raise click.BadParameter(f'cannot read {text[1:]}: {err}', param_hint=what) from None
    try:
        value = json.loads(source)
    except ValueError as err:
        raise click.BadParameter(f'not JSON: {err}', param_hint=what) from None
    if not isinstance(value, dict):
        raise click.BadParameter('must be a JSON object', param_hint=what)
    return value


def _topic_metadata(specs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for spec in specs:
        topic, sep, text = spec.partition('=')
        if not sep or not topic:
            raise click.BadParameter(f'{spec!r} is not TOPIC=JSON', param_hint='--topic-metadata')
        result[topic] = _json_object(text, f'--topic-metadata {topic}')
    return result


def _adapter_overrides(specs: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for spec in specs:
        topic, sep, name = spec.rpartition('=')
        if not sep or not topic or not name:
            raise click.BadParameter(f'{spec!r} is not TOPIC=ADAPTER', param_hint='--adapter')
        result[topic] = name
    return result


def _time_bound(text: str | None, option: str) -> int | None:
    from mosaico_ros.bags.options import parse_time

    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


def _print_reports(reports: list[Any], dry_run: bool) -> None:
    from mosaico_ros.bags.report import plan_table, summary_table

    for report in reports:
        if report.error is not None and not report.topics:
            console.print(f'[red]failed[/]: {report.error}')
            continue
        console.print(plan_table(report) if dry_run else summary_table(report))
        for note in report.notes[:10]:
            console.print(f'  [dim]note: {note}[/]', highlight=False)
        problems = report.problems()
        for line in problems[:20]:
            console.print(f'  [yellow]![/] {line}', highlight=False)
        if len(problems) > 20:
            console.print(f'  ... and {len(problems) - 20} more')


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
@click.option('--topics', multiple=True, metavar='REGEX', help='Only topics matching; repeatable.')
@click.option(
    '--exclude', multiple=True, metavar='REGEX', help='Never topics matching; repeatable.'
)
@click.option(
    '--types', multiple=True, metavar='REGEX', help='Only ROS types matching; repeatable.'
)
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
@click.option('--update', is_flag=True, help='Add a session to an existing sequence.')
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
    '--jobs',
    type=click.IntRange(min=0),
    help='Worker processes decoding and converting messages [default: CPUs, at most 4]; '
    '0 does it all in this process.',
)
def inject(
    *,
    target: Target,
    paths: tuple[Path, ...],
    sequence: str | None,
    metadata: str | None,
    topic_metadata: tuple[str, ...],
    topics: tuple[str, ...],
    exclude: tuple[str, ...],
    types: tuple[str, ...],
    start: str | None,
    end: str | None,
    dry_run: bool,
    on_error: str,
    update: bool,
    adapters: tuple[str, ...],
    adapter_specs: tuple[str, ...],
    msg_path: tuple[Path, ...],
    distro: str | None,
    jobs: int | None,
) -> None:
    """Store bags as sequences: one sequence per PATH.

    PATH is an .mcap, a ROS 1 .bag, a .db3 or a rosbag2 directory (found by
    its metadata.yaml, whatever its name). Topic patterns are Python regular
    expressions searched in the name, like `ros2 bag record -e`. Exits with
    status 1 when any message was skipped or any part of a bag was damaged.
    """
    from mosaico_ros.bags.injector import InjectError, inject_paths
    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.bags.report import exit_code

    if sequence is not None and len(paths) > 1:
        raise click.UsageError('--sequence names one sequence; give a single PATH with it')
    options = InjectOptions(
        sequence=sequence,
        metadata=_json_object(metadata, '--metadata') if metadata else {},
        topic_metadata=_topic_metadata(topic_metadata),
        topics=topics,
        exclude=exclude,
        types=types,
        start_ns=_time_bound(start, '--start'),
        end_ns=_time_bound(end, '--end'),
        dry_run=dry_run,
        on_error='delete' if on_error == 'delete' else 'report',
        update=update,
        adapters=adapters,
        adapter_overrides=_adapter_overrides(adapter_specs),
        msg_paths=msg_path,
        distro=distro,
        jobs=jobs,
    )
    try:
        if dry_run:
            reports = inject_paths(None, paths, options)
        else:
            with open_client(target) as client, _inject_progress_bar() as bar:
                reports = inject_paths(client, paths, options, _RichInjectProgress(bar))
    except (InjectError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    _print_reports(reports, dry_run)
    status = exit_code(reports)
    if status:
        raise SystemExit(status)


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

    from mosaico_ros.bags.injector import inject_paths
    from mosaico_ros.bags.options import InjectOptions
    from mosaico_ros.bags.report import exit_code
    from mosaico_ros.bags.synthetic import BagFormat, RecordingSpec, write_recording

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
            with _inject_progress_bar() as bar:
                reports = inject_paths(client, [path], options, _RichInjectProgress(bar))
            _print_reports(reports, dry_run=False)
            console.print(_sequences_table(client, target))
    status = exit_code(reports)
    if status:
        raise SystemExit(status)
