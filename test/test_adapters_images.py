"""Image storage formats: raw by default, PNG-packed on request, and both read back alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import MessageFactory, fix_image, plain

from mosaico_ros.adapters import default_registry
from mosaico_ros.adapters.sensor_msgs import (
    ImageAdapter,
    PngImageAdapter,
    use_image_format,
)
from mosaico_ros.cli import main
from mosaico_ros.demo.recording import IMAGE_TOPIC, RecordingSpec, write_recording

IMAGE = 'sensor_msgs/msg/Image'


@pytest.fixture(scope='module')
def typestore() -> Any:
    return get_typestore(Stores.ROS2_HUMBLE)


def images(typestore: Any) -> list[Any]:
    factory = MessageFactory(typestore)
    msgs = [fix_image(factory.make(IMAGE), factory) for _ in range(3)]
    msgs[1].height = msgs[1].step = 0  # an empty image stays raw in both formats
    msgs[1].data = np.zeros(0, np.uint8)
    return msgs


@pytest.mark.parametrize(
    ('adapter', 'packed'), [(ImageAdapter(), 'raw'), (PngImageAdapter(), 'png')]
)
def test_each_format_stores_and_restores_the_exact_buffers(
    adapter: ImageAdapter, packed: str, typestore: Any
) -> None:
    msgs = images(typestore)
    rows = adapter.to_arrow(msgs, IMAGE)
    assert rows.field('format').to_pylist() == [packed, 'raw', packed]
    if packed == 'raw':
        assert rows.field('data').to_pylist()[0] == msgs[0].data.tobytes()
    else:
        assert rows.field('data').to_pylist()[0].startswith(b'\x89PNG')
    back = adapter.from_arrow(rows, IMAGE, typestore)
    assert plain(back) == plain(msgs)
    # either adapter reads either format back
    other = PngImageAdapter() if packed == 'raw' else ImageAdapter()
    assert plain(other.from_arrow(rows, IMAGE, typestore)) == plain(msgs)


def test_the_registry_switches_format_only_when_asked() -> None:
    registry = default_registry.copy()
    use_image_format(registry, 'raw')
    assert type(registry.for_msgtype(IMAGE)) is ImageAdapter
    use_image_format(registry, 'png')
    assert type(registry.for_msgtype(IMAGE)) is PngImageAdapter
    assert type(default_registry.for_msgtype(IMAGE)) is ImageAdapter

    class MyImageAdapter(ImageAdapter):
        pass

    mine = default_registry.copy()
    mine.register(MyImageAdapter)
    use_image_format(mine, 'raw')
    assert type(mine.for_msgtype(IMAGE)) is MyImageAdapter, (
        'the default format keeps a user adapter'
    )


def test_inject_image_format_option(tmp_path: Path) -> None:
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    spec = RecordingSpec(duration_s=1.0, imu_hz=0, joints_hz=0, tf_hz=0, gps_hz=0)
    bag = write_recording(tmp_path / 'camera', 'mcap', spec).path
    store = tmp_path / 'store'
    for name, option in (('raw', []), ('png', ['--image-format', 'png'])):
        result = CliRunner().invoke(
            main, ['inject', str(bag), '--store', str(store), '--sequence', name, *option]
        )
        assert result.exit_code == 0, result.output
    with (
        EmbeddedServer(store, host='127.0.0.1', port=0) as server,
        MosaicoClient.connect('127.0.0.1', server.port) as client,
    ):
        for name in ('raw', 'png'):
            handler = client.topic_handler(name, IMAGE_TOPIC)
            table = pa.Table.from_batches(list(handler.iter_batches()))
            assert set(table.column('format').to_pylist()) == {name}
