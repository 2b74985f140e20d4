"""Node settings as dataclasses, declared as ROS parameters of the same names.

A node's settings are one frozen dataclass (`RecorderConfig`, ...). Every
field is a ROS parameter named after the command-line flag (`max_bag_duration`
for ``--max-bag-duration``; a field can name its parameter otherwise with
``field(metadata={'param': 'all'})``). `declare` declares them on a node with
the dataclass defaults, so a ``--params-file`` or ``-p name:=value`` overrides
them; `read` builds the dataclass back from the node's parameter values; and
`overrides` turns a dataclass into the parameter list the CLI hands to the
node, so the command line, a parameter file and a launch file all reach the
same values by the same names.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

ConfigT = TypeVar('ConfigT')


def param_name(item: dataclasses.Field[Any]) -> str:
    """Return the ROS parameter name of a settings field."""
    return str(item.metadata.get('param', item.name))


def _kind(annotation: Any) -> type:
    """Return the parameter value type of a field annotation (optional types unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind(options[0])
    if origin in (list, tuple, Sequence) or annotation in (list, tuple):
        return list
    return annotation if isinstance(annotation, type) else str


def _fields(config_type: type) -> list[tuple[dataclasses.Field[Any], type]]:
    hints = typing.get_type_hints(config_type)
    return [(item, _kind(hints[item.name])) for item in dataclasses.fields(config_type)]


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    raise TypeError(f'settings field {item.name} needs a default to be a parameter')


def declare(node: Any, config_type: type, skip: Sequence[str] = ()) -> None:
    """Declare one parameter per field of `config_type` on `node`, with its default.

    Args:
        node: An rclpy node.
        config_type: A settings dataclass.
        skip: Parameter names the node declares itself (``use_sim_time``).

    """
    from rcl_interfaces.msg import ParameterDescriptor, ParameterType

    kinds = {
        bool: ParameterType.PARAMETER_BOOL,
        int: ParameterType.PARAMETER_INTEGER,
        float: ParameterType.PARAMETER_DOUBLE,
        str: ParameterType.PARAMETER_STRING,
        list: ParameterType.PARAMETER_STRING_ARRAY,
    }
    for item, kind in _fields(config_type):
        name = param_name(item)
        if name in skip:
            continue
        default = _default(item)
        if default is None:
            default = '' if kind is str else default
        if kind is list:
            default = [str(v) for v in default]
            if not default:  # an empty list says no type: declare the type itself
                from rclpy.parameter import Parameter

                default = Parameter.Type.STRING_ARRAY
        descriptor = ParameterDescriptor(
            type=kinds[kind], description=str(item.metadata.get('help', ''))
        )
        if kind is float:
            descriptor.dynamic_typing = True  # `-p rate:=2` is an integer on the command line
        node.declare_parameter(name, default, descriptor)


def read(node: Any, config_type: type[ConfigT]) -> ConfigT:
    """Return the settings with the node's current parameter values."""
    from rclpy.exceptions import ParameterUninitializedException

    values: dict[str, Any] = {}
    for item, kind in _fields(config_type):
        try:
            value = node.get_parameter(param_name(item)).value
        except ParameterUninitializedException:
            value = None
        if kind is float and value is not None:
            value = float(value)
        if kind is list:
            value = tuple(value or ())
        elif value is None:
            value = _default(item)
        if value == '' and _default(item) is None:
            value = None
        values[item.name] = value
    return config_type(**values)


def overrides(config: Any) -> list[Any]:
    """Return the settings as rclpy `Parameter`s, to start a node with them."""
    from rclpy.parameter import Parameter

    params = []
    for item, kind in _fields(type(config)):
        value = getattr(config, item.name)
        if value is None:
            value = '' if kind is str else value
        if value is None:
            continue
        if kind is list:
            if value:  # rclpy cannot carry the type of an empty list: leave the default
                params.append(Parameter(param_name(item), value=[str(v) for v in value]))
            continue
        if kind is float:
            value = float(value)
        params.append(Parameter(param_name(item), value=value))
    return params
