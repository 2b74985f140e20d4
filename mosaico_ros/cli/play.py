"""`mosaico-ros play`: the player node from the command line.

Its options are generated from `PlayerConfig`, so every flag is the ROS
parameter of the same name (``--start-offset`` is ``start_offset``) and the
flags, ``ros2 run mosaico_ros player --ros-args -p ...`` and
``config/player.yaml`` cannot drift apart. Short flags are ``ros2 bag play``'s.
"""

from __future__ import annotations

from typing import Any

import click

from mosaico_ros.cli.config_options import config_options
from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console
from mosaico_ros.nodes.player_config import DEFAULT_NODE_NAME, PlayerConfig

SHORT_FLAGS = {
    'rate': '-r',
    'loop': '-l',
    'delay': '-d',
    'remap': '-m',
    'regex': '-e',
    'exclude_regex': '-x',
    'start_paused': '-p',
}
"""rosbag2's short flags of ``ros2 bag play``."""


@main.command()
@config_options(PlayerConfig, positional='sequences', short_flags=SHORT_FLAGS)
@click.option('--node-name', default=DEFAULT_NODE_NAME, show_default=True, help='Node name.')
def play(node_name: str, **values: Any) -> None:
    """Publish stored sequences on their ROS topics, on their recorded timeline.

    SEQUENCE... play merged on one timeline, each topic with the QoS it was
    recorded with; latched topics publish their last state first whenever
    playback starts inside the recording (--start-offset, a seek). Topics
    whose type is not installed are named with the package to install and
    skipped. While playing: space pauses, right arrow publishes the next
    message; services ~/pause ~/resume ~/toggle_paused ~/play_next; the
    parameters rate, seek and sequences can be set. Every option is also a
    ROS parameter of the same name (dashes as underscores) for
    `ros2 run mosaico_ros player`. Exits with status 1 when any message of
    a selected topic was not published (the summary says why).
    """
    from mosaico_ros.nodes.player import print_report, run, terminal_progress
    from mosaico_ros.nodes.readahead import ReadAheadError

    config = PlayerConfig(**values)
    try:
        config.check()
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    try:
        report = run(
            config,
            node_name=node_name,
            echo=lambda text: console.print(text, highlight=False),
            progress=terminal_progress(console),
        )
    except (ValueError, ReadAheadError) as err:
        raise click.ClickException(str(err)) from None
    print_report(report, console)
    if not report.clean:
        raise SystemExit(1)
