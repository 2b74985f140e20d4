"""Write with the real SDK, read back with the SDK and with raw Flight calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from test_server_helpers import (
    GPS_METADATA,
    IMU_METADATA,
    IMU_STEP,
    SEQUENCE_METADATA,
    T0,
    compressed_message,
    connect,
    gps_message,
    image_message,
    imu_message,
    imu_tuple,
    sdk,
    write_drive,
)

from mosaico_ros.server import EmbeddedServer

IMU_ROWS, GPS_ROWS, IMAGES = 2000, 600, 20


@pytest.fixture(scope='module')
def drive(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server holding sequence `drive` written by the SDK; shared by the module."""
    store = tmp_path_factory.mktemp('roundtrip') / 'store'
    with EmbeddedServer(store, max_message_size=256 * 1024, chunk_max_bytes=128 * 1024) as server:
        client = connect(server.port)
        write_drive(client, 'drive', IMU_ROWS, GPS_ROWS, IMAGES)
        yield server, client
        client.close()


def raw_client(server: EmbeddedServer) -> flight.FlightClient:
    return flight.connect(server.location)


def action(client: flight.FlightClient, name: str, body: dict[str, Any]) -> Any:
    results = [
        r.body.to_pybytes()
        for r in client.do_action(flight.Action(name, json.dumps(body).encode()))
    ]
    envelope = json.loads(b''.join(results))
    return envelope.get('response')


def test_info_and_listing(drive: Any) -> None:
    server, client = drive
    info = client.info()
    assert info.version == '0.7.0'
    with raw_client(server) as raw:
        response = action(raw, 'info', {})
        assert response['config']['grpc_max_decode_message_size'] == 256 * 1024
        assert response['semver'] == {'major': 0, 'minor': 7, 'patch': 0, 'pre': None}
        paths = [info.descriptor.path for info in raw.list_flights()]
    assert paths == [[b'drive']]
    assert client.list_sequences() == ['drive']


def test_sequence_handler_properties(drive: Any) -> None:
    _, client = drive
    handler = client.sequence_handler('drive')
    assert handler.name == 'drive'
    assert handler.user_metadata == SEQUENCE_METADATA
    assert sorted(handler.topics) == ['/camera/jpeg', '/camera/raw', '/sensors/gps', '/sensors/imu']
    assert handler.timestamp_ns_min == T0
    assert handler.timestamp_ns_max == T0 + (IMU_ROWS - 1) * IMU_STEP
    assert len(handler.sessions) == 1
    assert handler.total_size_bytes > 0
    imu = client.topic_handler('drive', '/sensors/imu')
    assert imu.user_metadata == IMU_METADATA
    assert imu.ontology_tag == 'IMU'
    assert imu.locked is True
    assert imu.chunks_number is not None
    assert imu.chunks_number > 1
    gps = client.topic_handler('drive', 'sensors/gps')
    assert gps.user_metadata == GPS_METADATA
    assert gps.timestamp_ns_max == T0 + (GPS_ROWS - 1) * 30_000_000


def test_full_read_is_identical_and_merged(drive: Any) -> None:
    _, client = drive
    handler = client.sequence_handler('drive')
    seen: dict[str, list[Any]] = {}
    last = -1
    for topic, message in handler.get_data_streamer():
        assert message.timestamp_ns >= last
        last = message.timestamp_ns
        seen.setdefault(topic, []).append(message)
    assert {k: len(v) for k, v in seen.items()} == {
        '/sensors/imu': IMU_ROWS,
        '/sensors/gps': GPS_ROWS,
        '/camera/raw': IMAGES,
        '/camera/jpeg': IMAGES,
    }
    assert [imu_tuple(m) for m in seen['/sensors/imu']] == [
        imu_tuple(imu_message(i)) for i in range(IMU_ROWS)
    ]
    gps = seen['/sensors/gps'][7].data
    assert gps.position.x == pytest.approx(gps_message(7).data.position.x)
    assert gps.status.satellites == gps_message(7).data.status.satellites
    assert seen['/camera/raw'][3].data.data == image_message(3).data.data
    assert seen['/camera/jpeg'][5].data.data == compressed_message(5).data.data
    assert type(seen['/camera/raw'][0].data).__name__ == 'Image'


