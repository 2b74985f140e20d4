"""The reverse chain serializes stored batches as columns exactly as message by message.

`TopicEncoder` serializes a large batch with `mosaico_ros.codec` when its
adapter is `columnar_reverse` (`to_ros_columns`); otherwise it builds one
message per row (`from_arrow`) and serializes each with rosbags. For every
adapter of the registry that is `columnar_reverse`, every ROS type it
handles, in ROS 2 CDR and ROS 1, and for the generic adapter on types with
arrays, nested messages and bytes, both paths must give the same payloads,
byte for byte, or both fail alike: on realistic messages (the round-trip
tests' factory), on random ones (hypothesis: NaN, extremes, empty strings
and arrays), on slices of a batch, and with nulls wherever the stored
schema allows them (what another writer may store). Export of a real bag
takes the columnar path and writes what the per-message path writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import FIXES, ROS1_ONLY, MessageFactory
from test_codec_support import SETTINGS, MessageStrategies

from mosaico_ros.adapters import (
    GenericAdapter,
    RosAdapter,
    default_registry,
    register_msgdef,
)
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.sensor_msgs import IMUAdapter
from mosaico_ros.codec import CodecCache
from mosaico_ros.pipeline.conversion import REJECTIONS
from mosaico_ros.pipeline.replay import TopicEncoder
from mosaico_ros.pipeline.report import TopicReport
from mosaico_ros.protocol import TIMESTAMP_COLUMN


def _typestore(store: Stores) -> Any:
    typestore = get_typestore(store)
    if store == Stores.ROS1_NOETIC:
        for msgtype, text in ROS1_ONLY.items():
            register_msgdef(typestore, msgtype, text)
    return typestore


TYPESTORES = {store: _typestore(store) for store in (Stores.ROS2_HUMBLE, Stores.ROS1_NOETIC)}
PLANS = {store: CodecCache(typestore) for store, typestore in TYPESTORES.items()}
STRATEGIES = {store: MessageStrategies(typestore) for store, typestore in TYPESTORES.items()}

GENERIC_TYPES = (
    'sensor_msgs/msg/Range',
    'diagnostic_msgs/msg/DiagnosticArray',
    'visualization_msgs/msg/Marker',
    'sensor_msgs/msg/MultiDOFJointState',
    'std_msgs/msg/Float64MultiArray',
    'shape_msgs/msg/SolidPrimitive',
)
"""Types the generic adapter converts in tests: nested lists of messages, fixed arrays, bytes."""


def _cases() -> list[Any]:
    cases = []
    for adapter_cls in default_registry:
        if not adapter_cls.columnar_reverse:
            continue
        for msgtype in adapter_cls.ros_types:
            for store, typestore in TYPESTORES.items():
                if msgtype in typestore.fielddefs:
                    name = f'{adapter_cls.__name__}-{msgtype}-{store.value}'
                    cases.append(pytest.param(adapter_cls.__name__, msgtype, store, id=name))
    for msgtype in GENERIC_TYPES:
        for store, typestore in TYPESTORES.items():
            if msgtype in typestore.fielddefs:
                name = f'GenericAdapter-{msgtype}-{store.value}'
                cases.append(pytest.param('GenericAdapter', msgtype, store, id=name))
    return cases


CASES = _cases()


def adapter_of(name: str, msgtype: str, store: Stores) -> RosAdapter:
    if name == 'GenericAdapter':
        return GenericAdapter(msgtype, TYPESTORES[store])
    return default_registry.by_name(name)


def test_the_high_volume_adapters_are_columnar_reverse() -> None:
    names = {case.values[0] for case in CASES}
    for name in (
        'IMUAdapter',
        'RobotJointAdapter',
        'OdometryAdapter',
        'PoseAdapter',
        'TransformAdapter',
        'TwistAdapter',
        'FrameTransformAdapter',
        'GPSAdapter',
        'GenericAdapter',
    ):
        assert name in names
    # image and cloud payloads are one copy either way: they stay per message
    for name in ('ImageAdapter', 'CompressedImageAdapter', 'PointCloudAdapter'):
        assert not default_registry.by_name(name).columnar_reverse


def test_a_subclass_with_its_own_from_arrow_rebuilds_objects() -> None:
    class Custom(IMUAdapter):
        def from_arrow(self, data: Any, msgtype: str, typestore: Any) -> list[Any]:
            return super().from_arrow(data, msgtype, typestore)

    assert IMUAdapter.columnar_reverse
    assert not Custom.columnar_reverse


def stored_batch(adapter: RosAdapter, msgs: list[Any], msgtype: str) -> pa.RecordBatch | None:
    """The rows the pipeline stores for `msgs` (None when the adapter rejects them)."""
    try:
        struct = adapter.to_arrow(msgs, msgtype)
    except REJECTIONS:
        return None
    batch = pa.RecordBatch.from_struct_array(struct)
    times = pa.array(np.arange(len(msgs), dtype=np.int64) * 1000)
    return batch.add_column(0, TIMESTAMP_COLUMN, times)


def with_nulls(array: pa.Array, nullable: bool, rng: np.random.Generator) -> pa.Array:
    """`array` (not a slice) with more random nulls wherever its type allows them."""
    mask = None
    if nullable and len(array):
        mask = pc.or_(array.is_null(), pa.array(rng.random(len(array)) < 0.3))
    atype = array.type
    if pa.types.is_struct(atype):
        children = [
            with_nulls(array.field(i), atype.field(i).nullable, rng)
            for i in range(atype.num_fields)
        ]
        return pa.StructArray.from_arrays(children, fields=list(atype), mask=mask)
    if pa.types.is_list(atype):
        values = with_nulls(array.values, atype.value_field.nullable, rng)
        return pa.ListArray.from_arrays(array.offsets, values, type=atype, mask=mask)
    if pa.types.is_fixed_size_list(atype):
        values = with_nulls(array.values, atype.value_field.nullable, rng)
        return pa.FixedSizeListArray.from_arrays(values, type=atype, mask=mask)
    if mask is None:
        return array
    return pc.if_else(mask, pa.scalar(None, atype), array)


def nulled(batch: pa.RecordBatch, seed: int) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    schema = batch.schema
    columns = [
        batch.column(i)
        if name == TIMESTAMP_COLUMN
        else with_nulls(batch.column(i), f.nullable, rng)
        for i, (name, f) in enumerate(zip(schema.names, schema, strict=True))
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def payloads(encoder: TopicEncoder, rows: pa.RecordBatch) -> list[bytes | None] | str:
    """The encoder's payloads, or the name of what it raised."""
    try:
        return encoder.encode(rows)
    except Exception as err:  # the per-message path may raise beyond REJECTIONS; both must
        return type(err).__name__


