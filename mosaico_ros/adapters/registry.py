"""The adapter base class and the registry that picks an adapter per topic.

An adapter converts whole batches of decoded ROS messages (``rosbags``
typestore objects, or, for a `columnar` adapter, the ROS-shaped Arrow struct
`mosaico_ros.codec` decodes a batch into) into one Arrow struct array of its
ontology model, and Arrow rows back into ROS messages. The registry maps ROS
types and ontology tags to adapters; users add adapters with `register_adapter`, by module
(`AdapterRegistry.load_module`) or through the ``mosaico_ros.adapters``
entry-point group. Types without an adapter fall back to `GenericAdapter`.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cached_property
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mosaico_ros.adapters.errors import (
    AdapterNotFoundError,
    AdapterRegistrationError,
)
from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.adapters.rows import is_ros1_store

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import pyarrow as pa
    from rosbags.typesys.store import Typestore

    from mosaico_ros.ontology import Message, Serializable

ENTRY_POINT_GROUP = 'mosaico_ros.adapters'
"""Entry-point group scanned by `AdapterRegistry.load_entry_points`."""

ROS_METADATA_KEY = '_ros_'
"""Key of the ROS block in a topic's ``user_metadata``, as the SDK writes it."""

AdapterT = TypeVar('AdapterT', bound='type[RosAdapter]')


