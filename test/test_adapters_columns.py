"""Every adapter makes the same rows from columns as from message objects.

The pipeline hands a columnar adapter the struct `mosaico_ros.codec.decode`
makes of a batch of payloads, where it used to hand it the messages rosbags
decodes from the same payloads. For every adapter of the registry (opt-in
ones too) and every ROS type it handles, in ROS 2 CDR and ROS 1, both must
give equal rows, or both reject the batch with the same error: on realistic
messages (the round-trip tests' factory), on random ones (hypothesis, which
also draws empty strings and arrays, NaN and out-of-range values), and on a
slice of a batch (columns that do not start at row 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rosbags.typesys import Stores, get_typestore
from test_adapters_pointcloud import make_cloud
from test_adapters_support import FIXES, ROS1_ONLY, MessageFactory
from test_codec_support import (
    SETTINGS,
    MessageStrategies,
    assert_same_columns,
    batch,
    deserialize,
    serialize,
)

from mosaico_ros.adapters import (
    SENTENCE_MSGDEF,
    PointCloudColumnsAdapter,
    RosAdapter,
    default_registry,
    register_msgdef,
)
from mosaico_ros.codec import compile_plan, decode
from mosaico_ros.pipeline.conversion import REJECTIONS


def _typestore(store: Stores) -> Any:
    typestore = get_typestore(store)
    register_msgdef(typestore, 'nmea_msgs/msg/Sentence', SENTENCE_MSGDEF)
    if store == Stores.ROS1_NOETIC:
        for msgtype, text in ROS1_ONLY.items():
            register_msgdef(typestore, msgtype, text)
    return typestore


TYPESTORES = {store: _typestore(store) for store in (Stores.ROS2_HUMBLE, Stores.ROS1_NOETIC)}


def _cases() -> list[Any]:
    cases = []
    for adapter_cls in default_registry:
        for msgtype in adapter_cls.ros_types:
            for store, typestore in TYPESTORES.items():
                if msgtype in typestore.fielddefs:
                    cases.append(
                        pytest.param(
                            adapter_cls,
                            msgtype,
                            store,
                            id=f'{adapter_cls.__name__}-{msgtype}-{store.value}',
                        )
                    )
    return cases


CASES = _cases()


def test_every_registered_type_is_covered_in_both_serializations() -> None:
    covered = {(case.values[1], case.values[2]) for case in CASES}
    for msgtype in default_registry.msgtypes:
        assert (msgtype, Stores.ROS2_HUMBLE) in covered or msgtype in ROS1_ONLY, msgtype
    assert sum(store == Stores.ROS1_NOETIC for _, store in covered) > 40
    assert all(adapter_cls.columnar for adapter_cls in default_registry)


def convert(adapter: RosAdapter, msgs: Any, msgtype: str) -> pa.Array | str:
    """The adapter's rows, or the name of the rejection it raises."""
    try:
        return adapter.to_arrow(msgs, msgtype)
    except REJECTIONS as err:
        return type(err).__name__


def assert_parity(
    adapter_cls: type[RosAdapter], msgtype: str, store: Stores, msgs: list[Any]
) -> None:
    """Columns and objects of the same payloads convert alike, whole and sliced."""
    typestore = TYPESTORES[store]
    ros1 = store == Stores.ROS1_NOETIC
    payloads = [serialize(typestore, msg, msgtype, 'ros1' if ros1 else 'le') for msg in msgs]
    decoded = decode(compile_plan(typestore, msgtype, ros1=ros1), *batch(payloads))
    assert len(decoded.struct) == len(payloads), decoded.failures
    objects = [deserialize(typestore, data, msgtype, ros1) for data in payloads]
    adapter = default_registry.by_name(adapter_cls.__name__)
    for columns, objs in ((decoded.struct, objects), (decoded.struct[1:], objects[1:])):
        from_columns = convert(adapter, columns, msgtype)
        from_objects = convert(adapter, objs, msgtype)
        if isinstance(from_objects, str) or isinstance(from_columns, str):
            assert from_columns == from_objects
        else:
            assert from_columns.type == adapter.struct_type
            assert_same_columns(from_columns, from_objects)


def realistic(adapter_cls: type[RosAdapter], msgtype: str, store: Stores) -> list[Any]:
    typestore = TYPESTORES[store]
    if issubclass(adapter_cls, PointCloudColumnsAdapter) and store == Stores.ROS2_HUMBLE:
        xyz = np.arange(12, dtype=np.float32)
        return [
            make_cloud(typestore, {'x': xyz + k, 'y': xyz, 'z': -xyz, 'intensity': xyz * k})
            for k in range(4)
        ]
    factory = MessageFactory(typestore)
    fix = FIXES.get(msgtype, lambda msg, _: msg)
    return [fix(factory.make(msgtype), factory) for _ in range(4)]


@pytest.mark.parametrize(('adapter_cls', 'msgtype', 'store'), CASES)
def test_realistic_messages(adapter_cls: type[RosAdapter], msgtype: str, store: Stores) -> None:
    assert_parity(adapter_cls, msgtype, store, realistic(adapter_cls, msgtype, store))


STRATEGIES = {store: MessageStrategies(typestore) for store, typestore in TYPESTORES.items()}


@pytest.mark.parametrize(('adapter_cls', 'msgtype', 'store'), CASES)
@SETTINGS
@given(data=st.data())
def test_random_messages(
    adapter_cls: type[RosAdapter], msgtype: str, store: Stores, data: Any
) -> None:
    msgs = data.draw(st.lists(STRATEGIES[store].message(msgtype), min_size=1, max_size=4))
    assert_parity(adapter_cls, msgtype, store, msgs)


def test_conventions_hold_on_columns() -> None:
    """The edge values the conventions turn into nulls do so from columns too."""
    typestore = TYPESTORES[Stores.ROS2_HUMBLE]
    factory = MessageFactory(typestore)
    imu = factory.make('sensor_msgs/msg/Imu')
    imu.header.stamp.sec = imu.header.stamp.nanosec = 0
    imu.header.frame_id = ''
    imu.orientation_covariance = np.array([-1.0] + [0.0] * 8)
    battery = factory.make('sensor_msgs/msg/BatteryState', temperature=float('nan'))
    battery.cell_voltage = np.zeros(0, np.float32)
    stamped = factory.make('geometry_msgs/msg/TransformStamped', child_frame_id='')
    scan = factory.make('sensor_msgs/msg/LaserScan', intensities=np.zeros(0, np.float32))
    for msg in (imu, battery, stamped, scan):
        adapter_cls = type(default_registry.for_msgtype(msg.__msgtype__))
        assert_parity(adapter_cls, msg.__msgtype__, Stores.ROS2_HUMBLE, [msg, msg])