def assert_parity(
    name: str, msgtype: str, store: Stores, rows: pa.RecordBatch, *, columnar: bool | None
) -> None:
    """Columns and messages give the same payloads; `columnar` says whether columns must be used."""
    adapter = adapter_of(name, msgtype, store)
    typestore, ros1 = TYPESTORES[store], store == Stores.ROS1_NOETIC
    for piece in (rows, rows.slice(1), rows.slice(1, max(0, rows.num_rows - 2))):
        by_columns = TopicEncoder(
            't', msgtype, adapter, typestore, None, ros1, plans=PLANS[store], columnar_from=1
        )
        by_messages = TopicEncoder('t', msgtype, adapter, typestore, None, ros1)
        got, want = payloads(by_columns, piece), payloads(by_messages, piece)
        assert got == want
        if columnar is not None and piece.num_rows:
            assert (by_columns.columnar_rows == piece.num_rows) is columnar


def realistic(msgtype: str, store: Stores, count: int = 6) -> list[Any]:
    factory = MessageFactory(TYPESTORES[store])
    fix = FIXES.get(msgtype, lambda msg, _: msg)
    return [fix(factory.make(msgtype), factory) for _ in range(count)]


@pytest.mark.parametrize(('name', 'msgtype', 'store'), CASES)
def test_realistic_messages(name: str, msgtype: str, store: Stores) -> None:
    adapter = adapter_of(name, msgtype, store)
    rows = stored_batch(adapter, realistic(msgtype, store), msgtype)
    assert rows is not None
    assert_parity(name, msgtype, store, rows, columnar=True)


@pytest.mark.parametrize(('name', 'msgtype', 'store'), CASES)
def test_realistic_messages_with_nulls(name: str, msgtype: str, store: Stores) -> None:
    adapter = adapter_of(name, msgtype, store)
    rows = stored_batch(adapter, realistic(msgtype, store, 12), msgtype)
    assert rows is not None
    for seed in range(3):
        assert_parity(name, msgtype, store, nulled(rows, seed), columnar=True)


@pytest.mark.parametrize(('name', 'msgtype', 'store'), CASES)
@SETTINGS
@given(data=st.data())
def test_random_messages(name: str, msgtype: str, store: Stores, data: Any) -> None:
    msgs = data.draw(st.lists(STRATEGIES[store].message(msgtype), min_size=1, max_size=5))
    rows = stored_batch(adapter_of(name, msgtype, store), msgs, msgtype)
    if rows is None:
        return
    assert_parity(name, msgtype, store, rows, columnar=None)
    seed = data.draw(st.integers(0, 2**16))
    assert_parity(name, msgtype, store, nulled(rows, seed), columnar=None)


IMU = 'sensor_msgs/msg/Imu'


def imu_rows(count: int) -> pa.RecordBatch:
    adapter = default_registry.by_name('IMUAdapter')
    rows = stored_batch(adapter, realistic(IMU, Stores.ROS2_HUMBLE, count), IMU)
    assert rows is not None
    return rows


