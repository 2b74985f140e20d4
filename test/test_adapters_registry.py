"""Adapter registry: decorator, overrides, module and entry-point loading, reverse choice."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.adapters import (
    AdapterNotFoundError,
    AdapterRegistrationError,
    AdapterRegistry,
    GenericAdapter,
    LidarAdapter,
    RosAdapter,
    default_registry,
    normalize_msgtype,
    register_adapter,
)
from mosaico_ros.adapters.std_msgs import Floating64StdAdapter
from mosaico_ros.ontology import Floating64, Temperature

USER_MODULE = '''
from mosaico_ros.adapters import RosAdapter, register_adapter
from mosaico_ros.adapters.std_msgs import _DataAdapter
from mosaico_ros.ontology import Floating32


class {name}(_DataAdapter):
    """Float32 as the plain data adapter, registered under a user name."""

    ros_types = ('std_msgs/msg/Float32',)
    model = Floating32
'''


@pytest.fixture
def typestore() -> Any:
    return get_typestore(Stores.ROS2_HUMBLE)


@pytest.fixture
def registry() -> AdapterRegistry:
    fresh = AdapterRegistry()
    for adapter_cls in default_registry:
        fresh.register(adapter_cls)
    return fresh


def test_normalize_msgtype() -> None:
    assert normalize_msgtype('sensor_msgs/Imu') == 'sensor_msgs/msg/Imu'
    assert normalize_msgtype('sensor_msgs.msg.Imu') == 'sensor_msgs/msg/Imu'
    assert normalize_msgtype('sensor_msgs/msg/Imu') == 'sensor_msgs/msg/Imu'


def test_lookups(registry: AdapterRegistry) -> None:
    imu = registry.for_msgtype('sensor_msgs/Imu')
    assert imu is not None
    assert imu.tag == 'IMU'
    assert registry.for_tag('IMU') is imu
    assert registry.for_msgtype('geometry_msgs/msg/PoseStamped') is registry.for_tag('Pose')
    assert registry.for_msgtype('sensor_msgs/msg/Range') is None
    # opt-in adapters are reachable by name and tag, never by type
    cloud = registry.for_msgtype('sensor_msgs/msg/PointCloud2')
    assert cloud is not None
    assert cloud.tag == 'PointCloud2'
    assert isinstance(registry.by_name('Lidar'), LidarAdapter)
    assert isinstance(registry.by_name('LidarAdapter'), LidarAdapter)
    with pytest.raises(AdapterNotFoundError, match='Lidr'):
        registry.by_name('Lidr')


def test_resolve_override_and_fallback(registry: AdapterRegistry, typestore: Any) -> None:
    cloud = 'sensor_msgs/msg/PointCloud2'
    overrides = {'/points': 'Lidar'}
    assert isinstance(
        registry.resolve(cloud, typestore, topic='/points', overrides=overrides), LidarAdapter
    )
    assert registry.resolve(cloud, typestore, topic='/other', overrides=overrides).tag == (
        'PointCloud2'
    )
    assert registry.resolve(cloud, typestore, topic='/x', overrides={'/x': 'Radar'}).tag == 'Radar'
    with pytest.raises(AdapterNotFoundError, match='/imu'):
        registry.resolve(
            'sensor_msgs/msg/Imu', typestore, topic='/imu', overrides={'/imu': 'Lidar'}
        )

    generic = registry.resolve('sensor_msgs/msg/Range', typestore)
    assert isinstance(generic, GenericAdapter)
    with pytest.raises(AdapterNotFoundError, match='nope_msgs/msg/Thing'):
        registry.resolve('nope_msgs/msg/Thing', typestore, topic='/t')


def test_decorator_overrides_builtin(registry: AdapterRegistry, typestore: Any) -> None:
    @registry.register
    class KelvinFloat(RosAdapter):
        ros_types = ('std_msgs/msg/Float64',)
        model = Temperature

        def to_arrow(self, msgs: Any, msgtype: str) -> pa.StructArray:
            values = pa.array([m.data + 273.15 for m in msgs], pa.float64())
            return pa.StructArray.from_arrays(
                [
                    pa.nulls(len(msgs), pa.float64()),
                    pa.nulls(len(msgs), pa.int16()),
                    pa.nulls(len(msgs), self.struct_type.field('header').type),
                    values,
                ],
                fields=list(self.struct_type),
            )

    adapter = registry.resolve('std_msgs/msg/Float64', typestore)
    assert isinstance(adapter, KelvinFloat)
    msg = typestore.types['std_msgs/msg/Float64'](data=1.0)
    assert adapter.to_arrow([msg], 'std_msgs/msg/Float64').field('value').to_pylist() == [274.15]
    # the built-in stays available by name
    assert isinstance(registry.by_name('Floating64StdAdapter'), Floating64StdAdapter)

    with pytest.raises(AdapterRegistrationError, match='ros_types'):
        registry.register(type('NoTypes', (RosAdapter,), {'model': Floating64}))
    with pytest.raises(AdapterRegistrationError, match='pkg/msg/Name'):
        registry.register(
            type(
                'Ros1Name', (RosAdapter,), {'model': Floating64, 'ros_types': ('std_msgs/Float64',)}
            )
        )


def test_register_adapter_uses_the_default_registry() -> None:
    assert register_adapter(Floating64StdAdapter) is Floating64StdAdapter
    assert default_registry.by_name('Floating64StdAdapter').tag == 'Floating64'


def test_load_module(
    registry: AdapterRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typestore: Any
) -> None:
    (tmp_path / 'my_adapters.py').write_text(USER_MODULE.format(name='MyFloatAdapter'))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'my_adapters', raising=False)
    registry.load_module('my_adapters')
    adapter = registry.resolve('std_msgs/msg/Float32', typestore)
    assert type(adapter).__name__ == 'MyFloatAdapter'
    msg = typestore.types['std_msgs/msg/Float32'](data=2.5)
    assert adapter.to_arrow([msg], 'std_msgs/msg/Float32').field('data').to_pylist() == [2.5]
    with pytest.raises(AdapterRegistrationError, match='no_such_module'):
        registry.load_module('no_such_module')


def test_entry_points(
    registry: AdapterRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typestore: Any
) -> None:
    (tmp_path / 'ep_adapters.py').write_text(
        USER_MODULE.format(name='EntryFloatAdapter')
        + textwrap.dedent("""
            def install(registry):
                registry.installed_by_hook = True
        """)
    )
    dist = tmp_path / 'ep_adapters-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: ep-adapters\nVersion: 1.0\n')
    (dist / 'entry_points.txt').write_text(
        '[mosaico_ros.adapters]\nfloats = ep_adapters:EntryFloatAdapter\n'
        'module = ep_adapters\nhook = ep_adapters:install\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'ep_adapters', raising=False)
    assert sorted(registry.load_entry_points()) == ['floats', 'hook', 'module']
    assert type(registry.resolve('std_msgs/msg/Float32', typestore)).__name__ == 'EntryFloatAdapter'
    assert registry.installed_by_hook is True


def test_resolve_reverse(registry: AdapterRegistry, typestore: Any) -> None:
    adapter, msgtype = registry.resolve_reverse(
        'Pose', {'_ros_': {'msgtype': 'geometry_msgs/msg/PoseWithCovarianceStamped'}}, typestore
    )
    assert (adapter.tag, msgtype) == ('Pose', 'geometry_msgs/msg/PoseWithCovarianceStamped')
    adapter, msgtype = registry.resolve_reverse('Velocity', {}, typestore)
    assert msgtype == 'geometry_msgs/msg/Twist'
    store = get_typestore(Stores.ROS2_HUMBLE)
    meta = {
        '_ros_': {'msgtype': 'custom_pkgs/msg/Blob', 'msgdef': 'string name\nuint8[] payload\n'}
    }
    adapter, msgtype = registry.resolve_reverse('ros:custom_pkgs/msg/Blob', meta, store)
    assert isinstance(adapter, GenericAdapter)
    assert msgtype == 'custom_pkgs/msg/Blob'
    rows = pa.array([{'name': 'a', 'payload': [1, 2]}], adapter.struct_type)
    msg = adapter.from_arrow(rows, msgtype, store)[0]
    assert (msg.name, msg.payload.tolist()) == ('a', [1, 2])
    assert msg.payload.dtype == np.uint8
    with pytest.raises(AdapterNotFoundError, match='Mystery'):
        registry.resolve_reverse('Mystery', None, store)


def test_topic_metadata_for_ros1_store() -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    adapter = default_registry.for_msgtype('sensor_msgs/msg/NavSatFix')
    assert adapter is not None
    meta = adapter.topic_metadata('sensor_msgs/NavSatFix', store)
    assert meta['msgtype'] == 'sensor_msgs/msg/NavSatFix'
    assert meta['enums']['COVARIANCE_TYPE_KNOWN'] == 3
    assert 'uint32 seq' in meta['msgdef']
    assert adapter.topic_metadata('sensor_msgs/msg/NavSatFix', store, 'given')['msgdef'] == 'given'
