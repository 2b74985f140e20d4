"""`mosaico-ros export`: a stored sequence back into a bag, with a closing summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, parse_time_bound, target_options

if TYPE_CHECKING:
    from rich.table import Table

    from mosaico_ros.connect import Target
    from mosaico_ros.pipeline.report import SequenceReport


def export_table(report: SequenceReport) -> Table:
    """Return the per-topic table of an export."""
    from rich.table import Table

    from mosaico_ros.pipeline.report import human_size

    table = Table(title=f'{report.source} -> {report.sequence}', title_justify='left')
    for column in ('topic', 'ros type', 'written', 'not written'):
        table.add_column(column, justify='right' if column == 'written' else 'left')
    for topic in report.topics.values():
        missing = '; '.join(f'{count} {reason}' for reason, count in topic.skipped.items())
        table.add_row(
            topic.topic, topic.msgtype or '-', str(topic.stored), missing or topic.note or '-'
        )
    table.caption = (
        f'{report.stored} of {report.received} message(s) written, '
        f'{human_size(report.bytes_total)}, in {report.elapsed_s:.2f} s'
    )
    return table


@main.command()
@click.argument('sequence')
@click.argument('out', type=click.Path(path_type=Path))
@target_options
@click.option(
    '--format',
    'fmt',
    type=click.Choice(['mcap', 'db3', 'bag']),
    help='Container [default: from OUT: .mcap a file, .bag a ROS 1 bag, else a rosbag2 '
    'directory with MCAP storage].',
)
@click.option(
    '--distro',
    help='ROS distro of the written types (kilted, jazzy, humble, noetic ...) '
    '[default: the recorded one, else humble; noetic for .bag].',
)
@click.option('--topics', multiple=True, help='Export only these topics; repeatable.')
@click.option('-e', '--regex', help='Export only topics matching this regex.')
@click.option('-x', '--exclude-regex', help='Never export topics matching this regex.')
@click.option('--exclude-topics', multiple=True, help='Never these topics; repeatable.')
@click.option('--start', metavar='T', help='From time T (ns integer, seconds float, ISO-8601).')
@click.option('--end', metavar='T', help='Until time T, exclusive (same forms as --start).')
@click.option(
    '--adapters', multiple=True, metavar='MODULE', help='Import a module of adapters; repeatable.'
)
def export(
    *,
    target: Target,
    sequence: str,
    out: Path,
    fmt: str | None,
    distro: str | None,
    topics: tuple[str, ...],
    regex: str | None,
    exclude_regex: str | None,
    exclude_topics: tuple[str, ...],
    start: str | None,
    end: str | None,
    adapters: tuple[str, ...],
) -> None:
    """Write a stored sequence as a bag: OUT.mcap, OUT.bag, or a rosbag2 directory OUT.

    Messages are rebuilt by each topic's adapter with the definitions and
    the offered QoS recorded with the topic, and written in time order; the
    bag reads with rosbags, the mcap tools and `ros2 bag play`. Exits with
    status 1 when any stored message was not written (the summary says why).
    """
    from mosaico_ros.bags.export import ExportError, ExportOptions, export_sequence
    from mosaico_ros.connect import open_client
    from mosaico_ros.pipeline.selection import TopicSelection

    try:
        selection = TopicSelection(
            topics=topics,
            regex=(regex,) if regex else (),
            exclude_topics=exclude_topics,
            exclude_regex=(exclude_regex,) if exclude_regex else (),
            names={'regex': '--regex', 'exclude_regex': '--exclude-regex'},
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    options = ExportOptions(
        format=fmt,  # type: ignore[arg-type]
        distro=distro,
        selection=selection,
        start_ns=parse_time_bound(start, '--start'),
        end_ns=parse_time_bound(end, '--end'),
        adapters=adapters,
    )
    try:
        with open_client(target) as client:
            report = export_sequence(client, sequence, out, options)
    except ExportError as err:
        raise click.ClickException(str(err)) from None
    console.print(export_table(report))
    for line in report.problems()[:20]:
        console.print(f'  [yellow]![/] {line}', highlight=False)
    if not report.clean:
        raise SystemExit(1)
