"""The `mosaico-ros` command line: one module per command, registered on `main`.

Command modules import their heavy dependencies (client, server, bags) inside
the command, so `mosaico-ros --help` starts fast.
"""

from mosaico_ros.cli import (
    apikey,
    catalog,
    delete,
    demo,
    export,
    inject,
    play,
    query,
    record,
    serve,
    watch,
)
from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console

__all__ = [
    'apikey',
    'catalog',
    'console',
    'delete',
    'demo',
    'export',
    'inject',
    'main',
    'play',
    'query',
    'record',
    'serve',
    'watch',
]
