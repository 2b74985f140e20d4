"""One Flight channel to a Mosaico server, speaking the protocol's JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import flight

from mosaico_ros.client.closing import ClosesOnExit
from mosaico_ros.client.errors import PermissionDeniedError, ServerError
from mosaico_ros.protocol import API_KEY_HEADER, Action, PutCommand, ResourceCommand, decode_results


def _server_error(call: str, err: Exception) -> ServerError:
    if isinstance(err, flight.FlightUnauthorizedError):
        return PermissionDeniedError(call, str(err))
    return ServerError(call, str(err))


class Connection(ClosesOnExit):
    """A Flight client plus the call options every Mosaico call carries.

    Thread-safe: the writer's background worker and the caller share one
    channel, as the DoPut streams of one session do.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        api_key: str | None = None,
        enable_tls: bool = False,
        tls_cert_path: str | Path | None = None,
    ) -> None:
        """Open the channel (lazily: nothing is sent until the first call).

        Args:
            host: Server host name or address.
            port: Server port.
            api_key: Raw API key sent as `mosaico-api-key-token`, or None.
            enable_tls: Use TLS with the system roots.
            tls_cert_path: PEM root certificate; forces TLS on.

        """
        root_certs = Path(tls_cert_path).read_bytes() if tls_cert_path is not None else None
        scheme = 'grpc+tls' if enable_tls or root_certs is not None else 'grpc'
        self.uri = f'{scheme}://{host}:{port}'
        kwargs: dict[str, Any] = {}
        if root_certs is not None:
            kwargs['tls_root_certs'] = root_certs
        self._client = flight.FlightClient(self.uri, **kwargs)
        headers = [(API_KEY_HEADER.encode(), api_key.encode())] if api_key else None
        self._options = flight.FlightCallOptions(headers=headers)

    def close(self) -> None:
        """Close the channel; streams still open are cancelled by gRPC."""
        self._client.close()

    def action(self, action: Action, body: dict[str, Any]) -> Any:
        """Run a DoAction and decode its answer.

        Args:
            action: The action.
            body: JSON body, serialized as Python's `json.dumps` defaults do.

        Returns:
            The `response` object, None when the action answered nothing,
            or the list of responses of a paged action.

        Raises:
            ServerError: The server answered with an error status.

        """
        request = flight.Action(action.value, json.dumps(body).encode())
        call = f'DoAction {action.value}'
        try:
            bodies = [
                result.body.to_pybytes()
                for result in self._client.do_action(request, self._options)
            ]
        except pa.ArrowException as err:
            raise _server_error(call, err) from err
        return decode_results(action.value, bodies, paged=action.paged)

    def flight_info(self, command: ResourceCommand) -> flight.FlightInfo:
        """GetFlightInfo on a CMD descriptor.

        Raises:
            ServerError: The server answered with an error status.

        """
        descriptor = flight.FlightDescriptor.for_command(command.encode())
        try:
            return self._client.get_flight_info(descriptor, self._options)
        except pa.ArrowException as err:
            raise _server_error(f'GetFlightInfo {command.resource_locator}', err) from err

    def schema(self, command: ResourceCommand) -> pa.Schema:
        """GetSchema on a CMD descriptor.

        Raises:
            ServerError: The server answered with an error status.

        """
        descriptor = flight.FlightDescriptor.for_command(command.encode())
        try:
            return self._client.get_schema(descriptor, self._options).schema
        except pa.ArrowException as err:
            raise _server_error(f'GetSchema {command.resource_locator}', err) from err

    def do_get(self, ticket: flight.Ticket, what: str) -> flight.FlightStreamReader:
        """Open a DoGet stream.

        Raises:
            ServerError: The server answered with an error status.

        """
        try:
            return self._client.do_get(ticket, self._options)
        except pa.ArrowException as err:
            raise _server_error(f'DoGet {what}', err) from err

    def do_put(
        self,
        command: PutCommand,
        schema: pa.Schema,
    ) -> tuple[flight.FlightStreamWriter, flight.FlightMetadataReader]:
        """Open a DoPut stream on a CMD descriptor.

        Raises:
            ServerError: The server answered with an error status.

        """
        descriptor = flight.FlightDescriptor.for_command(command.encode())
        try:
            return self._client.do_put(descriptor, schema, self._options)
        except pa.ArrowException as err:
            raise _server_error(f'DoPut {command.resource_locator}', err) from err

    def list_flights(self) -> Iterator[flight.FlightInfo]:
        """ListFlights with the empty criteria the SDK sends.

        Raises:
            ServerError: The server answered with an error status.

        """
        try:
            yield from self._client.list_flights(b'', self._options)
        except pa.ArrowException as err:
            raise _server_error('ListFlights', err) from err