def test_window_start_inclusive_end_exclusive(drive: Any) -> None:
    _, client = drive
    handler = client.sequence_handler('drive')
    start, end = T0 + 1_000_000_000, T0 + 1_500_000_000
    streamer = handler.get_data_streamer(
        topics=['/sensors/imu', '/sensors/gps'],
        start_timestamp_ns=start,
        end_timestamp_ns=end,
    )
    rows = list(streamer)
    imu = [m for t, m in rows if t == '/sensors/imu']
    gps = [m for t, m in rows if t == '/sensors/gps']
    assert {t for t, _ in rows} == {'/sensors/imu', '/sensors/gps'}
    assert len(imu) == 50
    assert len(gps) == 16
    assert imu[0].timestamp_ns == start
    assert imu[-1].timestamp_ns == end - IMU_STEP
    assert [m.timestamp_ns for _, m in rows] == sorted(m.timestamp_ns for _, m in rows)
    topic = client.topic_handler('drive', '/sensors/imu')
    tail = list(topic.get_data_streamer(start_timestamp_ns=T0 + (IMU_ROWS - 5) * IMU_STEP))
    assert [imu_tuple(m) for m in tail] == [
        imu_tuple(imu_message(i)) for i in range(IMU_ROWS - 5, IMU_ROWS)
    ]


def test_raw_flight_info_schema_and_batches(drive: Any) -> None:
    server, _ = drive
    start, end = T0 + 100 * IMU_STEP, T0 + 1200 * IMU_STEP
    command = json.dumps(
        {
            'resource_locator': 'drive/sensors/imu',
            'timestamp_ns_start': start,
            'timestamp_ns_end': end,
        }
    ).encode()
    with raw_client(server) as raw:
        info = raw.get_flight_info(flight.FlightDescriptor.for_command(command))
        meta = json.loads(info.endpoints[0].app_metadata)
        assert meta['time_window_info'] == {
            'interval': {'start_ns': start, 'end_ns': end - IMU_STEP},
            'row_count': 1100,
        }
        assert meta['data_info']['total_row_count'] == IMU_ROWS
        assert meta['data_info']['interval'] == {
            'start_ns': T0,
            'end_ns': T0 + (IMU_ROWS - 1) * IMU_STEP,
        }
        assert meta['locked'] is True
        assert meta['serialization_format'] == 'default'
        reader = raw.do_get(info.endpoints[0].ticket)
        batches = [chunk.data for chunk in reader]
        schema = raw.get_schema(flight.FlightDescriptor.for_command(command)).schema
        image_info = raw.get_flight_info(
            flight.FlightDescriptor.for_command(
                json.dumps({'resource_locator': 'drive/camera/raw'}).encode()
            )
        )
        assert json.loads(image_info.endpoints[0].app_metadata)['serialization_format'] == 'image'
        unwindowed = json.loads(image_info.endpoints[0].app_metadata)
        assert 'time_window_info' not in unwindowed
    assert all(batch.num_rows for batch in batches)
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 1100
    assert table.column('timestamp_ns')[0].as_py() == start
    from mosaico_ros.server.schemas import builtin_schema

    assert schema.equals(builtin_schema('IMU'), check_metadata=True)
    assert table.schema.equals(builtin_schema('IMU'), check_metadata=True)


