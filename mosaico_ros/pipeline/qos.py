"""Quality of service of a topic, in one plain form for bags, the recorder and the player.

A profile is a dict with rosbag2's keys and Jazzy-style string values::

    {'history': 'keep_last', 'depth': 10, 'reliability': 'reliable',
     'durability': 'transient_local', 'deadline': {'sec': 0, 'nsec': 0},
     'lifespan': {...}, 'liveliness': 'automatic',
     'liveliness_lease_duration': {...}, 'avoid_ros_namespace_conventions': False}

rosbag2 records the offered profiles of a topic's publishers as YAML text,
with integer enums before Jazzy (rmw's values) and strings after;
`parse_offered_qos` reads both. A topic's profiles are stored in its
``_ros_.qos`` metadata, so replay can offer what the recording was offered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, YAMLError

Profile = dict[str, Any]

# rmw's enum values, as rosbag2 before Jazzy writes them.
_ENUMS: dict[str, tuple[str, ...]] = {
    'history': ('system_default', 'keep_last', 'keep_all', 'unknown'),
    'reliability': ('system_default', 'reliable', 'best_effort', 'unknown', 'best_available'),
    'durability': ('system_default', 'transient_local', 'volatile', 'unknown', 'best_available'),
    'liveliness': (
        'system_default',
        'automatic',
        'manual_by_node',
        'manual_by_topic',
        'unknown',
        'best_available',
    ),
}
_DURATIONS = ('deadline', 'lifespan', 'liveliness_lease_duration')

DEFAULT_PROFILE: Profile = {
    'history': 'keep_last',
    'depth': 10,
    'reliability': 'reliable',
    'durability': 'volatile',
    'deadline': {'sec': 0, 'nsec': 0},
    'lifespan': {'sec': 0, 'nsec': 0},
    'liveliness': 'system_default',
    'liveliness_lease_duration': {'sec': 0, 'nsec': 0},
    'avoid_ros_namespace_conventions': False,
}
"""ROS 2's default publisher profile (``rmw_qos_profile_default``)."""


def _enum(key: str, value: Any) -> str:
    names = _ENUMS[key]
    if isinstance(value, bool):
        raise ValueError(f'{key}: {value!r} is not a QoS policy value')
    if isinstance(value, int):
        if 0 <= value < len(names):
            return names[value]
        raise ValueError(f'{key}: {value} is not one of rmw values 0..{len(names) - 1}')
    text = str(value).strip().lower()
    text = text.removeprefix('rmw_qos_policy_').removeprefix(f'{key}_')
    if text not in names:
        raise ValueError(f'{key}: {value!r} is not one of {", ".join(names)}')
    return text


