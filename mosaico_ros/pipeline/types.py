"""A rosbags typestore that knows every type a run's topics use.

One augmentation path for bags, live topics and replay. Order of sources: a
stock store for the distro, then definitions the source carries (ROS 1
connection headers, MCAP schemas, db3 message_definitions, a stored topic's
``_ros_.msgdef``), then `.msg`/`.idl` files under msg_paths, and last, for
types still missing,
the `.msg` files of installed ROS interface packages (every prefix on
`AMENT_PREFIX_PATH`, and this interpreter's prefix, where the ROS wheels from
PyPI install their `share/`). Where an embedded definition of a
type differs from the stock one, the stock one is kept if both have the same
wire layout (so `header.stamp` keeps working for tools that flatten Header),
otherwise the embedded one wins because it describes the bytes in the bag.

Quirks handled: ROS 1 `roslib/Header` (pre-2010) read as `std_msgs/Header`;
type names without `/msg/`; section separators of any run of '='; a schema
that names its own type in a leading `MSG:` line; service event types
(`pkg/srv/Name_Event`) whose schema is the `.srv` text, expanded to
Request/Response/Event as rosbag2 defines them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rosbags.interfaces import Nodetype
from rosbags.typesys import (
    Stores,
    TypesysError,
    get_types_from_idl,
    get_types_from_msg,
    get_typestore,
)

from mosaico_ros.adapters.msgtype import normalize_msgtype, service_of_event
from mosaico_ros.pipeline.envelope import ROS_ENCODINGS
from mosaico_ros.pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rosbags.typesys.store import Typestore

    from mosaico_ros.pipeline.envelope import TopicInfo

DISTROS = {
    'noetic': Stores.ROS1_NOETIC,
    'dashing': Stores.ROS2_DASHING,
    'eloquent': Stores.ROS2_ELOQUENT,
    'foxy': Stores.ROS2_FOXY,
    'galactic': Stores.ROS2_GALACTIC,
    'humble': Stores.ROS2_HUMBLE,
    'iron': Stores.ROS2_IRON,
    'jazzy': Stores.ROS2_JAZZY,
    'kilted': Stores.ROS2_KILTED,
    'lyrical': Stores.ROS2_LYRICAL,
    'latest': Stores.LATEST,
    'empty': Stores.EMPTY,
}
TEXT_DEFINITIONS = frozenset({'ros1msg', 'ros2msg', ''})

_SEPARATOR = re.compile(r'^={3,}[ \t]*$', re.MULTILINE)
_LEADING_MSG = re.compile(r'\A\s*MSG:\s*(\S+)[ \t]*\n')
_ROSLIB_HEADER = re.compile(r'\broslib/Header\b')

SERVICE_EVENT_INFO = """\
uint8 REQUEST_SENT = 0
uint8 REQUEST_RECEIVED = 1
uint8 RESPONSE_SENT = 2
uint8 RESPONSE_RECEIVED = 3
uint8 event_type
builtin_interfaces/Time stamp
char[16] client_gid
int64 sequence_number
"""

Typesdict = dict[str, Any]


class UnknownDistroError(PipelineError, ValueError):
    """A distro name names no stock typestore."""


@dataclass
class TypeResolution:
    """A typestore and what it could not learn.

    Attributes:
        typestore: rosbags typestore for decoding.
        unknown: ROS type -> why it cannot be decoded.
        notes: Definitions that were rejected or overridden, for a person to read.

    """

    typestore: Typestore
    unknown: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def stock_store(distro: str | None = None, ros1: bool = False) -> Typestore:
    """Return a fresh stock typestore for a distro name, else for the flavour of the data.

    Args:
        distro: 'humble', 'noetic', ... (a `ros2_`/`ros1_` prefix is allowed).
        ros1: Without a distro: the data is ROS 1 only (Noetic), else ROS 2 (Humble).

    Raises:
        UnknownDistroError: Unknown distro name.

    """
    if distro:
        key = distro.lower().removeprefix('ros2_').removeprefix('ros1_')
        if key not in DISTROS:
            msg = f'unknown ROS distro {distro!r}; known: {", ".join(sorted(DISTROS))}'
            raise UnknownDistroError(msg)
        return get_typestore(DISTROS[key])
    return get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)


def clean_msg_text(text: str) -> tuple[str, str | None]:
    """Normalize quirks of msg definition text.

    Returns:
        Cleaned text and the type named in a leading `MSG:` line, if any.

    """
    text = _ROSLIB_HEADER.sub('std_msgs/Header', text.replace('\r\n', '\n'))
    text = _SEPARATOR.sub('=' * 80, text)
    named = None
    if match := _LEADING_MSG.match(text):
        named = match.group(1)
        text = text[match.end() :]
    return text, named


def _fix_srv_names(typs: Typesdict) -> Typesdict:
    """Undo rosbags' `pkg/srv/msg/X` spelling of service-derived types."""

    def fix(node: Any) -> Any:
        if isinstance(node, str):
            return node.replace('/srv/msg/', '/srv/')
        if isinstance(node, tuple):
            return tuple(fix(x) for x in node)
        if isinstance(node, list):
            return [fix(x) for x in node]
        return node

    return {fix(name): fix(value) for name, value in typs.items()}


