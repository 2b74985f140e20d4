"""Launch an embedded Mosaico server next to the robot's nodes.

Usage: ros2 launch mosaico_ros serve.launch.py store:=/data/mosaico port:=6726
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration


def generate_launch_description() -> LaunchDescription:
    """Declare the store/host/port arguments and run `mosaico-ros serve`."""
    arguments = {
        'store': ('~/.local/share/mosaico_ros/store', 'store directory'),
        'host': ('127.0.0.1', 'address to listen on'),
        'port': ('6726', 'port to listen on'),
    }
    return LaunchDescription(
        [
            *(
                DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in arguments.items()
            ),
            ExecuteProcess(
                cmd=[
                    'mosaico-ros',
                    'serve',
                    *(
                        part
                        for name in arguments
                        for part in (f'--{name}', LaunchConfiguration(name))
                    ),
                ],
                output='screen',
            ),
        ],
    )
