"""mosaico_ros: the ROS 2 bridge and rosbag/MCAP ingestion toolkit for Mosaico.

The client and the ontology are importable from the top level, as with the
official SDK: `from mosaico_ros import MosaicoClient, Message, IMU`. They are
imported on first use, so importing one subpackage (the server, the CLI)
does not load the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY_FROM = ('mosaico_ros.client', 'mosaico_ros.ontology')


def __getattr__(name: str) -> Any:
    """Return a public name of the client or the ontology, importing it on first use."""
    for dotted in _LAZY_FROM:
        module = importlib.import_module(dotted)
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
