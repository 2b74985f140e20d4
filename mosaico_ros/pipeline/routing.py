"""How each topic is stored: its adapter, its converter and its bridge metadata.

`Router.route` decides per topic (`TopicInfo`):

- A topic the selection leaves out, or that cannot be stored, is `Refused`
  with the reason; its messages are counted as skipped under that reason.
- JSON and protobuf channels (MCAP) are stored through a schema derived
  from their jsonschema or descriptor set, and carry the official SDK's
  ``_mcap_`` metadata block (channel, schema name, encoding and definition).
- ROS channels (``cdr``, ``ros1``) go through the registry's adapter for the
  type (a per-topic override first, then the type's default, then the
  generic fallback) and carry the ``_ros_`` block: the adapter's
  ``msgtype``/``enums``/``msgdef``, then what the source adds
  (``source_file``), the ROS version, the offered QoS and the distro when known.
  Their batches are decoded as columns with the type's codec plan
  (`mosaico_ros.codec`, compiled once per type and kept by the router); a
  type no plan can be compiled for, or an adapter that takes message
  objects only, is decoded per message with rosbags, and the route's note
  says so and why.
- Some bags embed definitions that do not match their payloads (the rosbag2
  talker fixture stores one-line stubs): `Router.stock_route` gives the
  route through the stock typestore's definition of the same name, tried
  when not one message of a first batch decodes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters.errors import AdapterError, AdapterNotFoundError
from mosaico_ros.adapters.json_channel import JsonChannelAdapter
from mosaico_ros.adapters.protobuf_channel import ProtobufChannelAdapter
from mosaico_ros.adapters.registry import ROS_METADATA_KEY
from mosaico_ros.codec import CodecCache, Plan, UnsupportedTypeError
from mosaico_ros.pipeline.conversion import BatchConverter
from mosaico_ros.pipeline.decoding import ROS_DECODE_ERRORS, payload_decoder
from mosaico_ros.pipeline.envelope import ROS_ENCODINGS

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore

    from mosaico_ros.adapters.registry import AdapterRegistry
    from mosaico_ros.pipeline.envelope import TopicInfo
    from mosaico_ros.pipeline.selection import TopicSelection

MCAP_METADATA_KEY = '_mcap_'
"""Key of the MCAP channel block in a topic's ``user_metadata``, as the official SDK writes it."""


@dataclass(frozen=True)
class Route:
    """How one topic is stored.

    Attributes:
        adapter: Converts decoded messages into the topic's struct (and back).
        converter: Decodes and converts one batch of payloads.
        name: Adapter name for reports ('ImuAdapter', 'json (from jsonschema)').
        tag: Ontology tag of the Mosaico topic.
        metadata: Returns the bridge block of the topic's user metadata
            (``{'_ros_': {...}}`` or ``{'_mcap_': {...}}``).
        model: Ontology model class the topic is created with, or None to
            create it from `struct_type` and `tag`.
        struct_type: Arrow struct of the data columns.
        serialization_format: Serialization format of the topic.
        note: What the report says of the topic, here why it is decoded per
            message rather than as columns; '' when nothing is worth saying.

    """

    adapter: Any
    converter: BatchConverter
    name: str
    tag: str
    metadata: Callable[[], dict[str, Any]]
    model: type[Any] | None
    struct_type: pa.StructType
    serialization_format: str
    note: str = ''


@dataclass(frozen=True)
class Refused:
    """A topic that is not stored, and why (counted for each of its messages)."""

    reason: str
    selected: bool = True


_CHANNEL_LABELS = {'json': 'json (from jsonschema)', 'protobuf': 'protobuf (from descriptor set)'}


