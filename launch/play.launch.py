"""Launch the player node: stored sequences back onto ROS topics.

Runs the installed `player` executable (`lib/mosaico_ros/player`) as the node
`mosaico_player` with the parameters of `config/player.yaml`, or of
`params_file:=FILE`; `sequences:=NAME[,NAME...]`, `rate:=R` and `store:=DIR`
override single ones.

Usage:
    ros2 launch mosaico_ros play.launch.py sequences:=drive_0 rate:=2.0
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

OVERRIDES = {
    'sequences': 'sequences to play, comma-separated (overrides the parameter file)',
    'rate': 'playback speed factor (overrides the parameter file)',
    'store': 'store directory (overrides the parameter file)',
}


def _player(context: LaunchContext) -> list[Node]:
    given = {
        name: value for name in OVERRIDES if (value := LaunchConfiguration(name).perform(context))
    }
    overrides: dict[str, object] = dict(given)
    if 'sequences' in given:
        overrides['sequences'] = [name.strip() for name in given['sequences'].split(',')]
    if 'rate' in given:
        overrides['rate'] = float(given['rate'])
    return [
        Node(
            package='mosaico_ros',
            executable='player',
            name='mosaico_player',
            parameters=[LaunchConfiguration('params_file'), overrides],
            output='screen',
            emulate_tty=True,
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    """Declare the parameter file and the overrides, and start the player node."""
    config = Path(get_package_share_directory('mosaico_ros')) / 'config' / 'player.yaml'
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                'params_file', default_value=str(config), description='ROS parameter file'
            ),
            *(
                DeclareLaunchArgument(name, default_value='', description=text)
                for name, text in OVERRIDES.items()
            ),
            OpaqueFunction(function=_player),
        ],
    )
