"""The answer of the `info` action: server version and transport limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError


@dataclass(frozen=True)
class SemVer:
    """Server version split into its parts."""

    major: int
    minor: int
    patch: int
    pre: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {'major': self.major, 'minor': self.minor, 'patch': self.patch, 'pre': self.pre}


@dataclass(frozen=True)
class ServerConfig:
    """Transport limits the server advertises."""

    grpc_max_decode_message_size: int
    grpc_max_encode_message_size: int
    grpc_target_encode_message_size: int

    def to_dict(self) -> dict[str, int]:
        """Return the wire form."""
        return {
            'grpc_max_decode_message_size': self.grpc_max_decode_message_size,
            'grpc_max_encode_message_size': self.grpc_max_encode_message_size,
            'grpc_target_encode_message_size': self.grpc_target_encode_message_size,
        }


@dataclass(frozen=True)
class ServerInfo:
    """Version and configuration of a Mosaico server."""

    version: str
    semver: SemVer
    config: ServerConfig

    def to_dict(self) -> dict[str, Any]:
        """Return the `response` object of `info`."""
        return {
            'version': self.version,
            'semver': self.semver.to_dict(),
            'config': self.config.to_dict(),
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ServerInfo:
        """Parse the `response` object of `info`.

        Raises:
            ProtocolError: A mandatory key is missing or malformed.

        """
        try:
            semver = document['semver']
            config = document['config']
            return cls(
                version=str(document['version']),
                semver=SemVer(
                    int(semver['major']),
                    int(semver['minor']),
                    int(semver['patch']),
                    semver.get('pre'),
                ),
                config=ServerConfig(
                    int(config['grpc_max_decode_message_size']),
                    int(config['grpc_max_encode_message_size']),
                    int(config['grpc_target_encode_message_size']),
                ),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ProtocolError(f'info response is malformed: {err!r}') from err