class RosAdapter:
    """Base class of adapters between ROS message types and one ontology model.

    Subclasses set `ros_types` and `model` and implement `to_arrow` and
    `from_arrow`. Instances hold no per-topic state and may be shared.
    """

    ros_types: ClassVar[tuple[str, ...]] = ()
    """ROS types handled, ``pkg/msg/Name``; the first is the reverse default."""

    model: ClassVar[type[Serializable]]
    """Ontology model class whose rows the adapter produces."""

    default: ClassVar[bool] = True
    """Registered as the adapter of its ROS types and tag; False means opt-in only."""

    columnar: ClassVar[bool] = False
    """`to_arrow` takes a batch as columns too (see `mosaico_ros.adapters.columns`).

    The pipeline then decodes the batch straight into columns with
    `mosaico_ros.codec`, building no message objects. An adapter that reads
    message attributes itself leaves this False and gets rosbags objects. A
    subclass that defines its own `to_arrow` takes objects unless it sets
    `columnar` again; one that changes the hooks a columnar `to_arrow` calls
    must keep them columnar or set it False.
    """

    columnar_reverse: ClassVar[bool] = False
    """`to_ros_columns` rebuilds a batch of rows as their ROS-shaped struct array.

    The reverse chain then serializes the batch with `mosaico_ros.codec`,
    building no message objects; otherwise it calls `from_arrow` and
    serializes message by message. `to_ros_columns` must give, row for row,
    the messages `from_arrow` gives. A subclass that defines its own
    `from_arrow` rebuilds objects only unless it sets `columnar_reverse`
    again.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if 'to_arrow' in cls.__dict__ and 'columnar' not in cls.__dict__:
            cls.columnar = False
        if 'from_arrow' in cls.__dict__ and 'columnar_reverse' not in cls.__dict__:
            cls.columnar_reverse = False

    @property
    def tag(self) -> str:
        """Ontology tag written at topic creation."""
        return str(self.model.__ontology_tag__)

    @property
    def serialization_format(self) -> str:
        """Serialization format written at topic creation."""
        fmt = getattr(self.model, '__serialization_format__', 'default')
        return str(getattr(fmt, 'value', fmt))

    @cached_property
    def struct_type(self) -> pa.StructType:
        """Arrow struct of the data columns (the model's ``arrow_struct()``)."""
        return self.model.arrow_struct()

    def handles(self, msgtype: str) -> bool:
        """Whether this adapter converts `msgtype`."""
        return normalize_msgtype(msgtype) in self.ros_types

    def target_msgtype(self, msgtype: str | None = None) -> str:
        """ROS type to rebuild: `msgtype` when handled, else the first of `ros_types`."""
        if msgtype and self.handles(msgtype):
            return normalize_msgtype(msgtype)
        return self.ros_types[0]

    def to_arrow(self, msgs: Sequence[Any] | pa.StructArray, msgtype: str) -> pa.StructArray:
        """Convert a batch of decoded ROS messages into one struct array.

        Args:
            msgs: ROS message objects of `msgtype`, or (`columnar` adapters
                only) their ROS-shaped struct array.
            msgtype: Their ROS type, ``pkg/msg/Name``.

        Returns:
            Struct array typed exactly `struct_type`; the caller prepends ``timestamp_ns``.

        """
        raise NotImplementedError

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild ROS messages of `msgtype` from ontology rows.

        Args:
            data: Table, record batch or struct array (``timestamp_ns`` is ignored).
            msgtype: ROS type to build, one of `ros_types`.
            typestore: Typestore whose classes are instantiated.

        Returns:
            One ROS message object per row.

        """
        raise NotImplementedError

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """Rebuild ontology rows as the ROS-shaped struct array of `msgtype` (`columnar_reverse`).

        The struct is the layout `mosaico_ros.codec.decode` produces (see
        `mosaico_ros.adapters.columns`); fields it lacks and nulls stand for
        ROS defaults, as `mosaico_ros.codec.encode` writes them.

        Args:
            data: Table, record batch or struct array (``timestamp_ns`` is ignored).
            msgtype: ROS type to build, one of `ros_types`.
            typestore: Typestore whose definitions the rows are rebuilt for.

        Returns:
            One struct row per row, the message `from_arrow` would build.

        Raises:
            NotImplementedError: The adapter is not `columnar_reverse`.

        """
        raise NotImplementedError(f'{type(self).__name__} rebuilds message objects only')

    def to_message(self, msg: Any, msgtype: str, timestamp_ns: int) -> Message:
        """Convert one ROS message into an ontology ``Message`` (convenience, not a hot path).

        Args:
            msg: ROS message object.
            msgtype: Its ROS type.
            timestamp_ns: Record time of the message.

        Returns:
            The ontology message.

        """
        from mosaico_ros.ontology import Message

        row = self.to_arrow([msg], msgtype).to_pylist()[0]
        return Message(timestamp_ns=timestamp_ns, data=self.model.from_dict(row))

    def topic_metadata(
        self,
        msgtype: str,
        typestore: Typestore,
        msgdef: str | None = None,
    ) -> dict[str, Any]:
        """Return the ``_ros_`` block of the topic's ``user_metadata``, shaped as the SDK does.

        ``enums`` are the constants of the top-level type only; ``msgdef`` is the
        typestore's ROS 2 flavoured concatenated definition (ROS 1 for a ROS 1
        store) unless the caller passes the bag's own text. The caller adds
        ``source_file``.

        Args:
            msgtype: ROS type of the topic.
            typestore: Typestore that decodes the topic.
            msgdef: Definition text to record instead of the generated one.

        Returns:
            ``{'msgtype', 'enums', 'msgdef'}``.

        """
        msgtype = normalize_msgtype(msgtype)
        meta: dict[str, Any] = {'msgtype': msgtype}
        fielddef = typestore.fielddefs.get(msgtype)
        if fielddef is not None:
            meta['enums'] = {name: value for name, _, value in fielddef[0]}
            if msgdef is None:
                ros_version = 1 if is_ros1_store(typestore) else 2
                msgdef = typestore.generate_msgdef(msgtype, ros_version=ros_version)[0]
        if msgdef is not None:
            meta['msgdef'] = msgdef
        return meta

    def __repr__(self) -> str:
        return f'{type(self).__name__}({", ".join(self.ros_types)} -> {self.tag})'


class AdapterRegistry:
    """Adapters by ROS type, ontology tag and class name.

    A later registration for the same ROS type or tag replaces the earlier one,
    so user adapters override the built-in ones.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, type[RosAdapter]] = {}
        self._by_msgtype: dict[str, type[RosAdapter]] = {}
        self._by_tag: dict[str, type[RosAdapter]] = {}
        self._instances: dict[type[RosAdapter], RosAdapter] = {}

    def copy(self) -> AdapterRegistry:
        """Return an independent registry holding the same adapters.

        A run (an injection, a recorder, a player) registers its user
        adapters in a copy, so nothing leaks into `default_registry`.
        """
        other = AdapterRegistry()
        other._by_name = dict(self._by_name)
        other._by_msgtype = dict(self._by_msgtype)
        other._by_tag = dict(self._by_tag)
        return other

    def register(self, adapter_cls: AdapterT) -> AdapterT:
        """Register an adapter class; usable as a decorator.

        Args:
            adapter_cls: A `RosAdapter` subclass with `ros_types` and `model`.

        Returns:
            `adapter_cls`, unchanged.

        Raises:
            AdapterRegistrationError: The class is not a complete adapter.

        """
        if not (inspect.isclass(adapter_cls) and issubclass(adapter_cls, RosAdapter)):
            raise AdapterRegistrationError(f'{adapter_cls!r} is not a RosAdapter subclass')
        name = adapter_cls.__name__
        if not adapter_cls.ros_types:
            raise AdapterRegistrationError(f'{name} declares no ros_types')
        if not hasattr(adapter_cls, 'model'):
            raise AdapterRegistrationError(f'{name} declares no ontology model')
        normalized = tuple(normalize_msgtype(t) for t in adapter_cls.ros_types)
        if normalized != adapter_cls.ros_types:
            raise AdapterRegistrationError(
                f'{name}.ros_types must use the pkg/msg/Name form: {adapter_cls.ros_types}',
            )
        self._by_name[name] = adapter_cls
        self._instances.pop(adapter_cls, None)
        if adapter_cls.default:
            for msgtype in normalized:
                self._by_msgtype[msgtype] = adapter_cls
            self._by_tag[self._instance(adapter_cls).tag] = adapter_cls
        return adapter_cls

    def _instance(self, adapter_cls: type[RosAdapter]) -> RosAdapter:
        adapter = self._instances.get(adapter_cls)
        if adapter is None:
            adapter = self._instances[adapter_cls] = adapter_cls()
        return adapter

    def __iter__(self) -> Iterator[type[RosAdapter]]:
        return iter(self._by_name.values())

    def __contains__(self, msgtype: object) -> bool:
        return isinstance(msgtype, str) and normalize_msgtype(msgtype) in self._by_msgtype

    @property
    def msgtypes(self) -> tuple[str, ...]:
        """ROS types with a registered default adapter."""
        return tuple(self._by_msgtype)

    def make_default(self, name: str) -> None:
        """Make a registered adapter (an opt-in one too) the default of its ROS types.

        Raises:
            AdapterNotFoundError: No adapter has that class name.

        """
        adapter_cls = self._by_name.get(name)
        if adapter_cls is None:
            raise AdapterNotFoundError(f'no adapter named {name!r}')
        for msgtype in adapter_cls.ros_types:
            self._by_msgtype[msgtype] = adapter_cls

    def for_msgtype(self, msgtype: str) -> RosAdapter | None:
        """Return the default adapter of a ROS type, or None."""
        adapter_cls = self._by_msgtype.get(normalize_msgtype(msgtype))
        return None if adapter_cls is None else self._instance(adapter_cls)

    def for_tag(self, tag: str) -> RosAdapter | None:
        """Return the default adapter of an ontology tag, or None."""
        adapter_cls = self._by_tag.get(tag)
        return None if adapter_cls is None else self._instance(adapter_cls)

    def by_name(self, name_or_tag: str) -> RosAdapter:
        """Return an adapter by class name (``LidarAdapter``) or ontology tag (``Lidar``).

        Opt-in adapters are found too, which is how a topic override selects them.

        Raises:
            AdapterNotFoundError: Nothing matches.

        """
        adapter_cls = self._by_name.get(name_or_tag) or self._by_tag.get(name_or_tag)
        if adapter_cls is None:
            matches = [
                cls for cls in self._by_name.values() if self._instance(cls).tag == name_or_tag
            ]
            if matches:
                adapter_cls = matches[-1]
        if adapter_cls is None:
            known = ', '.join(sorted(self._by_name))
            raise AdapterNotFoundError(
                f'no adapter named or tagged {name_or_tag!r}; known: {known}'
            )
        return self._instance(adapter_cls)

    def resolve(
        self,
        msgtype: str,
        typestore: Typestore,
        topic: str | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> RosAdapter:
        """Return the adapter for a topic: override, then default for the type, then generic.

        Args:
            msgtype: ROS type of the topic.
            typestore: Typestore that decodes it (the generic fallback needs its definition).
            topic: Topic name, looked up in `overrides`.
            overrides: Topic -> adapter class name or ontology tag (``--adapter /points=Lidar``).

        Returns:
            The adapter; a new `GenericAdapter` for types without one (callers keep it).

        Raises:
            AdapterNotFoundError: The override does not handle `msgtype`, or the type has
                neither an adapter nor a definition in `typestore`.

        """
        from mosaico_ros.adapters.generic import GenericAdapter

        msgtype = normalize_msgtype(msgtype)
        if topic is not None:
            name = (overrides or {}).get(topic)
            if name is not None:
                adapter = self.by_name(name)
                if not adapter.handles(msgtype):
                    raise AdapterNotFoundError(
                        f'adapter {name!r} for topic {topic!r} handles {adapter.ros_types}, '
                        f'not {msgtype}',
                    )
                return adapter
        default = self.for_msgtype(msgtype)
        if default is not None:
            return default
        if msgtype not in typestore.fielddefs:
            where = f' (topic {topic!r})' if topic else ''
            raise AdapterNotFoundError(
                f'no adapter for {msgtype}{where} and the typestore has no definition of it',
            )
        return GenericAdapter(msgtype, typestore)

    def resolve_reverse(
        self,
        tag: str,
        user_metadata: Mapping[str, Any] | None,
        typestore: Typestore,
    ) -> tuple[RosAdapter, str]:
        """Return the adapter and ROS type to rebuild a stored topic, as the SDK chooses them.

        ``_ros_.msgtype`` wins; otherwise the tag's default adapter and its first type;
        otherwise the generic adapter for ``_ros_.msgtype`` (its ``msgdef`` is
        registered in `typestore` when missing).

        Raises:
            AdapterNotFoundError: Neither the metadata nor the tag leads to an adapter.

        """
        from mosaico_ros.adapters.generic import GenericAdapter, register_msgdef

        ros_meta = (user_metadata or {}).get(ROS_METADATA_KEY) or {}
        msgtype = ros_meta.get('msgtype')
        if msgtype:
            msgtype = normalize_msgtype(msgtype)
            adapter = self.for_msgtype(msgtype)
            if adapter is not None and adapter.tag == tag:
                if msgtype not in typestore.fielddefs:
                    # A ROS 1 only type (tf/tfMessage) rebuilt for ROS 2: its ROS 2 twin.
                    msgtype = adapter.ros_types[0]
                return adapter, msgtype
            if msgtype not in typestore.fielddefs and ros_meta.get('msgdef'):
                register_msgdef(typestore, msgtype, ros_meta['msgdef'])
            if msgtype in typestore.fielddefs:
                return GenericAdapter(msgtype, typestore), msgtype
        adapter = self.for_tag(tag)
        if adapter is not None:
            return adapter, adapter.ros_types[0]
        raise AdapterNotFoundError(f'no ROS adapter for tag {tag!r} and no _ros_ msgtype')

    def load_module(self, dotted: str) -> ModuleType:
        """Import a user module and register the adapter classes it defines.

        Args:
            dotted: Dotted module name on ``sys.path``.

        Returns:
            The module.

        Raises:
            AdapterRegistrationError: The module cannot be imported.

        """
        try:
            module = importlib.import_module(dotted)
        except ImportError as err:
            raise AdapterRegistrationError(
                f'cannot import adapter module {dotted!r}: {err}'
            ) from err
        self._register_module(module)
        return module

    def _register_module(self, module: ModuleType) -> None:
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, RosAdapter)
                and obj.__module__ == module.__name__
                and obj.ros_types
                and hasattr(obj, 'model')
                and self._by_name.get(obj.__name__) is not obj
            ):
                self.register(obj)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load every entry point of `group`.

        An entry point may name an adapter class, a module of adapters, or a
        callable taking the registry.

        Returns:
            Names of the entry points loaded.

        Raises:
            AdapterRegistrationError: An entry point fails to load.

        """
        loaded = []
        for entry in metadata.entry_points(group=group):
            try:
                obj = entry.load()
            except Exception as err:
                raise AdapterRegistrationError(
                    f'entry point {entry.name!r} ({entry.value}) failed to load: {err}',
                ) from err
            if inspect.isclass(obj) and issubclass(obj, RosAdapter):
                self.register(obj)
            elif isinstance(obj, ModuleType):
                self._register_module(obj)
            elif callable(obj):
                obj(self)
            else:
                raise AdapterRegistrationError(
                    f'entry point {entry.name!r} is neither an adapter, a module nor a callable',
                )
            loaded.append(entry.name)
        return loaded


default_registry = AdapterRegistry()
"""The process-wide registry holding the built-in adapters (and `register_adapter`'s)."""


def run_registry(modules: Sequence[str] = (), *, entry_points: bool = True) -> AdapterRegistry:
    """Return the registry of one run: the built-ins, installed plugins, then user modules.

    A copy of `default_registry`, so the run's additions stay its own. Later
    registrations win, so a module named on the command line overrides an
    installed plugin, which overrides a built-in.

    Args:
        modules: Dotted names of modules of adapters to import (``--adapters``).
        entry_points: Load the ``mosaico_ros.adapters`` entry points of installed packages.

    Returns:
        The registry.

    Raises:
        AdapterRegistrationError: A module or an entry point does not load.

    """
    registry = default_registry.copy()
    if entry_points:
        registry.load_entry_points()
    for module in modules:
        registry.load_module(module)
    return registry


def register_adapter(adapter_cls: AdapterT) -> AdapterT:
    """Class decorator registering an adapter in `default_registry`."""
    return default_registry.register(adapter_cls)
