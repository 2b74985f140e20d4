"""Topic-selection options in rosbag2's vocabulary, the same for every command that takes topics.

``--topics`` takes exact names, ``-e/--regex`` and ``-x/--exclude-regex``
regular expressions searched in the name, ``--exclude-topics`` exact names,
``--topic-types``/``--exclude-topic-types`` exact type names (``pkg/msg/Name``
or ``pkg/Name``). The command receives them as one `TopicSelection`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mosaico_ros.cli.options import console

F = TypeVar('F', bound=Callable[..., Any])

_TOPIC_NAME = re.compile(r'^/?[A-Za-z0-9_~{}][A-Za-z0-9_/~{}-]*$')


def selection_options(*, legacy_regex: bool = False) -> Callable[[F], F]:
    """Add the selection options and pass them on as `selection`.

    Args:
        legacy_regex: Accept what ``inject`` took before (a regex in ``--topics``,
            ``--exclude`` and ``--types`` regexes), with a deprecation notice.

    """

    def decorate(func: F) -> F:
        options = [
            click.option('--topics', multiple=True, metavar='TOPIC', help='Only these topics.'),
            click.option('-e', '--regex', multiple=True, help='Only topics matching this regex.'),
            click.option('-x', '--exclude-regex', multiple=True, help='Never topics matching.'),
            click.option('--exclude-topics', multiple=True, metavar='TOPIC', help='Never these.'),
            click.option('--topic-types', multiple=True, metavar='TYPE', help='Only these types.'),
            click.option(
                '--exclude-topic-types', multiple=True, metavar='TYPE', help='Never these types.'
            ),
        ]
        if legacy_regex:
            options += [
                click.option('--exclude', multiple=True, hidden=True),
                click.option('--types', multiple=True, hidden=True),
            ]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            from mosaico_ros.pipeline.selection import TopicSelection

            topics, regex = _split_legacy(kwargs.pop('topics'), legacy_regex)
            exclude_regex = (*kwargs.pop('exclude_regex'), *_legacy(kwargs, 'exclude', '-x'))
            type_regex = _legacy(kwargs, 'types', '--topic-types (exact names)')
            try:
                kwargs['selection'] = TopicSelection(
                    topics=topics,
                    regex=(*kwargs.pop('regex'), *regex),
                    exclude_topics=kwargs.pop('exclude_topics'),
                    exclude_regex=exclude_regex,
                    topic_types=kwargs.pop('topic_types'),
                    type_regex=type_regex,
                    exclude_topic_types=kwargs.pop('exclude_topic_types'),
                )
            except ValueError as err:
                raise click.BadParameter(str(err)) from None
            return func(**kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _split_legacy(values: tuple[str, ...], legacy: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Exact topic names, and (for the old ``inject --topics``) the values that were regexes."""
    if not legacy:
        return values, ()
    names = tuple(v for v in values if _TOPIC_NAME.match(v))
    patterns = tuple(v for v in values if not _TOPIC_NAME.match(v))
    if patterns:
        console.print(
            f'[yellow]deprecated[/]: --topics takes exact topic names; treating {patterns} as '
            'regular expressions (use -e/--regex; this goes away in the next release)',
            highlight=False,
        )
    return names, patterns


def _legacy(kwargs: dict[str, Any], name: str, instead: str) -> tuple[str, ...]:
    values = tuple(kwargs.pop(name, ()) or ())
    if values:
        console.print(
            f'[yellow]deprecated[/]: --{name} REGEX; use {instead} (goes away next release)',
            highlight=False,
        )
    return values
