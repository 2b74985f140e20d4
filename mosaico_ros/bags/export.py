"""A stored sequence back into a bag: `mosaico-ros export`, the reverse chain with a file sink.

The same chain as the player (`mosaico_ros.pipeline.replay`): each topic's
batches are read (Flight DoGet), merged in timestamp order, rebuilt into
ROS messages by the topic's adapter and serialized, then written by a bag
writer (`mosaico_ros.bags.writers`) instead of published. Memory holds one
batch per topic, whatever the sequence length.

What OUT names chooses the container:

- ``*.mcap``: one MCAP file (``ros2`` profile; ``ros1`` with ``--distro noetic``);
- ``*.bag``: a ROS 1 bag;
- anything else: a rosbag2 directory with its ``metadata.yaml``, storage
  ``mcap`` (default) or ``sqlite3`` (``--format db3``).

Types come from the topics' ``_ros_`` metadata: the recorded definitions of
the output's ROS version are taught to the typestore (so a definition that
differs from the stock one is written, and serialized, as recorded), and
every topic keeps its recorded offered QoS. The output is written beside
OUT under a temporary name and renamed when complete, so a failed export
leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mosaico_ros.adapters.registry import ROS_METADATA_KEY
from mosaico_ros.bags.writers import BagWriter, McapFileWriter, Ros1BagWriter, Rosbag2Writer
from mosaico_ros.pipeline.envelope import TopicInfo
from mosaico_ros.pipeline.replay import StoredSequences
from mosaico_ros.pipeline.report import Failure, SequenceReport, SequenceStatus, TopicReport
from mosaico_ros.pipeline.selection import TopicSelection
from mosaico_ros.pipeline.types import TypeResolver

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

    from mosaico_ros.client import MosaicoClient

ExportFormat = Literal['mcap', 'db3', 'bag']


class ExportError(ValueError):
    """An export cannot start: a bad OUT, format or distro, or a missing sequence."""


@dataclass(frozen=True)
class ExportOptions:
    """What `mosaico-ros export` can be told.

    Attributes:
        format: 'mcap', 'db3' or 'bag'; None chooses from OUT's suffix (else 'mcap').
        distro: ROS distro of the written types ('noetic' for a ROS 1 bag); None: the
            recorded one, else Humble (Noetic for ROS 1).
        selection: Which topics to export.
        start_ns: Only messages at or after this time.
        end_ns: Only messages before this time.
        adapters: Modules of user adapters to import.

    """

    format: ExportFormat | None = None
    distro: str | None = None
    selection: TopicSelection = field(default_factory=TopicSelection)
    start_ns: int | None = None
    end_ns: int | None = None
    adapters: Sequence[str] = ()


@dataclass(frozen=True)
class Layout:
    """The container an export writes.

    Attributes:
        format: 'mcap', 'db3' or 'bag'.
        directory: A rosbag2 directory (else a single file).
        ros1: ROS 1 messages.

    """

    format: ExportFormat
    directory: bool
    ros1: bool


def layout_for(out: Path, fmt: ExportFormat | None, distro: str | None = None) -> Layout:
    """Choose the container from OUT's name, the format and the distro.

    Raises:
        ExportError: They contradict each other.

    """
    suffix = out.suffix.lower()
    noetic = (distro or '').lower().removeprefix('ros1_') == 'noetic'
    if suffix == '.db3':
        raise ExportError(
            f'{out}: a .db3 lives inside a rosbag2 directory; name the directory, with --format db3'
        )
    if suffix == '.bag':
        if fmt not in (None, 'bag'):
            raise ExportError(f'{out} names a ROS 1 bag, but --format is {fmt}')
        if distro and not noetic:
            raise ExportError(f'a ROS 1 bag holds ROS 1 types, not {distro}')
        return Layout('bag', directory=False, ros1=True)
    if suffix == '.mcap':
        if fmt not in (None, 'mcap'):
            raise ExportError(f'{out} names an MCAP file, but --format is {fmt}')
        return Layout('mcap', directory=False, ros1=noetic)
    if fmt == 'bag':
        raise ExportError(f'--format bag writes one file: name it OUT.bag, not {out}')
    if noetic:
        raise ExportError('a rosbag2 directory holds ROS 2 types; write ROS 1 to a .bag or .mcap')
    return Layout(fmt or 'mcap', directory=True, ros1=False)


@dataclass(frozen=True)
class RecordedTopic:
    """A stored topic as export sees it.

    Attributes:
        name: Topic name.
        ros: Its ``_ros_`` metadata (empty for a topic that was no ROS topic).
        messages: Stored messages.

    """

    name: str
    ros: dict[str, Any]
    messages: int


def recorded_topics(client: MosaicoClient, sequence: str) -> list[RecordedTopic]:
    """Return every topic of a sequence with its ``_ros_`` metadata and message count.

    Raises:
        ExportError: The sequence does not exist.

    """
    sequence_handler = client.sequence_handler(sequence)
    if sequence_handler is None:
        raise ExportError(f'no sequence {sequence!r}')
    with sequence_handler:
        names = list(sequence_handler.topics)
    topics = []
    for name in names:
        handler = client.topic_handler(sequence, name)
        if handler is None:
            continue
        with handler:
            ros = dict((handler.user_metadata or {}).get(ROS_METADATA_KEY) or {})
            topics.append(RecordedTopic(name, ros, int(handler.msg_count)))
    return topics


def export_typestore(
    topics: Sequence[RecordedTopic], ros1: bool, distro: str | None
) -> tuple[Typestore, str]:
    """Return the typestore of the written types and the distro it stands for.

    The stock store of the distro (given, else the one recorded, else Humble or
    Noetic), taught the recorded definitions of the output's ROS version.

    Raises:
        ExportError: Unknown distro.

    """
    from mosaico_ros.pipeline.types import UnknownDistroError

    version = 1 if ros1 else 2
    recorded = {t.ros.get('distro') for t in topics if t.ros.get('ros_version') == version}
    if distro is None and len(recorded) == 1 and None not in recorded:
        distro = str(recorded.pop())
    distro = distro or ('noetic' if ros1 else 'humble')
    try:
        resolver = TypeResolver(distro, ros1=ros1)
    except UnknownDistroError as err:
        raise ExportError(str(err)) from None
    resolver.add(
        TopicInfo(
            topic.name,
            str(topic.ros['msgtype']),
            'ros1' if ros1 else 'cdr',
            msgdef=str(topic.ros.get('msgdef') or ''),
            msgdef_encoding='ros1msg' if ros1 else 'ros2msg',
        )
        for topic in topics
        if topic.ros.get('msgtype') and topic.ros.get('ros_version') == version
    )
    _teach_other_version(resolver.typestore, topics, version)
    return resolver.typestore, distro.lower().removeprefix('ros2_').removeprefix('ros1_')


def _teach_other_version(
    typestore: Typestore, topics: Sequence[RecordedTopic], version: int
) -> None:
    """Teach the store the types it lacks that were recorded with the other ROS version.

    A ROS 1 type with no ROS 2 twin (``rosgraph_msgs/Log``, a driver's own
    type) written to a ROS 2 bag: its recorded definition is read, and the
    types it defines that the store already has (``std_msgs/Header``, whose
    ROS 1 flavour has ``seq``) keep the store's definition.
    """
    from rosbags.typesys import TypesysError

    from mosaico_ros.pipeline.types import parse_definition

    for topic in topics:
        msgtype, text = topic.ros.get('msgtype'), topic.ros.get('msgdef')
        if not msgtype or not text or topic.ros.get('ros_version') in (None, version):
            continue
        if msgtype in typestore.fielddefs:
            continue
        try:
            types = parse_definition(str(msgtype), str(text), '')
        except (TypesysError, ValueError):
            continue  # the encoder says why the topic cannot be rebuilt
        typestore.register({k: v for k, v in types.items() if k not in typestore.fielddefs})


def _open_writer(layout: Layout, path: Path, typestore: Typestore, distro: str) -> BagWriter:
    if layout.directory:
        storage = 'sqlite3' if layout.format == 'db3' else 'mcap'
        return Rosbag2Writer(path, typestore, storage=storage, distro=distro)
    if layout.format == 'bag':
        return Ros1BagWriter(path, typestore)
    return McapFileWriter(path, typestore, ros1=layout.ros1)


def export_sequence(
    client: MosaicoClient, sequence: str, out: Path, options: ExportOptions | None = None
) -> SequenceReport:
    """Write a stored sequence as a bag at `out`.

    Args:
        client: Connected client.
        sequence: Sequence name.
        out: The bag to write (must not exist); its name chooses the container.
        options: Format, distro, topics and time window.

    Returns:
        Per topic: rows read, messages written (`stored`), rows not rebuilt by
        reason; topics not exported have `ingest` False and a `note`.

    Raises:
        ExportError: OUT exists or contradicts the format, the sequence does not
            exist, or nothing of it can be exported.

    """
    from mosaico_ros.adapters import run_registry

    options = options or ExportOptions()
    layout = layout_for(out, options.format, options.distro)
    if out.exists():
        raise ExportError(f'{out} exists; export writes a new bag')
    topics = recorded_topics(client, sequence)
    typestore, distro = export_typestore(topics, layout.ros1, options.distro)
    report = SequenceReport(source=sequence, sequence=str(out))
    started = time.perf_counter()
    registry = run_registry(options.adapters)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f'.{out.name}.', dir=out.parent))
    try:
        with StoredSequences(
            client,
            [sequence],
            registry=registry,
            typestore=typestore,
            selection=options.selection,
            ros1=layout.ros1,
        ) as stored:
            recorded = {topic.name: topic for topic in topics}
            for topic, reason in stored.refused.items():
                _refuse(report, topic, '', reason, recorded[topic].messages)
            with _open_writer(layout, scratch / out.name, typestore, distro) as writer:
                handles = _add_topics(writer, stored, layout.ros1, recorded, report)
                if not handles:
                    why = '; '.join(report.problems()[:3]) or 'it has no topic'
                    raise ExportError(f'{sequence}: no topic can be exported: {why}')
                for message in stored.messages(options.start_ns, options.end_ns, handles):
                    data = memoryview(message.data)
                    writer.write(handles[message.topic], message.log_time_ns, data)
            for topic in handles:
                report.topics[topic] = stored.encoders[topic].report or TopicReport(topic, '')
        (scratch / out.name).rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.elapsed_s = time.perf_counter() - started
    report.bytes_total = _size(out)
    if not report.clean:
        report.status = SequenceStatus.PARTIAL
    return report


def _refuse(report: SequenceReport, topic: str, msgtype: str, reason: str, count: int) -> None:
    """Count a topic that is not exported, with why."""
    report.topics[topic] = TopicReport(topic, msgtype, ingest=False, note=reason)
    report.failures.append(Failure(f'not exported: {reason}', topic=topic, count=count))


def _add_topics(
    writer: BagWriter,
    stored: StoredSequences,
    ros1: bool,
    recorded: dict[str, RecordedTopic],
    report: SequenceReport,
) -> dict[str, Any]:
    """Declare every rebuildable topic in the bag; return the writer's handle by topic.

    The definition text is the typestore's (what the messages are serialized
    with); when rosbags cannot render it (a service event type), the text
    recorded with the topic, if it is of the output's ROS version.
    """
    handles: dict[str, Any] = {}
    for topic, encoder in stored.encoders.items():
        ros = recorded[topic].ros
        try:
            msgdef = _definition(writer.typestore, encoder.msgtype, ros1, ros)
            handles[topic] = writer.add_topic(topic, encoder.msgtype, msgdef, encoder.qos)
        except Exception as err:  # rosbags or mcap cannot describe the type
            reason = f'the bag cannot describe {encoder.msgtype}: {type(err).__name__}: {err}'
            _refuse(report, topic, encoder.msgtype, reason, recorded[topic].messages)
    return handles


def _definition(typestore: Typestore, msgtype: str, ros1: bool, ros: dict[str, Any]) -> str:
    try:
        text, _ = typestore.generate_msgdef(msgtype, ros_version=1 if ros1 else 2)
        return str(text)
    except Exception:
        recorded = ros.get('msgdef')
        if (
            recorded
            and ros.get('msgtype') == msgtype
            and ros.get('ros_version') == (1 if ros1 else 2)
        ):
            return str(recorded)
        raise


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob('*') if item.is_file())
    return path.stat().st_size
