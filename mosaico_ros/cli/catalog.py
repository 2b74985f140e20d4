"""`mosaico-ros list`: the sequences of a store or server, or the topics of one."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, format_duration, format_time, target_options
from mosaico_ros.connect import Target, open_client


@main.command(name='list')
@click.argument('sequence', required=False)
@target_options
def list_command(target: Target, sequence: str | None) -> None:
    """List the sequences of a store or server, or the topics of SEQUENCE."""
    with open_client(target, create=False) as client:
        if sequence is None:
            console.print(_sequences_table(client, target))
            return
        handler = client.sequence_handler(sequence)
        if handler is None:
            raise click.ClickException(f'no sequence {sequence!r} in {target.describe()}')
        console.print(_topics_table(client, sequence, handler.topics))


def _sequences_table(client: Any, target: Target) -> Table:
    from mosaico_ros.pipeline.report import human_size

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
            format_time(handler.timestamp_ns_min),
            format_duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table


def _topics_table(client: Any, sequence: str, topics: list[str]) -> Table:
    from mosaico_ros.pipeline.report import human_size

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
            format_time(handler.timestamp_ns_min),
            format_duration(handler.timestamp_ns_min, handler.timestamp_ns_max),
        )
    return table
