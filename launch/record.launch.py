"""Launch the recorder node on a robot: live topics into Mosaico sequences.

Runs the installed `recorder` executable (`lib/mosaico_ros/recorder`) as the
node `mosaico_recorder` with the parameters of `config/recorder.yaml`, or of
`params_file:=FILE`; `output:=NAME` and `store:=DIR` override single ones.

Usage:
    ros2 launch mosaico_ros record.launch.py output:=field_test store:=/data/mosaico
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = {
    'output': 'sequence name (overrides the parameter file)',
    'store': 'store directory (overrides the parameter file)',
}


def _recorder(context: LaunchContext) -> list[Node]:
    overrides = {
        name: value for name in OVERRIDES if (value := LaunchConfiguration(name).perform(context))
    }
    return [
        Node(
            package='mosaico_ros',
            executable='recorder',
            name='mosaico_recorder',
            parameters=[LaunchConfiguration('params_file'), overrides],
            output='screen',
            # SIGINT first, as Ctrl-C: the recorder finalizes its sequence before it exits.
            sigterm_timeout='60',
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    """Declare the parameter file and the overrides, and start the recorder node."""
    config = Path(get_package_share_directory('mosaico_ros')) / 'config' / 'recorder.yaml'
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                'params_file', default_value=str(config), description='ROS parameter file'
            ),
            *(
                DeclareLaunchArgument(name, default_value='', description=text)
                for name, text in OVERRIDES.items()
            ),
            OpaqueFunction(function=_recorder),
        ],
    )
