"""Types a bag does not define are found in installed ROS interface packages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rosbags.rosbag2 import Writer
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.bags.injector import InjectOptions, Injector
from mosaico_ros.client import MosaicoClient
from mosaico_ros.pipeline.types import installed_share_dirs, register_installed

# Iron-and-later types, absent from the Humble stock store, with nested message fields.
MSGTYPE = 'type_description_interfaces/msg/TypeDescription'


@pytest.fixture
def client(server: Any) -> Iterator[MosaicoClient]:
    with MosaicoClient.connect('127.0.0.1', server.port) as connected:
        yield connected


def _bag_without_definitions(path: Path) -> None:
    """A rosbag2 sqlite3 bag whose db carries no message definition, as Humble's did."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    register_installed(store, [MSGTYPE], [])
    types = store.types
    description, individual, field, field_type = (
        types[MSGTYPE],
        types['type_description_interfaces/msg/IndividualTypeDescription'],
        types['type_description_interfaces/msg/Field'],
        types['type_description_interfaces/msg/FieldType'],
    )
    with Writer(path, version=9) as writer:
        connection = writer.add_connection('/type_descriptions', MSGTYPE, typestore=store)
        for index in range(5):
            message = description(
                type_description=individual(
                    type_name=f'demo_msgs/msg/Thing{index}',
                    fields=[
                        field(
                            name='value',
                            type=field_type(
                                type_id=index, capacity=0, string_capacity=0, nested_type_name=''
                            ),
                            default_value='',
                        ),
                    ],
                ),
                referenced_type_descriptions=[],
            )
            writer.write(connection, 1_000 + index, store.serialize_cdr(message, MSGTYPE))
    (database,) = path.glob('*.db3')
    with sqlite3.connect(database) as db:
        db.execute('DELETE FROM message_definitions')


def test_definition_from_installed_package(client: MosaicoClient, tmp_path: Path) -> None:
    if not installed_share_dirs():
        pytest.skip('no installed ROS interface packages (install the [ros] extra)')
    bag = tmp_path / 'no_definitions'
    _bag_without_definitions(bag)

    report = Injector(client, InjectOptions(sequence='installed')).inject(bag)

    assert report.stored == 5, report.problems()
    handler = client.topic_handler('installed', '/type_descriptions')
    assert handler is not None
    assert handler.ontology_tag == f'ros:{MSGTYPE}'
    rows = [batch.to_pylist() for batch in handler.iter_batches()]
    flat = [row for batch in rows for row in batch]
    assert [row['type_description']['type_name'] for row in flat] == [
        f'demo_msgs/msg/Thing{i}' for i in range(5)
    ]
    assert [row['type_description']['fields'][0]['type']['type_id'] for row in flat] == list(
        range(5)
    )
