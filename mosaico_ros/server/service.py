"""The Flight service: every RPC and action `mosaicolabs` 0.7.0 uses.

Handlers turn `ServerError`s into Flight statuses whose message says what was
wrong; the server keeps serving after any failed call.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyarrow import flight

from mosaico_ros.protocol import (
    SERIALIZATION_FORMATS,
    TIMESTAMP_COLUMN,
    Action,
    DataInfo,
    Interval,
    PutCommand,
    ResourceCommand,
    SemVer,
    SequenceAppMetadata,
    ServerConfig,
    ServerInfo,
    SessionInfo,
    Ticket,
    TimeWindowInfo,
    TopicAppMetadata,
    encode_response,
    is_topic_locator,
    sanitize_sequence_name,
    split_session_locator,
    validate_sequence_name,
    validate_topic_name,
)
from mosaico_ros.protocol.api_keys import FINGERPRINT
from mosaico_ros.protocol.notifications import NOTIFICATION_TYPE, format_created_datetime
from mosaico_ros.server.catalog import Catalog
from mosaico_ros.server.chunks import DEFAULT_CHUNK_BYTES, ChunkFiles, ChunkWriter
from mosaico_ros.server.errors import (
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    quote,
)
from mosaico_ros.server.keys import MAX_DESCRIPTION_CHARS, KeyStore
from mosaico_ros.server.permissions import MIDDLEWARE_KEY, Permission
from mosaico_ros.server.query import QueryEngine
from mosaico_ros.server.reader import Window, read_topic, rebatch, window_extent
from mosaico_ros.server.records import ChunkRecord, TopicRecord
from mosaico_ros.server.requests import (
    MAX_COMMAND_BYTES,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    checked_text,
    int_field,
    load_body,
    metadata_field,
    split_topic,
    str_field,
)
from mosaico_ros.server.schemas import (
    builtin_schema,
    check_topic_schema,
    deserialize_schema,
    serialize_schema,
)
from mosaico_ros.server.status import translated, translated_stream
from mosaico_ros.server.uploads import UploadGate

logger = logging.getLogger(__name__)

SERVER_VERSION = '0.7.0'
"""Protocol version reported by `info`: the SDK release this server speaks."""

FINALIZE_WAIT_S = 30.0
"""How long `session_finalize` waits for the session's DoPut streams to end."""

LOCATOR_CHARS = 2 * MAX_NAME_CHARS + 2
"""Longest locator: a sequence name, `/` and a topic path, or a session locator."""


def _now_ns() -> int:
    return time.time_ns()


def _bounded(raw: bytes, what: str) -> bytes:
    if len(raw) > MAX_COMMAND_BYTES:
        raise BadRequestError(f'{what} has {len(raw)} bytes; at most {MAX_COMMAND_BYTES}')
    return raw


def _window(start: int | None, end: int | None) -> Window:
    """`[start, end)` with both bounds, when given, within the int64 nanoseconds."""
    bounds = [
        None if bound is None else int_field(bound, f'{name} bound', minimum=-(2**63))
        for name, bound in (('start', start), ('end', end))
    ]
    return Window(*bounds)


_TOPIC_NOTE_ACTIONS = frozenset(
    {
        Action.TOPIC_NOTIFICATION_CREATE,
        Action.TOPIC_NOTIFICATION_LIST,
        Action.TOPIC_NOTIFICATION_PURGE,
    },
)


def _note_owner(body: dict[str, Any], action: Action) -> tuple[str, str | None]:
    # A notification belongs to a sequence (no topic path) or to one topic.
    locator = str_field(body, 'locator', action.value, LOCATOR_CHARS)
    if action in _TOPIC_NOTE_ACTIONS:
        return split_topic(locator, action.value)
    return sanitize_sequence_name(locator), None


