"""ROS interface classes and QoS profiles as rclpy wants them.

rclpy needs a type's Python class to subscribe or publish, even raw: a type
whose interface package is not installed cannot be recorded or played live
(offline tools read its definition from the bag instead). `message_class`
finds the class, or says which package to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from mosaico_ros.adapters.msgtype import interface_package, normalize_msgtype
from mosaico_ros.pipeline.qos import Profile, normalize_profile

_NS = 1_000_000_000


class MissingInterfaceError(LookupError):
    """A message type's interface package is not installed, so rclpy cannot use the type."""


def install_hint(msgtype: str) -> str:
    """How to install the interface package of a type."""
    package = interface_package(msgtype)
    wheel = 'ros-' + package.replace('_', '-')
    return f'install {package}: pip install {wheel}, or apt install ros-$ROS_DISTRO-{wheel[4:]}'


def message_class(msgtype: str) -> Any:
    """Return the rclpy message class of `pkg/msg/Name` (also `srv`/`action` derived types).

    Raises:
        MissingInterfaceError: The package (or the type in it) is not installed.

    """
    parts = normalize_msgtype(msgtype).split('/')
    if len(parts) != 3:
        raise MissingInterfaceError(f'{msgtype} is not a ROS 2 interface type name')
    package, kind, name = parts
    try:
        module = importlib.import_module(f'{package}.{kind}')
        return getattr(module, name)
    except (ImportError, AttributeError):
        raise MissingInterfaceError(
            f'type {msgtype} is not installed ({install_hint(msgtype)})'
        ) from None


def profile_of(qos: Any) -> Profile:
    """Return an rclpy `QoSProfile` in the plain form of `mosaico_ros.pipeline.qos`."""

    def duration(value: Any) -> dict[str, int]:
        nanoseconds = int(getattr(value, 'nanoseconds', 0))
        return {'sec': nanoseconds // _NS, 'nsec': nanoseconds % _NS}

    return normalize_profile(
        {
            'history': qos.history.name.lower(),
            'depth': qos.depth,
            'reliability': qos.reliability.name.lower(),
            'durability': qos.durability.name.lower(),
            'deadline': duration(qos.deadline),
            'lifespan': duration(qos.lifespan),
            'liveliness': qos.liveliness.name.lower(),
            'liveliness_lease_duration': duration(qos.liveliness_lease_duration),
            'avoid_ros_namespace_conventions': qos.avoid_ros_namespace_conventions,
        }
    )


def qos_of(profile: Mapping[str, Any]) -> Any:
    """Return an rclpy `QoSProfile` for a plain profile."""
    from rclpy.duration import Duration
    from rclpy.qos import (
        DurabilityPolicy,
        HistoryPolicy,
        LivelinessPolicy,
        QoSProfile,
        ReliabilityPolicy,
    )

    plain = normalize_profile(profile)

    def duration(value: Mapping[str, int]) -> Any:
        return Duration(seconds=value['sec'], nanoseconds=value['nsec'])

    def policy(enum: Any, key: str) -> Any:
        name = plain[key].upper()
        return enum[name] if name in enum.__members__ else enum.SYSTEM_DEFAULT

    history = policy(HistoryPolicy, 'history')
    if history not in (HistoryPolicy.KEEP_LAST, HistoryPolicy.KEEP_ALL):
        history = HistoryPolicy.KEEP_LAST
    qos = QoSProfile(
        history=history,
        depth=max(1, int(plain['depth'])),
        reliability=policy(ReliabilityPolicy, 'reliability'),
        durability=policy(DurabilityPolicy, 'durability'),
        liveliness=policy(LivelinessPolicy, 'liveliness'),
        avoid_ros_namespace_conventions=plain['avoid_ros_namespace_conventions'],
    )
    for key in ('deadline', 'lifespan', 'liveliness_lease_duration'):
        value = plain[key]
        if value['sec'] or value['nsec']:
            setattr(qos, key, duration(value))
    return qos
