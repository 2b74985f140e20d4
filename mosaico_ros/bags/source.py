"""A bag as a source of the pipeline: its topics as `TopicInfo`, its messages pushed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mosaico_ros.bags.joining import joined_messages, joined_runs
from mosaico_ros.pipeline.envelope import TopicInfo
from mosaico_ros.pipeline.qos import parse_offered_qos

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from mosaico_ros.bags.model import Connection
    from mosaico_ros.bags.reader import BagReader
    from mosaico_ros.pipeline.driver import Pipeline


def topic_info(conn: Connection, bag: Path, notes: list[str] | None = None) -> TopicInfo:
    """Describe one connection for the pipeline.

    Args:
        conn: The connection.
        bag: The bag as given (its name is stored as ``source_file``).
        notes: Receives a note when the recorded QoS cannot be read.

    Returns:
        The topic description.

    """
    try:
        qos = parse_offered_qos(conn.qos)
    except ValueError as err:
        qos = None
        if notes is not None:
            notes.append(f'{conn.source_file} topic {conn.topic!r}: QoS not kept: {err}')
    return TopicInfo(
        topic=conn.topic,
        msgtype=conn.msgtype,
        encoding=conn.encoding,
        msgdef=conn.msgdef,
        msgdef_encoding=conn.msgdef_encoding,
        schema_name=conn.schema_name,
        schema_data=conn.schema_data,
        qos=qos,
        expected=conn.message_count,
        source={'source_file': bag.name},
        definition_origin=str(conn.source_file),
    )


class BagSource:
    """Feeds one open bag to the pipeline.

    Args:
        reader: The open bag.
        bag: The bag path as given.
        start_ns: Only messages with log time >= start_ns.
        end_ns: Only messages with log time < end_ns.

    """

    def __init__(
        self,
        reader: BagReader,
        bag: Path,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> None:
        """Keep the reader and the window."""
        self.reader = reader
        self.bag = bag
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.notes: list[str] = []

    def topics(self) -> list[TopicInfo]:
        """One description per connection, in the bag's order."""
        return [topic_info(conn, self.bag, self.notes) for conn in self.reader.connections]

    def feed(
        self, pipeline: Pipeline, connections: Iterable[Connection]
    ) -> Iterator[tuple[int, int]]:
        """Push the messages of `connections` into a pipeline, yielding after each push.

        In runs, read as runs where the bag can be read so, else message by
        message in log-time order (`joining`). Each topic gets its messages
        in log-time order either way.

        Yields:
            Messages and payload bytes pushed since the last yield; stop
            iterating to stop reading.

        """
        connections = list(connections)
        window = {'start': self.start_ns, 'end': self.end_ns}
        runs = self.reader.runs(connections, **window)
        if runs is None:
            joined = joined_messages(self.reader.messages(connections, **window))
        else:
            joined = joined_runs(runs)
        for run in joined:
            pipeline.push_run(run)
            yield len(run), int((run.stops - run.starts).sum())
