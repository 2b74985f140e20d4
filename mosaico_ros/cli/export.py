"""`mosaico-ros export`: a stored sequence back into a bag, with a closing summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, parse_time_bound, target_options
from mosaico_ros.cli.selection import selection_options

if TYPE_CHECKING:
    from rich.table import Table

    from mosaico_ros.connect import Target
    from mosaico_ros.pipeline.report import SequenceReport
    from mosaico_ros.pipeline.selection import TopicSelection


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
@selection_options()
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
    selection: TopicSelection,
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

    options = ExportOptions(
        format=fmt,  # type: ignore[arg-type]
        distro=distro,
        selection=selection,
        start_ns=parse_time_bound(start, '--start'),
        end_ns=parse_time_bound(end, '--end'),
        adapters=adapters,
    )
    try:
        with open_client(target, create=False) as client:
            report = export_sequence(client, sequence, out, options)
    except ExportError as err:
        raise click.ClickException(str(err)) from None
    console.print(export_table(report))
    for line in report.problems()[:20]:
        console.print(f'  [yellow]![/] {line}', highlight=False)
    if not report.clean:
        raise SystemExit(1)
