"""`mosaico-ros query`: find sequences, topics and time windows by catalog and content."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import (
    console,
    err_console,
    format_duration,
    format_time,
    parse_time_bound,
    target_options,
)
from mosaico_ros.target import Target

if TYPE_CHECKING:
    from mosaico_ros.client import CatalogQuery, Condition, Expression, QueryResultItem, TimeWindow


@main.command()
@target_options
@click.option('--name', metavar='NAME|GLOB', help='Sequence name, exact or a glob (* ? [...]).')
@click.option(
    '--metadata',
    multiple=True,
    metavar='KEY=VALUE',
    help='Sequence metadata: KEY=VALUE, or KEY OP VALUE with OP one of > >= < <= == !=; '
    'KEY is a dot path (driver.role); repeatable.',
)
@click.option('--created-after', metavar='T', help='Sequences created at or after T.')
@click.option('--created-before', metavar='T', help='Sequences created at or before T.')
@click.option('--recorded-after', metavar='T', help='Sequences with data at or after T.')
@click.option('--recorded-before', metavar='T', help='Sequences with data at or before T.')
@click.option('--topic', metavar='NAME|GLOB', help='Only this topic: exact name or a glob.')
@click.option(
    '--ontology', 'tag', metavar='TAG', help='Only topics of this ontology tag (IMU, GPS...).'
)
@click.option(
    '--topic-metadata',
    multiple=True,
    metavar='KEY=VALUE',
    help='Topic metadata, as --metadata; repeatable.',
)
@click.option(
    '--where',
    multiple=True,
    metavar='EXPR',
    help="Content: 'Model.field.path OP value' (e.g. 'IMU.acceleration.x > 4'), several "
    'joined by AND or repeated; all must hold at one record of a topic.',
)
@click.option('--windows', is_flag=True, help='Also find the time windows where --where holds.')
@click.option(
    '--gap',
    default='1s',
    show_default=True,
    metavar='DURATION',
    help='With --windows: matches closer than this form one window (2s, 500ms, seconds).',
)
@click.option('--json', 'as_json', is_flag=True, help='Print JSON on stdout instead of a table.')
def query(
    *,
    target: Target,
    name: str | None,
    metadata: tuple[str, ...],
    created_after: str | None,
    created_before: str | None,
    recorded_after: str | None,
    recorded_before: str | None,
    topic: str | None,
    tag: str | None,
    topic_metadata: tuple[str, ...],
    where: tuple[str, ...],
    windows: bool,
    gap: str,
    as_json: bool,
) -> None:
    """Find sequences and topics by name, metadata, time and content.

    Every condition must hold. Times (T) are nanoseconds, seconds with a
    decimal point, or ISO-8601. Prints the matching sequences with their
    matching topics, and with --windows the stretches of time where the
    --where expression holds, per topic. Exits with status 1 when nothing
    matches.
    """
    from mosaico_ros.client import CatalogQuery, WhereError, find_windows, parse_duration
    from mosaico_ros.client.recorded import recorded_between
    from mosaico_ros.connect import open_client

    if windows and not where:
        raise click.UsageError('--windows needs a --where expression')
    try:
        gap_ns = parse_duration(gap)
    except WhereError as err:
        raise click.BadParameter(str(err), param_hint='--gap') from None
    if gap_ns <= 0:
        raise click.BadParameter('must be more than 0', param_hint='--gap')
    expression = _expression(where, topic)
    request = _request(
        name=name,
        metadata=metadata,
        created=(
            parse_time_bound(created_after, '--created-after'),
            parse_time_bound(created_before, '--created-before'),
        ),
        topic=topic,
        tag=tag,
        topic_metadata=topic_metadata,
        expression=expression,
    )
    with open_client(target, create=False) as client:
        items = recorded_between(
            client,
            client.query(request),
            parse_time_bound(recorded_after, '--recorded-after'),
            parse_time_bound(recorded_before, '--recorded-before'),
        )
        found: list[TimeWindow] | None = None
        if windows and expression is not None:
            found = find_windows(
                client,
                expression,
                sequences=[item.sequence for item in items],
                query=CatalogQuery(topic=request.topic),
                gap_ns=gap_ns,
            )
    if as_json:
        click.echo(json.dumps(_document(target, request, items, found), indent=2))
    else:
        console.print(_table(target, items, found))
    if not items:
        raise SystemExit(1)


def _conditions(specs: tuple[str, ...], option: str) -> list[Condition]:
    from mosaico_ros.client import WhereError, parse_condition

    try:
        return [parse_condition(spec, allow_single_equals=True) for spec in specs]
    except WhereError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


def _expression(where: tuple[str, ...], topic: str | None) -> Expression | None:
    from mosaico_ros.client import WhereError, parse_where

    if not where:
        return None
    try:
        expression = parse_where(where, topic=topic)
    except WhereError as err:
        raise click.BadParameter(str(err), param_hint='--where') from None
    for unknown in sorted(expression.unchecked):
        err_console.print(
            f'note: {unknown} is not a model known here; its fields are sent unchecked',
            highlight=False,
        )
    return expression


def _request(
    *,
    name: str | None,
    metadata: tuple[str, ...],
    created: tuple[int | None, int | None],
    topic: str | None,
    tag: str | None,
    topic_metadata: tuple[str, ...],
    expression: Expression | None,
) -> CatalogQuery:
    from mosaico_ros.client import CatalogQuery, QueryBuildError, SequenceQuery, TopicQuery

    sequence_query, topic_query = SequenceQuery(), TopicQuery()
    try:
        if name is not None:
            sequence_query.with_name_like(name)
        for condition in _conditions(metadata, '--metadata'):
            sequence_query.with_metadata_condition(condition)
        if created != (None, None):
            sequence_query.with_created(*created)
        if topic is not None:
            topic_query.with_name_like(topic)
        if tag is not None:
            topic_query.with_ontology_tag(tag)
        for condition in _conditions(topic_metadata, '--topic-metadata'):
            topic_query.with_metadata_condition(condition)
    except QueryBuildError as err:
        raise click.UsageError(str(err)) from None
    return CatalogQuery(
        sequence=sequence_query if sequence_query.to_dict() else None,
        topic=topic_query if topic_query.to_dict() else None,
        ontology=expression,
    )


def _windows_of(found: list[TimeWindow] | None, sequence: str, topic: str) -> list[TimeWindow]:
    return [w for w in found or () if (w.sequence, w.topic) == (sequence, topic)]


def _document(
    target: Target,
    request: CatalogQuery,
    items: list[QueryResultItem],
    found: list[TimeWindow] | None,
) -> dict[str, Any]:
    sequences = []
    for item in items:
        topics = []
        for topic in item.topics:
            entry: dict[str, Any] = {'topic': topic.name, 'ontology_tag': topic.ontology_tag}
            if found is not None:
                entry['windows'] = [
                    {'start_ns': w.start_ns, 'end_ns': w.end_ns}
                    for w in _windows_of(found, item.sequence, topic.name)
                ]
            topics.append(entry)
        sequences.append({'sequence': item.sequence, 'topics': topics})
    return {'target': target.describe(), 'query': request.to_dict(), 'sequences': sequences}


def _table(target: Target, items: list[QueryResultItem], found: list[TimeWindow] | None) -> Table:
    topics = sum(len(item.topics) for item in items)
    title = f'{len(items)} sequence(s), {topics} topic(s) match in {target.describe()}'
    if found is not None:
        title += f'; {len(found)} window(s)'
    table = Table(title=title)
    columns = ['sequence', 'topic', 'ontology']
    if found is not None:
        columns += ['window start (UTC)', 'window end (UTC)', 'duration']
    for column in columns:
        table.add_column(column)
    for item in items:
        for topic in item.topics:
            row = [item.sequence, topic.name, topic.ontology_tag]
            if found is None:
                table.add_row(*row)
                continue
            spans: list[tuple[int | None, int | None]] = [
                w.span for w in _windows_of(found, item.sequence, topic.name)
            ]
            for start, end in spans or [(None, None)]:
                table.add_row(
                    *row, format_time(start), format_time(end), format_duration(start, end)
                )
    return table
