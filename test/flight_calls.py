"""Raw Arrow Flight calls to a Mosaico server, for tests that speak the wire directly.

No tests here: helpers shared by the server tests that send bodies the SDK
never would.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from mosaico_ros.protocol import API_KEY_HEADER

TS = pa.field('timestamp_ns', pa.int64(), nullable=False)
CUSTOM = pa.schema([TS, pa.field('value', pa.float64())])
"""A custom topic schema: the timestamp and one float column."""


def options(api_key: str | None = None, timeout: float | None = None) -> flight.FlightCallOptions:
    """Call options carrying an API key header (none when `api_key` is None)."""
    headers = [(API_KEY_HEADER.encode(), api_key.encode())] if api_key is not None else None
    return flight.FlightCallOptions(headers=headers, timeout=timeout)


def call(client: flight.FlightClient, name: str, body: Any, api_key: str | None = None) -> Any:
    """Run one action; return its `response` (a list of them for paged actions)."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    results = [
        r.body.to_pybytes()
        for r in client.do_action(flight.Action(name, payload), options(api_key))
    ]
    if name.startswith('topic_filter_'):
        return [json.loads(result)['response'] for result in results]
    joined = b''.join(results)
    return json.loads(joined).get('response') if joined else None


def open_session(client: flight.FlightClient, name: str = 'seq', api_key: str | None = None) -> str:
    """Create a sequence and return the uuid of its first session."""
    call(client, 'sequence_create', {'locator': name, 'user_metadata': {}}, api_key)
    return str(call(client, 'session_create', {'locator': name}, api_key)['uuid'])


def new_topic(
    client: flight.FlightClient,
    session: str,
    locator: str,
    tag: str = 'Custom',
    api_key: str | None = None,
) -> str:
    """Create a topic in a session and return its uuid."""
    body = {
        'session_uuid': session,
        'locator': locator,
        'serialization_format': 'default',
        'ontology_tag': tag,
        'user_metadata': {},
    }
    return str(call(client, 'topic_create', body, api_key)['uuid'])


def rows(schema: pa.Schema, count: int, first: int = 0) -> pa.RecordBatch:
    """`count` rows of a CUSTOM-like schema: timestamps first.. and float values."""
    columns = [pa.array(range(first, first + count), pa.int64())] + [
        pa.array([float(i) for i in range(first, first + count)]) for _ in schema.names[1:]
    ]
    return pa.record_batch(columns, schema=schema)


def put(
    client: flight.FlightClient,
    locator: str,
    uuid: str,
    schema: pa.Schema = CUSTOM,
    count: int = 3,
    api_key: str | None = None,
) -> None:
    """Upload `count` rows to a topic in one DoPut stream and close it cleanly."""
    command = json.dumps({'resource_locator': locator, 'topic_uuid': uuid}).encode()
    writer, _ = client.do_put(
        flight.FlightDescriptor.for_command(command), schema, options(api_key)
    )
    if count:
        writer.write_batch(rows(schema, count))
    writer.close()


def ticket(locator: str, start_ns: int | None = None, end_ns: int | None = None) -> flight.Ticket:
    """A DoGet ticket of the embedded server."""
    document = {'locator': locator, 'start_ns': start_ns, 'end_ns': end_ns}
    return flight.Ticket(json.dumps(document).encode())


def resource(locator: str) -> flight.FlightDescriptor:
    """A GetFlightInfo / GetSchema descriptor."""
    return flight.FlightDescriptor.for_command(json.dumps({'resource_locator': locator}).encode())
