"""Our adapters against the SDK-produced ROS vectors (same bag, same columns, same `_ros_`)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from mcap.reader import make_reader
from rosbags.typesys import Stores, get_typestore
from test_adapters_support import plain

from mosaico_ros.adapters import GenericAdapter, default_registry
from mosaico_ros.protocol import TIMESTAMP_COLUMN

BAG = 'sample_ros2_humble.mcap'
IMAGE = 'sensor_msgs/msg/Image'


@pytest.fixture(scope='module')
def ros_dir(spec_dir: Any) -> Any:
    return spec_dir / 'ontology' / 'vectors' / 'ros'


@pytest.fixture(scope='module')
def typestore() -> Any:
    return get_typestore(Stores.ROS2_HUMBLE)


@pytest.fixture(scope='module')
def bag_messages(ros_dir: Any, typestore: Any) -> dict[str, list[tuple[int, Any]]]:
    out: dict[str, list[tuple[int, Any]]] = {}
    with (ros_dir / BAG).open('rb') as stream:
        for schema, channel, message in make_reader(stream).iter_messages(log_time_order=True):
            decoded = typestore.deserialize_cdr(message.data, schema.name)
            out.setdefault(channel.topic, []).append((message.log_time, decoded))
    return out


def vector_entries() -> list[dict[str, Any]]:
    from conftest import SHARED

    index = SHARED / 'spec' / 'ontology' / 'vectors' / 'ros' / 'index.json'
    if not index.exists():
        return [{'topic': 'absent', 'arrow_file': 'absent'}]
    return json.loads(index.read_text())


@pytest.mark.parametrize('entry', vector_entries(), ids=lambda entry: entry['topic'])
def test_vector(
    entry: dict[str, Any],
    ros_dir: Any,
    typestore: Any,
    bag_messages: dict[str, list[tuple[int, Any]]],
) -> None:
    vector = json.loads((ros_dir / entry['arrow_file'].replace('.arrows', '.json')).read_text())
    with (ros_dir / entry['arrow_file']).open('rb') as stream:
        expected = ipc.open_stream(stream).read_all()
    msgtype = vector['ros_msgtype']
    adapter = default_registry.resolve(msgtype, typestore, topic=vector['topic'])
    timed = bag_messages[vector['topic']]

    # same record times the SDK used
    assert [t for t, _ in timed] == expected.column(TIMESTAMP_COLUMN).to_pylist()
    assert [t for t, _ in timed] == [item['bag_log_time_ns'] for item in vector['ros_input']]

    # the SDK packs Images as PNG; ours stores them raw unless told (both read back alike)
    packer = default_registry.by_name('PngImageAdapter') if msgtype == IMAGE else adapter
    built = packer.to_arrow([msg for _, msg in timed], msgtype)
    expected_data = expected.drop_columns([TIMESTAMP_COLUMN])
    assert built.type == pa.struct(list(expected_data.schema))
    if not isinstance(adapter, GenericAdapter):
        assert built.type == adapter.model.arrow_struct()
        assert adapter.tag == vector['topic_create_payload']['ontology_tag']
        assert type(adapter).__name__ == vector['adapter_class']
    else:
        assert vector['adapter_is_unmodeled']
        assert adapter.tag == 'ros:' + msgtype
    assert adapter.serialization_format == vector['topic_create_payload']['serialization_format']
    for name in expected_data.schema.names:
        assert built.field(name).to_pylist() == expected_data.column(name).to_pylist(), name

    meta = adapter.topic_metadata(msgtype, typestore)
    meta['source_file'] = BAG
    assert meta == vector['topic_create_payload']['user_metadata']['_ros_']

    back = adapter.from_arrow(expected, msgtype, typestore)
    assert [plain(msg) for msg in back] == [item['data'] for item in vector['to_ros']]
    assert all(item['ros_msgtype'] == msgtype for item in vector['to_ros'])
    # what we rebuild serializes: the player publishes these bytes
    for msg in back:
        assert typestore.serialize_cdr(msg, msgtype)
