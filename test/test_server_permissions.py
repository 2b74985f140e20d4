"""Every RPC against every kind of key: none, wrong, expired, revoked, read ... manage."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flight_calls import CUSTOM, call, new_topic, open_session, options, put, resource, rows, ticket

from mosaico_ros.server import EmbeddedServer
from mosaico_ros.server.keys import KeyStore
from mosaico_ros.server.tokens import new_token

LEVELS = ('read', 'write', 'delete', 'manage')
INVALID = ('none', 'wrong', 'expired', 'revoked')


@contextlib.contextmanager
def keyed_server(store: Path) -> Iterator[tuple[EmbeddedServer, dict[str, str | None]]]:
    """A server requiring keys, with `seq/x` stored, and one token of each kind."""
    keys = KeyStore(store)
    tokens: dict[str, str | None] = {level: keys.create(level)[0] for level in LEVELS}
    tokens['expired'] = keys.create('manage', expires_at_ns=time.time_ns() - 1)[0]
    revoked, status = keys.create('manage')
    keys.revoke(status.fingerprint)
    tokens['revoked'] = revoked
    tokens['wrong'] = new_token()
    tokens['none'] = None
    keys.close()
    with (
        EmbeddedServer(store, require_api_key=True) as server,
        flight.connect(server.location) as raw,
    ):
        manage = tokens['manage']
        session = open_session(raw, 'seq', manage)
        put(raw, 'seq/x', new_topic(raw, session, 'seq/x', api_key=manage), api_key=manage)
        call(raw, 'session_finalize', {'session_uuid': session}, manage)
        yield server, tokens


@pytest.fixture(scope='module')
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedServer, dict]]:
    with keyed_server(tmp_path_factory.mktemp('permissions')) as running:
        yield running


def action(
    name: str, body: dict[str, Any] | None
) -> Callable[[flight.FlightClient, str | None], Any]:
    def run(raw: flight.FlightClient, key: str | None) -> Any:
        document = {'locator': f's{uuid.uuid4().hex}'} if body is None else body
        return call(raw, name, document, key)

    return run


def do_put(raw: flight.FlightClient, key: str | None) -> None:
    command = json.dumps({'resource_locator': 'seq/x', 'topic_uuid': 'unknown'}).encode()
    writer, _ = raw.do_put(flight.FlightDescriptor.for_command(command), CUSTOM, options(key))
    writer.write_batch(rows(CUSTOM, 2))
    writer.close()


CLUSTER = {'locator': 'seq/x', 'clustering_dt_ns': 0, 'ontology': {}}
NOTE = {'notification_type': 'error', 'msg': 'm'}
ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ('info', 'read', {}),
    ('query', 'read', {}),
    ('topic_filter_clusterize', 'read', CLUSTER),
    ('topic_filter_intersect', 'read', {'topics': [CLUSTER]}),
    ('sequence_notification_list', 'read', {'locator': 'seq'}),
    ('topic_notification_list', 'read', {'locator': 'seq/x'}),
    ('sequence_create', 'write', None),
    ('session_create', 'write', {'locator': 'nope'}),
    ('topic_create', 'write', {'session_uuid': 'nope', 'locator': 'seq/y', 'ontology_tag': 'IMU'}),
    ('session_finalize', 'write', {'session_uuid': 'nope'}),
    ('sequence_notification_create', 'write', {'locator': 'nope', **NOTE}),
    ('topic_notification_create', 'write', {'locator': 'nope/x', **NOTE}),
    ('sequence_delete', 'delete', {'locator': 'nope'}),
    ('session_delete', 'delete', {'locator': 'nope:ABC'}),
    ('topic_delete', 'delete', {'locator': 'seq/nope'}),
    ('sequence_notification_purge', 'delete', {'locator': 'nope'}),
    ('topic_notification_purge', 'delete', {'locator': 'seq/nope'}),
    ('api_key_create', 'manage', {'permission': 'read'}),
    ('api_key_status', 'manage', {'api_key_fingerprint': 'nope'}),
    ('api_key_revoke', 'manage', {'api_key_fingerprint': 'nope'}),
    ('api_key_list', 'manage', {}),
    ('api_key_purge', 'manage', {'all': False}),
]
"""Actions, the level each needs, and a body (None: a new sequence name each time)."""

RPCS: list[tuple[str, str, Callable[[flight.FlightClient, str | None], Any]]] = [
    *((name, level, action(name, body)) for name, level, body in ACTIONS),
    ('ListFlights', 'read', lambda raw, key: list(raw.list_flights(options=options(key)))),
    ('GetFlightInfo', 'read', lambda raw, key: raw.get_flight_info(resource('seq'), options(key))),
    ('GetSchema', 'read', lambda raw, key: raw.get_schema(resource('seq/x'), options(key))),
    ('DoGet', 'read', lambda raw, key: raw.do_get(ticket('seq/x'), options(key)).read_all()),
    ('DoPut', 'write', do_put),
]


def expected(needed: str, key: str) -> str:
    if key in INVALID:
        return 'unauthenticated'
    return 'allowed' if LEVELS.index(key) >= LEVELS.index(needed) else 'denied'


def outcome(
    rpc: Callable[[flight.FlightClient, str | None], Any], raw: Any, key: str | None
) -> str:
    try:
        rpc(raw, key)
    except flight.FlightUnauthenticatedError:
        return 'unauthenticated'
    except flight.FlightUnauthorizedError:
        return 'denied'
    except flight.FlightInternalError:
        return 'internal error'
    except (flight.FlightError, pa.ArrowException):
        return 'allowed'
    except OSError as err:
        # pyarrow's FlightClient.get_schema raises OSError for every Flight status;
        # the status still ends the message.
        detail = str(err).rpartition('Detail: ')[2]
        return {'Unauthenticated': 'unauthenticated', 'Unauthorized': 'denied'}.get(
            detail, 'allowed'
        )
    return 'allowed'


def test_every_rpc_of_the_flight_service_is_in_the_matrix() -> None:
    from mosaico_ros.protocol import Action

    rpcs = {name for name, _, _ in RPCS}
    assert {action.value for action in Action} <= rpcs
    assert {'ListFlights', 'GetFlightInfo', 'GetSchema', 'DoGet', 'DoPut'} <= rpcs


@pytest.mark.parametrize('key', INVALID + LEVELS)
@pytest.mark.parametrize(('rpc_name', 'needed', 'rpc'), RPCS, ids=[r[0] for r in RPCS])
def test_permission_matrix(
    keyed: tuple[EmbeddedServer, dict], rpc_name: str, needed: str, rpc: Any, key: str
) -> None:
    server, tokens = keyed
    with flight.connect(server.location) as raw:
        assert outcome(rpc, raw, tokens[key]) == expected(needed, key)


def test_refusals_say_why(tmp_path: Path) -> None:
    with keyed_server(tmp_path) as (server, tokens), flight.connect(server.location) as raw:
        messages = {}
        for key in (*INVALID, 'read'):
            with pytest.raises(flight.FlightError) as caught:
                call(raw, 'sequence_delete', {'locator': 'seq'}, tokens[key])
            messages[key] = str(caught.value).split('. Detail')[0]
        assert list(raw.list_flights(options=options(tokens['read'])))
    assert tokens['expired'] is not None
    assert tokens['revoked'] is not None
    fingerprint = tokens['expired'].rpartition('_')[2]
    assert messages == {
        'none': 'missing API key: send it in the mosaico-api-key-token header (--api-key)',
        'wrong': 'unknown API key',
        'expired': f'API key {fingerprint} is expired',
        'revoked': f'API key {tokens["revoked"].rpartition("_")[2]} is revoked',
        'read': "action 'sequence_delete' needs delete permission; this API key has read",
    }


def test_revocation_and_expiry_take_effect_at_once(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    manage, _ = keys.create('manage')
    keys.close()
    with (
        EmbeddedServer(tmp_path, require_api_key=True) as server,
        flight.connect(server.location) as raw,
    ):
        created = call(raw, 'api_key_create', {'permission': 'read', 'description': 'ci'}, manage)
        reader, fingerprint = created['api_key_token'], created['api_key']['api_key_fingerprint']
        assert reader.endswith(f'_{fingerprint}')
        assert call(raw, 'query', {}, reader) == {'items': []}
        call(raw, 'api_key_revoke', {'api_key_fingerprint': fingerprint}, manage)
        with pytest.raises(flight.FlightUnauthenticatedError, match='revoked'):
            call(raw, 'query', {}, reader)
        soon = time.time_ns() + 300_000_000
        short = call(raw, 'api_key_create', {'permission': 'read', 'expires_at_ns': soon}, manage)
        assert call(raw, 'query', {}, short['api_key_token']) == {'items': []}
        time.sleep(0.4)
        with pytest.raises(flight.FlightUnauthenticatedError, match='expired'):
            call(raw, 'query', {}, short['api_key_token'])
        listed = call(raw, 'api_key_list', {}, manage)['api_keys']
        assert [key['permission'] for key in listed] == ['manage', 'read', 'read']
        purged = call(raw, 'api_key_purge', {}, manage)['api_keys']
        assert len(purged) == 2
        assert [key['permission'] for key in call(raw, 'api_key_list', {}, manage)['api_keys']] == [
            'manage'
        ]


def test_the_store_keeps_only_hashes(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    token, status = keys.create('manage', 'hash only')
    keys.close()
    payload = token.split('_')[1]
    stored = b''.join(path.read_bytes() for path in tmp_path.glob('keys.sqlite*'))
    assert status.fingerprint.encode() in stored
    assert payload.encode() not in stored
    assert token.encode() not in stored
