"""The embedded Mosaico server: Arrow Flight over a local store directory.

The store holds `catalog.sqlite` (sequences, sessions, topics, chunks,
notifications) and `data/<topic uuid>/NNNNNN.parquet` chunk files.

Names are imported on first use, so `mosaico_ros.server.errors` can be
imported without loading the Flight service.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    'DEFAULT_MAX_MESSAGE_SIZE': 'embedded',
    'EmbeddedServer': 'embedded',
    'BadRequestError': 'errors',
    'ConflictError': 'errors',
    'NotFoundError': 'errors',
    'PermissionDeniedError': 'errors',
    'ServerError': 'errors',
    'StoreError': 'errors',
    'UnauthenticatedError': 'errors',
    'Permission': 'permissions',
}

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


def __getattr__(name: str) -> Any:
    """Import the module defining `name` and return it."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{module}'), name)