def _duration(key: str, value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError(f'{key}: {value!r} is not {{sec, nsec}}')
    return {'sec': int(value.get('sec', 0)), 'nsec': int(value.get('nsec', 0))}


def normalize_profile(raw: Mapping[str, Any]) -> Profile:
    """Return one profile in the plain form, missing keys filled from ROS 2's default.

    Raises:
        ValueError: A value is not a QoS policy value.

    """
    profile = {**DEFAULT_PROFILE}
    for key, value in raw.items():
        if key in _ENUMS:
            profile[key] = _enum(key, value)
        elif key in _DURATIONS:
            profile[key] = _duration(key, value)
        elif key == 'depth':
            profile[key] = int(value)
        elif key == 'avoid_ros_namespace_conventions':
            profile[key] = bool(value)
    return profile


def parse_offered_qos(text: str | None) -> tuple[Profile, ...] | None:
    """Parse rosbag2's ``offered_qos_profiles`` YAML text.

    Args:
        text: The YAML list as the bag stores it; '' or None when absent.

    Returns:
        The profiles; None when the text is empty.

    Raises:
        ValueError: The text is not a YAML list of QoS profiles.

    """
    if text is None or not text.strip():
        return None
    try:
        document = YAML(typ='safe', pure=True).load(text)
    except YAMLError as err:
        raise ValueError(f'offered_qos_profiles is not YAML: {err}') from None
    if not document:
        return None
    if not isinstance(document, list) or not all(isinstance(p, Mapping) for p in document):
        raise ValueError('offered_qos_profiles is not a list of profiles')
    return tuple(normalize_profile(p) for p in document)


def dump_offered_qos(profiles: Iterable[Mapping[str, Any]]) -> str:
    """Write profiles as rosbag2's ``offered_qos_profiles`` YAML text (Jazzy style)."""
    lines: list[str] = []
    for profile in profiles:
        plain = normalize_profile(profile)
        first = True
        for key in DEFAULT_PROFILE:
            value = plain[key]
            lead = '- ' if first else '  '
            first = False
            if isinstance(value, dict):
                lines.append(f'{lead}{key}:')
                lines.extend(f'    {k}: {v}' for k, v in value.items())
            elif isinstance(value, bool):
                lines.append(f'{lead}{key}: {str(value).lower()}')
            else:
                lines.append(f'{lead}{key}: {value}')
    return '\n'.join(lines)


def adapted_profile(offered: Iterable[Mapping[str, Any]]) -> Profile:
    """Return the profile a recorder subscribes with, as rosbag2 adapts it to the publishers.

    Reliable only if every publisher is reliable, transient-local only if
    every publisher is (so a late recorder still receives latched topics);
    keep-last with the largest publisher depth (at least 10). With no
    publisher known, ROS 2's default.

    Args:
        offered: The publishers' offered profiles.

    Returns:
        The subscription profile.

    """
    profiles = [normalize_profile(p) for p in offered]
    adapted = {**DEFAULT_PROFILE}
    if not profiles:
        return adapted
    reliable = all(p['reliability'] == 'reliable' for p in profiles)
    latched = all(p['durability'] == 'transient_local' for p in profiles)
    adapted['reliability'] = 'reliable' if reliable else 'best_effort'
    adapted['durability'] = 'transient_local' if latched else 'volatile'
    adapted['depth'] = max(10, *(int(p['depth']) for p in profiles))
    return adapted


def replay_profile(recorded: Iterable[Mapping[str, Any]] | None) -> Profile:
    """Return the profile a player offers a topic with.

    The recorded profile when all publishers offered the same one (so
    latched topics stay latched), otherwise rosbag2's rule for mixed
    publishers: reliable and volatile only if all were. Without a recording,
    ROS 2's default.
    """
    profiles = [normalize_profile(p) for p in recorded or ()]
    if not profiles:
        return {**DEFAULT_PROFILE}
    if all(p == profiles[0] for p in profiles):
        return profiles[0]
    return adapted_profile(profiles)


def is_latched(profiles: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether a topic's recorded publishers were all transient-local (latched)."""
    plain = [normalize_profile(p) for p in profiles or ()]
    return bool(plain) and all(p['durability'] == 'transient_local' for p in plain)


def load_profile_overrides(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read rosbag2's QoS override file (``--qos-profile-overrides-path``): topic -> policies.

    Each topic maps to the policies it overrides (``reliability: best_effort``,
    ``durability: transient_local``, ``depth: 5`` ...); `normalize_profile`
    reads the values.

    Raises:
        ValueError: The file cannot be read, or is not a mapping of topics to
            mappings of valid policy values.

    """
    file = Path(path).expanduser()
    try:
        document = YAML(typ='safe', pure=True).load(file.read_text(encoding='utf-8'))
    except (OSError, YAMLError) as err:
        raise ValueError(f'QoS overrides {file}: {err}') from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ValueError(f'QoS overrides {file}: a QoS override file maps topic names to profiles')
    overrides: dict[str, dict[str, Any]] = {}
    for topic, profile in document.items():
        if not isinstance(profile, Mapping):
            raise ValueError(f'QoS overrides {file}: {topic} does not map to QoS policies')
        try:
            normalize_profile(profile)
        except ValueError as err:
            raise ValueError(f'QoS overrides {file}: {topic}: {err}') from None
        overrides[str(topic)] = dict(profile)
    return overrides
