"""mosaico_ros: the ROS 2 bridge and rosbag/MCAP ingestion toolkit for Mosaico.

The client and the ontology are importable from the top level, as with the
official SDK: `from mosaico_ros import MosaicoClient, Message, IMU`.
"""

from mosaico_ros import client as _client
from mosaico_ros import ontology as _ontology
from mosaico_ros.client import *  # noqa: F403
from mosaico_ros.ontology import *  # noqa: F403

__all__ = [*_client.__all__, *_ontology.__all__]  # noqa: PLE0604
