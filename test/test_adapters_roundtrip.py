"""Every registered ROS type: realistic messages -> Arrow -> ROS, equal up to the conventions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import (
    APPROX,
    FIXES,
    ROS1_ONLY,
    MessageFactory,
    assert_close,
    fix_camera_info,
    fix_image,
    plain,
)

from mosaico_ros.adapters import SENTENCE_MSGDEF, AdapterError, default_registry, register_msgdef
from mosaico_ros.ontology import Message


@pytest.fixture(scope='module')
def typestore() -> Any:
    store = get_typestore(Stores.ROS2_HUMBLE)
    register_msgdef(store, 'nmea_msgs/msg/Sentence', SENTENCE_MSGDEF)
    return store


def test_registry_covers_the_63_sdk_types_and_ros1_tf() -> None:
    assert len(default_registry.msgtypes) == 63 + len(ROS1_ONLY)


@pytest.mark.parametrize('msgtype', sorted(default_registry.msgtypes))
def test_round_trip(msgtype: str, typestore: Any) -> None:
    if msgtype in ROS1_ONLY:
        typestore = get_typestore(Stores.ROS1_NOETIC)
        register_msgdef(typestore, msgtype, ROS1_ONLY[msgtype])
    factory = MessageFactory(typestore)
    fix = FIXES.get(msgtype, lambda msg, _: msg)
    msgs = [fix(factory.make(msgtype), factory) for _ in range(3)]
    adapter = default_registry.resolve(msgtype, typestore)

    built = adapter.to_arrow(msgs, msgtype)
    assert built.type == adapter.model.arrow_struct()
    assert len(built) == 3
    # what we build validates as the pydantic model too (the user-facing API)
    for row in built.to_pylist():
        adapter.model.from_dict(row)

    back = adapter.from_arrow(built, msgtype, typestore)
    assert [type(msg).__name__ for msg in back] == [type(msg).__name__ for msg in msgs]
    if msgtype in APPROX:
        assert_close(plain(back), plain(msgs))
    else:
        assert plain(back) == plain(msgs)
    for msg in back:
        assert typestore.serialize_cdr(msg, msgtype)


def test_to_message_is_one_row_of_the_batch(typestore: Any) -> None:
    factory = MessageFactory(typestore)
    msg = factory.make('sensor_msgs/msg/Imu')
    adapter = default_registry.for_msgtype('sensor_msgs/msg/Imu')
    assert adapter is not None
    message = adapter.to_message(msg, 'sensor_msgs/msg/Imu', 42)
    assert isinstance(message, Message)
    assert message.timestamp_ns == 42
    assert message.data.to_dict() == adapter.to_arrow([msg], 'sensor_msgs/msg/Imu').to_pylist()[0]


def test_conventions_on_empty_and_unknown_values(typestore: Any) -> None:
    factory = MessageFactory(typestore)
    imu = factory.make('sensor_msgs/msg/Imu')
    imu.header.stamp.sec = imu.header.stamp.nanosec = 0
    imu.header.frame_id = ''
    imu.orientation_covariance = np.array([-1.0] + [0.0] * 8)
    imu.angular_velocity_covariance = np.zeros(9)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/Imu')
    assert adapter is not None
    row = adapter.to_arrow([imu], 'sensor_msgs/msg/Imu').to_pylist()[0]
    assert row['header'] is None
    assert row['orientation'] is None
    assert row['angular_velocity']['covariance'] is None
    assert row['acceleration']['covariance'] == imu.linear_acceleration_covariance.tolist()
    back = adapter.from_arrow(
        adapter.to_arrow([imu], 'sensor_msgs/msg/Imu'), 'sensor_msgs/msg/Imu', typestore
    )[0]
    assert back.orientation_covariance.tolist() == [-1.0] * 9
    assert (back.orientation.x, back.orientation.w) == (0.0, 0.0)

    battery = factory.make(
        'sensor_msgs/msg/BatteryState', temperature=math.nan, cell_voltage=np.zeros(0, np.float32)
    )
    adapter = default_registry.for_msgtype('sensor_msgs/msg/BatteryState')
    assert adapter is not None
    row = adapter.to_arrow([battery], battery.__msgtype__).to_pylist()[0]
    assert row['temperature'] is None
    assert row['cell_voltage'] is None
    assert row['cell_temperature'] == pytest.approx(battery.cell_temperature.tolist())

    temperature = factory.make('sensor_msgs/msg/Temperature', temperature=20.0, variance=0.0)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/Temperature')
    assert adapter is not None
    row = adapter.to_arrow([temperature], temperature.__msgtype__).to_pylist()[0]
    assert row['value'] == pytest.approx(293.15)
    assert row['variance'] is None

    fix = factory.make('sensor_msgs/msg/NavSatFix', position_covariance=np.zeros(9))
    fix.status.status = -2
    adapter = default_registry.for_msgtype('sensor_msgs/msg/NavSatFix')
    assert adapter is not None
    row = adapter.to_arrow([fix], fix.__msgtype__).to_pylist()[0]
    assert row['status'] is None
    assert row['position']['covariance'] is None
    assert row['position']['covariance_type'] is None
    back = adapter.from_arrow(adapter.to_arrow([fix], fix.__msgtype__), fix.__msgtype__, typestore)[
        0
    ]
    assert (back.status.status, back.status.service) == (-1, 0)

    camera = factory.make('sensor_msgs/msg/CameraInfo', binning_x=1, binning_y=3)
    camera.roi.x_offset = camera.roi.y_offset = camera.roi.height = camera.roi.width = 0
    camera.roi.do_rectify = False
    adapter = default_registry.for_msgtype('sensor_msgs/msg/CameraInfo')
    assert adapter is not None
    row = adapter.to_arrow([camera], camera.__msgtype__).to_pylist()[0]
    assert row['binning'] is None
    assert row['roi'] is None


@pytest.mark.parametrize(
    ('fmt', 'codec'),
    [
        ('', 'png'),
        ('jpeg', 'jpeg'),
        ('rgb8; jpeg compressed bgr8', 'jpeg'),
        ('16UC1; compressedDepth png', 'png'),
        ('webp', 'raw'),
        ('bgr8; png compressed ', 'png'),
    ],
)
def test_compressed_image_format_strings(fmt: str, codec: str, typestore: Any) -> None:
    factory = MessageFactory(typestore)
    msg = factory.make('sensor_msgs/msg/CompressedImage', format=fmt)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/CompressedImage')
    assert adapter is not None
    row = adapter.to_arrow([msg], msg.__msgtype__).to_pylist()[0]
    assert row['format'] == codec
    assert row['data'] == msg.data.tobytes()


def test_ros1_header_seq_and_uppercase_camera_matrices() -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    factory = MessageFactory(store)
    camera = fix_camera_info(factory.make('sensor_msgs/msg/CameraInfo'), factory)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/CameraInfo')
    assert adapter is not None
    built = adapter.to_arrow([camera], camera.__msgtype__)
    row = built.to_pylist()[0]
    assert row['header']['sample_counter'] == camera.header.seq
    assert row['intrinsic_parameters'] == camera.K.tolist()
    assert row['distortion_parameters'] == camera.D.tolist()
    back = adapter.from_arrow(built, camera.__msgtype__, store)[0]
    assert back.header.seq == 0
    assert back.P.tolist() == camera.P.tolist()
    camera.header.seq = 0
    assert plain(back) == plain(camera)


def test_image_edge_cases(typestore: Any) -> None:
    factory = MessageFactory(typestore)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/Image')
    assert adapter is not None
    empty = factory.make(
        'sensor_msgs/msg/Image',
        height=0,
        width=0,
        step=0,
        data=np.zeros(0, np.uint8),
        is_bigendian=0,
    )
    built = adapter.to_arrow([empty], empty.__msgtype__)
    assert built[0].as_py()['format'] == 'raw'
    assert plain(adapter.from_arrow(built, empty.__msgtype__, typestore)) == plain([empty])
    short = fix_image(factory.make('sensor_msgs/msg/Image'), factory)
    short.data = short.data[:5]
    with pytest.raises(AdapterError, match='data has 5 bytes, height\\*step is 18'):
        adapter.to_arrow([short], short.__msgtype__)