def parse_definition(msgtype: str, text: str, encoding: str) -> Typesdict:
    """Parse one connection's definition into rosbags types.

    Args:
        msgtype: Normalized type the definition is for.
        text: Definition text.
        encoding: 'ros1msg', 'ros2msg', 'ros2idl' (or '' for msg text).

    Returns:
        Types by name.

    Raises:
        TypesysError: rosbags cannot parse it.
        ValueError: The definition kind is not one we parse.

    """
    if encoding == 'ros2idl':
        return dict(get_types_from_idl(text))
    if encoding not in TEXT_DEFINITIONS:
        msg = f'definition encoding {encoding!r} is not a ROS msg/idl'
        raise ValueError(msg)
    text, named = clean_msg_text(text)
    if named and normalize_msgtype(named) != msgtype:
        text = f'MSG: {named}\n' + text
    if (service := service_of_event(msgtype)) and re.search(r'^---\s*$', text, re.M):
        return _service_event_types(msgtype, service, text)
    return dict(get_types_from_msg(text, msgtype))


def _service_event_types(msgtype: str, base: str, srv_text: str) -> Typesdict:
    """Types of a service event as rosbag2 derives them from the `.srv` text."""
    short = base.rsplit('/', 1)[-1]
    request, response = re.split(r'^---[ \t]*$', srv_text, maxsplit=1, flags=re.M)
    typs: Typesdict = {}
    typs.update(get_types_from_msg(request, f'{base}_Request'))
    typs.update(get_types_from_msg(response, f'{base}_Response'))
    typs.update(
        get_types_from_msg(
            'service_msgs/ServiceEventInfo info\n'
            f'{short}_Request[<=1] request\n'
            f'{short}_Response[<=1] response\n',
            msgtype,
        )
    )
    return _fix_srv_names(typs)


def _layout(
    name: str, typs: Typesdict, store: Typestore, seen: frozenset[str] = frozenset()
) -> tuple[Any, ...]:
    """Wire layout of a type: its primitive types in order, nesting flattened.

    Nested structs add no alignment of their own in CDR or ROS 1, so
    `Header{Time{sec, nanosec}, frame_id}` and `Header{sec, nanosec, frame_id}`
    have the same layout.
    """
    if name in seen:
        return (('recursive', name),)
    fields = typs[name][1] if name in typs else store.fielddefs.get(name, (None, None))[1]
    if fields is None:
        return (('unknown', name),)
    out: list[Any] = []
    for _, desc in fields:
        out.extend(_node_layout(desc, typs, store, seen | {name}))
    return tuple(out)


def _node_layout(
    desc: Any,
    typs: Typesdict,
    store: Typestore,
    seen: frozenset[str],
) -> tuple[Any, ...]:
    kind, rest = desc
    if kind == Nodetype.BASE:
        return (('base', rest[0], rest[1]),)
    if kind == Nodetype.NAME:
        return _layout(rest, typs, store, seen)
    if kind == Nodetype.ARRAY:
        return (('array', rest[1], _node_layout(rest[0], typs, store, seen)),)
    return (('sequence', _node_layout(rest[0], typs, store, seen)),)


def _forget(store: Typestore, names: Iterable[str]) -> None:
    for name in names:
        store.fielddefs.pop(name, None)
        store.types.pop(name, None)
    store.cache.clear()


