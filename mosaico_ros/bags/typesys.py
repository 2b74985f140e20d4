"""A rosbags typestore that knows every type a bag's connections use.

Order of sources: a stock store for the distro, then definitions embedded in
the bag (ROS 1 connection headers, MCAP schemas, db3 message_definitions),
then `.msg`/`.idl` files under msg_paths, and last, for types still missing,
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

from mosaico_ros.bags.errors import BagError, UnknownTypeError
from mosaico_ros.bags.msgtype import normalize_msgtype, service_of_event

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from rosbags.typesys.store import Typestore

    from mosaico_ros.bags.model import Connection, RawMessage

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
DECODABLE_ENCODINGS = frozenset({'cdr', 'ros1'})
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


@dataclass
class TypeResolution:
    """A typestore and what it could not learn.

    Attributes:
        typestore: rosbags typestore for decoding.
        unknown: Connection id -> reason, for ROS-encoded connections whose
            type cannot be decoded.
        notes: Definitions that were rejected or overridden, for a person to read.

    """

    typestore: Typestore
    unknown: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def stock_store(connections: Iterable[Connection], distro: str | None = None) -> Typestore:
    """Return a fresh stock typestore for a distro name or the bag's flavour.

    Raises:
        BagError: Unknown distro name.

    """
    if distro:
        key = distro.lower().removeprefix('ros2_').removeprefix('ros1_')
        if key not in DISTROS:
            msg = f'unknown ROS distro {distro!r}; known: {", ".join(sorted(DISTROS))}'
            raise BagError(msg)
        return get_typestore(DISTROS[key])
    encodings = {c.encoding for c in connections}
    if 'ros1' in encodings and 'cdr' not in encodings:
        return get_typestore(Stores.ROS1_NOETIC)
    return get_typestore(Stores.ROS2_HUMBLE)


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


def resolve_types(
    connections: Sequence[Connection],
    distro: str | None = None,
    msg_paths: Sequence[Path | str] = (),
) -> TypeResolution:
    """Build a typestore for connections and say which stay undecodable.

    Args:
        connections: Connections of a bag.
        distro: Stock store name ('humble', 'noetic', ...); default by bag flavour.
        msg_paths: Roots of `<pkg>/msg/<Name>.msg` trees.

    Returns:
        The typestore with its unknown connections and notes.

    """
    store = stock_store(connections, distro)
    result = TypeResolution(store)
    protected: set[str] = set()
    failed: dict[str, str] = {}
    for conn in connections:
        if conn.encoding not in DECODABLE_ENCODINGS or not conn.msgdef.strip():
            continue
        if conn.msgtype in protected or conn.msgtype in failed:
            continue
        origin = f'{conn.source_file} topic {conn.topic!r}'
        try:
            typs = parse_definition(conn.msgtype, conn.msgdef, conn.msgdef_encoding)
            if conn.msgtype.endswith('_Event') and 'service_msgs/msg/ServiceEventInfo' not in (
                store.fielddefs
            ):
                typs.update(
                    get_types_from_msg(SERVICE_EVENT_INFO, 'service_msgs/msg/ServiceEventInfo')
                )
            if conn.msgtype not in typs:
                msg = f'definition does not define {conn.msgtype}'
                raise ValueError(msg)
            _register(store, typs, protected, result.notes, origin)
        except (TypesysError, ValueError, KeyError) as exc:
            failed[conn.msgtype] = f'embedded definition rejected: {exc}'
            result.notes.append(f'{origin}: definition of {conn.msgtype} rejected: {exc}')
    paths = [Path(p) for p in msg_paths]
    for path, typs in msg_path_types(paths).items():
        fresh = {k: v for k, v in typs.items() if k not in protected}
        try:
            _register(store, fresh, set(), result.notes, str(path))
        except TypesysError as exc:
            result.notes.append(f'{path}: rejected: {exc}')
    register_installed(
        store,
        (c.msgtype for c in connections if c.encoding in DECODABLE_ENCODINGS),
        result.notes,
    )
    for conn in connections:
        if conn.encoding not in DECODABLE_ENCODINGS:
            result.unknown[conn.id] = f'message encoding {conn.encoding!r} is not ROS (cdr/ros1)'
        elif conn.msgtype not in store.fielddefs:
            result.unknown[conn.id] = failed.get(
                conn.msgtype, f'type {conn.msgtype} is in no definition source'
            )
        elif reason := _incomplete(store, conn.msgtype):
            result.unknown[conn.id] = reason
    return result


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
    """Why msgtype cannot be decoded although registered (missing sub-types), or None."""
    try:
        store.get_msgdef(msgtype)
    except (KeyError, TypesysError, SyntaxError, ValueError) as exc:
        return f'definition of {msgtype} refers to an unknown type: {exc}'
    return None


def build_typestore(
    connections: Sequence[Connection],
    distro: str | None = None,
    msg_paths: Sequence[Path | str] = (),
) -> Typestore:
    """Return a typestore that can decode every connection whose definition is known.

    See `resolve_types` for the unknown connections.
    """
    return resolve_types(connections, distro, msg_paths).typestore


def deserialize(typestore: Typestore, message: RawMessage) -> object:
    """Decode a raw message with its connection's encoding.

    Raises:
        UnknownTypeError: Not a ROS encoding, or the type is not in the store.

    """
    conn = message.connection
    if conn.msgtype not in typestore.fielddefs:
        msg = f'type {conn.msgtype} of topic {conn.topic!r} is unknown to the typestore'
        raise UnknownTypeError(msg)
    if conn.encoding == 'cdr':
        return typestore.deserialize_cdr(message.data, conn.msgtype)
    if conn.encoding == 'ros1':
        return typestore.deserialize_ros1(message.data, conn.msgtype)
    msg = f'topic {conn.topic!r} uses encoding {conn.encoding!r}, not cdr or ros1'
    raise UnknownTypeError(msg)