def test_small_batches_and_encoders_without_plans_serialize_message_by_message() -> None:
    adapter = default_registry.by_name('IMUAdapter')
    typestore, plans = TYPESTORES[Stores.ROS2_HUMBLE], PLANS[Stores.ROS2_HUMBLE]
    rows = imu_rows(200)
    small = TopicEncoder('t', IMU, adapter, typestore, None, plans=plans)
    assert small.columnar_from == 128
    small.encode(rows.slice(0, 127))
    assert small.columnar_rows == 0
    small.encode(rows.slice(0, 128))
    assert small.columnar_rows == 128
    plain = TopicEncoder('t', IMU, adapter, typestore, None)
    plain.encode(rows)
    assert plain.columnar_rows == 0


class PickyImuAdapter(IMUAdapter):
    """Cannot rebuild rows whose acceleration x is negative, in either path."""

    columnar_reverse = True

    @staticmethod
    def _check(data: Any) -> None:
        x = pc.struct_field(data.column('acceleration'), 'x')
        if pc.any(pc.less(x, 0)).as_py():
            raise AdapterError('negative acceleration')

    def from_arrow(self, data: Any, msgtype: str, typestore: Any) -> list[Any]:
        self._check(data)
        return super().from_arrow(data, msgtype, typestore)

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Any) -> pa.StructArray:
        self._check(data)
        return super().to_ros_columns(data, msgtype, typestore)


def test_a_batch_the_columns_reject_is_serialized_per_message_and_bad_rows_counted() -> None:
    rows = imu_rows(150)
    accel = rows.column('acceleration')
    x = pc.struct_field(accel, 'x').to_numpy().copy()
    x[[3, 77]] = -1.0
    fields = list(accel.type)
    children = [pa.array(x) if f.name == 'x' else accel.field(f.name) for f in fields]
    bad = rows.set_column(
        rows.schema.get_field_index('acceleration'),
        'acceleration',
        pa.StructArray.from_arrays(children, fields=fields),
    )
    typestore, plans = TYPESTORES[Stores.ROS2_HUMBLE], PLANS[Stores.ROS2_HUMBLE]
    report = TopicReport('t', IMU)
    encoder = TopicEncoder('t', IMU, PickyImuAdapter(), typestore, None, plans=plans, report=report)
    out = encoder.encode(bad)
    assert encoder.columnar_rows == 0
    assert [i for i, payload in enumerate(out) if payload is None] == [3, 77]
    assert (report.received, report.stored) == (150, 148)
    good = TopicEncoder('t', IMU, PickyImuAdapter(), typestore, None, plans=plans)
    assert good.encode(rows) == TopicEncoder('t', IMU, PickyImuAdapter(), typestore, None).encode(
        rows
    )
    assert good.columnar_rows == 150


# -- export of a real bag -----------------------------------------------------------------------


@pytest.fixture(scope='module')
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    store = tmp_path_factory.mktemp('replay_columnar_store')
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as connected,
    ):
        yield connected


def raw_messages(path: Any) -> dict[str, list[tuple[int, bytes]]]:
    from rosbags.highlevel import AnyReader

    out: dict[str, list[tuple[int, bytes]]] = {}
    with AnyReader([path]) as reader:
        for conn, stamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((stamp, bytes(raw)))
    return out


@pytest.mark.parametrize(
    ('bag', 'msgtype'),
    [
        ('ros1/imu_tools_sparkfun_razor.bag', IMU),
        ('ros1/evo_ROS_example.bag', 'geometry_msgs/msg/PoseStamped'),
    ],
)
def test_export_takes_the_columnar_path_and_writes_what_messages_write(
    bag: str,
    msgtype: str,
    bags_dir: Any,
    client: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mosaico_ros.bags.export import export_sequence
    from mosaico_ros.bags.injector import InjectOptions, Injector

    sequence = re.sub(r'[^A-Za-z0-9_-]', '_', bag)
    Injector(client, InjectOptions(sequence=sequence)).inject(bags_dir / bag)
    columnar: dict[str, int] = {}
    encode = TopicEncoder.encode

    def counting(self: TopicEncoder, rows: pa.RecordBatch) -> list[bytes | None]:
        before = self.columnar_rows
        out = encode(self, rows)
        columnar[self.msgtype] = columnar.get(self.msgtype, 0) + self.columnar_rows - before
        return out

    def per_message(self: TopicEncoder, count: int) -> None:
        return None

    for out_name in ('out.bag', 'out.mcap'):
        with monkeypatch.context() as patch:
            patch.setattr(TopicEncoder, 'encode', counting)
            export_sequence(client, sequence, tmp_path / f'columns_{out_name}')
        with monkeypatch.context() as patch:
            patch.setattr(TopicEncoder, '_plan', per_message)
            export_sequence(client, sequence, tmp_path / f'messages_{out_name}')
        by_columns = raw_messages(tmp_path / f'columns_{out_name}')
        by_messages = raw_messages(tmp_path / f'messages_{out_name}')
        assert by_columns == by_messages
        assert sum(len(messages) for messages in by_columns.values()) > 1000
    assert columnar.get(msgtype, 0) > 1000
