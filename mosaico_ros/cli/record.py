"""`mosaico-ros record`: the recorder node from the command line.

Its options are generated from `RecorderConfig`, so every flag is the ROS
parameter of the same name (``--max-bag-duration`` is ``max_bag_duration``)
and the flags, ``ros2 run mosaico_ros recorder --ros-args -p ...`` and
``config/recorder.yaml`` cannot drift apart. Short flags are rosbag2's.
"""

from __future__ import annotations

from typing import Any

import click

from mosaico_ros.cli.config_options import config_options
from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console
from mosaico_ros.nodes.recorder_config import DEFAULT_NODE_NAME, RecorderConfig

SHORT_FLAGS = {
    'all': '-a',
    'regex': '-e',
    'exclude_regex': '-x',
    'polling_interval': '-p',
    'output': '-o',
    'max_bag_duration': '-d',
    'max_bag_size': '-b',
}
"""rosbag2's short flags of ``ros2 bag record``."""


@main.command()
@config_options(RecorderConfig, positional='topics', short_flags=SHORT_FLAGS)
@click.option('--node-name', default=DEFAULT_NODE_NAME, show_default=True, help='Node name.')
def record(node_name: str, **values: Any) -> None:
    """Record live ROS 2 topics into Mosaico sequences.

    TOPIC... are recorded by exact name; or --all, or --regex. Messages are
    spooled on disk (MCAP) before upload, so nothing is lost when the
    server is away for a while or the recorder is killed: the next start
    completes what was spooled. Stop with Ctrl-C: the sequence is finalized
    and a per-topic summary printed. Every option is also a ROS parameter of
    the same name (dashes as underscores) for `ros2 run mosaico_ros recorder`.
    """
    from mosaico_ros.nodes.recorder import run
    from mosaico_ros.pipeline.report import exit_code, print_reports

    config = RecorderConfig(**values)
    try:
        config.check()
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    reports = run(
        config, node_name=node_name, echo=lambda text: console.print(text, highlight=False)
    )
    print_reports(console, reports)
    status = exit_code(reports) if reports else 0
    if status:
        raise SystemExit(status)
