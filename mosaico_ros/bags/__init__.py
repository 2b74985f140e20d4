"""Bag readers: ROS 1 `.bag`, rosbag2 directories (sqlite3 and MCAP), `.db3`, `.mcap`.

`open_bag` recognizes the format by content and returns a `BagReader` that
streams `BagMessage`s in log-time order and records damage in `problems`;
`BagSource` feeds an open bag to the pipeline, and `injector` is
`mosaico-ros inject` built on both.
"""

from mosaico_ros.bags.errors import (
    BagCorruptError,
    BagError,
    BagFormatError,
    BagMissingFileError,
)
from mosaico_ros.bags.model import BagMessage, Connection, Problem
from mosaico_ros.bags.opener import open_bag
from mosaico_ros.bags.reader import BagReader
from mosaico_ros.bags.source import BagSource, topic_info

__all__ = [
    'BagCorruptError',
    'BagError',
    'BagFormatError',
    'BagMessage',
    'BagMissingFileError',
    'BagReader',
    'BagSource',
    'Connection',
    'Problem',
    'open_bag',
    'topic_info',
]
