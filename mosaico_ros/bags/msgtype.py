"""Message type names in one spelling: `pkg/msg/Name`."""

from __future__ import annotations

import re

_PKG_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*/[A-Za-z][A-Za-z0-9_]*$')

# Pre-2010 ROS 1 kept Header in roslib; the bytes are those of std_msgs/Header.
LEGACY_ALIASES = {
    'roslib/Header': 'std_msgs/Header',
    'roslib/msg/Header': 'std_msgs/msg/Header',
}


def normalize_msgtype(name: str) -> str:
    """Return the ROS 2 spelling of a ROS message type name.

    `pkg/Name` (ROS 1, early ROS 2, hand-written MCAP schemas) becomes
    `pkg/msg/Name`; names already carrying an interface kind (`pkg/msg/X`,
    `pkg/srv/X_Event`) and non-ROS names (`foxglove.Log`, `MouseEvent`) are
    returned unchanged.

    Args:
        name: Type name as stored in a bag.

    Returns:
        Normalized type name.

    """
    name = name.strip()
    name = LEGACY_ALIASES.get(name, name)
    if _PKG_NAME.match(name):
        pkg, _, base = name.partition('/')
        return f'{pkg}/msg/{base}'
    return name


def service_of_event(msgtype: str) -> str | None:
    """Return `pkg/srv/Name` for a service event type `pkg/srv/Name_Event`, else None.

    rosbag2 records service calls on `<service>/_service_event` topics whose
    type is derived from the service, and stores the `.srv` text as its definition.
    """
    if '/srv/' in msgtype and msgtype.endswith('_Event'):
        return msgtype.removesuffix('_Event')
    return None