def test_unsorted_upload_multi_chunk_merge(tmp_path: Path) -> None:
    """Rows pushed out of order across several chunks come back sorted and complete."""
    mc = sdk()
    with EmbeddedServer(
        tmp_path / 'store', max_message_size=64 * 1024, chunk_max_bytes=16 * 1024
    ) as server:
        client = connect(server.port)
        order = [(i * 7919) % 1500 for i in range(1500)]
        with client.sequence_create('shuffled', {}) as writer:
            imu = writer.topic_create('imu', {}, mc.IMU)
            for index in order:
                imu.push(imu_message(index))
        handler = client.topic_handler('shuffled', 'imu')
        assert handler.chunks_number > 3
        rows = list(handler.get_data_streamer())
        assert [m.timestamp_ns for m in rows] == [T0 + i * IMU_STEP for i in range(1500)]
        assert [imu_tuple(m) for m in rows[:50]] == [imu_tuple(imu_message(i)) for i in range(50)]
        window = list(handler.get_data_streamer(T0 + 333 * IMU_STEP, T0 + 777 * IMU_STEP))
        assert [m.timestamp_ns for m in window] == [T0 + i * IMU_STEP for i in range(333, 777)]
        client.close()


def test_restart_keeps_data(tmp_path: Path) -> None:
    store = tmp_path / 'store'
    with EmbeddedServer(store) as server:
        client = connect(server.port)
        write_drive(client, 'kept', imu=300, gps=100, images=5)
        before = [
            (t, m.timestamp_ns) for t, m in client.sequence_handler('kept').get_data_streamer()
        ]
        client.close()
    with EmbeddedServer(store) as server:
        client = connect(server.port)
        assert client.list_sequences() == ['kept']
        handler = client.sequence_handler('kept')
        assert handler.user_metadata == SEQUENCE_METADATA
        after = [(t, m.timestamp_ns) for t, m in handler.get_data_streamer()]
        client.close()
    assert after == before
    assert len(after) == 300 + 100 + 5 + 5


def test_empty_topic_and_custom_tag(server: EmbeddedServer) -> None:
    """A zero-batch stream is legal; an unknown tag keeps the first schema it gets."""
    schema = pa.schema(
        [
            pa.field('timestamp_ns', pa.int64(), nullable=False),
            pa.field('ticks', pa.list_(pa.int32())),
            pa.field('label', pa.string(), metadata={'description': 'why'}),
        ]
    )
    with raw_client(server) as raw:
        action(raw, 'sequence_create', {'locator': '/custom/', 'user_metadata': {}})
        session = action(raw, 'session_create', {'locator': 'custom'})
        uuids = {}
        for name in ('ticks', 'empty'):
            uuids[name] = action(
                raw,
                'topic_create',
                {
                    'session_uuid': session['uuid'],
                    'locator': f'custom/{name}',
                    'serialization_format': 'default',
                    'ontology_tag': 'EncoderTicks',
                    'user_metadata': {},
                },
            )['uuid']
        batch = pa.record_batch(
            [
                pa.array([30, 10, 20], pa.int64()),
                pa.array([[3], [1, 1], []], pa.list_(pa.int32())),
                pa.array(['c', 'a', 'b']),
            ],
            schema=schema,
        )
        for name, batches in (('ticks', [batch]), ('empty', [])):
            descriptor = flight.FlightDescriptor.for_command(
                json.dumps(
                    {'resource_locator': f'custom/{name}', 'topic_uuid': uuids[name]}
                ).encode()
            )
            writer, _ = raw.do_put(descriptor, schema)
            for item in batches:
                writer.write_batch(item)
            writer.close()
        action(raw, 'session_finalize', {'session_uuid': session['uuid']})
        info = raw.get_flight_info(
            flight.FlightDescriptor.for_command(b'{"resource_locator": "custom"}')
        )
        meta = {json.loads(e.app_metadata)['resource_locator']: e for e in info.endpoints}
        empty = json.loads(meta['custom/empty'].app_metadata)
        assert empty['data_info'] == {
            'total_bytes': 0,
            'total_chunks_count': 0,
            'total_row_count': 0,
            'interval': None,
        }
        table = raw.do_get(meta['custom/ticks'].ticket).read_all()
        assert raw.do_get(meta['custom/empty'].ticket).read_all().num_rows == 0
    assert table.schema.equals(schema, check_metadata=True)
    assert table.to_pydict() == {
        'timestamp_ns': [10, 20, 30],
        'ticks': [[1, 1], [], [3]],
        'label': ['a', 'b', 'c'],
    }
