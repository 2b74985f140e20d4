"""Per-topic state while a bag is injected, and the choice of its adapter.

One `TopicStream` per Mosaico topic holds the adapter, the converter, the
upload writer and the buffer of raw payloads not yet cut into a batch.
`StreamBuilder` makes them from a reader's connections:

- A topic is named exactly like the ROS topic. Several connections with one
  topic name and the same type merge into one stream; a connection whose
  type differs from the topic's first type gets a stream of its own that
  stores nothing and counts its messages as skipped.
- Channels in JSON or protobuf are stored through a schema derived from
  their jsonschema or descriptor set; ROS channels (``cdr``, ``ros1``)
  through the registry's adapter for the type. Anything else, and a ROS
  type without a definition or adapter, is unstorable: its messages are
  read, counted and reported as skipped with the reason.
- Some bags embed definitions that do not match their payloads (the
  rosbag2 talker fixture stores one-line stubs): when not a single message
  of a first batch decodes with the bag's definition, the stock typestore's
  definition of the same name is tried instead (`TopicStream.stock_retry`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.json_channel import JsonChannelAdapter
from mosaico_ros.adapters.protobuf_channel import ProtobufChannelAdapter
from mosaico_ros.bags.conversion import BatchConverter, ConversionPool, Payloads
from mosaico_ros.bags.decoders import payload_decoder
from mosaico_ros.bags.report import TopicReport

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa
    from rosbags.typesys.store import Typestore

    from mosaico_ros.adapters import AdapterRegistry
    from mosaico_ros.bags.model import Connection, RawMessage
    from mosaico_ros.bags.options import TopicSelection

_CHANNEL_ADAPTERS: dict[str, tuple[type[JsonChannelAdapter | ProtobufChannelAdapter], str]] = {
    'json': (JsonChannelAdapter, 'json (from jsonschema)'),
    'protobuf': (ProtobufChannelAdapter, 'protobuf (from descriptor set)'),
}
"""Non-ROS MCAP message encodings stored through a schema their channel carries."""


@dataclass
class TopicStream:
    """Per-topic state while a bag is read: the buffer, the converter and the writer.

    `generation` counts converter changes (the stock-definition fallback):
    a batch cut under an older one is converted again before it is stored.
    A `local` topic is converted in this process, because the workers were
    forked before its converter existed. `topic_metadata` returns the
    adapter's ``_ros_`` metadata for the definition the converter decodes with.
    """

    report: TopicReport
    msgtype: str
    connection: Connection
    adapter: Any = None
    converter: BatchConverter | None = None
    topic_metadata: Callable[[], dict[str, Any]] | None = None
    key: int = -1
    generation: int = 0
    local: bool = False
    writer: Any = None
    schema: pa.Schema | None = None
    blob: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    unstorable: str | None = None
    stock_retry: Callable[[], bool] | None = None

    def refuse(self, reason: str) -> None:
        """Mark the topic unstorable: its messages are counted as skipped for `reason`."""
        self.unstorable = reason
        self.report.ingest, self.report.note = False, reason

    def use(
        self,
        adapter: Any,
        converter: BatchConverter,
        topic_metadata: Callable[[], dict[str, Any]],
    ) -> None:
        """Store the topic through `adapter`, decoding with `converter`."""
        self.adapter, self.converter, self.topic_metadata = adapter, converter, topic_metadata

    def append(self, raw: RawMessage) -> None:
        """Buffer one message until the next batch is cut."""
        # One copy into the topic's blob; a kept view would pin its whole chunk.
        self.blob += raw.data
        self.ends.append(len(self.blob))
        self.times.append(raw.log_time_ns)
        self.offsets.append(raw.offset)
        self.files.append(raw.file)

    def submit(self, pool: ConversionPool[Batch]) -> None:
        """Cut the buffered messages into a batch, hand it to the pool, start an empty buffer."""
        if not self.ends:
            return
        batch = Batch(
            self,
            self.generation,
            Payloads(self.blob, self.ends),
            self.times,
            self.offsets,
            self.files,
        )
        self.blob, self.ends, self.times, self.offsets, self.files = bytearray(), [], [], [], []
        label = (
            f'topic {self.report.topic} ({len(batch.times)} messages from offset '
            f'{batch.offsets[0]} of {batch.files[0]})'
        )
        local = self.converter if self.local else None
        pool.submit(self.key, batch.payloads, batch, label, local=local)


@dataclass(frozen=True)
class Batch:
    """One batch cut from a topic, kept until its conversion is stored."""

    stream: TopicStream
    generation: int
    payloads: Payloads
    times: list[int]
    offsets: list[int]
    files: list[Path]


class StreamBuilder:
    """Makes the streams of a bag: selected or not, which adapter, how to decode.

    Args:
        registry: Adapters for ROS types.
        selection: Which topics and types to store.
        overrides: Topic -> adapter class name or ontology tag.

    """

    def __init__(
        self,
        registry: AdapterRegistry,
        selection: TopicSelection,
        overrides: Mapping[str, str],
    ) -> None:
        """Keep what the choice depends on."""
        self.registry = registry
        self.selection = selection
        self.overrides = dict(overrides)

    def build(
        self,
        connections: Iterable[Connection],
        typestore: Typestore,
        unknown: Mapping[int, str],
    ) -> tuple[dict[str, TopicStream], dict[int, TopicStream]]:
        """Return the streams by topic, and the stream of every connection whose messages are read.

        Args:
            connections: The bag's connections.
            typestore: Decodes the ROS types of the bag.
            unknown: Per connection id, why its type has no usable definition.

        Returns:
            Streams by topic name (every topic, for the report) and by
            connection id (only connections whose messages are read).

        """
        by_topic: dict[str, TopicStream] = {}
        by_connection: dict[int, TopicStream] = {}
        for conn in connections:
            stream = by_topic.get(conn.topic)
            if stream is None:
                report = TopicReport(topic=conn.topic, msgtype=conn.msgtype)
                stream = by_topic[conn.topic] = TopicStream(report, conn.msgtype, conn)
                self._choose_adapter(stream, typestore, unknown.get(conn.id))
            if conn.message_count is not None:
                stream.report.expected = (stream.report.expected or 0) + conn.message_count
            if not stream.report.ingest and stream.unstorable is None:
                continue
            if conn.msgtype != stream.msgtype:
                reason = f'type {conn.msgtype} differs from the topic type {stream.msgtype}'
                by_connection[conn.id] = TopicStream(
                    stream.report, conn.msgtype, conn, unstorable=reason
                )
                continue
            by_connection[conn.id] = stream
        return by_topic, by_connection

    def _choose_adapter(
        self,
        stream: TopicStream,
        typestore: Typestore,
        unknown: str | None,
    ) -> None:
        report = stream.report
        conn = stream.connection
        excluded = self.selection.why_not(conn.topic, conn.msgtype)
        if excluded is not None:
            report.ingest, report.note = False, excluded
            return
        encoding = conn.encoding
        if encoding in _CHANNEL_ADAPTERS:
            adapter_class, label = _CHANNEL_ADAPTERS[encoding]
            try:
                channel = adapter_class(conn)
            except AdapterError as err:
                stream.refuse(str(err))
                return
            converter = BatchConverter(channel.decode, channel, conn.msgtype, label)
            stream.use(channel, converter, lambda: channel.topic_metadata(conn))
            report.adapter, report.ontology_tag = label, channel.tag
            return
        if encoding not in ('cdr', 'ros1'):
            stream.refuse(
                f'message encoding {encoding!r} (schema encoding '
                f'{conn.msgdef_encoding or "none"!r}) has no decoder'
            )
            return
        if unknown is not None or conn.msgtype not in typestore.fielddefs:
            stream.refuse(
                unknown or f'no definition of {conn.msgtype} in the bag, --msg-path or typestore'
            )
            return
        ros1 = encoding == 'ros1'
        try:
            self._use_ros_adapter(stream, typestore, conn.msgdef or None, ros1)
        except Exception as err:
            stream.refuse(f'no adapter: {err}')
            return
        report.adapter = type(stream.adapter).__name__
        report.ontology_tag = stream.adapter.tag
        stream.stock_retry = lambda: self._use_stock_definition(stream, ros1)

    def _use_ros_adapter(
        self,
        stream: TopicStream,
        typestore: Typestore,
        msgdef: str | None,
        ros1: bool,
    ) -> None:
        """Resolve the adapter of a ROS topic and decode it with `typestore`.

        Raises:
            Exception: The registry has no adapter for the type (anything it raises).

        """
        msgtype = stream.msgtype
        adapter = self.registry.resolve(
            msgtype, typestore, topic=stream.report.topic, overrides=self.overrides
        )
        converter = BatchConverter(
            payload_decoder(typestore, msgtype, ros1), adapter, msgtype, type(adapter).__name__
        )
        stream.use(adapter, converter, lambda: adapter.topic_metadata(msgtype, typestore, msgdef))

    def _use_stock_definition(self, stream: TopicStream, ros1: bool) -> bool:
        """Switch a topic to the stock definition of its type, when it has one."""
        from rosbags.typesys import Stores, get_typestore

        store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
        if stream.msgtype not in store.fielddefs:
            return False
        try:
            self._use_ros_adapter(stream, store, None, ros1)
        except Exception:
            return False
        stream.generation += 1
        stream.local = True
        return True
