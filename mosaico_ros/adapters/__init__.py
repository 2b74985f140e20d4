"""Adapters between decoded ROS messages and ontology models, and their registry.

Importing the package registers every built-in adapter in `default_registry`.
"""

from mosaico_ros.adapters import (
    builtin_interfaces,
    geometry_msgs,
    nav_msgs,
    nmea_msgs,
    sensor_msgs,
    std_msgs,
    tf2_msgs,
)
from mosaico_ros.adapters.errors import (
    AdapterError,
    AdapterNotFoundError,
    AdapterRegistrationError,
    UnsupportedDefinitionError,
)
from mosaico_ros.adapters.generic import (
    GENERIC_TAG_PREFIX,
    GenericAdapter,
    arrow_struct,
    generic_tag,
    register_msgdef,
)
from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.adapters.nmea_msgs import SENTENCE_MSGDEF
from mosaico_ros.adapters.registry import (
    ENTRY_POINT_GROUP,
    ROS_METADATA_KEY,
    AdapterRegistry,
    RosAdapter,
    default_registry,
    register_adapter,
    run_registry,
)
from mosaico_ros.adapters.sensor_msgs import (
    LidarAdapter,
    PointCloudColumnsAdapter,
    RadarAdapter,
    RGBDCameraAdapter,
    StereoCameraAdapter,
    ToFCameraAdapter,
)

__all__ = [
    'ENTRY_POINT_GROUP',
    'GENERIC_TAG_PREFIX',
    'ROS_METADATA_KEY',
    'SENTENCE_MSGDEF',
    'AdapterError',
    'AdapterNotFoundError',
    'AdapterRegistrationError',
    'AdapterRegistry',
    'GenericAdapter',
    'LidarAdapter',
    'PointCloudColumnsAdapter',
    'RGBDCameraAdapter',
    'RadarAdapter',
    'RosAdapter',
    'StereoCameraAdapter',
    'ToFCameraAdapter',
    'UnsupportedDefinitionError',
    'arrow_struct',
    'builtin_interfaces',
    'default_registry',
    'generic_tag',
    'geometry_msgs',
    'nav_msgs',
    'nmea_msgs',
    'normalize_msgtype',
    'register_adapter',
    'register_msgdef',
    'run_registry',
    'sensor_msgs',
    'std_msgs',
    'tf2_msgs',
]
