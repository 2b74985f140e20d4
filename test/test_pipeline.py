"""The shared pipeline driven without a bag: a live-like source forward, a stored sequence back.

- Forward: a plain Python iterator yields raw messages as they arrive (IMU at 1 kHz, GNSS at
  1 Hz); the 1 Hz topic's rows reach its DoPut stream within the latency bound, long before
  finalize, observed through the topic writer's accounting.
- Reverse: every mapped ROS type goes in through the pipeline and comes back out of the
  stored sequence as (topic, time, CDR bytes) in global timestamp order, and the bytes
  deserialize to messages equal to the originals (adapters' documented conventions kept:
  the messages are built within them, see `test_adapters_support.FIXES`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import APPROX, FIXES, ROS1_ONLY, MessageFactory, assert_close, plain

from mosaico_ros.adapters import SENTENCE_MSGDEF, default_registry, register_msgdef
from mosaico_ros.pipeline import (
    CutPolicy,
    Pipeline,
    RawMessage,
    Router,
    SequenceReport,
    SessionSink,
    StoredSequences,
    TopicInfo,
    TopicSelection,
    merge_by_time,
)

T0 = 1_700_000_000_000_000_000
IMU = 'sensor_msgs/msg/Imu'
FIX = 'sensor_msgs/msg/NavSatFix'


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


@pytest.fixture(scope='module')
def typestore() -> Any:
    store = get_typestore(Stores.ROS2_HUMBLE)
    register_msgdef(store, 'nmea_msgs/msg/Sentence', SENTENCE_MSGDEF)
    return store


def _pipeline(client: Any, typestore: Any, name: str, policy: CutPolicy) -> Pipeline:
    router = Router(default_registry.copy(), typestore, TopicSelection())
    sink = SessionSink(client, name, metadata={'test': name})
    return Pipeline(router, policy, SequenceReport(source='test', sequence=name), sink)


def test_a_slow_topic_reaches_its_stream_within_the_latency_bound(
    client: Any, typestore: Any
) -> None:
    latency = 0.5
    pipeline = _pipeline(client, typestore, 'live', CutPolicy(max_latency_s=latency))
    factory = MessageFactory(typestore)
    imu = typestore.serialize_cdr(factory.make(IMU), IMU)
    fix = typestore.serialize_cdr(FIXES[FIX](factory.make(FIX), factory), FIX)
    sink = pipeline.sink
    assert sink is not None
    pushed: list[float] = []
    reached: list[float] = []

    def arriving() -> Iterator[RawMessage]:
        """IMU at 1 kHz (in bursts of ten every 10 ms) and GNSS at 1 Hz, for 3.3 s."""
        start = time.monotonic()
        tick = 0
        while (now := time.monotonic()) - start < 3.3:
            stamp = T0 + int((now - start) * 1e9)
            for k in range(10):
                yield RawMessage('/imu', IMU, stamp + k * 100_000, imu)
            if tick % 100 == 0:
                pushed.append(time.monotonic())
                yield RawMessage('/gps', FIX, stamp, fix)
            writer = sink.writer('/gps')
            sent = writer.rows_sent if writer is not None else 0
            while len(reached) < sent:
                reached.append(time.monotonic())
            tick += 1
            time.sleep(max(0.0, start + tick * 0.01 - time.monotonic()))

    with sink:
        pipeline.declare(TopicInfo('/imu', IMU, 'cdr'))
        pipeline.declare(TopicInfo('/gps', FIX, 'cdr'))
        with pipeline:
            for message in arriving():
                pipeline.push(message)
            assert client.topic_handler('live', '/gps') is None, (
                'nothing is readable before finalize'
            )
    assert len(pushed) == 4
    # the last fix may be pushed less than `latency` before the source ends: the drain sends it
    delays = [got - sent for sent, got in zip(pushed[:3], reached[:3], strict=True)]
    assert len(delays) == 3
    assert max(delays) <= latency + 0.25, delays
    assert pipeline.report.topics['/gps'].stored == 4
    assert pipeline.report.topics['/imu'].stored == pipeline.report.topics['/imu'].received


def test_every_mapped_type_comes_back_in_time_order_and_equal(client: Any, typestore: Any) -> None:
    factory = MessageFactory(typestore)
    msgtypes = sorted(set(default_registry.msgtypes) - set(ROS1_ONLY))
    originals: dict[str, list[Any]] = {}
    messages: list[RawMessage] = []
    infos: list[TopicInfo] = []
    for index, msgtype in enumerate(msgtypes):
        topic = f'/t{index:02d}/{msgtype.rsplit("/", 1)[-1].lower()}'
        fix = FIXES.get(msgtype, lambda msg, _: msg)
        made = [fix(factory.make(msgtype), factory) for _ in range(5)]
        originals[topic] = made
        infos.append(TopicInfo(topic, msgtype, 'cdr'))
        for k, msg in enumerate(made):
            # interleaved: every topic has a message each second, offset by its index
            stamp = T0 + k * 1_000_000_000 + index * 1_000
            messages.append(
                RawMessage(topic, msgtype, stamp, typestore.serialize_cdr(msg, msgtype))
            )
    messages.sort(key=lambda m: m.log_time_ns)

    pipeline = _pipeline(client, typestore, 'all_types', CutPolicy(max_messages=2))
    with pipeline.sink:  # type: ignore[union-attr]
        for info in infos:
            pipeline.declare(info)
        with pipeline:
            for message in messages:
                pipeline.push(message)
    assert pipeline.report.clean, pipeline.report.problems()

    with StoredSequences(
        client, ['all_types'], registry=default_registry.copy(), typestore=typestore
    ) as stored:
        assert stored.refused == {}
        back = list(stored.messages())
    assert [(m.topic, m.log_time_ns) for m in back] == [(m.topic, m.log_time_ns) for m in messages]
    by_topic: dict[str, list[Any]] = {}
    for message in back:
        by_topic.setdefault(message.topic, []).append(
            typestore.deserialize_cdr(message.data, message.msgtype)
        )
    for info in infos:
        got, want = plain(by_topic[info.topic]), plain(originals[info.topic])
        if info.msgtype in APPROX:
            assert_close(got, want, info.topic)
        else:
            assert got == want, info.msgtype


def test_merge_keeps_ties_in_topic_order_and_cuts_at_batch_level() -> None:
    import pyarrow as pa

    def batch(times: list[int]) -> pa.RecordBatch:
        return pa.RecordBatch.from_pydict({'timestamp_ns': times, 'v': list(range(len(times)))})

    a = [batch([1, 2, 2, 5]), batch([9])]
    b = [batch([2, 3, 4]), batch([]), batch([5, 6])]
    merged = list(merge_by_time([('a', a), ('b', b)]))
    order = [(topic, t) for topic, rows in merged for t in rows.column('timestamp_ns').to_pylist()]
    assert order == [
        ('a', 1),
        ('a', 2),
        ('a', 2),
        ('b', 2),
        ('b', 3),
        ('b', 4),
        ('a', 5),
        ('b', 5),
        ('b', 6),
        ('a', 9),
    ]
    # slices, not rows: the first slice of 'a' holds its three rows before b's first head
    assert merged[0][1].num_rows == 3
