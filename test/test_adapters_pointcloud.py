"""Opt-in PointCloud2 adapters: the binary cloud decoded into per-field columns and back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.adapters import AdapterError, default_registry
from mosaico_ros.adapters.sensor_msgs import decode_cloud

CLOUD = 'sensor_msgs/msg/PointCloud2'


@pytest.fixture(scope='module')
def typestore() -> Any:
    return get_typestore(Stores.ROS2_HUMBLE)


def make_cloud(
    store: Any,
    columns: dict[str, np.ndarray],
    *,
    height: int = 1,
    big_endian: bool = False,
    row_pad: int = 0,
    frame: str = 'lidar',
) -> Any:
    """A cloud packed field after field, with 3 bytes of padding after each point."""
    codes = {
        np.dtype(t): c
        for c, t in {
            1: np.int8,
            2: np.uint8,
            3: np.int16,
            4: np.uint16,
            5: np.int32,
            6: np.uint32,
            7: np.float32,
            8: np.float64,
        }.items()
    }
    types = store.types
    order = '>' if big_endian else '<'
    names, formats, offsets, fields = [], [], [], []
    offset = 0
    for name, values in columns.items():
        names.append(name)
        formats.append(values.dtype.newbyteorder(order))
        offsets.append(offset)
        fields.append(
            types['sensor_msgs/msg/PointField'](
                name=name, offset=offset, datatype=codes[values.dtype], count=1
            )
        )
        offset += values.dtype.itemsize
    step = offset + 3
    points = len(next(iter(columns.values())))
    width = points // height
    packed = np.zeros(
        points, np.dtype({'names': names, 'formats': formats, 'offsets': offsets, 'itemsize': step})
    )
    for name, values in columns.items():
        packed[name] = values
    rows = packed.view(np.uint8).reshape(height, width * step)
    rows = np.hstack([rows, np.full((height, row_pad), 0xEE, np.uint8)])
    header = types['std_msgs/msg/Header'](
        stamp=types['builtin_interfaces/msg/Time'](sec=10, nanosec=20), frame_id=frame
    )
    return types[CLOUD](
        header=header,
        height=height,
        width=width,
        fields=fields,
        is_bigendian=big_endian,
        point_step=step,
        row_step=width * step + row_pad,
        data=rows.reshape(-1).copy(),
        is_dense=True,
    )


def lidar_columns(points: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        'x': rng.normal(size=points).astype(np.float32),
        'y': rng.normal(size=points).astype(np.float32),
        'z': rng.normal(size=points).astype(np.float32),
        'intensity': rng.integers(0, 255, points).astype(np.uint8),
        'ring': rng.integers(0, 64, points).astype(np.uint16),
        'reflectivity': rng.integers(0, 1000, points).astype(np.uint16),
        'point_timestamp': rng.random(points),
    }


@pytest.mark.parametrize(('big_endian', 'height', 'row_pad'), [(False, 1, 0), (True, 4, 5)])
def test_lidar_decodes_named_fields(
    typestore: Any, big_endian: bool, height: int, row_pad: int
) -> None:
    clouds = [lidar_columns(64, seed) for seed in range(3)]
    msgs = [
        make_cloud(typestore, cols, height=height, big_endian=big_endian, row_pad=row_pad)
        for cols in clouds
    ]
    adapter = default_registry.by_name('Lidar')
    built = adapter.to_arrow(msgs, CLOUD)
    assert built.type == adapter.model.arrow_struct()
    for i, cols in enumerate(clouds):
        row = built[i].as_py()
        assert row['header']['frame_id'] == 'lidar'
        assert row['x'] == cols['x'].tolist()
        assert row['intensity'] == cols['intensity'].astype(np.float32).tolist()
        assert row['reflectivity'] == cols['reflectivity'].tolist()
        assert row['point_timestamp'] == cols['point_timestamp'].tolist()
        # fields the model lacks are dropped, fields the cloud lacks are null
        assert row['beam_id'] is None
        assert 'ring' not in row

    back = adapter.from_arrow(built, CLOUD, typestore)
    for msg, cols in zip(back, clouds, strict=True):
        assert (msg.height, msg.width) == (1, 64)
        assert msg.header.frame_id == 'lidar'
        assert [f.name for f in msg.fields] == [
            'x',
            'y',
            'z',
            'intensity',
            'reflectivity',
            'point_timestamp',
        ]
        decoded = decode_cloud(msg, 'round trip')
        assert decoded['z'].tolist() == cols['z'].tolist()
        assert decoded['reflectivity'].tolist() == cols['reflectivity'].tolist()
        assert typestore.serialize_cdr(msg, CLOUD)


def test_other_opt_in_models(typestore: Any) -> None:
    cols = lidar_columns(10, 1)
    cols['rcs'] = np.linspace(0, 1, 10, dtype=np.float32)
    cols['rgb'] = np.linspace(0, 2, 10, dtype=np.float32)
    msg = make_cloud(typestore, cols)
    radar = default_registry.by_name('Radar').to_arrow([msg], CLOUD)[0].as_py()
    assert radar['rcs'] == cols['rcs'].tolist()
    rgbd = default_registry.by_name('RGBDCamera').to_arrow([msg], CLOUD)[0].as_py()
    assert rgbd['rgb'] == cols['rgb'].tolist()
    for name in ('ToFCamera', 'StereoCamera'):
        assert default_registry.by_name(name).to_arrow([msg], CLOUD)[0].as_py()['y'] == (
            cols['y'].tolist()
        )


def test_bad_clouds_name_the_message(typestore: Any) -> None:
    cols = lidar_columns(4, 0)
    del cols['z']
    lidar = default_registry.by_name('Lidar')
    with pytest.raises(AdapterError, match=r"message 0: LidarAdapter needs point fields \['z'\]"):
        lidar.to_arrow([make_cloud(typestore, cols)], CLOUD)
    msg = make_cloud(typestore, lidar_columns(4, 0))
    msg.data = msg.data[:10]
    with pytest.raises(AdapterError, match='message 0: data has 10 bytes'):
        lidar.to_arrow([msg], CLOUD)


def test_default_pointcloud_adapter_is_verbatim(typestore: Any) -> None:
    msg = make_cloud(typestore, lidar_columns(8, 3), row_pad=2)
    adapter = default_registry.for_msgtype(CLOUD)
    assert adapter is not None
    row = adapter.to_arrow([msg], CLOUD)[0].as_py()
    assert row['data'] == msg.data.tobytes()
    assert row['fields'][3] == {'name': 'intensity', 'offset': 12, 'datatype': 2, 'count': 1}
    back = adapter.from_arrow(adapter.to_arrow([msg], CLOUD), CLOUD, typestore)[0]
    assert back.data.tobytes() == msg.data.tobytes()
    assert back.row_step == msg.row_step
