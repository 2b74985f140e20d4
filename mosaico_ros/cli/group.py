"""The `mosaico-ros` command group; each command lives in a module of its own."""

from __future__ import annotations

import click


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(package_name='mosaico_ros')
def main() -> None:
    """Move ROS data into and out of Mosaico.

    Every command works on a local store by default (no server to run), or
    on a running Mosaico server with --host/--port.
    """
