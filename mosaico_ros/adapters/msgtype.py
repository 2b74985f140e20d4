"""Message type names in one spelling: `pkg/msg/Name`.

Every part of mosaico_ros that compares or looks up a ROS type name goes
through `normalize_msgtype`, so a bag's `pkg/Name`, an IDL-style
`pkg.msg.Name` and the ROS 2 `pkg/msg/Name` all meet as the same key.
"""

from __future__ import annotations

import re

_PKG_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*/[A-Za-z][A-Za-z0-9_]*$')
_DOTTED = re.compile(r'^([A-Za-z][A-Za-z0-9_]*)\.(msg|srv|action)\.([A-Za-z][A-Za-z0-9_]*)$')

LEGACY_ALIASES = {
    'roslib/Header': 'std_msgs/Header',
    'roslib/msg/Header': 'std_msgs/msg/Header',
}
"""Pre-2010 ROS 1 kept Header in roslib; the bytes are those of std_msgs/Header."""


def normalize_msgtype(name: str) -> str:
    """Return the ROS 2 spelling of a ROS message type name.

    `pkg/Name` (ROS 1, early ROS 2, hand-written MCAP schemas) and
    `pkg.msg.Name` become `pkg/msg/Name`; `roslib/Header` becomes
    `std_msgs/msg/Header`; names already carrying an interface kind
    (`pkg/msg/X`, `pkg/srv/X_Event`) and non-ROS schema names
    (`foxglove.Log`, `MouseEvent`) are returned unchanged.

    Args:
        name: Type name as a bag, a publisher or a user spells it.

    Returns:
        Normalized type name.

    """
    name = name.strip()
    name = LEGACY_ALIASES.get(name, name)
    if match := _DOTTED.match(name):
        return '/'.join(match.groups())
    if _PKG_NAME.match(name):
        pkg, _, base = name.partition('/')
        return f'{pkg}/msg/{base}'
    return name


def interface_package(msgtype: str) -> str:
    """Return the ROS package defining a type (`sensor_msgs` of `sensor_msgs/msg/Imu`)."""
    return normalize_msgtype(msgtype).split('/', 1)[0]


def service_of_event(msgtype: str) -> str | None:
    """Return `pkg/srv/Name` for a service event type `pkg/srv/Name_Event`, else None.

    rosbag2 records service calls on `<service>/_service_event` topics whose
    type is derived from the service, and stores the `.srv` text as its definition.
    """
    if '/srv/' in msgtype and msgtype.endswith('_Event'):
        return msgtype.removesuffix('_Event')
    return None