def _register(
    store: Typestore, typs: Typesdict, protected: set[str], notes: list[str], origin: str
) -> None:
    """Register typs; keep layout-compatible stock types and protected ones."""
    replace: list[str] = []
    keep: list[str] = []
    for name, (_, fields) in typs.items():
        have = store.fielddefs.get(name)
        if have is None:
            continue
        if [(f[0].lower(), f[1]) for f in have[1]] == [(f[0].lower(), f[1]) for f in fields]:
            continue
        if name in protected or _layout(name, typs, store) == _layout(name, {}, store):
            keep.append(name)
            notes.append(f'{origin}: kept the existing definition of {name} (same wire layout)')
        else:
            replace.append(name)
            notes.append(f'{origin}: its definition of {name} replaces the stock one')
    typs = {k: v for k, v in typs.items() if k not in keep}
    _forget(store, replace)
    store.register(typs)
    protected.update(typs)


def msg_path_types(msg_paths: Sequence[Path]) -> dict[Path, Typesdict]:
    """Parse `<pkg>/msg/<Name>.msg` and `.idl` files under each path.

    Raises:
        TypesysError: A file does not parse.

    """
    out: dict[Path, Typesdict] = {}
    for root in msg_paths:
        for path in sorted(Path(root).rglob('*')):
            if path.suffix == '.msg' and path.parent.name == 'msg':
                name = f'{path.parent.parent.name}/msg/{path.stem}'
                text, _ = clean_msg_text(path.read_text(encoding='utf-8'))
                out[path] = dict(get_types_from_msg(text, name))
            elif path.suffix == '.idl':
                out[path] = dict(get_types_from_idl(path.read_text(encoding='utf-8')))
    return out


class TypeResolver:
    """Owns a typestore and teaches it the types of topics as they appear.

    Bags declare all their topics at once; a recorder meets topics while it
    runs. Both call `add`, which registers what the topics carry, then the
    `msg_paths` files (once), then installed packages for what is still
    missing, and says which types stay undecodable.

    Args:
        distro: Stock store name ('humble', 'noetic', ...); default by flavour.
        msg_paths: Roots of `<pkg>/msg/<Name>.msg` trees.
        ros1: Without a distro, start from the ROS 1 (Noetic) stock store.

    Raises:
        UnknownDistroError: Unknown distro name.

    """

    def __init__(
        self,
        distro: str | None = None,
        msg_paths: Sequence[Path | str] = (),
        *,
        ros1: bool = False,
    ) -> None:
        """Start from the stock store."""
        self.typestore = stock_store(distro, ros1)
        self.notes: list[str] = []
        self._msg_paths = [Path(p) for p in msg_paths]
        self._paths_registered = False
        self._protected: set[str] = set()
        self._failed: dict[str, str] = {}

    def add(self, infos: Iterable[TopicInfo]) -> dict[str, str]:
        """Register the definitions of these topics' types.

        Args:
            infos: Topics; those with a non-ROS encoding are passed over.

        Returns:
            ROS type -> why it cannot be decoded, for the types of `infos` that cannot.

        """
        ros = [info for info in infos if info.encoding in ROS_ENCODINGS]
        store = self.typestore
        for info in ros:
            if not info.msgdef.strip() or info.msgtype in self._protected:
                continue
            if info.msgtype in self._failed:
                continue
            origin = f'{info.definition_origin or "the source"} topic {info.topic!r}'
            try:
                typs = parse_definition(info.msgtype, info.msgdef, info.msgdef_encoding)
                if info.msgtype.endswith('_Event') and (
                    'service_msgs/msg/ServiceEventInfo' not in store.fielddefs
                ):
                    typs.update(
                        get_types_from_msg(SERVICE_EVENT_INFO, 'service_msgs/msg/ServiceEventInfo')
                    )
                if info.msgtype not in typs:
                    msg = f'definition does not define {info.msgtype}'
                    raise ValueError(msg)
                _register(store, typs, self._protected, self.notes, origin)
            except (TypesysError, ValueError, KeyError) as exc:
                self._failed[info.msgtype] = f'embedded definition rejected: {exc}'
                self.notes.append(f'{origin}: definition of {info.msgtype} rejected: {exc}')
        if not self._paths_registered:
            self._paths_registered = True
            for path, typs in msg_path_types(self._msg_paths).items():
                fresh = {k: v for k, v in typs.items() if k not in self._protected}
                try:
                    _register(store, fresh, set(), self.notes, str(path))
                except TypesysError as exc:
                    self.notes.append(f'{path}: rejected: {exc}')
        register_installed(store, (info.msgtype for info in ros), self.notes)
        unknown: dict[str, str] = {}
        for info in ros:
            if info.msgtype not in store.fielddefs:
                unknown[info.msgtype] = self._failed.get(
                    info.msgtype, f'type {info.msgtype} is in no definition source'
                )
            elif reason := _incomplete(store, info.msgtype):
                unknown[info.msgtype] = reason
        return unknown


