"""The embedded Mosaico server: Arrow Flight over a local store directory.

The store holds `catalog.sqlite` (sequences, sessions, topics, chunks,
notifications) and `data/<topic uuid>/NNNNNN.parquet` chunk files.
"""

from mosaico_ros.server.embedded import DEFAULT_MAX_MESSAGE_SIZE, EmbeddedServer
from mosaico_ros.server.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    StoreError,
    UnauthenticatedError,
)
from mosaico_ros.server.permissions import Permission

__all__ = [
    'DEFAULT_MAX_MESSAGE_SIZE',
    'BadRequestError',
    'ConflictError',
    'EmbeddedServer',
    'NotFoundError',
    'Permission',
    'PermissionDeniedError',
    'ServerError',
    'StoreError',
    'UnauthenticatedError',
]