class MosaicoFlightService(flight.FlightServerBase):
    """Arrow Flight service of the embedded server.

    Args:
        location: URI to listen on (`grpc://` or `grpc+tls://`).
        catalog: The store's catalog.
        files: The store's chunk files.
        max_message_size: Largest gRPC message advertised to clients.
        chunk_max_bytes: Buffered upload size that rolls a new chunk.
        keys: The store's API keys, managed by the `api_key_*` actions.
        auth: Middleware checking API keys, or None for no authentication.
        tls_certificates: Certificate/key pairs when serving TLS.

    """

    def __init__(
        self,
        location: str,
        catalog: Catalog,
        files: ChunkFiles,
        *,
        keys: KeyStore,
        max_message_size: int,
        chunk_max_bytes: int = DEFAULT_CHUNK_BYTES,
        auth: flight.ServerMiddlewareFactory | None = None,
        tls_certificates: list[flight.CertKeyPair] | None = None,
    ) -> None:
        middleware = {MIDDLEWARE_KEY: auth} if auth is not None else None
        super().__init__(
            location,
            middleware=middleware,
            tls_certificates=tls_certificates or [],
        )
        self._catalog = catalog
        self._files = files
        self._queries = QueryEngine(catalog, files)
        self._keys = keys
        self._max_message_size = max_message_size
        self._target_message_size = min(4 * 1024 * 1024, max_message_size // 2)
        self._chunk_max_bytes = chunk_max_bytes
        self._uploads = UploadGate()
        self._actions: dict[str, tuple[Permission, Callable[[dict[str, Any]], Any]]] = {
            Action.INFO: (Permission.READ, self._info),
            Action.SEQUENCE_CREATE: (Permission.WRITE, self._sequence_create),
            Action.SEQUENCE_DELETE: (Permission.DELETE, self._sequence_delete),
            Action.SESSION_CREATE: (Permission.WRITE, self._session_create),
            Action.SESSION_FINALIZE: (Permission.WRITE, self._session_finalize),
            Action.SESSION_DELETE: (Permission.DELETE, self._session_delete),
            Action.TOPIC_CREATE: (Permission.WRITE, self._topic_create),
            Action.TOPIC_DELETE: (Permission.DELETE, self._topic_delete),
            # One handler per verb serves both owners; the action says which.
            **{
                action: (needed, functools.partial(handler, action))
                for action, needed, handler in (
                    (Action.SEQUENCE_NOTIFICATION_CREATE, Permission.WRITE, self._note_create),
                    (Action.SEQUENCE_NOTIFICATION_LIST, Permission.READ, self._note_list),
                    (Action.SEQUENCE_NOTIFICATION_PURGE, Permission.DELETE, self._note_purge),
                    (Action.TOPIC_NOTIFICATION_CREATE, Permission.WRITE, self._note_create),
                    (Action.TOPIC_NOTIFICATION_LIST, Permission.READ, self._note_list),
                    (Action.TOPIC_NOTIFICATION_PURGE, Permission.DELETE, self._note_purge),
                )
            },
            Action.QUERY: (Permission.READ, self._queries.query),
            Action.TOPIC_FILTER_CLUSTERIZE: (Permission.READ, self._queries.clusterize),
            Action.TOPIC_FILTER_INTERSECT: (Permission.READ, self._queries.intersect),
            Action.API_KEY_CREATE: (Permission.MANAGE, self._key_create),
            Action.API_KEY_STATUS: (Permission.MANAGE, self._key_status),
            Action.API_KEY_REVOKE: (Permission.MANAGE, self._key_revoke),
            Action.API_KEY_LIST: (Permission.MANAGE, self._key_list),
            Action.API_KEY_PURGE: (Permission.MANAGE, self._key_purge),
        }

    # ------------------------------------------------------------ permissions

    @staticmethod
    def _require(context: flight.ServerCallContext, needed: Permission, what: str) -> None:
        middleware = context.get_middleware(MIDDLEWARE_KEY)
        if middleware is None:
            return
        held: Permission = middleware.permission
        if held < needed:
            raise PermissionDeniedError(
                f'{what} needs {needed.name.lower()} permission; '
                f'this API key has {held.name.lower()}',
            )

    # ---------------------------------------------------------------- actions

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        """Every action this server answers."""
        return [(str(name.value), '') for name in Action]

    @translated
    def do_action(self, context: flight.ServerCallContext, action: flight.Action) -> list[bytes]:
        """Dispatch one DoAction; paged actions return one envelope per Result."""
        name = action.type
        entry = self._actions.get(name)
        if entry is None:
            raise BadRequestError(f'unknown action {quote(name)}')
        needed, handler = entry
        self._require(context, needed, f'action {name!r}')
        raw = action.body.to_pybytes() if action.body is not None else b''
        body = load_body(raw or b'{}', f'{name} request body')
        response = handler(body)
        if Action(name).paged:
            return [encode_response(name, item) for item in response]
        return [encode_response(name, response)]

    def _info(self, body: dict[str, Any]) -> dict[str, Any]:
        major, minor, patch = (int(part) for part in SERVER_VERSION.split('.'))
        return ServerInfo(
            version=SERVER_VERSION,
            semver=SemVer(major, minor, patch),
            config=ServerConfig(
                grpc_max_decode_message_size=self._max_message_size,
                grpc_max_encode_message_size=self._max_message_size,
                grpc_target_encode_message_size=self._target_message_size,
            ),
        ).to_dict()

    def _sequence_create(self, body: dict[str, Any]) -> None:
        locator = str_field(body, 'locator', 'sequence_create', MAX_NAME_CHARS + 2)
        try:
            name = validate_sequence_name(locator)
        except ValueError:
            raise BadRequestError(
                f'sequence_create: invalid sequence name {quote(locator)}: use letters, digits, '
                '"-" and "_", starting with a letter or digit'
            ) from None
        self._catalog.create_sequence(name, metadata_field(body, 'sequence_create'), _now_ns())

    def _sequence_delete(self, body: dict[str, Any]) -> None:
        name = sanitize_sequence_name(str_field(body, 'locator', 'sequence_delete', LOCATOR_CHARS))
        self._files.remove(self._catalog.delete_sequence(name))

    def _session_create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = sanitize_sequence_name(str_field(body, 'locator', 'session_create', LOCATOR_CHARS))
        session = self._catalog.create_session(name, _now_ns())
        return {'uuid': session.uuid, 'locator': session.locator}

    def _session_finalize(self, body: dict[str, Any]) -> None:
        uuid = str_field(body, 'session_uuid', 'session_finalize', LOCATOR_CHARS)
        session = self._catalog.session_by_uuid(uuid)
        if session is None:
            raise NotFoundError(f'session_finalize: session uuid {quote(uuid)} not found')
        what = f'session_finalize {session.locator}'
        with self._uploads.closing(session.id, FINALIZE_WAIT_S, what):
            self._catalog.finalize_session(uuid, _now_ns())

    def _session_delete(self, body: dict[str, Any]) -> None:
        locator = str_field(body, 'locator', 'session_delete', LOCATOR_CHARS)
        try:
            sequence, ident = split_session_locator(locator)
        except ValueError:
            raise BadRequestError(
                f'session_delete: not a session locator: {quote(locator)}'
            ) from None
        self._files.remove(self._catalog.delete_session(sequence, ident))

    def _topic_create(self, body: dict[str, Any]) -> dict[str, Any]:
        action = 'topic_create'
        session_uuid = str_field(body, 'session_uuid', action, LOCATOR_CHARS)
        locator = str_field(body, 'locator', action, LOCATOR_CHARS)
        sequence, path = split_topic(locator, action)
        try:
            path = validate_topic_name(path).strip('/')
        except ValueError:
            raise BadRequestError(
                f'{action}: invalid topic name {quote(path)}: use letters, digits, "-", "_" and '
                '"/", each segment starting with a letter or digit'
            ) from None
        serialization = body.get('serialization_format') or 'default'
        if serialization not in SERIALIZATION_FORMATS:
            raise BadRequestError(
                f'{action} {locator}: serialization_format {quote(serialization)} is not one of '
                f'{", ".join(SERIALIZATION_FORMATS)}',
            )
        tag = str_field(body, 'ontology_tag', action, MAX_NAME_CHARS)
        uuid = self._catalog.create_topic(
            session_uuid,
            sequence,
            path,
            tag,
            serialization,
            metadata_field(body, action),
            _now_ns(),
        )
        return {'uuid': uuid}

    def _topic_delete(self, body: dict[str, Any]) -> None:
        locator = str_field(body, 'locator', 'topic_delete', LOCATOR_CHARS)
        sequence, path = split_topic(locator, 'topic_delete')
        self._files.remove(self._catalog.delete_topic(sequence, path))

    def _note_create(self, action: Action, body: dict[str, Any]) -> None:
        sequence, path = _note_owner(body, action)
        kind = body.get('notification_type', NOTIFICATION_TYPE)
        if kind != NOTIFICATION_TYPE:
            raise BadRequestError(
                f'{action.value}: notification_type must be "{NOTIFICATION_TYPE}", '
                f'got {quote(kind)}',
            )
        msg = body.get('msg')
        # The SDK sends str(exception), which may be empty.
        if msg != '':
            msg = checked_text(msg, f'{action.value}: "msg"', MAX_TEXT_CHARS)
        self._catalog.add_notification(sequence, path, kind, msg, _now_ns())

    def _note_list(self, action: Action, body: dict[str, Any]) -> dict[str, Any]:
        return {
            'notifications': [
                {
                    'name': note.name,
                    'notification_type': note.notification_type,
                    'msg': note.msg,
                    'created_datetime': format_created_datetime(note.created_at_ns),
                }
                for note in self._catalog.notifications(*_note_owner(body, action))
            ],
        }

    def _note_purge(self, action: Action, body: dict[str, Any]) -> None:
        self._catalog.purge_notifications(*_note_owner(body, action))

    # --------------------------------------------------------------- API keys

    def _key_create(self, body: dict[str, Any]) -> dict[str, Any]:
        action = 'api_key_create'
        permission = str_field(body, 'permission', action, MAX_NAME_CHARS)
        description = body.get('description') or ''
        if description:
            description = checked_text(description, f'{action}: description', MAX_DESCRIPTION_CHARS)
        expires = body.get('expires_at_ns')
        if expires is not None:
            expires = int_field(expires, f'{action}: expires_at_ns', minimum=_now_ns())
        token, status = self._keys.create(permission, description, expires)
        return {'api_key_token': token, 'api_key': status.to_dict()}

    def _fingerprint(self, body: dict[str, Any], action: str) -> str:
        return str_field(body, FINGERPRINT, action, MAX_NAME_CHARS)

    def _key_status(self, body: dict[str, Any]) -> dict[str, Any]:
        status = self._keys.status(self._fingerprint(body, 'api_key_status'))
        return {'api_key': status.to_dict()}

    def _key_revoke(self, body: dict[str, Any]) -> dict[str, Any]:
        status = self._keys.revoke(self._fingerprint(body, 'api_key_revoke'))
        return {'api_key': status.to_dict()}

    def _key_list(self, body: dict[str, Any]) -> dict[str, Any]:
        return {'api_keys': [status.to_dict() for status in self._keys.all_keys()]}

    def _key_purge(self, body: dict[str, Any]) -> dict[str, Any]:
        everything = body.get('all', False)
        if not isinstance(everything, bool):
            raise BadRequestError('api_key_purge: "all" must be true or false')
        return {'api_keys': [status.to_dict() for status in self._keys.purge(everything)]}

    # --------------------------------------------------------------- catalog

    def _visible_topic(self, locator: str) -> TopicRecord:
        return self._catalog.visible_topic(*split_topic(locator, 'resource'))

    @staticmethod
    def _topic_schema(topic: TopicRecord) -> pa.Schema:
        if topic.schema_ipc is not None:
            return deserialize_schema(topic.schema_ipc)
        # A topic whose stream never opened: the model's schema, if known.
        return builtin_schema(topic.ontology_tag) or pa.schema(
            [pa.field(TIMESTAMP_COLUMN, pa.int64(), nullable=False)],
        )

    def _endpoint(
        self, topic: TopicRecord, window: Window, windowed: bool
    ) -> flight.FlightEndpoint:
        chunks = self._catalog.chunks(topic.id)
        return flight.FlightEndpoint(
            Ticket(topic.locator, window.start_ns, window.end_ns).encode(),
            [],
            app_metadata=self._topic_metadata(topic, chunks, window, windowed).encode(),
        )

    def _topic_metadata(
        self,
        topic: TopicRecord,
        chunks: list[ChunkRecord],
        window: Window,
        windowed: bool,
    ) -> TopicAppMetadata:
        interval = (
            Interval(min(c.min_ts for c in chunks), max(c.max_ts for c in chunks))
            if chunks
            else None
        )
        window_info = None
        if windowed:
            count, low, high = window_extent(self._files, chunks, window)
            window_info = TimeWindowInfo(
                count,
                Interval(low, high) if low is not None and high is not None else None,
            )
        return TopicAppMetadata(
            resource_locator=topic.locator,
            created_at_ns=topic.created_at_ns,
            locked=topic.session_locked,
            ontology_tag=topic.ontology_tag,
            serialization_format=topic.serialization_format,
            user_metadata=topic.user_metadata,
            data_info=DataInfo(
                total_bytes=sum(c.bytes for c in chunks),
                total_chunks_count=len(chunks),
                total_row_count=sum(c.row_count for c in chunks),
                interval=interval,
            ),
            completed_at_ns=topic.session_completed_at_ns,
            time_window_info=window_info,
        )

    @staticmethod
    def _command(descriptor: flight.FlightDescriptor) -> ResourceCommand:
        if descriptor.descriptor_type == flight.DescriptorType.PATH:
            try:
                parts = [p.decode() if isinstance(p, bytes) else p for p in descriptor.path]
            except UnicodeDecodeError:
                raise BadRequestError('descriptor path is not UTF-8') from None
            command = ResourceCommand('/'.join(parts))
        else:
            command = ResourceCommand.decode(_bounded(descriptor.command, 'descriptor command'))
        checked_text(command.resource_locator, 'resource_locator', LOCATOR_CHARS)
        return command

    # -------------------------------------------------------------- metadata

    @translated
    def list_flights(
        self,
        context: flight.ServerCallContext,
        criteria: bytes,
    ) -> Iterator[flight.FlightInfo]:
        """One FlightInfo with a PATH descriptor `[name]` per visible sequence."""
        self._require(context, Permission.READ, 'ListFlights')
        infos = [
            flight.FlightInfo(
                pa.schema([]),
                flight.FlightDescriptor.for_path(sequence.name),
                [],
                -1,
                -1,
            )
            for sequence in self._catalog.visible_sequences()
        ]
        return iter(infos)

    @translated
    def get_flight_info(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
    ) -> flight.FlightInfo:
        """Describe a sequence (all its topics) or one topic, optionally windowed."""
        self._require(context, Permission.READ, 'GetFlightInfo')
        command = self._command(descriptor)
        window = _window(command.timestamp_ns_start, command.timestamp_ns_end)
        windowed = window.start_ns is not None or window.end_ns is not None
        locator = command.resource_locator
        if is_topic_locator(locator):
            topic = self._visible_topic(locator)
            endpoint = self._endpoint(topic, window, windowed)
            return flight.FlightInfo(
                self._topic_schema(topic),
                descriptor,
                [endpoint],
                -1,
                -1,
                app_metadata=endpoint.app_metadata,
            )
        sequence = self._catalog.visible_sequence(sanitize_sequence_name(locator))
        sessions = self._catalog.finalized_sessions(sequence.id)
        topics = self._catalog.visible_topics(sequence.id)
        by_session: dict[int, list[str]] = {}
        for topic in sorted(topics, key=lambda t: (t.created_at_ns, t.id)):
            by_session.setdefault(topic.session_id, []).append(topic.locator)
        metadata = SequenceAppMetadata(
            resource_locator=sequence.name,
            created_at_ns=sequence.created_at_ns,
            user_metadata=sequence.user_metadata,
            sessions=[
                SessionInfo(
                    locator=session.locator,
                    created_at_ns=session.created_at_ns,
                    locked=session.locked,
                    completed_at_ns=session.completed_at_ns,
                    topics=by_session.get(session.id, []),
                )
                for session in sessions
            ],
        )
        endpoints = [self._endpoint(topic, window, windowed) for topic in topics]
        return flight.FlightInfo(
            pa.schema([]),
            descriptor,
            endpoints,
            -1,
            -1,
            app_metadata=metadata.encode(),
        )

    @translated
    def get_schema(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
    ) -> flight.SchemaResult:
        """Return the stored schema of a topic (an empty schema for a sequence)."""
        self._require(context, Permission.READ, 'GetSchema')
        locator = self._command(descriptor).resource_locator
        if is_topic_locator(locator):
            return flight.SchemaResult(self._topic_schema(self._visible_topic(locator)))
        self._catalog.visible_sequence(sanitize_sequence_name(locator))
        return flight.SchemaResult(pa.schema([]))

    # ------------------------------------------------------------------ data

    @translated
    def do_get(
        self,
        context: flight.ServerCallContext,
        ticket: flight.Ticket,
    ) -> flight.FlightDataStream:
        """Stream a topic's rows in the ticket's window, sorted, never an empty batch."""
        self._require(context, Permission.READ, 'DoGet')
        request = Ticket.decode(_bounded(ticket.ticket, 'ticket'))
        topic = self._visible_topic(checked_text(request.locator, 'ticket locator', LOCATOR_CHARS))
        schema = self._topic_schema(topic)
        chunks = self._catalog.chunks(topic.id)
        window = _window(request.start_ns, request.end_ns)
        batches = rebatch(
            read_topic(self._files, chunks, schema, window), self._target_message_size
        )
        return flight.GeneratorStream(schema, translated_stream(batches, 'do_get'))

    @translated
    def do_put(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        """Receive one topic's stream into chunks; a failure surfaces at the client's close."""
        self._require(context, Permission.WRITE, 'DoPut')
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise BadRequestError(
                'DoPut: descriptor must be a CMD with resource_locator and topic_uuid'
            )
        command = PutCommand.decode(_bounded(descriptor.command, 'DoPut command'))
        uuid = checked_text(command.topic_uuid, 'DoPut topic_uuid', LOCATOR_CHARS)
        locator = checked_text(command.resource_locator, 'DoPut resource_locator', LOCATOR_CHARS)
        topic = self._catalog.topic_by_uuid(uuid)
        if topic is None:
            raise NotFoundError(f'DoPut {quote(locator)}: unknown topic uuid {quote(uuid)}')
        if locator.strip('/') != topic.locator:
            raise BadRequestError(
                f'DoPut: resource_locator {quote(locator)} does not match topic '
                f'uuid `{uuid}` ({topic.locator})',
            )
        schema = reader.schema
        check_topic_schema(schema, topic.ontology_tag, topic.locator)
        if topic.schema_ipc is not None and not deserialize_schema(topic.schema_ipc).equals(
            schema,
            check_metadata=False,
        ):
            raise BadRequestError(f'DoPut {topic.locator}: schema differs from the stored one')
        what = f'DoPut {topic.locator}'
        with self._uploads.entered(topic.session_id, what):
            self._catalog.claim_put(topic.id, serialize_schema(schema))
            try:
                self._receive(topic, schema, reader)
                if context.is_cancelled():
                    # The stream ended without the client's done_writing: it was cut off.
                    raise BadRequestError(f'{what}: the stream was cut off before its end')
            except BaseException:
                logger.info('%s failed; the rows it sent are dropped', what)
                self._files.remove(self._catalog.fail_put(topic.id))
                raise
            self._catalog.end_put(topic.id)

    def _receive(
        self,
        topic: TopicRecord,
        schema: pa.Schema,
        reader: flight.MetadataRecordBatchReader,
    ) -> None:
        def reference(chunk: ChunkRecord) -> None:
            try:
                self._catalog.add_chunk(topic.id, chunk)
            except BaseException:
                self._files.remove([chunk.file])
                raise

        with ChunkWriter(
            self._files,
            topic.uuid,
            schema,
            reference,
            max_bytes=self._chunk_max_bytes,
        ) as chunks:
            while True:
                try:
                    received = reader.read_chunk()
                except StopIteration:
                    break
                if received.data is not None:
                    chunks.write(received.data)