def resolve_types(
    infos: Sequence[TopicInfo],
    distro: str | None = None,
    msg_paths: Sequence[Path | str] = (),
) -> TypeResolution:
    """Build a typestore for a set of topics and say which types stay undecodable.

    Args:
        infos: The topics.
        distro: Stock store name ('humble', 'noetic', ...); default by flavour
            (Noetic when every ROS topic is ROS 1).
        msg_paths: Roots of `<pkg>/msg/<Name>.msg` trees.

    Returns:
        The typestore with its undecodable types and notes.

    Raises:
        UnknownDistroError: Unknown distro name.

    """
    encodings = {info.encoding for info in infos}
    resolver = TypeResolver(distro, msg_paths, ros1='ros1' in encodings and 'cdr' not in encodings)
    unknown = resolver.add(infos)
    return TypeResolution(resolver.typestore, unknown, resolver.notes)


def installed_share_dirs() -> list[Path]:
    """`share` directories of installed ROS packages that hold interface definitions."""
    prefixes = [p for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p]
    prefixes.append(sys.prefix)
    shares = [Path(prefix) / 'share' for prefix in dict.fromkeys(prefixes)]
    index = Path('ament_index', 'resource_index', 'rosidl_interfaces')
    return [share for share in shares if (share / index).is_dir()]


def _installed_msg_file(msgtype: str, shares: Sequence[Path]) -> Path | None:
    parts = msgtype.split('/')
    if len(parts) != 3 or parts[1] != 'msg':
        return None
    package, _, name = parts
    for share in shares:
        path = share / package / 'msg' / f'{name}.msg'
        if path.is_file():
            return path
    return None


def _missing_names(store: Typestore, roots: Iterable[str]) -> list[str]:
    """Types reachable from roots (themselves included) that the store lacks."""
    missing: list[str] = []
    stack, seen = list(roots), set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in store.fielddefs:
            missing.append(name)
            continue
        nodes: list[Any] = [desc for _, desc in store.fielddefs[name][1]]
        while nodes:
            kind, rest = nodes.pop()
            if kind == Nodetype.NAME:
                stack.append(rest)
            elif kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
                nodes.append(rest[0])
    return missing


def register_installed(store: Typestore, msgtypes: Iterable[str], notes: list[str]) -> None:
    """Register definitions of installed interface packages for types the store lacks.

    Dependencies are followed, so a type whose fields use other missing types
    becomes decodable when all of them are installed.
    """
    shares = installed_share_dirs()
    pending = _missing_names(store, msgtypes)
    tried: set[str] = set()
    while shares and pending:
        name = pending.pop()
        if name in tried:
            continue
        tried.add(name)
        path = _installed_msg_file(name, shares)
        if path is None:
            continue
        text, _ = clean_msg_text(path.read_text(encoding='utf-8'))
        try:
            typs = dict(get_types_from_msg(text, name))
        except TypesysError as exc:
            notes.append(f'{path}: rejected: {exc}')
            continue
        store.register(typs)
        notes.append(f'{path}: definition of {name} from an installed package')
        pending.extend(_missing_names(store, typs))


def _incomplete(store: Typestore, msgtype: str) -> str | None:
    """Why msgtype cannot be decoded although registered (missing sub-types), or None.

    A walk over the field definitions: asking rosbags for the message
    definition instead generates its sixteen serializers for every type
    reached, a tenth of a second for a robot's dozen types, which the
    columnar decoder never uses.
    """
    missing = _missing_names(store, [msgtype])
    if missing:
        return f'definition of {msgtype} refers to an unknown type: {missing[0]!r}'
    return None
