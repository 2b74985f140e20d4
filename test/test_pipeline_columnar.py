"""Columnar decode in the pipeline: when a batch becomes columns, and routes without a plan.

- A route whose type the codec plans and whose adapter is columnar decodes
  batches of `COLUMNAR_FROM` messages or more as columns, and stores exactly
  what the per-message path stores, damaged payloads left out alike; smaller
  batches are decoded per message (the failure reasons show which path ran).
- A type no plan can be compiled for, or an adapter that takes message
  objects only, is decoded per message, stores everything, and the topic's
  note in the report says so and why.
- Forked conversion workers decode columns with the plans they inherit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from mosaico_ros.adapters import default_registry
from mosaico_ros.adapters.sensor_msgs import IMUAdapter
from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.demo.recording import IMU_TOPIC, RecordingSpec, _MessageFactory, write_recording
from mosaico_ros.pipeline import (
    CutPolicy,
    Pipeline,
    RawMessage,
    Route,
    Router,
    SequenceReport,
    SessionSink,
    TopicInfo,
    TopicSelection,
)
from mosaico_ros.pipeline.conversion import (
    COLUMNAR_FROM,
    BatchConverter,
    ConversionPool,
    Payloads,
    fork_available,
)

IMU = 'sensor_msgs/msg/Imu'
T0 = 1_700_000_000_000_000_000


@pytest.fixture
def client(server: Any) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient

    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def imu_payloads(count: int, broken: set[int]) -> list[bytes]:
    """IMU payloads as the demo recording makes them; those numbered in `broken` are cut short."""
    factory = _MessageFactory(Stores.ROS2_HUMBLE, RecordingSpec())
    payloads = []
    for index in range(count):
        data = factory.serialize(factory.imu(index, T0 + index), IMU)
        payloads.append(data[:4] + b'\xff' * 7 if index in broken else data)
    return payloads


def payloads_of(datas: list[bytes]) -> Payloads:
    return Payloads(b''.join(datas), np.cumsum([len(d) for d in datas]).tolist())


def imu_converter() -> BatchConverter:
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    route = Router(default_registry.copy(), typestore, TopicSelection()).route(
        TopicInfo(IMU_TOPIC, IMU, 'cdr')
    )
    assert isinstance(route, Route)
    assert route.note == ''
    converter = route.converter
    assert converter.plan is not None
    return converter


def test_a_full_batch_decodes_as_columns_and_stores_what_the_per_message_path_stores() -> None:
    converter = imu_converter()
    per_message = BatchConverter(
        converter.decode,
        converter.adapter,
        IMU,
        converter.adapter_name,
        converter.decode_errors,
    )
    batch = payloads_of(imu_payloads(COLUMNAR_FROM + 72, broken={0, 17, 150}))
    columns, objects = converter(batch), per_message(batch)
    assert columns.struct is not None
    assert objects.struct is not None
    assert columns.struct.equals(objects.struct)
    assert columns.kept == objects.kept
    assert (columns.decoded, columns.count) == (objects.decoded, objects.count)
    assert [f.index for f in columns.failures] == [0, 17, 150]
    assert [f.index for f in objects.failures] == [0, 17, 150]
    # the codec names where the payload stops fitting; rosbags names its exception
    for failure in columns.failures:
        assert failure.undecodable
        assert failure.reason.startswith(f'cannot decode as {IMU}: ')
        assert ' at ' in failure.reason, failure.reason
    assert all(' at ' not in failure.reason for failure in objects.failures)


def test_a_small_batch_is_decoded_per_message() -> None:
    converter = imu_converter()
    result = converter(payloads_of(imu_payloads(COLUMNAR_FROM - 1, broken={3})))
    assert result.struct is not None
    assert len(result.struct) == COLUMNAR_FROM - 2
    ((failure,),) = [result.failures]
    assert failure.index == 3
    assert ' at ' not in failure.reason, 'rosbags decoded it: the reason names its exception'


def test_a_type_without_a_plan_is_decoded_per_message_and_the_report_says_why(
    client: Any,
) -> None:
    """Elements that take no bytes: nothing bounds their count, so the codec leaves them to rosbags.

    (The rows are not read back: the embedded server cannot read ``T[0]`` columns
    back from Parquet, whichever path decoded them.)
    """
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    typestore.register(get_types_from_msg('uint8[0] none\n', 'test_msgs/msg/Nothing'))
    typestore.register(
        get_types_from_msg('test_msgs/Nothing[] items\nfloat64 value\n', 'test_msgs/msg/Holder')
    )
    holder, nothing = (
        typestore.types['test_msgs/msg/Holder'],
        typestore.types['test_msgs/msg/Nothing'],
    )
    datas = [
        bytes(
            typestore.serialize_cdr(
                holder(items=[nothing(none=np.zeros(0, np.uint8))] * (i % 3), value=i / 4),
                'test_msgs/msg/Holder',
            )
        )
        for i in range(300)
    ]
    router = Router(default_registry.copy(), typestore, TopicSelection())
    report = SequenceReport(source='test', sequence='holder')
    sink = SessionSink(client, 'holder', metadata={})
    pipeline = Pipeline(router, CutPolicy(max_messages=1000), report, sink)
    with sink:
        pipeline.declare(TopicInfo('/holder', 'test_msgs/msg/Holder', 'cdr'))
        with pipeline:
            for index, data in enumerate(datas):
                pipeline.push(RawMessage('/holder', 'test_msgs/msg/Holder', T0 + index, data))
    topic = report.topics['/holder']
    assert (topic.received, topic.stored, topic.skipped_total) == (300, 300, 0)
    assert topic.note.startswith('decoded per message: test_msgs/msg/Holder.items: ')
    assert 'take no bytes' in topic.note


class ObjectsOnlyImuAdapter(IMUAdapter):
    """A user adapter that reads message attributes itself (so takes objects only)."""

    def to_arrow(self, msgs: Any, msgtype: str) -> pa.StructArray:
        assert isinstance(msgs, list), 'an objects-only adapter is never given columns'
        self.check = [msg.header.frame_id for msg in msgs]
        return super().to_arrow(msgs, msgtype)


@pytest.mark.skipif(not fork_available(), reason="no 'fork' start method here")
def test_workers_decode_columns_and_an_objects_only_adapter_gets_objects(
    client: Any, tmp_path: Path
) -> None:
    assert IMUAdapter.columnar
    assert not ObjectsOnlyImuAdapter.columnar
    recording = write_recording(tmp_path / 'drive', 'mcap', RecordingSpec(duration_s=5.0))
    stored = {}
    for name, jobs, objects_only in (
        ('inproc', 0, False),
        ('workers', 2, False),
        ('user', 2, True),
    ):
        registry = default_registry.copy()
        if objects_only:
            registry.register(ObjectsOnlyImuAdapter)
        options = InjectOptions(sequence=name, jobs=jobs, batch_messages=500)
        injector = Injector(client, options, registry=registry)
        report = injector.inject(recording.path)
        assert report.clean, report.problems()
        assert injector.last_conversion is not None
        assert (injector.last_conversion.in_workers > 0) == (jobs > 0)
        note = report.topics[IMU_TOPIC].note
        if objects_only:
            assert note == (
                'decoded per message: ObjectsOnlyImuAdapter takes message objects, not columns'
            )
        else:
            assert note == ''
        handler = client.topic_handler(name, IMU_TOPIC)
        stored[name] = pa.concat_tables(
            [pa.Table.from_batches([b]) for b in handler.iter_batches()]
        )
    assert stored['workers'].equals(stored['inproc'])
    assert stored['user'].equals(stored['inproc'])


@pytest.mark.skipif(not fork_available(), reason="no 'fork' start method here")
def test_batches_cheaper_than_shipping_stay_in_process() -> None:
    """Raw frames cost a copy: in-process after the first batch; PNG-packing noise ships."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    factory = _MessageFactory(Stores.ROS2_HUMBLE, RecordingSpec(image_width=320, image_height=240))
    rng = np.random.default_rng(3)
    datas = []
    for index in range(8):
        msg = factory.image(index, T0 + index)
        msg.data = rng.integers(0, 256, msg.data.size, np.uint8)
        datas.append(bytes(typestore.serialize_cdr(msg, 'sensor_msgs/msg/Image')))
    batch = payloads_of(datas)
    for adapter_name, shipped in (('ImageAdapter', 1), ('PngImageAdapter', 4)):
        route = Router(
            default_registry.copy(),
            typestore,
            TopicSelection(),
            overrides={'/camera': adapter_name},
        ).route(TopicInfo('/camera', 'sensor_msgs/msg/Image', 'cdr'))
        assert isinstance(route, Route)
        with ConversionPool({0: route.converter}, jobs=1) as pool:
            for index in range(4):
                pool.submit(0, batch, index, f'batch {index}')
                list(pool.completed(wait=True))
        assert (pool.stats.in_workers, pool.stats.in_process) == (shipped, 4 - shipped)
