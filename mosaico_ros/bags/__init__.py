"""Bag readers: ROS 1 `.bag`, rosbag2 directories (sqlite3 and MCAP), `.db3`, `.mcap`.

`open_bag` recognizes the format by content and returns a `BagReader` that
streams `RawMessage`s in log-time order and records damage in `problems`.
"""

from mosaico_ros.bags.errors import (
    BagCorruptError,
    BagError,
    BagFormatError,
    BagMissingFileError,
    UnknownTypeError,
)
from mosaico_ros.bags.model import Connection, Problem, RawMessage
from mosaico_ros.bags.opener import open_bag
from mosaico_ros.bags.reader import BagReader
from mosaico_ros.bags.typesys import TypeResolution, build_typestore, deserialize, resolve_types

__all__ = [
    'BagCorruptError',
    'BagError',
    'BagFormatError',
    'BagMissingFileError',
    'BagReader',
    'Connection',
    'Problem',
    'RawMessage',
    'TypeResolution',
    'UnknownTypeError',
    'build_typestore',
    'deserialize',
    'open_bag',
    'resolve_types',
]
