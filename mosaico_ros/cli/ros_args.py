"""ROS parameters as command options: `mosaico-ros CMD --ros-args --params-file F -p name:=value`.

`ros2 run` and `launch_ros`'s `Node` start an executable with ROS arguments
after `--ros-args` (ending at `--`): parameter files (`--params-file`),
single parameters (`-p name:=value`) and remappings (`-r __node:=name`).
Every mosaico-ros command accepts them: a parameter is the option of the
same name, `-` written `_` (`tls_cert` is `--tls-cert`), or a positional
argument by its name (`folder` of `watch`). A true boolean is the flag, a
list repeats the option. Parameters come before the command line's own
options, so an option given explicitly wins; later parameters win over
earlier ones, as in ROS.

A parameter file holds `<node>: {ros__parameters: {...}}` tables; the
tables for `/**`, for the node's name (`-r __node:=NAME`, default
`mosaico_<command>`, or the default of the command's `--node-name`) and
for its namespaced name apply, in file order; a command with `--node-name`
takes the name from `-r __node:=NAME` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_PARAMS_FILE = ('--params-file',)
_PARAM = ('-p', '--param')
_REMAP = ('-r', '--remap')
_WITH_VALUE = ('--log-level', '--enclave', '-e', '--log-config-file', '--log-file-name')


def split_ros_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Separate the arguments inside `--ros-args ... [--]` from the others."""
    plain: list[str] = []
    ros: list[str] = []
    inside = False
    for arg in args:
        if arg == '--ros-args':
            inside = True
        elif inside and arg == '--':
            inside = False
        else:
            (ros if inside else plain).append(arg)
    return plain, ros


def node_name(ros: list[str], default: str) -> tuple[str, str]:
    """Return the node name and namespace that `-r __node:=` and `-r __ns:=` give."""
    node, namespace = default, ''
    for flag, value in _pairs(ros):
        if flag in _REMAP:
            key, _, target = value.partition(':=')
            if key == '__node':
                node = target
            elif key == '__ns':
                namespace = target.strip('/')
    return node, namespace


def ros_parameters(ros: list[str], default_node: str) -> dict[str, Any]:
    """Collect the parameters that ROS arguments give the node, later ones winning.

    Raises:
        click.UsageError: A file cannot be read, or an argument is malformed.

    """
    node, namespace = node_name(ros, default_node)
    names = {'/**', '**', node, f'/{node}', f'/{namespace}/{node}' if namespace else f'/{node}'}
    parameters: dict[str, Any] = {}
    for flag, value in _pairs(ros):
        if flag in _PARAMS_FILE:
            parameters.update(_from_file(Path(value).expanduser(), names))
        elif flag in _PARAM:
            name, sep, text = value.partition(':=')
            if not sep or not name:
                raise click.UsageError(f'ROS parameter {value!r} is not NAME:=VALUE')
            parameters[name] = _yaml_value(text)
    return parameters


def _pairs(ros: list[str]) -> list[tuple[str, str]]:
    pairs = []
    index = 0
    while index < len(ros):
        flag = ros[index]
        if flag in (*_PARAMS_FILE, *_PARAM, *_REMAP, *_WITH_VALUE):
            if index + 1 >= len(ros):
                raise click.UsageError(f'ROS argument {flag} needs a value')
            pairs.append((flag, ros[index + 1]))
            index += 2
        else:
            index += 1  # flags such as --disable-stdout-logs do not concern the command
    return pairs


def _yaml_value(text: str) -> Any:
    from ruamel.yaml import YAML, YAMLError

    try:
        return YAML(typ='safe').load(text)
    except YAMLError:
        return text


def _from_file(path: Path, names: set[str]) -> dict[str, Any]:
    from ruamel.yaml import YAML, YAMLError

    try:
        document = YAML(typ='safe').load(path.read_text(encoding='utf-8')) or {}
    except (OSError, YAMLError) as err:
        raise click.UsageError(f'cannot read the ROS parameter file {path}: {err}') from None
    parameters: dict[str, Any] = {}
    if not isinstance(document, dict):
        raise click.UsageError(f'{path} is not a ROS parameter file (no node tables)')
    for key, table in document.items():
        if str(key) in names and isinstance(table, dict):
            parameters.update(table.get('ros__parameters') or {})
    return parameters


def parameters_to_args(command: click.Command, parameters: dict[str, Any]) -> list[str]:
    """Turn parameters into the command's options and arguments.

    Raises:
        click.UsageError: A parameter names no option or argument of the command.

    """
    by_name = {name: param for param in command.params for name in _names(param)}
    options: list[str] = []
    positional: list[str] = []
    for name, value in parameters.items():
        param = by_name.get(name)
        if param is None or name == 'help':
            known = ', '.join(sorted(n for n in by_name if n != 'help'))
            raise click.UsageError(
                f'ROS parameter {name!r} is no option of {command.name}; it takes: {known}',
            )
        values = [str(item) for item in value] if isinstance(value, list) else [value]
        if isinstance(param, click.Argument):
            positional.extend(str(item) for item in values)
            continue
        assert isinstance(param, click.Option)
        flag = param.opts[-1]
        if param.is_flag:
            if value is True:
                options.append(flag)
            elif value is False and param.secondary_opts:
                options.append(param.secondary_opts[-1])
            continue
        for item in values:
            options.extend([flag, str(item)])
    return [*options, *positional]


def _names(param: click.Parameter) -> set[str]:
    """Return the parameter names of an option: its name and long flags, `-` written `_`."""
    long_flags = {opt[2:].replace('-', '_') for opt in param.opts if opt.startswith('--')}
    return ({param.name} if param.name else set()) | long_flags


def expand_ros_args(command: click.Command, info_name: str, args: list[str]) -> list[str]:
    """Replace `--ros-args ...` in a command line by the options the parameters stand for."""
    if '--ros-args' not in args:
        return args
    plain, ros = split_ros_args(args)
    # A command with a --node-name option names its node; `-r __node:=` renames it.
    option = next((p for p in command.params if p.name == 'node_name'), None)
    default = option.default if option is not None and isinstance(option.default, str) else ''
    node, _ = node_name(ros, default or f'mosaico_{info_name}')
    parameters = ros_parameters(ros, node)
    if option is not None and node != default:
        parameters.setdefault('node_name', node)
    return [*parameters_to_args(command, parameters), *plain]
