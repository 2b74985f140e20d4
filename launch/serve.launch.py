"""Launch an embedded Mosaico server next to the robot's nodes.

Runs the installed `mosaico-ros serve` (`lib/mosaico_ros/mosaico-ros`) as the
node `mosaico_server`, with the parameters of `config/serve.yaml` or of
`params_file:=FILE`; `store:=`, `host:=` and `port:=` override single ones.
`~` in the store path is the home directory of the user running it.

Usage:
    ros2 launch mosaico_ros serve.launch.py store:=/data/mosaico port:=6726
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = {
    'store': 'store directory (overrides the parameter file)',
    'host': 'address to listen on (overrides the parameter file)',
    'port': 'port to listen on (overrides the parameter file)',
}


def _server(context: LaunchContext) -> list[Node]:
    overrides = {
        name: value for name in OVERRIDES if (value := LaunchConfiguration(name).perform(context))
    }
    return [
        Node(
            package='mosaico_ros',
            executable='mosaico-ros',
            name='mosaico_server',
            arguments=['serve'],
            parameters=[LaunchConfiguration('params_file'), overrides],
            output='screen',
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    """Declare the parameter file and the overrides, and start the server node."""
    config = Path(get_package_share_directory('mosaico_ros')) / 'config' / 'serve.yaml'
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                'params_file', default_value=str(config), description='ROS parameter file'
            ),
            *(
                DeclareLaunchArgument(name, default_value='', description=text)
                for name, text in OVERRIDES.items()
            ),
            OpaqueFunction(function=_server),
        ],
    )
