"""Command options generated from a node's settings dataclass.

A node's settings (`RecorderConfig`, `PlayerConfig`) are one frozen
dataclass whose fields are its ROS parameters (`mosaico_ros.nodes.params`).
`config_options` turns every field into the click option of the same name
(``max_bag_duration`` is ``--max-bag-duration``), so the command line,
``ros2 run ... --ros-args -p`` and a parameter file cannot drift apart.

Field metadata steers an option: ``help`` its text, ``param`` its name,
``flag_value`` makes a value optional (``--clock`` alone means 40 Hz),
``parse`` reads the text given on the command line (``2s`` for a duration),
and ``aliases`` are further flags for the option.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any

import click

from mosaico_ros.nodes.params import param_name


class _Parsed(click.ParamType):
    """A click type running a field's own `parse` function on the text."""

    def __init__(self, parse: Callable[[str], Any], name: str) -> None:
        self.parse = parse
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


def config_options(
    config_type: type,
    positional: str,
    short_flags: Mapping[str, str] | None = None,
) -> Callable[[Any], Any]:
    """Add one option per settings field; `positional` becomes the arguments.

    Args:
        config_type: The settings dataclass.
        positional: The field given as positional arguments (``topics``, ``sequences``).
        short_flags: Parameter name -> short flag (rosbag2's ``-e`` for ``regex``).

    Returns:
        A decorator for a click command; each field arrives as a keyword of its name.

    """
    hints = typing.get_type_hints(config_type)
    shorts = dict(short_flags or {})

    def decorate(func: Any) -> Any:
        for item in reversed(dataclasses.fields(config_type)):
            if item.name == positional:
                continue
            name = param_name(item)
            meta = item.metadata
            flags = [f'--{name.replace("_", "-")}', *meta.get('aliases', ())]
            if name in shorts:
                flags.insert(0, shorts[name])
            kind = hints[item.name]
            text = meta.get('help', '')
            if kind is bool:
                option = click.option(*flags, item.name, is_flag=True, help=text)
            elif typing.get_origin(kind) is tuple:
                option = click.option(*flags, item.name, multiple=True, help=f'{text} Repeatable.')
            else:
                value_type: Any = kind
                if 'parse' in meta:
                    value_type = _Parsed(meta['parse'], meta.get('metavar', kind.__name__.upper()))
                extra: dict[str, Any] = {}
                if 'flag_value' in meta:
                    extra = {'is_flag': False, 'flag_value': meta['flag_value']}
                option = click.option(
                    *flags,
                    item.name,
                    type=value_type,
                    default=item.default,
                    show_default=item.default not in ('', None),
                    metavar=meta.get('metavar'),
                    help=text,
                    **extra,
                )
            func = option(func)
        return click.argument(positional, nargs=-1)(func)

    return decorate
