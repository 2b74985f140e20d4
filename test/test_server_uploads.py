"""DoPut against session_finalize, and DoPut streams cut off before they end, driven many times."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, options, resource, rows, ticket

from mosaico_ros.server import EmbeddedServer

RACES = 120
CUTS = 24


@pytest.fixture
def raw(server: EmbeddedServer) -> Iterator[flight.FlightClient]:
    with flight.connect(server.location) as client:
        yield client


def visible_rows(raw: flight.FlightClient, locator: str) -> int | None:
    """Rows a reader gets from DoGet, None when the topic is not visible."""
    try:
        raw.get_flight_info(resource(locator))
    except (flight.FlightError, pa.ArrowException):
        return None
    return raw.do_get(ticket(locator)).read_all().num_rows


def put_command(locator: str, uuid: str) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(
        json.dumps({'resource_locator': locator, 'topic_uuid': uuid}).encode()
    )


def test_finalize_racing_a_starting_do_put_never_changes_a_finalized_session(
    server: EmbeddedServer, raw: flight.FlightClient
) -> None:
    """A finalize lands in the gap between a DoPut's checks and its registration."""
    chance = random.Random(9)
    violations: list[str] = []
    for attempt in range(RACES):
        sequence = f'race_{attempt}'
        session = open_session(raw, sequence)
        locator = f'{sequence}/data'
        uuid = new_topic(raw, session, locator)
        seen_after_finalize: list[int | None] = []
        put_failed: list[BaseException] = []

        def upload(locator: str = locator, uuid: str = uuid, out: list = put_failed) -> None:
            with flight.connect(server.location) as writer_client:
                try:
                    writer, _ = writer_client.do_put(put_command(locator, uuid), CUSTOM)
                    writer.write_batch(rows(CUSTOM, 10))
                    writer.close()
                except (flight.FlightError, pa.ArrowException) as err:
                    out.append(err)

        uploader = threading.Thread(target=upload)
        uploader.start()
        time.sleep(chance.random() * 0.004)
        try:
            call(raw, 'session_finalize', {'session_uuid': session})
        except (flight.FlightError, pa.ArrowException) as err:
            pytest.fail(f'finalize failed: {err}')
        seen_after_finalize.append(visible_rows(raw, locator))
        uploader.join(timeout=30)
        final = visible_rows(raw, locator)
        if final != seen_after_finalize[0]:
            violations.append(
                f'{sequence}: {seen_after_finalize[0]} rows at finalize, {final} later'
            )
        if put_failed and final:
            violations.append(f'{sequence}: the DoPut failed but {final} rows are visible')
        if not put_failed and final != 10:
            violations.append(f'{sequence}: the DoPut succeeded but {final} rows are visible')
    assert violations == []


def cut_upload(server: EmbeddedServer, locator: str, uuid: str, errors: list[str]) -> None:
    """Send 5 of 10 batches, then let the call's deadline cut the stream (no done_writing)."""
    with flight.connect(server.location) as client:
        writer, _ = client.do_put(put_command(locator, uuid), CUSTOM, options(timeout=0.4))
        for index in range(5):
            writer.write_batch(rows(CUSTOM, 4, first=index * 4))
        time.sleep(0.7)
        try:
            writer.close()
        except (flight.FlightError, pa.ArrowException) as err:
            errors.append(type(err).__name__)


def test_do_puts_cut_by_their_client_leave_no_rows(
    server: EmbeddedServer, raw: flight.FlightClient
) -> None:
    session = open_session(raw, 'cut')
    topics = [f'cut/topic_{index}' for index in range(CUTS)]
    uuids = [new_topic(raw, session, locator) for locator in topics]
    complete = new_topic(raw, session, 'cut/complete')
    errors: list[str] = []
    cutters = [
        threading.Thread(target=cut_upload, args=(server, locator, uuid, errors))
        for locator, uuid in zip(topics, uuids, strict=True)
    ]
    for cutter in cutters:
        cutter.start()
    writer, _ = raw.do_put(put_command('cut/complete', complete), CUSTOM)
    writer.write_batch(rows(CUSTOM, 7))
    writer.close()
    for cutter in cutters:
        cutter.join(timeout=30)
    assert len(errors) == CUTS, 'every cut writer must see its stream fail'
    call(raw, 'session_finalize', {'session_uuid': session})
    leaked = {locator: visible_rows(raw, locator) for locator in topics}
    assert {locator: count for locator, count in leaked.items() if count} == {}
    assert visible_rows(raw, 'cut/complete') == 7


KILLED_WRITER = """
import json, os, sys
import pyarrow as pa, pyarrow.flight as flight
client = flight.connect(sys.argv[1])
schema = pa.schema([pa.field('timestamp_ns', pa.int64(), nullable=False),
                    pa.field('value', pa.float64())])
command = json.dumps({'resource_locator': sys.argv[2], 'topic_uuid': sys.argv[3]}).encode()
writer, _ = client.do_put(flight.FlightDescriptor.for_command(command), schema)
for index in range(5):
    writer.write_batch(pa.record_batch(
        [pa.array([index], pa.int64()), pa.array([float(index)])], schema=schema))
print('SENT', flush=True)
sys.stdin.readline()
os._exit(0)
"""


def test_do_put_of_a_client_that_dies_is_a_failed_stream(
    server: EmbeddedServer, raw: flight.FlightClient, tmp_path: Path
) -> None:
    for attempt in range(3):
        sequence = f'killed_{attempt}'
        session = open_session(raw, sequence)
        uuid = new_topic(raw, session, f'{sequence}/data')
        process = subprocess.Popen(
            [sys.executable, '-c', KILLED_WRITER, server.location, f'{sequence}/data', uuid],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdin is not None
        assert process.stdout.readline().strip() == 'SENT'
        time.sleep(0.2)
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        process.stdin.close()
        call(raw, 'session_finalize', {'session_uuid': session})
        assert not visible_rows(raw, f'{sequence}/data')
