"""Where a node's sequences are: the settings the recorder and the player share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mosaico_ros.target import Target


@dataclass(frozen=True)
class TargetSettings:
    """The store or server a node reads or writes (parameters of the same names).

    Attributes:
        store: Local store directory (the default target).
        host: Host of a running Mosaico server.
        port: Server port (0: the address's, else 6726).
        api_key: API key for the server.
        tls: TLS with the system's authorities.
        tls_cert: PEM root certificate; turns TLS on.

    """

    store: str = field(default='', metadata={'help': 'Local store directory (the default target).'})
    host: str = field(default='', metadata={'help': 'Host of a running Mosaico server.'})
    port: int = field(default=0, metadata={'help': "Server port (0: the address's, else 6726)."})
    api_key: str = field(default='', metadata={'help': 'API key for the server.'})
    tls: bool = field(default=False, metadata={'help': "TLS with the system's authorities."})
    tls_cert: str = field(default='', metadata={'help': 'PEM root certificate; turns TLS on.'})

    def target(self, client_name: str) -> Target:
        """Return the target, chosen as every command chooses it.

        The settings, then ``MOSAICO_DAEMON_URL``, a profile, ``MOSAICO_STORE``,
        else the default store (`mosaico_ros.target.resolve_target`).

        Args:
            client_name: How the node names itself to the server.

        Raises:
            TargetError: The settings and environment name no usable target.

        """
        from mosaico_ros.target import resolve_target

        return resolve_target(
            store=Path(self.store) if self.store else None,
            host=self.host or None,
            port=self.port or None,
            api_key=self.api_key or None,
            tls=self.tls,
            tls_cert=Path(self.tls_cert).expanduser() if self.tls_cert else None,
            client_name=client_name,
        )