class Router:
    """Chooses the route of every topic of a run.

    Args:
        registry: Adapters for ROS types.
        typestore: Decodes the run's ROS types.
        selection: Which topics to store.
        overrides: Topic -> adapter class name or ontology tag.
        unknown: ROS type -> why it cannot be decoded (from the type resolver).
        left_out: Topic -> why the caller leaves it out (not counted, like an
            exclusion: `inject --resume` leaves out what is stored already).

    """

    def __init__(
        self,
        registry: AdapterRegistry,
        typestore: Typestore,
        selection: TopicSelection,
        overrides: Mapping[str, str] | None = None,
        *,
        unknown: Mapping[str, str] | None = None,
        left_out: Mapping[str, str] | None = None,
    ) -> None:
        """Keep what the choice depends on."""
        self.registry = registry
        self.typestore = typestore
        self.selection = selection
        self.overrides = dict(overrides or {})
        self.unknown = dict(unknown or {})
        self.left_out = dict(left_out or {})
        self._adapters: dict[tuple[str, str, bool], Any] = {}
        self._plans = CodecCache(typestore)

    def route(self, info: TopicInfo) -> Route | Refused:
        """Return how `info`'s topic is stored, or why it is not."""
        excluded = self.left_out.get(info.topic) or self.selection.why_not(info.topic, info.msgtype)
        if excluded is not None:
            return Refused(excluded, selected=False)
        if info.encoding == 'json':
            return self._json_route(info)
        if info.encoding == 'protobuf':
            return self._protobuf_route(info)
        if info.encoding not in ROS_ENCODINGS:
            return Refused(
                f'message encoding {info.encoding!r} (schema encoding '
                f'{info.msgdef_encoding or "none"!r}) has no decoder'
            )
        reason = self.unknown.get(info.msgtype)
        if reason is not None or info.msgtype not in self.typestore.fielddefs:
            return Refused(
                reason or f'no definition of {info.msgtype} in the source, --msg-path or typestore'
            )
        try:
            return self._ros_route(info, self.typestore, info.msgdef or None)
        except AdapterNotFoundError as err:
            return Refused(f'no adapter: {err}')
        except AdapterError as err:
            return Refused(f'cannot store {info.msgtype}: {err}')

    def stock_route(self, info: TopicInfo) -> Route | None:
        """Return the route through the stock definition of the topic's type, if there is one."""
        from rosbags.typesys import Stores, get_typestore

        ros1 = info.encoding == 'ros1'
        store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
        if info.msgtype not in store.fielddefs:
            return None
        try:
            return self._ros_route(info, store, None)
        except AdapterError:
            return None

    def _ros_route(self, info: TopicInfo, typestore: Typestore, msgdef: str | None) -> Route:
        msgtype = info.msgtype
        ros1 = info.encoding == 'ros1'
        adapter = self._adapter(info, typestore)
        name = type(adapter).__name__
        plan, why = self._plan(adapter, typestore, msgtype, ros1)
        converter = BatchConverter(
            payload_decoder(typestore, msgtype, ros1),
            adapter,
            msgtype,
            name,
            ROS_DECODE_ERRORS,
            plan=plan,
        )

        def metadata() -> dict[str, Any]:
            block = adapter.topic_metadata(msgtype, typestore, msgdef)
            block.update(info.source)
            block['ros_version'] = info.ros_version
            if info.qos is not None:
                block['qos'] = [dict(profile) for profile in info.qos]
            if info.distro:
                block['distro'] = info.distro
            return {ROS_METADATA_KEY: block}

        model = getattr(type(adapter), 'model', None)
        if not isinstance(model, type) or getattr(model, '__ontology_tag__', None) != adapter.tag:
            model = None
        return Route(
            adapter,
            converter,
            name,
            adapter.tag,
            metadata,
            model,
            adapter.struct_type,
            adapter.serialization_format,
            note='' if plan is not None else f'decoded per message: {why}',
        )

    def _plan(
        self, adapter: Any, typestore: Typestore, msgtype: str, ros1: bool
    ) -> tuple[Plan | None, str]:
        """Return the codec plan a route decodes columns with, or None and why it has none."""
        if not getattr(adapter, 'columnar', False):
            return None, f'{type(adapter).__name__} takes message objects, not columns'
        plans = self._plans if typestore is self.typestore else CodecCache(typestore, maxsize=1)
        try:
            return plans.plan(msgtype, ros1=ros1), ''
        except UnsupportedTypeError as err:
            return None, str(err)

    def _adapter(self, info: TopicInfo, typestore: Typestore) -> Any:
        """Resolve (once per topic, type and typestore) the adapter of a ROS topic."""
        key = (info.topic, info.msgtype, typestore is self.typestore)
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self.registry.resolve(
                info.msgtype, typestore, topic=info.topic, overrides=self.overrides
            )
            self._adapters[key] = adapter
        return adapter

    def _json_route(self, info: TopicInfo) -> Route:
        schema = info.msgdef if info.msgdef_encoding == 'jsonschema' else ''
        channel = JsonChannelAdapter(info.schema_name or info.msgtype, schema)
        return self._channel_route(info, channel, (ValueError,), info.msgdef)

    def _protobuf_route(self, info: TopicInfo) -> Route | Refused:
        from google.protobuf.message import DecodeError

        try:
            channel = ProtobufChannelAdapter(info.schema_name or info.msgtype, info.schema_data)
        except AdapterError as err:
            return Refused(str(err))
        definition = base64.b64encode(info.schema_data).decode('ascii')
        return self._channel_route(info, channel, (DecodeError,), definition)

    def _channel_route(
        self,
        info: TopicInfo,
        channel: JsonChannelAdapter | ProtobufChannelAdapter,
        decode_errors: tuple[type[Exception], ...],
        definition: str,
    ) -> Route:
        label = _CHANNEL_LABELS[info.encoding]
        converter = BatchConverter(channel.decode, channel, info.msgtype, label, decode_errors)

        def metadata() -> dict[str, Any]:
            block = {
                'channel_name': info.topic,
                'channel_encoding': info.encoding,
                'schema_name': info.schema_name or info.msgtype,
                'schema_encoding': info.msgdef_encoding,
                'schema_def': definition,
                **info.source,
            }
            return {MCAP_METADATA_KEY: block}

        return Route(
            channel,
            converter,
            label,
            channel.tag,
            metadata,
            None,
            channel.struct_type,
            channel.serialization_format,
        )
